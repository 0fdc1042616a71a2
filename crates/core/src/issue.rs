//! Whether a token may be issued, and whether one issued is still in good standing: one rule
//! for every path.
//!
//! [`standing`] is the rule about the parties a token acts through (the client ON, its owner and
//! the user it acts for enabled, that user's organization approving the client). Every path
//! that issues a token asks it: client credentials, code redemption, refresh, the device grant,
//! the implicit answer, token exchange and the session API; and every place that honours one:
//! introspection, userinfo and Tessera's own resources through `introspection::is_active`. What
//! makes a token inactive reaches the guards through the revocation feed (`docs/admin-api.md`).
//!
//! A grant that acts for a user then asks [`decide`], after its own rules (the code's redemption
//! checks, the device code's state, the refresh family's): the scope the user's role (and the
//! first-party rule) still allows, the resources, and which tokens go with the access token.

use crate::model::{Client, ClientStatus, ScopeDef, User};
use crate::scope::{self, Holder, ScopeSet};
use crate::{ErrorCode, OAuthError, access, grant, resource};

/// The parties a token acts through, as stored now.
#[derive(Debug, Clone, Copy)]
pub struct Parties<'a> {
    /// The client the token is (or would be) issued to.
    pub client: &'a Client,
    /// The client's owner; `None` when gone.
    pub owner: Option<&'a User>,
    /// The user the token acts for: the grant's user, the run-as user of client credentials, the
    /// subject of an exchange; `None` when gone.
    pub subject: Option<&'a User>,
    /// Whether the subject's organization lets the client act for its users: always, unless the
    /// client was registered as needing an approval it has not been given.
    pub org_approves: bool,
}

/// Which party is not in good standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lapse {
    /// The client is OFF.
    ClientOff,
    /// The client's owner is disabled or gone: a disabled owner silences their clients.
    OwnerInactive,
    /// The user the token acts for is disabled or gone.
    SubjectInactive,
    /// The subject's organization has not approved (or has withdrawn its approval of) the client.
    NotApproved,
}

/// The rule about a token's parties, at issue and for as long as the token is honoured. `Ok`:
/// who the token is for (`access::token_holder`), which decides the scopes it may carry.
pub fn standing(parties: &Parties<'_>) -> Result<Holder, Lapse> {
    let client = parties.client;
    if client.status != ClientStatus::On {
        return Err(Lapse::ClientOff);
    }
    let Some(subject) = parties.subject.filter(|user| user.is_active()) else {
        return Err(Lapse::SubjectInactive);
    };
    let Some(owner) = parties.owner.filter(|owner| owner.is_active()) else {
        return Err(Lapse::OwnerInactive);
    };
    if !parties.org_approves {
        return Err(Lapse::NotApproved);
    }
    Ok(access::token_holder(client, Some(owner), subject))
}

impl Lapse {
    /// How a grant acting for a user (code, refresh, device, implicit) tells it.
    pub fn user_grant_refusal(self) -> Refusal {
        match self {
            Lapse::ClientOff => OAuthError::invalid_client().into(),
            Lapse::OwnerInactive => OAuthError::unauthorized_client("the client's owner is disabled").into(),
            Lapse::SubjectInactive => OAuthError::new(ErrorCode::InvalidGrant, "the user of this grant is disabled or gone").into(),
            Lapse::NotApproved => Refusal::NotApproved,
        }
    }
}

/// Everything the decision needs, already loaded.
#[derive(Debug, Clone, Copy)]
pub struct UserGrantInput<'a> {
    pub client: &'a Client,
    /// The client's owner (`access::token_holder`); `None` when gone.
    pub owner: Option<&'a User>,
    /// The user the grant acts for, as stored now; `None` when deleted.
    pub user: Option<&'a User>,
    /// Whether the user's organization lets the client act for its users: always, unless the
    /// client was registered as needing an approval it has not been given.
    pub org_approves: bool,
    pub catalogue: &'a [ScopeDef],
    /// The scope to issue before the role check: the grant's, or what a refresh narrowed it to.
    pub scope: &'a ScopeSet,
    /// RFC 8707: the resources the authorization recorded (none: any the client registered).
    pub granted_resources: &'a [String],
    /// RFC 8707: the resources the token request names (none: the granted ones).
    pub requested_resources: &'a [String],
}

/// What to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserIssue {
    /// The access token's scope: what the user may still hold (Q07).
    pub scope: ScopeSet,
    /// RFC 8707: the access token's resources (its `aud`); empty: the default audience.
    pub resources: Vec<String>,
    /// Whether a new grant starts a refresh-token family (`grant::issues_refresh_token`); a
    /// refresh always rotates its own.
    pub refresh_token: bool,
    /// Whether an ID token goes with the access token (`openid` granted).
    pub id_token: bool,
}

/// Why nothing is issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An OAuth error for the token response.
    OAuth(OAuthError),
    /// The client needs the user's organization's approval and has none (its status is the
    /// profile's choice).
    NotApproved,
}

impl From<OAuthError> for Refusal {
    fn from(error: OAuthError) -> Self {
        Self::OAuth(error)
    }
}

/// Decides what a grant acting for a user issues, in this order: the parties ([`standing`]),
/// the scope, the resources.
pub fn decide(input: &UserGrantInput<'_>) -> Result<UserIssue, Refusal> {
    let parties = Parties { client: input.client, owner: input.owner, subject: input.user, org_approves: input.org_approves };
    let holder = standing(&parties).map_err(Lapse::user_grant_refusal)?;
    // A user demoted since the authorization gets only what the role still allows (Q07).
    let scope = scope::allowed_for(input.scope, holder, input.catalogue)?;
    // RFC 8707: a token request narrows the authorization's resources, never widens them.
    let resources = resource::select(input.requested_resources, input.client, input.granted_resources)?;
    Ok(UserIssue { refresh_token: grant::issues_refresh_token(input.client, &scope), id_token: scope.contains("openid"), scope, resources })
}

/// What a new first-party session (the session API) issues: every scope the user's role
/// allows, with a refresh token and an ID token; the parties as for every grant.
pub fn first_party_session(parties: &Parties<'_>, catalogue: &[ScopeDef]) -> Result<UserIssue, Lapse> {
    let holder = standing(parties)?;
    let scope = scope::first_party_session(holder.role, catalogue);
    Ok(UserIssue { id_token: scope.contains("openid"), scope, resources: Vec::new(), refresh_token: true })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{GrantType, Role, ScopeDef};
    use crate::testing;

    fn decide_for(user: Option<&User>, org_approves: bool, scope: &str, requested_resources: &[&str]) -> Result<UserIssue, Refusal> {
        let client = Client {
            resources: vec!["https://api.example/a".into(), "https://api.example/b".into()],
            ..testing::client(&[GrantType::AuthorizationCode], "openid read admin")
        };
        let owner = testing::user("u", Role::Owner);
        let catalogue = [ScopeDef { name: "read".into(), restricted: false }, ScopeDef { name: "admin".into(), restricted: true }];
        let scope = ScopeSet::parse(scope).unwrap();
        let granted = vec!["https://api.example/a".to_owned()];
        let requested: Vec<String> = requested_resources.iter().map(|r| (*r).to_owned()).collect();
        decide(&UserGrantInput {
            client: &client,
            owner: Some(&owner),
            user,
            org_approves,
            catalogue: &catalogue,
            scope: &scope,
            granted_resources: &granted,
            requested_resources: &requested,
        })
    }

    #[test]
    fn standing_asks_every_party() {
        let client = testing::client(&[GrantType::AuthorizationCode], "read");
        let owner = testing::user("u", Role::Owner);
        let member = testing::user("m", Role::Member);
        let disabled = User { disabled: true, ..member.clone() };
        let off = Client { status: crate::model::ClientStatus::Off, ..client.clone() };
        let judge = |client: &Client, owner: Option<&User>, subject: Option<&User>, org_approves: bool| {
            standing(&Parties { client, owner, subject, org_approves })
        };
        assert_eq!(judge(&client, Some(&owner), Some(&member), true).map(|h| h.role), Ok(Role::Member));
        assert_eq!(judge(&off, Some(&owner), Some(&member), true), Err(Lapse::ClientOff));
        assert_eq!(judge(&client, Some(&owner), Some(&disabled), true), Err(Lapse::SubjectInactive));
        assert_eq!(judge(&client, Some(&owner), None, true), Err(Lapse::SubjectInactive));
        assert_eq!(judge(&client, None, Some(&member), true), Err(Lapse::OwnerInactive));
        let disabled_owner = User { disabled: true, ..owner.clone() };
        assert_eq!(judge(&client, Some(&disabled_owner), Some(&member), true), Err(Lapse::OwnerInactive));
        assert_eq!(judge(&client, Some(&owner), Some(&member), false), Err(Lapse::NotApproved));
    }

    #[test]
    fn the_user_then_the_approval_then_the_scope_then_the_resources() {
        let member = testing::user("m", Role::Member);
        let disabled = User { disabled: true, ..member.clone() };
        let invalid_grant =
            |refusal: Result<UserIssue, Refusal>| matches!(refusal, Err(Refusal::OAuth(e)) if e.code == ErrorCode::InvalidGrant);
        assert!(invalid_grant(decide_for(None, false, "read", &[])), "a deleted user before the approval");
        assert!(invalid_grant(decide_for(Some(&disabled), true, "read", &[])));
        assert_eq!(decide_for(Some(&member), false, "read", &[]), Err(Refusal::NotApproved));
        let issue = decide_for(Some(&member), true, "openid read admin", &[]).unwrap();
        assert_eq!(issue.scope, ScopeSet::parse("openid read").unwrap(), "Q07: a member loses a restricted scope");
        assert_eq!(issue.resources, ["https://api.example/a"], "nothing requested: the granted resources");
        assert!(issue.id_token && !issue.refresh_token);
        let widened = decide_for(Some(&member), true, "read", &["https://api.example/b"]);
        assert!(matches!(widened, Err(Refusal::OAuth(e)) if e.code == ErrorCode::InvalidTarget), "a token request never widens");
        assert!(decide_for(Some(&member), true, "read offline_access", &[]).unwrap().refresh_token, "offline_access starts a family");
        let nothing_left = decide_for(Some(&member), true, "admin", &[]);
        assert!(matches!(nothing_left, Err(Refusal::OAuth(e)) if e.code == ErrorCode::InvalidScope));
    }
}
