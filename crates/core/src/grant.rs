//! Token-endpoint grants: parsing `grant_type` into a typed request and deciding each grant.

use crate::client as client_rules;
use crate::issue::{self, Lapse, Parties};
use crate::model::{Client, GrantType, ScopeDef, User};
use crate::params::Params;
use crate::scope::{self, ScopeSet};
use crate::token::TokenPolicy;
use crate::{ErrorCode, OAuthError};

/// A token request after parsing, before any lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRequest {
    ClientCredentials {
        scope: Option<ScopeSet>,
        resources: Vec<String>,
    },
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
        resources: Vec<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<ScopeSet>,
        resources: Vec<String>,
    },
    /// RFC 8628 §3.4.
    DeviceCode {
        device_code: String,
        resources: Vec<String>,
    },
    /// RFC 8693 §2.1.
    TokenExchange(crate::exchange::ExchangeRequest),
}

/// Parses the grant-specific parameters. Unknown or unoffered grants are
/// `unsupported_grant_type` (A16).
/// `default_grant_type`: how a request without `grant_type` is read (a profile may set it: the
/// Blue Canvas seed's token request is a bare POST with HTTP Basic); `None`: it is required.
pub fn parse_token_request(params: &Params, default_grant_type: Option<GrantType>) -> Result<TokenRequest, OAuthError> {
    let grant_type = match params.get("grant_type") {
        // The device grant is named by its URN on the wire; its short registration name is not
        // a grant type.
        Some(crate::device::GRANT_TYPE) => Some(GrantType::DeviceCode),
        Some("device_code") => None,
        Some(crate::exchange::GRANT_TYPE) => Some(GrantType::TokenExchange),
        Some("token_exchange") => None,
        Some(value) => GrantType::parse(value),
        None => Some(default_grant_type.ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?),
    };
    let Some(grant_type) = grant_type.filter(|g| *g != GrantType::Implicit) else {
        return Err(OAuthError::new(ErrorCode::UnsupportedGrantType, "this grant type is not supported"));
    };
    // RFC 8707 §2: `resource` may accompany every grant's token request.
    let resources = crate::resource::requested(params);
    match grant_type {
        GrantType::ClientCredentials => {
            let scope = params.get("scope").map(ScopeSet::parse).transpose()?;
            Ok(TokenRequest::ClientCredentials { scope, resources: resources? })
        }
        GrantType::AuthorizationCode => Ok(TokenRequest::AuthorizationCode {
            code: required(params, "code")?,
            redirect_uri: params.get("redirect_uri").map(str::to_owned),
            code_verifier: params.get("code_verifier").map(str::to_owned),
            resources: resources?,
        }),
        GrantType::RefreshToken => Ok(TokenRequest::RefreshToken {
            refresh_token: required(params, "refresh_token")?,
            scope: params.get("scope").map(ScopeSet::parse).transpose()?,
            resources: resources?,
        }),
        GrantType::DeviceCode => Ok(TokenRequest::DeviceCode { device_code: required(params, "device_code")?, resources: resources? }),
        GrantType::TokenExchange => Ok(TokenRequest::TokenExchange(crate::exchange::parse(params)?)),
        GrantType::Implicit => Err(OAuthError::new(ErrorCode::UnsupportedGrantType, "this grant type is not supported")),
    }
}

/// A parameter that must be present and non-empty (C05: a missing or empty code is
/// `invalid_request`, a wrong one `invalid_grant`).
fn required(params: &Params, name: &'static str) -> Result<String, OAuthError> {
    match params.get(name) {
        Some(value) if !value.is_empty() => Ok(value.to_owned()),
        _ => Err(OAuthError::invalid_request(format!("{name} is required"))),
    }
}

/// The rules a client must pass to redeem a code or a refresh token, checked before the token
/// is looked at: a confidential client lacking the grant is `unauthorized_client` (C08).
pub fn check_client_may_use(client: &Client, grant: GrantType) -> Result<(), OAuthError> {
    // A refresh token obtained through `offline_access` in the code flow may be used by a
    // client that registered only `authorization_code`.
    let allowed = client.has_grant(grant) || (grant == GrantType::RefreshToken && client.has_grant(GrantType::AuthorizationCode));
    if allowed { Ok(()) } else { Err(OAuthError::unauthorized_client("this client may not use this grant type")) }
}

/// Whether the client may still refresh a family granted `family_scope`, by its registration as
/// it is now: with the `refresh_token` grant, or with `authorization_code` for a family begun
/// with `offline_access` (the exception [`check_client_may_use`] lets through). So removing
/// `refresh_token` from a client stops its other families at their next refresh.
pub fn may_refresh(client: &Client, family_scope: &ScopeSet) -> bool {
    client.has_grant(GrantType::RefreshToken) || (client.has_grant(GrantType::AuthorizationCode) && family_scope.contains("offline_access"))
}

/// Whether a code-flow authorization also yields a refresh token: with `offline_access`, or
/// for a client registered with the `refresh_token` grant (SPEC §10).
pub fn issues_refresh_token(client: &Client, scope: &ScopeSet) -> bool {
    scope.contains("offline_access") || client.has_grant(GrantType::RefreshToken)
}

/// What the token endpoint should issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub scope: ScopeSet,
    /// RFC 8707: the resources the token is for (its `aud`); empty: the default audience.
    pub resources: Vec<String>,
    pub ttl: u32,
}

/// Everything the client-credentials decision needs, already loaded.
#[derive(Debug, Clone)]
pub struct ClientCredentialsInput<'a> {
    pub client: &'a Client,
    pub owner: Option<&'a User>,
    pub run_as: Option<&'a User>,
    pub catalogue: &'a [ScopeDef],
    pub requested: Option<&'a ScopeSet>,
    /// RFC 8707: the `resource` values of the request.
    pub resources: &'a [String],
    pub policy: &'a TokenPolicy,
}

/// The client-credentials grant (RFC 6749 §4.4) with Tessera's identity rule: the token acts as
/// the client's run-as user, who must be active and, unless it is the owner, hold
/// `authorize_applications` (A18); scopes follow the grant rule with that user's role.
pub fn client_credentials(input: &ClientCredentialsInput<'_>) -> Result<Issue, OAuthError> {
    let client = input.client;
    if client.public {
        return Err(OAuthError::invalid_client());
    }
    if !client.has_grant(GrantType::ClientCredentials) {
        return Err(OAuthError::unauthorized_client("this client may not use the client_credentials grant"));
    }
    // The token acts as the run-as user, in the client's own organization: no approval to ask.
    let parties = Parties { client, owner: input.owner, subject: input.run_as, org_approves: true };
    let holder = issue::standing(&parties).map_err(|lapse| match lapse {
        Lapse::ClientOff => OAuthError::invalid_client(),
        Lapse::OwnerInactive | Lapse::SubjectInactive | Lapse::NotApproved => {
            OAuthError::unauthorized_client("the client's user is disabled or gone")
        }
    })?;
    if let (Some(owner), Some(run_as)) = (input.owner, input.run_as)
        && !client_rules::run_as_allowed(owner, run_as)
    {
        return Err(OAuthError::unauthorized_client("the client's run-as user may not authorize applications"));
    }
    let scope = scope::grant(input.requested, &client.scopes, holder, input.catalogue)?;
    let resources = crate::resource::select(input.resources, client, &[])?;
    Ok(Issue { scope, resources, ttl: input.policy.access_token_ttl(client) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Role, UserId};

    fn user(id: &str, role: Role, authorize: bool) -> User {
        User { authorize_applications: authorize, ..crate::testing::user(id, role) }
    }

    fn client(grants: &[GrantType], ttl: Option<u32>) -> Client {
        Client {
            owner: UserId::new("owner"),
            run_as: UserId::new("owner"),
            access_token_ttl: ttl,
            ..crate::testing::client(grants, "read admin")
        }
    }

    fn policy() -> TokenPolicy {
        TokenPolicy { issuer: "i".into(), audience: "a".into(), access_token_ttl: 3600, max_access_token_ttl: 7200, leeway: 60 }
    }

    #[test]
    fn grant_types_parse() {
        let check = |body: &str, expected: Result<(), ErrorCode>| {
            let params = Params::from_form(body.as_bytes()).unwrap();
            assert_eq!(parse_token_request(&params, None).map(|_| ()).map_err(|e| e.code), expected, "{body}");
        };
        check("grant_type=client_credentials", Ok(()));
        check("", Err(ErrorCode::InvalidRequest));
        for g in ["foo", "password", "urn:ietf:params:oauth:grant-type:jwt-bearer", "token_exchange"] {
            check(&format!("grant_type={g}"), Err(ErrorCode::UnsupportedGrantType));
        }
        check("grant_type=client_credentials&scope=a%22b", Err(ErrorCode::InvalidScope));
        // A profile's default applies only when grant_type is absent.
        let bare = Params::from_form(b"").unwrap();
        let defaulted = parse_token_request(&bare, Some(GrantType::ClientCredentials));
        assert_eq!(defaulted, Ok(TokenRequest::ClientCredentials { scope: None, resources: vec![] }));
        check("grant_type=client_credentials&resource=%2Frelative", Err(ErrorCode::InvalidTarget));
        check("grant_type=client_credentials&resource=https%3A%2F%2Fa.test&resource=https%3A%2F%2Fb.test", Ok(()));
        let other = Params::from_form(b"grant_type=foo").unwrap();
        assert!(parse_token_request(&other, Some(GrantType::ClientCredentials)).is_err());
    }

    #[test]
    fn client_credentials_decisions() {
        let catalogue = vec![ScopeDef { name: "read".into(), restricted: false }, ScopeDef { name: "admin".into(), restricted: true }];
        let owner = user("owner", Role::Owner, false);
        let member = user("member", Role::Member, true);
        let unpermitted = user("svc", Role::Owner, false);
        let mut disabled = owner.clone();
        disabled.disabled = true;
        let policy = policy();
        let cc = client(&[GrantType::ClientCredentials], None);
        let run = |client: &Client, run_as: &User, owner_user: &User| {
            client_credentials(&ClientCredentialsInput {
                client,
                owner: Some(owner_user),
                run_as: Some(run_as),
                catalogue: &catalogue,
                requested: None,
                resources: &[],
                policy: &policy,
            })
            .map(|i| (i.scope.to_string(), i.ttl))
            .map_err(|e| e.code)
        };
        assert_eq!(run(&cc, &owner, &owner), Ok(("admin read".into(), 3600)));
        assert_eq!(run(&cc, &member, &owner), Ok(("read".into(), 3600)));
        assert_eq!(run(&cc, &unpermitted, &owner), Err(ErrorCode::UnauthorizedClient));
        assert_eq!(run(&cc, &disabled, &disabled), Err(ErrorCode::UnauthorizedClient));
        assert_eq!(run(&cc, &owner, &disabled), Err(ErrorCode::UnauthorizedClient));
        assert_eq!(run(&client(&[GrantType::AuthorizationCode], None), &owner, &owner), Err(ErrorCode::UnauthorizedClient));
        assert_eq!(run(&client(&[GrantType::ClientCredentials], Some(10)), &owner, &owner), Ok(("admin read".into(), 10)));
        assert_eq!(run(&client(&[GrantType::ClientCredentials], Some(99_999)), &owner, &owner), Ok(("admin read".into(), 7200)));
    }
}
