//! Refresh-token rotation (RFC 6749 §6, RFC 9700 §4.14.2): every use rotates the token, a
//! rotated-out token presented again revokes its whole family, and the family's lifetime counts
//! from the original grant, never extended by rotation.

use crate::dpop::{self, ProofFailure};
use crate::issue::{self, Refusal, UserGrantInput, UserIssue};
use crate::model::{Client, ClientId, ScopeDef, User};
use crate::scope::{self, ScopeSet};
use crate::{ErrorCode, OAuthError, grant};

/// Where one refresh token stands in its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshState {
    /// The family's one live token.
    Active,
    /// Replaced by a newer token: presenting it again is reuse.
    RotatedOut,
    /// Revoked (by the client, an operator, or reuse detection).
    Revoked,
}

/// A stored refresh token, as the store returns it for a presented token's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    pub client_id: ClientId,
    pub state: RefreshState,
    /// The scope of the original grant; refreshes may narrow the access token, never this.
    pub scope: ScopeSet,
    /// When the family dies (counted from the grant); `None`: never (lifetime 0).
    pub family_expires_at: Option<i64>,
    /// RFC 9449 §5: the key (RFC 7638 thumbprint) the family is bound to, for a public client
    /// that started it with a DPoP proof.
    pub dpop_jkt: Option<String>,
}

/// What to do with a refresh request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshDecision {
    /// Rotate: retire this token, issue a new one with the family's scope, and an access token
    /// (and an ID token) as the issue says.
    Rotate(UserIssue),
    /// A rotated-out token came back: revoke the whole family, answer `invalid_grant` (F01, F10).
    RevokeFamily,
    /// Refuse without touching the family.
    Refuse(OAuthError),
    /// The client needs the user's organization's approval and has none: refuse without
    /// touching the family (the approval may still come).
    NotApproved,
    /// A bound token without a proof by its key (RFC 9449 §5): refuse as a proof failure
    /// (`invalid_dpop_proof`), without touching the family, so its holder keeps it.
    RefuseProof(ProofFailure),
}

/// Everything a refresh decision needs, already loaded.
#[derive(Debug, Clone, Copy)]
pub struct RefreshInput<'a> {
    /// `None`: no such token (or not a refresh token at all, F06).
    pub record: Option<&'a RefreshRecord>,
    pub client: &'a Client,
    /// The user the family acts for; `None` when deleted.
    pub user: Option<&'a User>,
    /// The client's owner, who decides with the user whether Tessera's own scopes may be held
    /// (`access::token_holder`); `None` when gone.
    pub owner: Option<&'a User>,
    pub catalogue: &'a [ScopeDef],
    /// Whether the access scope is bounded by the client's registered scopes: `false` only for
    /// the built-in session client, which registers none and whose grants follow the user's role.
    pub registration_bound: bool,
    pub requested: Option<&'a ScopeSet>,
    /// Whether the user's organization lets the client act for its users (`issue::UserGrantInput`).
    pub org_approves: bool,
    /// RFC 8707: the resources of the grant, and those the request names.
    pub granted_resources: &'a [String],
    pub requested_resources: &'a [String],
    /// The key of the request's valid DPoP proof, if it carried one.
    pub proof_jkt: Option<&'a str>,
    pub now: i64,
}

fn invalid_grant(description: &'static str) -> RefreshDecision {
    RefreshDecision::Refuse(OAuthError::new(ErrorCode::InvalidGrant, description))
}

/// Decides a refresh-token grant.
pub fn decide(input: &RefreshInput<'_>) -> RefreshDecision {
    let Some(record) = input.record else { return invalid_grant("unknown refresh token") };
    // Another client's token: refuse and leave it alone, so its owner keeps working (F02).
    if record.client_id != input.client.id {
        return invalid_grant("the refresh token was issued to another client");
    }
    match record.state {
        RefreshState::RotatedOut => return RefreshDecision::RevokeFamily,
        RefreshState::Revoked => return invalid_grant("the refresh token has been revoked"),
        RefreshState::Active => {}
    }
    // Before anything else about the family: a holder without the key learns nothing more.
    if let Err(failure) = dpop::check_binding(record.dpop_jkt.as_deref(), input.proof_jkt) {
        return RefreshDecision::RefuseProof(failure);
    }
    // The client's registration as it is now, not as it was at the grant: a refresh grant
    // removed since is refused as RFC 6749 §5.2 says, `unauthorized_client` (the client may no
    // longer use this grant type; the token itself is fine and works again if the grant returns).
    if !grant::may_refresh(input.client, &record.scope) {
        return RefreshDecision::Refuse(OAuthError::unauthorized_client("this client may no longer use the refresh_token grant"));
    }
    if record.family_expires_at.is_some_and(|at| input.now >= at) {
        return invalid_grant("the refresh token has expired");
    }
    let access_scope = match input.requested {
        None => record.scope.clone(),
        Some(requested) if requested.is_subset(&record.scope) => requested.clone(),
        Some(_) => return RefreshDecision::Refuse(OAuthError::invalid_scope("the requested scope exceeds the original grant")),
    };
    // The grant rule again (requested ∩ registered ∩ role): a scope removed from the client
    // since the grant is no longer in its access tokens.
    let access_scope = if input.registration_bound { scope::registered_part(&access_scope, &input.client.scopes) } else { access_scope };
    if access_scope.is_empty() {
        return RefreshDecision::Refuse(OAuthError::invalid_scope("none of these scopes is registered for this client any more"));
    }
    let issue = UserGrantInput {
        client: input.client,
        owner: input.owner,
        user: input.user,
        org_approves: input.org_approves,
        catalogue: input.catalogue,
        scope: &access_scope,
        granted_resources: input.granted_resources,
        requested_resources: input.requested_resources,
    };
    match issue::decide(&issue) {
        Ok(issue) => RefreshDecision::Rotate(issue),
        Err(Refusal::OAuth(error)) => RefreshDecision::Refuse(error),
        Err(Refusal::NotApproved) => RefreshDecision::NotApproved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{GrantType, Role};
    use crate::testing;

    fn client(id: &str) -> Client {
        Client { id: ClientId::new(id), ..testing::client(&[GrantType::AuthorizationCode, GrantType::RefreshToken], "read write admin") }
    }

    fn user(role: Role, disabled: bool) -> User {
        User { disabled, ..testing::user("u", role) }
    }

    fn record(state: RefreshState, expires: Option<i64>) -> RefreshRecord {
        RefreshRecord {
            client_id: ClientId::new("app"),
            state,
            scope: ScopeSet::parse("read admin").unwrap(),
            family_expires_at: expires,
            dpop_jkt: None,
        }
    }

    fn outcome(record: Option<&RefreshRecord>, client_id: &str, user: Option<&User>, requested: Option<&str>, now: i64) -> String {
        outcome_with_proof(record, client_id, user, requested, None, now)
    }

    fn outcome_with_proof(
        record: Option<&RefreshRecord>,
        client_id: &str,
        user: Option<&User>,
        requested: Option<&str>,
        proof_jkt: Option<&str>,
        now: i64,
    ) -> String {
        let client = client(client_id);
        decision(record, &client, user, requested, proof_jkt, now)
    }

    fn decision(
        record: Option<&RefreshRecord>,
        client: &Client,
        user: Option<&User>,
        requested: Option<&str>,
        proof_jkt: Option<&str>,
        now: i64,
    ) -> String {
        let catalogue = vec![ScopeDef { name: "read".into(), restricted: false }, ScopeDef { name: "admin".into(), restricted: true }];
        let requested = requested.map(|r| ScopeSet::parse(r).unwrap());
        let input = RefreshInput {
            record,
            client,
            user,
            owner: user,
            catalogue: &catalogue,
            registration_bound: true,
            requested: requested.as_ref(),
            org_approves: true,
            granted_resources: &[],
            requested_resources: &[],
            proof_jkt,
            now,
        };
        match decide(&input) {
            RefreshDecision::Rotate(issue) => format!("rotate:{}", issue.scope),
            RefreshDecision::NotApproved => "not-approved".into(),
            RefreshDecision::RevokeFamily => "revoke-family".into(),
            RefreshDecision::Refuse(e) => format!("refuse:{}", e.code.as_str()),
            RefreshDecision::RefuseProof(failure) => format!("refuse:{}", failure.as_str()),
        }
    }

    #[test]
    fn a_bound_family_needs_a_proof_by_its_key() {
        let owner = user(Role::Owner, false);
        let bound = RefreshRecord { dpop_jkt: Some("key-a".into()), ..record(RefreshState::Active, Some(2000)) };
        let check = |proof: Option<&str>, expected: &str| {
            assert_eq!(outcome_with_proof(Some(&bound), "app", Some(&owner), None, proof, 1000), expected, "{proof:?}")
        };
        check(Some("key-a"), "rotate:admin read");
        check(None, "refuse:dpop_missing");
        check(Some("key-b"), "refuse:dpop_wrong_key");
        // Reuse of a rotated-out token still revokes the family, whoever presents it.
        let rotated = RefreshRecord { state: RefreshState::RotatedOut, ..bound.clone() };
        assert_eq!(outcome_with_proof(Some(&rotated), "app", Some(&owner), None, None, 1000), "revoke-family");
        // An unbound family takes any proof or none (a confidential client's).
        let unbound = record(RefreshState::Active, Some(2000));
        assert_eq!(outcome_with_proof(Some(&unbound), "app", Some(&owner), None, Some("key-b"), 1000), "rotate:admin read");
    }

    #[test]
    fn rotation_rules() {
        let owner = user(Role::Owner, false);
        let active = record(RefreshState::Active, Some(2000));
        let check = |got: String, expected: &str| assert_eq!(got, expected);
        check(outcome(Some(&active), "app", Some(&owner), None, 1000), "rotate:admin read");
        check(outcome(Some(&active), "app", Some(&owner), Some("read"), 1000), "rotate:read"); // F04
        check(outcome(Some(&active), "app", Some(&owner), Some("read write"), 1000), "refuse:invalid_scope"); // F03
        check(outcome(Some(&active), "other", Some(&owner), None, 1000), "refuse:invalid_grant"); // F02
        check(outcome(None, "app", Some(&owner), None, 1000), "refuse:invalid_grant"); // F06
        check(outcome(Some(&active), "app", Some(&owner), None, 2000), "refuse:invalid_grant"); // F05
        check(outcome(Some(&record(RefreshState::Active, None)), "app", Some(&owner), None, i64::MAX - 1), "rotate:admin read");
        check(outcome(Some(&record(RefreshState::RotatedOut, Some(2000))), "app", Some(&owner), None, 1000), "revoke-family"); // F01, F10
        check(outcome(Some(&record(RefreshState::Revoked, Some(2000))), "app", Some(&owner), None, 1000), "refuse:invalid_grant"); // V02
        check(outcome(Some(&active), "app", Some(&user(Role::Owner, true)), None, 1000), "refuse:invalid_grant"); // F08
        check(outcome(Some(&active), "app", None, None, 1000), "refuse:invalid_grant"); // F08
        check(outcome(Some(&active), "app", Some(&user(Role::Member, false)), None, 1000), "rotate:read"); // Q07
    }

    #[test]
    fn the_registration_as_it_is_now_decides() {
        let owner = user(Role::Owner, false);
        let active = record(RefreshState::Active, Some(2000));
        let edited = |grants: &[GrantType], scopes: &str| Client { id: ClientId::new("app"), ..testing::client(grants, scopes) };
        let check = |client: Client, record: &RefreshRecord, requested: Option<&str>, expected: &str| {
            assert_eq!(decision(Some(record), &client, Some(&owner), requested, None, 1000), expected, "{:?}", client.grants)
        };
        // refresh_token removed: the client may no longer use the grant (RFC 6749 §5.2).
        check(edited(&[GrantType::AuthorizationCode], "read admin"), &active, None, "refuse:unauthorized_client");
        // ... unless the family began with offline_access, which the code flow allows.
        let offline = RefreshRecord { scope: ScopeSet::parse("read offline_access").unwrap(), ..active.clone() };
        check(edited(&[GrantType::AuthorizationCode], "read"), &offline, None, "rotate:offline_access read");
        check(edited(&[GrantType::ClientCredentials], "read"), &offline, None, "refuse:unauthorized_client");
        // A scope removed is no longer granted; asking for it narrows, nothing left is invalid_scope.
        check(edited(&[GrantType::RefreshToken], "read"), &active, None, "rotate:read");
        check(edited(&[GrantType::RefreshToken], "read"), &active, Some("admin read"), "rotate:read");
        check(edited(&[GrantType::RefreshToken], "write"), &active, None, "refuse:invalid_scope");
    }
}
