//! The axum side: the layer that admits or refuses a request, the [`Claims`] extractor, and
//! the RFC 6750 answers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tessera_proto::{AccessTokenClaims, ErrorResponse};

use crate::Guard;
use crate::check::Reason;
use crate::metrics::bump;

/// The claims of the request's verified access token, put there by the guard's layer.
///
/// As an extractor it refuses the request (401) when no guard layer admitted it, so a route
/// that forgot its layer fails closed.
#[derive(Debug, Clone)]
pub struct Claims(Arc<AccessTokenClaims>);

impl Claims {
    /// Shares the claims with the guard's cache of verified tokens.
    pub(crate) fn new(claims: Arc<AccessTokenClaims>) -> Self {
        Claims(claims)
    }

    /// The granted scopes.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.0.scope.split(' ').filter(|s| !s.is_empty())
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// `Ok` when the token holds `scope`, else the 403 `insufficient_scope` answer: for
    /// checks inside a handler.
    pub fn require(&self, scope: &str) -> Result<(), GuardError> {
        if self.has_scope(scope) { Ok(()) } else { Err(GuardError::InsufficientScope(scope.to_owned())) }
    }
}

impl std::ops::Deref for Claims {
    type Target = AccessTokenClaims;

    fn deref(&self) -> &AccessTokenClaims {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Claims {
    type Rejection = GuardError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Claims>().cloned().ok_or(GuardError::Missing { dpop: false })
    }
}

/// Why the guard refused a request; its response is the RFC 6750 §3 answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// No token: 401 with a bare `WWW-Authenticate: Bearer` challenge and, when `dpop` (the
    /// guard checks DPoP proofs: an `api_base_url` is set), a bare `DPoP` challenge next to it
    /// (RFC 9449 §7.1).
    #[error("an access token is required")]
    Missing { dpop: bool },
    /// The token was sent wrongly (two `Authorization` headers, or also in the URL): 400.
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// Not a valid, current token of the issuer: 401 `invalid_token`. The reason is not told
    /// to the caller.
    #[error("invalid token ({})", .0.as_str())]
    InvalidToken(Reason),
    /// Valid, but without a scope the route needs: 403 `insufficient_scope`.
    #[error("the token lacks the scope {0}")]
    InsufficientScope(String),
    /// A DPoP-bound token presented as `Bearer`, an unbound one as `DPoP`, or a DPoP token
    /// where no [`GuardConfig::api_base_url`](crate::GuardConfig::api_base_url) is set: 401
    /// `invalid_token` with a `DPoP` challenge (RFC 9449 §7.1).
    #[error("DPoP: {0}")]
    DpopInvalidToken(&'static str),
    /// The DPoP proof is missing, invalid, for another request or key, or replayed: 401
    /// `invalid_dpop_proof` with a `DPoP` challenge.
    #[error("invalid DPoP proof: {0}")]
    InvalidDpopProof(&'static str),
    /// The guard has not heard from the issuer for longer than its `max_staleness`: 503.
    #[error("the token issuer's revocation feed is unreachable")]
    Unavailable,
}

impl IntoResponse for GuardError {
    fn into_response(self) -> Response {
        let (status, code, description, challenge) = match &self {
            // No credentials (or another scheme): plain challenges without an error (RFC 6750
            // §3.1), one per scheme the API takes.
            GuardError::Missing { dpop } => {
                let mut challenge = format!("Bearer realm=\"{REALM}\"");
                if *dpop {
                    challenge.push('\n');
                    challenge.push_str(&format!("DPoP algs=\"{}\"", tessera_jose::dpop::DPOP_ALGORITHMS.join(" ")));
                }
                (StatusCode::UNAUTHORIZED, "invalid_token", "an access token is required", challenge)
            }
            GuardError::InvalidRequest(why) => {
                (StatusCode::BAD_REQUEST, "invalid_request", *why, format!("Bearer realm=\"{REALM}\", error=\"invalid_request\""))
            }
            GuardError::InvalidToken(_) => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token is invalid, expired or revoked",
                format!(
                    "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"the access token is invalid, expired or revoked\""
                ),
            ),
            GuardError::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "the access token lacks a scope this resource needs",
                format!("Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{scope}\""),
            ),
            GuardError::DpopInvalidToken(why) => (StatusCode::UNAUTHORIZED, "invalid_token", *why, dpop_challenge("invalid_token")),
            GuardError::InvalidDpopProof(why) => {
                (StatusCode::UNAUTHORIZED, "invalid_dpop_proof", *why, dpop_challenge("invalid_dpop_proof"))
            }
            GuardError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "tokens cannot be checked right now; retry later",
                String::new(),
            ),
        };
        let body = ErrorResponse { error: code.to_owned(), error_description: Some(description.to_owned()) };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        // One header per challenge (the lines of `challenge`).
        for value in challenge.lines().filter_map(|c| HeaderValue::from_str(c).ok()) {
            headers.append(header::WWW_AUTHENTICATE, value);
        }
        if self == GuardError::Unavailable {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The `WWW-Authenticate: DPoP` challenge for `error` (RFC 9449 §7.1).
fn dpop_challenge(error: &str) -> String {
    format!("DPoP algs=\"{}\", error=\"{error}\"", tessera_jose::dpop::DPOP_ALGORITHMS.join(" "))
}

/// The realm of every `WWW-Authenticate: Bearer` challenge the guard sends (V09).
pub const REALM: &str = "api";

/// The token of the one `Authorization: Bearer` header. A Bearer credential that is empty, holds
/// a space or a character outside RFC 6750's b64token is malformed (400, V10); another scheme
/// counts as no token (401 with a plain challenge).
#[cfg(test)]
pub(crate) fn bearer_token<'h>(headers: &'h HeaderMap, query: Option<&str>) -> Result<&'h str, GuardError> {
    match access_token(headers, query)? {
        (token, false) => Ok(token),
        (_, true) => Err(GuardError::Missing { dpop: false }),
    }
}

/// The token of the one `Authorization` header, `Bearer` or `DPoP` (true), with the same rules.
pub(crate) fn access_token<'h>(headers: &'h HeaderMap, query: Option<&str>) -> Result<(&'h str, bool), GuardError> {
    if query.is_some_and(|q| q.split('&').any(|pair| pair.split('=').next() == Some("access_token"))) {
        return Err(GuardError::InvalidRequest("send the access token in the Authorization header, not the URL"));
    }
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Err(GuardError::Missing { dpop: false }),
        (Some(_), Some(_)) => return Err(GuardError::InvalidRequest("more than one Authorization header")),
        (Some(value), None) => value,
    };
    let text = value.to_str().map_err(|_| GuardError::InvalidRequest("the Authorization header is not text"))?;
    match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop") => {
            let token = token.trim();
            if is_b64token(token) {
                Ok((token, scheme.eq_ignore_ascii_case("dpop")))
            } else {
                Err(GuardError::InvalidRequest("malformed Bearer credentials"))
            }
        }
        None if text.eq_ignore_ascii_case("bearer") || text.eq_ignore_ascii_case("dpop") => {
            Err(GuardError::InvalidRequest("malformed Bearer credentials"))
        }
        // Another scheme (Basic, ...): this resource wants a bearer token.
        _ => Err(GuardError::Missing { dpop: false }),
    }
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
}

/// A tower layer that admits requests with a valid bearer token holding its scopes, and puts
/// the token's [`Claims`] into the request's extensions. Made by [`Guard::layer`] and
/// [`Guard::require`].
#[derive(Clone, Debug)]
pub struct GuardLayer {
    guard: Guard,
    scopes: Arc<[String]>,
}

impl GuardLayer {
    pub(crate) fn new(guard: Guard, scopes: Vec<String>) -> Self {
        Self { guard, scopes: scopes.into() }
    }
}

impl<S> tower::Layer<S> for GuardLayer {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GuardService { inner, guard: self.guard.clone(), scopes: self.scopes.clone() }
    }
}

/// The service [`GuardLayer`] wraps around a handler or router.
#[derive(Clone, Debug)]
pub struct GuardService<S> {
    inner: S,
    guard: Guard,
    scopes: Arc<[String]>,
}

impl Guard {
    /// Decides on one request without knowing its method and path: its token's claims, or the
    /// refusal. A DPoP-bound token cannot be checked this way and is refused; use
    /// [`Guard::admit_request`].
    pub async fn admit(&self, headers: &HeaderMap, query: Option<&str>, scopes: &[String]) -> Result<Claims, GuardError> {
        self.admit_inner(headers, query, None, scopes).await
    }

    /// Decides on one request: its token's claims, or the refusal. A DPoP-bound token must come
    /// as `DPoP` with a proof of this `method` and URL (RFC 9449 §7).
    pub async fn admit_request(&self, method: &Method, uri: &Uri, headers: &HeaderMap, scopes: &[String]) -> Result<Claims, GuardError> {
        self.admit_inner(headers, uri.query(), Some((method, uri.path())), scopes).await
    }

    async fn admit_inner(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        request: Option<(&Method, &str)>,
        scopes: &[String],
    ) -> Result<Claims, GuardError> {
        let (token, dpop) = match access_token(headers, query) {
            Ok(token) => token,
            Err(GuardError::Missing { .. }) => {
                bump(&self.inner.metrics.missing);
                // DPoP is on offer only where proofs can be checked (RFC 9449 §7.1).
                return Err(GuardError::Missing { dpop: self.config().api_base_url.is_some() && request.is_some() });
            }
            Err(e) => {
                match &e {
                    GuardError::InvalidToken(reason) => bump(&self.inner.metrics.rejected[reason.index()]),
                    _ => bump(&self.inner.metrics.missing),
                }
                return Err(e);
            }
        };
        let claims = self.authenticate(token).await?;
        if let Some(jkt) = tessera_core::dpop::presentation(claims.dpop_jkt(), dpop).map_err(GuardError::DpopInvalidToken)? {
            let (Some(base), Some((method, path))) = (self.config().api_base_url.as_deref(), request) else {
                return Err(GuardError::DpopInvalidToken("this API does not accept DPoP-bound tokens"));
            };
            let proofs: Vec<&str> = headers.get_all("dpop").iter().map(|v| v.to_str().unwrap_or_default()).collect();
            let url = format!("{}{path}", base.trim_end_matches('/'));
            let now = crate::unix_now();
            let (jkt, jti, until) = crate::dpop::check_proof(&proofs, method.as_str(), &url, token, jkt, now)?;
            if !crate::lock(&self.inner.dpop_jtis).consume(&jkt, &jti, until, now) {
                return Err(GuardError::InvalidDpopProof("the DPoP proof has been used before"));
            }
        }
        if let Some(missing) = scopes.iter().find(|s| !claims.has_scope(s)) {
            bump(&self.inner.metrics.insufficient_scope);
            return Err(GuardError::InsufficientScope(missing.clone()));
        }
        Ok(claims)
    }
}

impl<S> tower::Service<Request<Body>> for GuardService<S>
where
    S: tower::Service<Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        // The clone is ready only after poll_ready; call the instance that was polled.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        let scopes = self.scopes.clone();
        Box::pin(async move {
            match guard.admit_request(request.method(), request.uri(), request.headers(), &scopes).await {
                Ok(claims) => {
                    request.extensions_mut().insert(claims);
                    inner.call(request).await
                }
                Err(refusal) => Ok(refusal.into_response()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_one_authorization_header_only() {
        let headers = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            }
            h
        };
        assert_eq!(bearer_token(&headers(&["Bearer abc"]), None), Ok("abc"));
        assert_eq!(bearer_token(&headers(&["bearer  abc "]), None), Ok("abc"));
        assert_eq!(bearer_token(&headers(&[]), None), Err(GuardError::Missing { dpop: false }));
        assert_eq!(bearer_token(&headers(&["Basic abc"]), None), Err(GuardError::Missing { dpop: false }));
        // V10: malformed Bearer credentials are a 400; another scheme is no token at all.
        for malformed in ["Bearer ", "Bearer", "Bearer a b", "Bearer a\tb", "Bearer a,b", "Bearer =x"] {
            assert!(matches!(bearer_token(&headers(&[malformed]), None), Err(GuardError::InvalidRequest(_))), "{malformed:?}");
        }
        assert_eq!(bearer_token(&headers(&["Bearer a.b-c_d~e+f/g=="]), None), Ok("a.b-c_d~e+f/g=="));
        assert_eq!(bearer_token(&headers(&["Digest x"]), None), Err(GuardError::Missing { dpop: false }));
        assert!(matches!(bearer_token(&headers(&["Bearer a", "Bearer b"]), None), Err(GuardError::InvalidRequest(_))));
        assert!(matches!(bearer_token(&headers(&["Bearer a"]), Some("x=1&access_token=a")), Err(GuardError::InvalidRequest(_))));
    }

    #[test]
    fn refusals_are_rfc6750_answers() {
        let check = |e: GuardError, status: u16, challenge: Option<&str>| {
            let response = e.into_response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap()), challenge);
        };
        check(GuardError::Missing { dpop: false }, 401, Some("Bearer realm=\"api\""));
        let both = GuardError::Missing { dpop: true }.into_response();
        let challenges: Vec<_> = both.headers().get_all(header::WWW_AUTHENTICATE).iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(challenges, ["Bearer realm=\"api\"", "DPoP algs=\"ES256 EdDSA RS256 PS256\""]);
        check(
            GuardError::InvalidToken(Reason::Expired),
            401,
            Some("Bearer realm=\"api\", error=\"invalid_token\", error_description=\"the access token is invalid, expired or revoked\""),
        );
        check(
            GuardError::InsufficientScope("projects:write".into()),
            403,
            Some("Bearer realm=\"api\", error=\"insufficient_scope\", scope=\"projects:write\""),
        );
        check(GuardError::InvalidRequest("two headers"), 400, Some("Bearer realm=\"api\", error=\"invalid_request\""));
        check(GuardError::Unavailable, 503, None);
    }
}
