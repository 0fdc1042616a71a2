//! Which client a request claims to be, and how it tries to prove it (RFC 6749 §2.3).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::model::ClientId;
use crate::params::Params;
use crate::{ErrorCode, OAuthError};

/// How the client presented its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `client_secret_basic`
    Basic,
    /// `client_secret_post` (form or JSON body)
    Post,
    /// `none`: a public client naming itself.
    None,
}

/// A client secret as presented: redacted in `Debug`, no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedSecret(String);

impl PresentedSecret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PresentedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PresentedSecret(<redacted>)")
    }
}

/// The credentials a request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedClient {
    pub id: ClientId,
    pub secret: Option<PresentedSecret>,
    pub method: AuthMethod,
}

/// A failure to read credentials, with whether the client tried Basic (the 401 then carries a
/// `WWW-Authenticate: Basic` challenge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsError {
    pub error: OAuthError,
    pub tried_basic: bool,
}

impl From<CredentialsError> for OAuthError {
    fn from(e: CredentialsError) -> Self {
        e.error
    }
}

/// Reads client credentials from the `Authorization` header and the body parameters.
/// Using more than one method in one request is `invalid_request` (RFC 6749 §2.3, A05).
pub fn extract(authorization: Option<&str>, params: &Params) -> Result<PresentedClient, CredentialsError> {
    let basic = authorization.and_then(basic_payload);
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    if let Some(payload) = basic {
        let fail = |error| CredentialsError { error, tried_basic: true };
        if body_secret.is_some() || params.contains("client_assertion") {
            return Err(fail(OAuthError::invalid_request("client credentials were sent in more than one way")));
        }
        let (id, secret) = decode_basic(payload).ok_or_else(|| fail(OAuthError::invalid_client()))?;
        if body_id.is_some_and(|b| b != id) {
            return Err(fail(OAuthError::invalid_request("client_id in the body differs from the Authorization header")));
        }
        if !ClientId::is_well_formed(&id) || secret.is_empty() {
            return Err(fail(OAuthError::invalid_client()));
        }
        return Ok(PresentedClient { id: ClientId::new(id), secret: Some(PresentedSecret(secret)), method: AuthMethod::Basic });
    }
    let plain = |error| CredentialsError { error, tried_basic: false };
    if params.contains("client_assertion") || params.contains("client_assertion_type") {
        // private_key_jwt is not offered: every assertion is refused (J13).
        return Err(plain(OAuthError::invalid_client()));
    }
    let Some(id) = body_id else {
        return Err(plain(OAuthError::new(ErrorCode::InvalidClient, "client authentication is required")));
    };
    if !ClientId::is_well_formed(id) {
        return Err(plain(OAuthError::invalid_client()));
    }
    Ok(match body_secret {
        Some(secret) => {
            PresentedClient { id: ClientId::new(id), secret: Some(PresentedSecret(secret.to_owned())), method: AuthMethod::Post }
        }
        None => PresentedClient { id: ClientId::new(id), secret: None, method: AuthMethod::None },
    })
}

/// The credentials part of `Authorization: Basic …`, scheme matched case-insensitively.
fn basic_payload(header: &str) -> Option<&str> {
    let (scheme, rest) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("basic").then(|| rest.trim())
}

/// base64 → `id:secret`, each part form-urldecoded as RFC 6749 §2.3.1 requires (A08).
fn decode_basic(payload: &str) -> Option<(String, String)> {
    let raw = STANDARD.decode(payload).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

fn form_decode(value: &str) -> Option<String> {
    if !value.contains(['%', '+']) {
        return Some(value.to_owned());
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={}", value.replace('&', "%26").replace('=', "%3D"))).ok()?;
    pairs.into_iter().next().map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    fn check(auth: Option<&str>, body: &str, expected: Result<(&str, Option<&str>, AuthMethod), (ErrorCode, bool)>) {
        let params = Params::from_form(body.as_bytes()).unwrap();
        let actual = extract(auth, &params)
            .map(|c| (c.id.as_str().to_owned(), c.secret.map(|s| s.expose().to_owned()), c.method))
            .map_err(|e| (e.error.code, e.tried_basic));
        let expected = expected.map(|(i, s, m)| (i.to_owned(), s.map(str::to_owned), m));
        assert_eq!(actual, expected, "auth {auth:?} body {body:?}");
    }

    #[test]
    fn credential_extraction() {
        let b = basic("abc", "s3cret");
        check(Some(&b), "", Ok(("abc", Some("s3cret"), AuthMethod::Basic)));
        check(Some(&b.replace("Basic", "basic")), "", Ok(("abc", Some("s3cret"), AuthMethod::Basic)));
        check(Some(&b), "client_id=abc", Ok(("abc", Some("s3cret"), AuthMethod::Basic)));
        check(Some(&b), "client_id=other", Err((ErrorCode::InvalidRequest, true)));
        check(Some(&b), "client_id=abc&client_secret=s3cret", Err((ErrorCode::InvalidRequest, true)));
        check(None, "client_id=abc&client_secret=s3cret", Ok(("abc", Some("s3cret"), AuthMethod::Post)));
        check(None, "client_id=abc", Ok(("abc", None, AuthMethod::None)));
        check(None, "", Err((ErrorCode::InvalidClient, false)));
        check(Some("Basic %%%"), "", Err((ErrorCode::InvalidClient, true)));
        check(Some(&format!("Basic {}", STANDARD.encode("nocolon"))), "", Err((ErrorCode::InvalidClient, true)));
        check(Some(&basic("abc", "")), "", Err((ErrorCode::InvalidClient, true)));
        check(Some(&basic("%61bc", "s3+cret")), "", Ok(("abc", Some("s3 cret"), AuthMethod::Basic)));
        check(None, "client_assertion=x&client_assertion_type=y", Err((ErrorCode::InvalidClient, false)));
    }
}
