//! What a grant that acts for a user issues, decided in one place for every path that issues
//! one: code redemption, the device grant and refresh. Each path first applies its own rules
//! (the code's redemption checks, the device code's state, the refresh family's), then asks
//! [`decide`]: the user still enabled, the organization's approval of the client, the scope the
//! user's role (and the first-party rule) still allows, the resources, and which tokens go with
//! the access token.

use crate::model::{Client, Role, ScopeDef, User};
use crate::scope::{self, ScopeSet};
use crate::{ErrorCode, OAuthError, access, grant, resource};

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

/// Decides what a grant acting for a user issues, in this order: the user, the approval, the
/// scope, the resources.
pub fn decide(input: &UserGrantInput<'_>) -> Result<UserIssue, Refusal> {
    let Some(user) = input.user.filter(|user| user.is_active()) else {
        return Err(OAuthError::new(ErrorCode::InvalidGrant, "the user of this grant is disabled or gone").into());
    };
    if !input.org_approves {
        return Err(Refusal::NotApproved);
    }
    let holder = access::token_holder(input.client, input.owner, user);
    // A user demoted since the authorization gets only what the role still allows (Q07).
    let scope = scope::allowed_for(input.scope, holder, input.catalogue)?;
    // RFC 8707: a token request narrows the authorization's resources, never widens them.
    let resources = resource::select(input.requested_resources, input.client, input.granted_resources)?;
    Ok(UserIssue { refresh_token: grant::issues_refresh_token(input.client, &scope), id_token: scope.contains("openid"), scope, resources })
}

/// What a new first-party session (the session API) issues: every scope the user's role
/// allows, with a refresh token and an ID token.
pub fn first_party_session(role: Role, catalogue: &[ScopeDef]) -> UserIssue {
    let scope = scope::first_party_session(role, catalogue);
    UserIssue { id_token: scope.contains("openid"), scope, resources: Vec::new(), refresh_token: true }
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
