//! Whether an issued access token is still active (RFC 7662), and what the caller may learn.
//!
//! One rule serves introspection, userinfo and the revocation feed: a token stops working at
//! once when revoked, when its client is OFF or gone, when its user or the client's owner is
//! disabled or gone, or when its scopes are no longer allowed for the user's role (Q07).

use tessera_proto::{AccessTokenClaims, IntrospectionResponse};

use crate::issue::{self, Parties};
use crate::model::{Client, ScopeDef, User};
use crate::refresh::{RefreshRecord, RefreshState};
use crate::scope::{self, ScopeSet};
use crate::token::{self, TokenPolicy};

/// The live state a token is judged against, loaded by the caller.
#[derive(Debug, Clone)]
pub struct TokenState<'a> {
    pub revoked: bool,
    pub client: Option<&'a Client>,
    pub subject: Option<&'a User>,
    pub owner: Option<&'a User>,
    pub catalogue: &'a [ScopeDef],
}

/// Whether a token with valid signature and `claims` still works at `now`: issued by us, for
/// our audience or resources still registered for its client (J07, J08, RFC 8707), within its lifetime give or take the leeway, and every party to it
/// still in good standing.
pub fn is_active(claims: &AccessTokenClaims, state: &TokenState<'_>, policy: &TokenPolicy, now: i64) -> bool {
    let Some(client) = state.client else {
        return false;
    };
    // The parties as at issue (`issue::standing`). An organization's approval is not looked up
    // here: withdrawing it revokes the client's grants for that organization's users (the
    // store), and every token acting for a user carries its grant, so `revoked` says it.
    let parties = Parties { client, owner: state.owner, subject: state.subject, org_approves: true };
    let (Ok(holder), Some(subject)) = (issue::standing(&parties), state.subject) else {
        return false;
    };
    let Ok(scopes) = ScopeSet::parse(&claims.scope) else {
        return false;
    };
    claims.iss == policy.issuer
        && crate::resource::audience_allowed(&claims.aud, client, &policy.audience)
        && !state.revoked
        && token::within_lifetime(claims, now, policy.leeway)
        && client.id.as_str() == claims.client_id
        && subject.org_id.as_str() == claims.org_id
        && subject.tokens_not_before.is_none_or(|cutoff| claims.iat >= cutoff)
        && client.tokens_not_before.is_none_or(|cutoff| claims.iat >= cutoff)
        && scope::still_allowed(&scopes, holder, state.catalogue)
}

/// Whether `caller` may learn about a token of `org` issued to `client`: tokens of other
/// organizations are reported inactive, exactly like unknown ones (V07), unless they were
/// issued to the caller itself (a user of another org who authorized it).
fn visible_to(caller: &Client, org: &str, client: &str) -> bool {
    org == caller.org_id.as_str() || client == caller.id.as_str()
}

/// The introspection answer about an active access token for the calling client.
pub fn respond(claims: &AccessTokenClaims, caller: &Client) -> IntrospectionResponse {
    if !visible_to(caller, &claims.org_id, &claims.client_id) {
        return IntrospectionResponse::inactive();
    }
    IntrospectionResponse {
        active: true,
        scope: Some(claims.scope.clone()),
        client_id: Some(claims.client_id.clone()),
        sub: Some(claims.sub.clone()),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        nbf: claims.nbf,
        iss: Some(claims.iss.clone()),
        aud: Some(claims.aud.clone()),
        jti: Some(claims.jti.clone()),
        // RFC 9449 §6.2: a bound token is reported with its key and as a DPoP token.
        token_type: Some(if claims.cnf.is_some() { "DPoP" } else { "Bearer" }.into()),
        org_id: Some(claims.org_id.clone()),
        cnf: claims.cnf.clone(),
        act: claims.act.clone(),
    }
}

/// Whether a stored refresh token works now: the family's live token, not expired, and its
/// parties in good standing (`issue::standing`; an approval withdrawn revokes the family).
pub fn refresh_token_active(record: &RefreshRecord, parties: &Parties<'_>, now: i64) -> bool {
    record.state == RefreshState::Active
        && record.family_expires_at.is_none_or(|at| now < at)
        && issue::standing(&Parties { org_approves: true, ..*parties }).is_ok()
}

/// The introspection answer about a refresh token for the calling client (`issued_at`: when
/// its grant was made); `exp` is the family's expiry (SPEC §10).
pub fn respond_refresh(
    record: &RefreshRecord,
    parties: &Parties<'_>,
    issued_at: i64,
    issuer: &str,
    caller: &Client,
    now: i64,
) -> IntrospectionResponse {
    let (client, Some(user)) = (parties.client, parties.subject) else {
        return IntrospectionResponse::inactive();
    };
    if !refresh_token_active(record, parties, now) || !visible_to(caller, user.org_id.as_str(), client.id.as_str()) {
        return IntrospectionResponse::inactive();
    }
    IntrospectionResponse {
        active: true,
        scope: Some(record.scope.to_string()),
        client_id: Some(client.id.to_string()),
        sub: Some(user.id.to_string()),
        exp: record.family_expires_at,
        iat: Some(issued_at),
        iss: Some(issuer.to_owned()),
        token_type: Some("refresh_token".into()),
        org_id: Some(user.org_id.to_string()),
        // RFC 9449 §6.2 speaks of access tokens; a bound refresh token reports its key the same way.
        cnf: record.dpop_jkt.as_ref().map(|jkt| tessera_proto::Confirmation { jkt: Some(jkt.clone()) }),
        ..IntrospectionResponse::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClientId, ClientStatus, OrgId, Role};

    fn user(id: &str, role: Role) -> User {
        crate::testing::user(id, role)
    }

    fn client() -> Client {
        Client { id: ClientId::new("c"), ..crate::testing::client(&[], "read admin") }
    }

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            iss: "https://id.test".into(),
            sub: "u".into(),
            aud: "https://api.test".into(),
            exp: 2000,
            iat: 1000,
            nbf: None,
            jti: "j".into(),
            client_id: "c".into(),
            scope: "admin read".into(),
            org_id: "o".into(),
            grant_id: None,
            cnf: None,
            act: None,
        }
    }

    /// Applies one change to a healthy token's world and checks the verdict.
    fn check(change: impl FnOnce(&mut AccessTokenClaims, &mut Client, &mut User, &mut User, &mut bool), expected: bool) {
        let policy = TokenPolicy {
            issuer: "https://id.test".into(),
            audience: "https://api.test".into(),
            access_token_ttl: 3600,
            max_access_token_ttl: 3600,
            leeway: 60,
        };
        let catalogue = vec![ScopeDef { name: "read".into(), restricted: false }, ScopeDef { name: "admin".into(), restricted: true }];
        let (mut claims, mut client, mut subject, mut owner, mut revoked) =
            (claims(), client(), user("u", Role::Owner), user("u", Role::Owner), false);
        change(&mut claims, &mut client, &mut subject, &mut owner, &mut revoked);
        let state = TokenState { revoked, client: Some(&client), subject: Some(&subject), owner: Some(&owner), catalogue: &catalogue };
        assert_eq!(is_active(&claims, &state, &policy, 1500), expected);
    }

    #[test]
    fn every_party_must_be_in_good_standing() {
        check(|_, _, _, _, _| {}, true);
        check(|_, _, _, _, revoked| *revoked = true, false);
        check(|_, client, _, _, _| client.status = ClientStatus::Off, false);
        check(|_, _, subject, _, _| subject.disabled = true, false);
        check(|_, _, _, owner, _| owner.disabled = true, false);
        check(|_, _, subject, _, _| subject.role = Role::Member, false);
        check(|_, _, subject, _, _| subject.org_id = OrgId::new("other"), false);
        check(|claims, _, _, _, _| claims.iss = "https://evil.test".into(), false);
        check(|claims, _, _, _, _| claims.aud = "https://other-api.test".into(), false);
        check(|claims, _, _, _, _| claims.client_id = "d".into(), false);
        check(|claims, _, _, _, _| claims.exp = 1439, false);
        check(|claims, _, _, _, _| claims.exp = 1440, true);
        check(|claims, _, _, _, _| claims.iat = 1561, false);
        check(|claims, _, _, _, _| claims.scope = "read bad\"scope".into(), false);
    }

    #[test]
    fn refresh_tokens_are_active_while_their_family_and_parties_are() {
        let record = RefreshRecord {
            client_id: ClientId::new("c"),
            state: RefreshState::Active,
            scope: crate::scope::ScopeSet::parse("read").unwrap(),
            family_expires_at: Some(2000),
            dpop_jkt: None,
        };
        let answer = |record: &RefreshRecord, client: &Client, user: &User, caller: &Client, now| {
            let parties = Parties { client, owner: Some(user), subject: Some(user), org_approves: true };
            respond_refresh(record, &parties, 900, "https://id.test", caller, now).active
        };
        let (client, owner) = (client(), user("u", Role::Owner));
        assert!(answer(&record, &client, &owner, &client, 1999));
        assert!(!answer(&record, &client, &owner, &client, 2000), "the family has expired");
        assert!(!answer(&RefreshRecord { state: RefreshState::RotatedOut, ..record.clone() }, &client, &owner, &client, 1000));
        assert!(!answer(&RefreshRecord { state: RefreshState::Revoked, ..record.clone() }, &client, &owner, &client, 1000));
        assert!(!answer(&record, &Client { status: ClientStatus::Off, ..client.clone() }, &owner, &client, 1000));
        assert!(!answer(&record, &client, &User { disabled: true, ..owner.clone() }, &client, 1000));
        let stranger = Client { id: ClientId::new("x"), org_id: OrgId::new("elsewhere"), ..client.clone() };
        assert!(!answer(&record, &client, &owner, &stranger, 1000), "another org's client learns nothing (V07)");
        let parties = Parties { client: &client, owner: Some(&owner), subject: Some(&owner), org_approves: true };
        let full = respond_refresh(&record, &parties, 900, "https://id.test", &client, 1000);
        assert_eq!((full.exp, full.iat, full.token_type.as_deref()), (Some(2000), Some(900), Some("refresh_token")));
        assert_eq!(full.cnf, None);
        let bound = RefreshRecord { dpop_jkt: Some("k".into()), ..record.clone() };
        let full = respond_refresh(&bound, &parties, 900, "https://id.test", &client, 1000);
        assert_eq!(full.cnf.and_then(|c| c.jkt).as_deref(), Some("k"));
    }
}
