//! Token exchange (RFC 8693): a service presents a user's access token (the subject token) and
//! gets a narrower one for a downstream API, which names the service as the acting party.
//!
//! Deny by default: only a confidential client registered for the `token_exchange` grant may
//! exchange, and only access tokens this server issued, active now, of its own organization
//! (or issued to it). The new token keeps the subject (`sub`, `org_id`) and the authorization it
//! descends from (`grant_id`), so revoking that authorization, disabling the user or turning the
//! exchanging client OFF stops it too; its `aud` is among the exchanging client's registered
//! resources (RFC 8707), its scope within both the subject token's and the client's, its lifetime
//! within the subject token's. No refresh token.

use tessera_proto::{AccessTokenClaims, Actor};

use crate::OAuthError;
use crate::model::{Client, GrantType, ScopeDef};
use crate::params::Params;
use crate::scope::{self, Holder, ScopeSet};
use crate::token::TokenPolicy;

/// The token-exchange `grant_type` (RFC 8693 §2.1).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The one token type Tessera exchanges and issues (RFC 8693 §3).
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The longest chain of acting parties a token may name; a longer delegation is refused.
pub const MAX_ACTORS: usize = 5;

/// A token-exchange request after parsing, before any token is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeRequest {
    pub subject_token: String,
    pub actor_token: Option<String>,
    pub scope: Option<ScopeSet>,
    /// `resource` and `audience` together: each must be a resource registered for the client.
    pub resources: Vec<String>,
}

/// The error of an unusable subject or actor token: RFC 8693 §2.2.2 requires `invalid_request`
/// whatever the reason (unknown, expired, revoked, another organization's), and one text for
/// all of them, so the answer tells nothing about a token the caller may not see.
pub fn unusable_token(which: &'static str) -> OAuthError {
    OAuthError::invalid_request(match which {
        "actor" => "the actor_token is not an active access token of this client",
        _ => "the subject_token is not an active access token",
    })
}

fn token_type(params: &Params, name: &'static str) -> Result<(), OAuthError> {
    match params.get(name) {
        Some(ACCESS_TOKEN_TYPE) => Ok(()),
        Some(_) => Err(OAuthError::invalid_request(format!("{name} must be {ACCESS_TOKEN_TYPE}"))),
        None => Err(OAuthError::invalid_request(format!("{name} is required"))),
    }
}

/// Parses the token-exchange parameters (RFC 8693 §2.1).
pub fn parse(params: &Params) -> Result<ExchangeRequest, OAuthError> {
    let subject_token = params.get("subject_token").ok_or_else(|| OAuthError::invalid_request("subject_token is required"))?;
    token_type(params, "subject_token_type")?;
    let actor_token = params.get("actor_token").map(str::to_owned);
    match (&actor_token, params.contains("actor_token_type")) {
        (Some(_), _) => token_type(params, "actor_token_type")?,
        (None, true) => return Err(OAuthError::invalid_request("actor_token_type without actor_token")),
        (None, false) => {}
    }
    if params.get("requested_token_type").is_some_and(|t| t != ACCESS_TOKEN_TYPE) {
        return Err(OAuthError::invalid_request(format!("only {ACCESS_TOKEN_TYPE} can be issued")));
    }
    let mut resources = crate::resource::requested(params)?;
    // `audience` names the target logically (RFC 8693 §2.1); here a logical name is a resource
    // the client registered, compared exactly.
    for audience in params.all("audience") {
        if !resources.iter().any(|r| r == audience) {
            resources.push(audience.to_owned());
        }
    }
    Ok(ExchangeRequest {
        subject_token: subject_token.to_owned(),
        actor_token,
        scope: params.get("scope").map(ScopeSet::parse).transpose()?,
        resources,
    })
}

/// Whether `client` may exchange tokens at all: deny by default (`unauthorized_client`).
pub fn check_client_may_exchange(client: &Client) -> Result<(), OAuthError> {
    if client.public || !client.has_grant(GrantType::TokenExchange) {
        return Err(OAuthError::unauthorized_client("this client may not exchange tokens"));
    }
    Ok(())
}

/// Whether `client` may present an active token with `claims` as the subject token: one of its
/// own organization's, or one issued to it (the tokens it could introspect).
pub fn subject_visible(client: &Client, claims: &AccessTokenClaims) -> bool {
    claims.org_id == client.org_id.as_str() || claims.client_id == client.id.as_str()
}

/// Whether an active token with `claims` may be `client`'s actor token: it must be its own.
pub fn actor_acceptable(client: &Client, claims: &AccessTokenClaims) -> bool {
    claims.client_id == client.id.as_str()
}

/// Everything the decision needs, already verified and loaded.
#[derive(Debug, Clone)]
pub struct ExchangeInput<'a> {
    pub client: &'a Client,
    /// The subject token's claims; the caller has checked it is active and visible.
    pub subject: &'a AccessTokenClaims,
    /// Who the new token is for (`access::token_holder` of this client and the subject's user):
    /// Tessera's own scopes pass only to a client of the subject's organization.
    pub holder: Holder,
    pub catalogue: &'a [ScopeDef],
    pub requested_scope: Option<&'a ScopeSet>,
    pub requested_resources: &'a [String],
    pub policy: &'a TokenPolicy,
    pub now: i64,
}

/// What the exchange issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub scope: ScopeSet,
    pub resources: Vec<String>,
    pub ttl: u32,
    pub act: Actor,
}

/// Decides an exchange: resources registered for the exchanging client (`invalid_target`),
/// scope within the subject token's and the client's (`invalid_scope`), a lifetime that ends no
/// later than the subject token's, and `act` naming the client (over the subject's own `act`).
pub fn decide(input: &ExchangeInput<'_>) -> Result<Exchange, OAuthError> {
    let client = input.client;
    let resources = crate::resource::select(input.requested_resources, client, &[])?;
    let subject_scope = ScopeSet::parse(&input.subject.scope).map_err(|_| unusable_token("subject"))?;
    let registered = scope::registered_part(&subject_scope, &client.scopes);
    let available = ScopeSet::from_names(registered.iter().filter(|name| scope::holder_allows(input.holder, name, input.catalogue)));
    let scope = match input.requested_scope {
        Some(requested) if requested.is_subset(&available) => requested.clone(),
        Some(_) => return Err(OAuthError::invalid_scope("the requested scope exceeds the subject token's or this client's")),
        None => available,
    };
    if scope.is_empty() {
        return Err(OAuthError::invalid_scope("the subject token carries no scope this client may get"));
    }
    let act = Actor { sub: client.id.to_string(), act: input.subject.act.clone().map(Box::new) };
    if act.depth() > MAX_ACTORS {
        return Err(OAuthError::invalid_request("the subject token has been exchanged too many times"));
    }
    let remaining = u32::try_from(input.subject.exp.saturating_sub(input.now).max(1)).unwrap_or(u32::MAX);
    let ttl = input.policy.access_token_ttl(client).min(remaining);
    Ok(Exchange { scope, resources, ttl, act })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn exchanger() -> Client {
        Client {
            resources: vec!["https://orders.test".into(), "https://billing.test".into()],
            ..crate::testing::client(&[GrantType::TokenExchange], "read write")
        }
    }

    fn subject(scope: &str, exp: i64, act: Option<Actor>) -> AccessTokenClaims {
        let grant = crate::token::AccessGrant {
            subject: &crate::model::UserId::new("u"),
            client: &crate::testing::client(&[], "read"),
            org: &crate::model::OrgId::new("o"),
            scope: &ScopeSet::parse(scope).unwrap(),
            resources: &[],
            ttl: 3600,
        };
        let mut claims = crate::token::access_token_claims(&policy(), &grant, "j".into(), 0);
        claims.exp = exp;
        claims.act = act;
        claims
    }

    fn policy() -> TokenPolicy {
        TokenPolicy {
            issuer: "i".into(),
            audience: "https://id.test".into(),
            access_token_ttl: 3600,
            max_access_token_ttl: 7200,
            leeway: 60,
        }
    }

    #[test]
    fn parsing() {
        let check = |body: &str, expected: Result<(Option<&str>, Vec<&str>), ErrorCode>| {
            let params = Params::from_form(body.as_bytes()).unwrap();
            let parsed = parse(&params).map(|r| (r.actor_token.clone(), r.resources.clone())).map_err(|e| e.code);
            let expected = expected.map(|(a, r)| (a.map(str::to_owned), r.into_iter().map(str::to_owned).collect::<Vec<_>>()));
            assert_eq!(parsed, expected, "{body}");
        };
        let at = "urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token";
        check(&format!("subject_token=t&subject_token_type={at}"), Ok((None, vec![])));
        check(&format!("subject_token_type={at}"), Err(ErrorCode::InvalidRequest));
        check("subject_token=t", Err(ErrorCode::InvalidRequest));
        check("subject_token=t&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aid_token", Err(ErrorCode::InvalidRequest));
        check(&format!("subject_token=t&subject_token_type={at}&actor_token=a&actor_token_type={at}"), Ok((Some("a"), vec![])));
        check(&format!("subject_token=t&subject_token_type={at}&actor_token=a"), Err(ErrorCode::InvalidRequest));
        check(&format!("subject_token=t&subject_token_type={at}&actor_token_type={at}"), Err(ErrorCode::InvalidRequest));
        check(&format!("subject_token=t&subject_token_type={at}&requested_token_type=urn%3Ax"), Err(ErrorCode::InvalidRequest));
        check(
            &format!("subject_token=t&subject_token_type={at}&resource=https%3A%2F%2Fa.test&audience=b&audience=https%3A%2F%2Fa.test"),
            Ok((None, vec!["https://a.test", "b"])),
        );
        check(&format!("subject_token=t&subject_token_type={at}&resource=%2Fx"), Err(ErrorCode::InvalidTarget));
    }

    #[test]
    fn only_registered_confidential_clients_exchange() {
        assert!(check_client_may_exchange(&exchanger()).is_ok());
        let public = Client { public: true, ..exchanger() };
        assert_eq!(check_client_may_exchange(&public).map_err(|e| e.code), Err(ErrorCode::UnauthorizedClient));
        let other = crate::testing::client(&[GrantType::ClientCredentials], "read");
        assert_eq!(check_client_may_exchange(&other).map_err(|e| e.code), Err(ErrorCode::UnauthorizedClient));
    }

    #[test]
    fn decisions() {
        let client = exchanger();
        let policy = policy();
        let catalogue: Vec<ScopeDef> =
            ["read", "write", "admin"].iter().map(|name| ScopeDef { name: (*name).into(), restricted: false }).collect();
        let run = |subject: &AccessTokenClaims, scope: Option<&str>, resources: &[&str]| {
            let scope = scope.map(|s| ScopeSet::parse(s).unwrap());
            let resources: Vec<String> = resources.iter().map(|r| (*r).to_owned()).collect();
            decide(&ExchangeInput {
                client: &client,
                subject,
                holder: Holder { role: crate::model::Role::Member, first_party_owner: Some(crate::model::Role::Member) },
                catalogue: &catalogue,
                requested_scope: scope.as_ref(),
                requested_resources: &resources,
                policy: &policy,
                now: 1000,
            })
            .map(|e| (e.scope.to_string(), e.resources, e.ttl, e.act))
            .map_err(|e| e.code)
        };
        let user = subject("read write admin", 4600, None);
        let me = Actor { sub: "app".into(), act: None };
        assert_eq!(
            run(&user, None, &["https://orders.test"]),
            Ok(("read write".into(), vec!["https://orders.test".into()], 3600, me.clone()))
        );
        assert_eq!(run(&user, Some("read"), &[]).map(|r| r.0), Ok("read".into()));
        assert_eq!(run(&user, Some("admin"), &[]), Err(ErrorCode::InvalidScope), "not the client's");
        assert_eq!(run(&subject("read", 4600, None), Some("write"), &[]), Err(ErrorCode::InvalidScope), "not the subject's");
        assert_eq!(run(&subject("admin", 4600, None), None, &[]), Err(ErrorCode::InvalidScope), "nothing in common");
        assert_eq!(run(&user, None, &["https://elsewhere.test"]), Err(ErrorCode::InvalidTarget));
        assert_eq!(run(&subject("read", 1100, None), None, &[]).map(|r| r.2), Ok(100), "never outlives the subject token");
        let earlier = Actor { sub: "front".into(), act: None };
        let nested = run(&subject("read", 4600, Some(earlier.clone())), None, &[]).map(|r| r.3);
        assert_eq!(nested, Ok(Actor { sub: "app".into(), act: Some(Box::new(earlier)) }));
        let mut chain = Actor { sub: "a0".into(), act: None };
        for i in 1..MAX_ACTORS {
            chain = Actor { sub: format!("a{i}"), act: Some(Box::new(chain)) };
        }
        assert_eq!(run(&subject("read", 4600, Some(chain)), None, &[]).map(|_| ()), Err(ErrorCode::InvalidRequest));
    }
}
