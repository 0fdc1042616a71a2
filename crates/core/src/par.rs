//! Pushed authorization requests (RFC 9126): what a push may carry, the `request_uri` it is
//! answered with, when a pushed request may still be used at the authorization endpoint, and
//! when a client must push.
//!
//! A pushed request is validated by the very rules of the authorization endpoint
//! (`authorize::validate`), once when it is pushed and again when it is used. It is single-use:
//! it must be *opened* at the authorization endpoint within its lifetime (`expires_in`), may then
//! take [`INTERACTION_WINDOW`] for the user's login and consent (the pages carry only
//! `client_id` and `request_uri` from step to step), and is consumed by the answer to the client
//! (a code, tokens, or an error sent to the redirect URI).

use crate::authorize::{self, AuthorizeError, ResponseType};
use crate::model::Client;
use crate::params::Params;
use crate::{ErrorCode, OAuthError};

/// The prefix of every `request_uri` this server hands out (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Seconds from a pushed request's first use at the authorization endpoint to its answer: time
/// for the user to sign in and consent.
pub const INTERACTION_WINDOW: i64 = 600;

/// The default lifetime of a pushed request, in seconds (RFC 9126 §2.2 suggests 5 to 600).
pub const DEFAULT_LIFETIME: i64 = 90;

/// Validates a push by `client`, which has already authenticated (RFC 9126 §2.1): the request
/// must be one the authorization endpoint would accept, must not carry a `request_uri`, and a
/// `client_id` it names must be the authenticated client's. Returns the parameters to store
/// (with `client_id`, which a Basic-authenticated push may leave out).
pub fn validate_push(params: &Params, client: &Client, default_response_type: Option<ResponseType>) -> Result<Params, OAuthError> {
    if params.contains("request_uri") {
        return Err(OAuthError::invalid_request("request_uri must not be pushed (RFC 9126 §2.1)"));
    }
    if params.contains("request") {
        return Err(OAuthError::new(ErrorCode::InvalidRequest, "request objects are not supported"));
    }
    if params.get("client_id").is_some_and(|id| id != client.id.as_str()) {
        return Err(OAuthError::invalid_request("client_id does not match the authenticated client"));
    }
    let params = params.clone().with("client_id", client.id.as_str());
    match authorize::validate(&params, Some(client), default_response_type) {
        Ok(_) => Ok(params),
        Err(AuthorizeError::Page(error) | AuthorizeError::Redirect { error, .. }) => Err(error),
    }
}

/// Whether `client` may only use pushed requests: registered so, or required server-wide.
pub fn required(client: &Client, required_globally: bool) -> bool {
    required_globally || client.require_pushed_authorization_requests
}

/// The error for an authorization request that was not pushed by a client that must push.
pub fn not_pushed() -> OAuthError {
    OAuthError::invalid_request("this client must use a pushed authorization request (RFC 9126)")
}

/// The reference an authorization request's `request_uri` names, if it has one. A `request_uri`
/// needs a `client_id` beside it (RFC 9126 §4) and must be one of ours.
pub fn reference(params: &Params) -> Result<Option<&str>, OAuthError> {
    let Some(uri) = params.get("request_uri") else { return Ok(None) };
    if params.get("client_id").is_none() {
        return Err(OAuthError::invalid_request("client_id is required with request_uri"));
    }
    match uri.strip_prefix(REQUEST_URI_PREFIX) {
        Some(reference) if !reference.is_empty() => Ok(Some(reference)),
        _ => Err(invalid_request_uri("request_uri was not issued by this server")),
    }
}

/// A pushed request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRequest {
    pub client_id: String,
    /// The validated authorization request, form-encoded.
    pub params: String,
    pub expires_at: i64,
    /// When the authorization endpoint first used it.
    pub opened_at: Option<i64>,
    pub consumed: bool,
}

/// Whether `pushed` may serve an authorization request of `client_id` at `now`; its parameters
/// if so. Every other parameter of the request is ignored (RFC 9126 §4, RFC 9101 §5).
pub fn usable(pushed: &PushedRequest, client_id: &str, now: i64) -> Result<Params, OAuthError> {
    if pushed.client_id != client_id {
        return Err(invalid_request_uri("request_uri was not issued to this client"));
    }
    if pushed.consumed {
        return Err(invalid_request_uri("request_uri has been used already"));
    }
    let deadline = match pushed.opened_at {
        None => pushed.expires_at,
        Some(opened) => opened.saturating_add(INTERACTION_WINDOW),
    };
    if now >= deadline {
        return Err(invalid_request_uri("request_uri has expired"));
    }
    Params::from_form(pushed.params.as_bytes()).map_err(|_| invalid_request_uri("the pushed request cannot be read"))
}

/// `prompt=login` of a pushed request is satisfied by a login after the request was first used
/// (the pages cannot strip it from the stored request the way they do from a plain one): never
/// on the request that opens it, afterwards by a login since the opening second.
pub fn login_satisfied(opened_at: Option<i64>, opened_now: bool, auth_time: i64) -> bool {
    !opened_now && opened_at.is_some_and(|opened| auth_time >= opened)
}

fn invalid_request_uri(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequestUri, description)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::GrantType;

    fn client() -> Client {
        crate::testing::client(&[GrantType::AuthorizationCode], "read")
    }

    /// A push by a client registered with `pkce` optional, so that the pushes below need no
    /// challenge; PKCE is the rules of `authorize::validate`, which a push follows.
    fn push(body: &str) -> Result<String, &'static str> {
        let legacy = Client { pkce: crate::model::Pkce::Optional, ..client() };
        validate_push(&Params::from_form(body.as_bytes()).unwrap(), &legacy, None).map(|p| p.to_form()).map_err(|e| e.code.as_str())
    }

    #[test]
    fn a_push_needs_pkce_like_the_authorization_request() {
        let push = |body: &str| validate_push(&Params::from_form(body.as_bytes()).unwrap(), &client(), None).map_err(|e| e.code.as_str());
        assert_eq!(push("response_type=code").map(|_| ()), Err("invalid_request"));
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(push(&format!("response_type=code&code_challenge={challenge}&code_challenge_method=S256")).map(|_| ()), Ok(()));
    }

    #[test]
    fn a_push_is_an_authorization_request_without_request_uri() {
        assert_eq!(push("response_type=code&scope=read"), Ok("response_type=code&scope=read&client_id=app".into()));
        assert_eq!(push("client_id=app&response_type=code").map(|_| ()), Ok(()));
        assert_eq!(push("client_id=other&response_type=code"), Err("invalid_request"));
        assert_eq!(push(&format!("response_type=code&request_uri={REQUEST_URI_PREFIX}x")), Err("invalid_request"));
        assert_eq!(push("response_type=code&request=eyJ"), Err("invalid_request"));
        assert_eq!(push("response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb"), Err("invalid_request"));
        assert_eq!(push("response_type=foo"), Err("unsupported_response_type"));
        assert_eq!(push("response_type=token"), Err("unauthorized_client"));
        assert_eq!(push("response_type=code&scope=billing"), Err("invalid_scope"));
        assert_eq!(push("response_type=code&code_challenge_method=plain&code_challenge=x"), Err("invalid_request"));
    }

    #[test]
    fn request_uri_references() {
        let check = |query: &str| {
            reference(&Params::from_form(query.as_bytes()).unwrap()).map(|r| r.map(str::to_owned)).map_err(|e| e.code.as_str())
        };
        assert_eq!(check("client_id=app"), Ok(None));
        assert_eq!(check("client_id=app&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc"), Ok(Some("abc".into())));
        assert_eq!(check("request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc"), Err("invalid_request"));
        assert_eq!(check("client_id=app&request_uri=https%3A%2F%2Fevil.example%2Fr"), Err("invalid_request_uri"));
        assert_eq!(check("client_id=app&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3A"), Err("invalid_request_uri"));
    }

    #[test]
    fn a_pushed_request_is_opened_in_time_used_once_and_by_its_client_only() {
        let pushed = PushedRequest {
            client_id: "app".into(),
            params: "client_id=app&response_type=code".into(),
            expires_at: 1090,
            opened_at: None,
            consumed: false,
        };
        let check = |pushed: &PushedRequest, client: &str, now: i64| usable(pushed, client, now).map(|_| ()).map_err(|e| e.code.as_str());
        assert_eq!(check(&pushed, "app", 1089), Ok(()));
        assert_eq!(check(&pushed, "app", 1090), Err("invalid_request_uri"), "expired unopened");
        assert_eq!(check(&pushed, "other", 1000), Err("invalid_request_uri"), "another client's");
        let opened = PushedRequest { opened_at: Some(1080), ..pushed.clone() };
        assert_eq!(check(&opened, "app", 1080 + INTERACTION_WINDOW - 1), Ok(()), "login and consent may outlast expires_in");
        assert_eq!(check(&opened, "app", 1080 + INTERACTION_WINDOW), Err("invalid_request_uri"));
        let consumed = PushedRequest { consumed: true, ..opened };
        assert_eq!(check(&consumed, "app", 1081), Err("invalid_request_uri"));
    }

    #[test]
    fn required_per_client_or_globally_and_login_after_opening() {
        let mut c = client();
        assert!(!required(&c, false));
        assert!(required(&c, true));
        c.require_pushed_authorization_requests = true;
        assert!(required(&c, false));
        assert!(!login_satisfied(Some(100), true, 100), "the opening request asks for the login");
        assert!(login_satisfied(Some(100), false, 100), "a login in the opening second counts");
        assert!(!login_satisfied(Some(100), false, 99));
        assert!(!login_satisfied(None, false, 100));
    }
}
