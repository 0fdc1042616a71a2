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
    /// `private_key_jwt` (RFC 7523 §2.2): a signed JWT in `client_assertion`.
    PrivateKeyJwt,
}

/// `client_assertion` values longer than this are refused before any decoding.
pub const MAX_ASSERTION_LEN: usize = 16 * 1024;

/// A client assertion as presented: a bearer credential until its `jti` is consumed, so it is
/// redacted in `Debug` and has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedAssertion(String);

impl PresentedAssertion {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PresentedAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PresentedAssertion(<redacted>)")
    }
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
    /// The `client_assertion`, for [`AuthMethod::PrivateKeyJwt`].
    pub assertion: Option<PresentedAssertion>,
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
        return Ok(PresentedClient {
            id: ClientId::new(id),
            secret: Some(PresentedSecret(secret)),
            method: AuthMethod::Basic,
            assertion: None,
        });
    }
    let plain = |error| CredentialsError { error, tried_basic: false };
    if params.contains("client_assertion") || params.contains("client_assertion_type") {
        return assertion(params).map_err(plain);
    }
    let Some(id) = body_id else {
        return Err(plain(OAuthError::new(ErrorCode::InvalidClient, "client authentication is required")));
    };
    if !ClientId::is_well_formed(id) {
        return Err(plain(OAuthError::invalid_client()));
    }
    Ok(match body_secret {
        Some(secret) => PresentedClient {
            id: ClientId::new(id),
            secret: Some(PresentedSecret(secret.to_owned())),
            method: AuthMethod::Post,
            assertion: None,
        },
        None => PresentedClient { id: ClientId::new(id), secret: None, method: AuthMethod::None, assertion: None },
    })
}

/// `client_assertion` + `client_assertion_type` (RFC 7521 §4.2): with a secret too, or one
/// without the other, the request is malformed (`invalid_request`); an unknown assertion type
/// or an assertion naming no client is `invalid_client` (RFC 7521 §4.2.1). The client is the
/// body's `client_id`, which must then be the assertion's `sub`, or else that `sub`.
fn assertion(params: &Params) -> Result<PresentedClient, OAuthError> {
    if params.contains("client_secret") {
        return Err(OAuthError::invalid_request("client credentials were sent in more than one way"));
    }
    let (Some(kind), Some(jwt)) = (params.get("client_assertion_type"), params.get("client_assertion")) else {
        return Err(OAuthError::invalid_request("client_assertion and client_assertion_type go together"));
    };
    if kind != crate::assertion::ASSERTION_TYPE || jwt.is_empty() || jwt.len() > MAX_ASSERTION_LEN {
        return Err(OAuthError::invalid_client());
    }
    let subject = crate::assertion::unverified_subject(jwt);
    let id = match (params.get("client_id"), subject.as_deref()) {
        (Some(id), Some(sub)) if id == sub => id,
        (None, Some(sub)) => sub,
        _ => return Err(OAuthError::invalid_client()),
    };
    if !ClientId::is_well_formed(id) {
        return Err(OAuthError::invalid_client());
    }
    Ok(PresentedClient {
        id: ClientId::new(id),
        secret: None,
        method: AuthMethod::PrivateKeyJwt,
        assertion: Some(PresentedAssertion(jwt.to_owned())),
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
    fn an_id_moved_in_from_another_vendor_reads_the_same_encoded_or_not() {
        // SPEC §13: [A-Za-z0-9._~-]; RFC 6749 §2.3.1's form-encoding may turn `~` into `%7E`.
        for sent in ["legacy.app~1-x_Y", "legacy.app%7E1-x_Y"] {
            check(Some(&basic(sent, "s3cret")), "", Ok(("legacy.app~1-x_Y", Some("s3cret"), AuthMethod::Basic)));
        }
        check(Some(&basic("legacy.app~1", "s3cret")), "client_id=legacy.app%7E1", Ok(("legacy.app~1", Some("s3cret"), AuthMethod::Basic)));
        check(None, "client_id=legacy.app~1&client_secret=s3cret", Ok(("legacy.app~1", Some("s3cret"), AuthMethod::Post)));
        for bad in ["a b", "a/b", "a+b", "é", &"x".repeat(129)] {
            assert!(!ClientId::is_well_formed(bad), "{bad}");
        }
        assert!(ClientId::is_well_formed(&"x".repeat(128)));
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
        let urn = crate::assertion::ASSERTION_TYPE;
        let jwt = format!("e30.{}.sig", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"abc"}"#));
        let with_jwt = |extra: &str| format!("client_assertion_type={urn}&client_assertion={jwt}{extra}");
        check(None, &with_jwt(""), Ok(("abc", None, AuthMethod::PrivateKeyJwt)));
        check(None, &with_jwt("&client_id=abc"), Ok(("abc", None, AuthMethod::PrivateKeyJwt)));
        check(None, &with_jwt("&client_id=other"), Err((ErrorCode::InvalidClient, false)));
        check(None, &with_jwt("&client_secret=s"), Err((ErrorCode::InvalidRequest, false)));
        check(Some(&b), &with_jwt(""), Err((ErrorCode::InvalidRequest, true)));
        check(None, &format!("client_assertion={jwt}"), Err((ErrorCode::InvalidRequest, false)));
        check(None, &format!("client_assertion_type={urn}"), Err((ErrorCode::InvalidRequest, false)));
    }
}
