//! Protected resources: `/oauth2/userinfo` and `GET /session/user` (and the admin API's
//! caller check, through [`presented`]). The token comes in the `Authorization` header only,
//! as `Bearer` (RFC 6750) or `DPoP` with a `DPoP` proof header (RFC 9449 §7); one also sent in
//! the query or body is a 400 (V11), one only in `?access_token=` is not accepted (V12).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use tessera_service::error::BearerError;
use tessera_service::{Presented, ServiceError};

use crate::AppState;
use crate::error::{ApiError, no_store};

/// The bearer token of a request, or why there is none usable. A `DPoP` token counts as none:
/// for endpoints that take only bearer tokens.
pub(crate) fn bearer_token(headers: &HeaderMap, uri: &Uri, body: &[u8]) -> Result<Option<String>, BearerError> {
    let (token, dpop) = authorization_token(headers, uri, body)?;
    Ok(token.filter(|_| !dpop))
}

/// The access token of a request to a protected resource, with its scheme, its `DPoP` proofs
/// and what they must name (`htm`: the method, `htu`: the issuer and the path).
pub(crate) fn presented(headers: &HeaderMap, method: &Method, uri: &Uri, body: &[u8]) -> Result<Presented, BearerError> {
    let (token, dpop) = authorization_token(headers, uri, body)?;
    let proofs = headers.get_all("dpop").iter().map(|v| v.to_str().unwrap_or_default().to_owned()).collect();
    Ok(Presented { token, dpop, proofs, method: method.as_str().to_owned(), path: uri.path().to_owned() })
}

/// The token of the `Authorization` header and whether its scheme is `DPoP` (else `Bearer`).
fn authorization_token(headers: &HeaderMap, uri: &Uri, body: &[u8]) -> Result<(Option<String>, bool), BearerError> {
    let in_url = uri.query().is_some_and(|q| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(q).is_ok_and(|pairs| pairs.iter().any(|(k, _)| k == "access_token"))
    });
    let in_body =
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).is_ok_and(|pairs| pairs.iter().any(|(k, _)| k == "access_token"));
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let header_token = match (values.next(), values.next()) {
        (None, _) => None,
        (Some(_), Some(_)) => return Err(BearerError::InvalidRequest("more than one Authorization header")),
        (Some(value), None) => {
            let text = value.to_str().map_err(|_| BearerError::InvalidRequest("the Authorization header is not text"))?;
            // The scheme is case-insensitive (V13). Malformed Bearer or DPoP credentials are a
            // 400; another scheme (Basic, ...) counts as no token: a plain challenge (V10).
            match text.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop") => {
                    let token = token.trim();
                    if !is_b64token(token) {
                        return Err(BearerError::InvalidRequest("malformed Bearer or DPoP credentials"));
                    }
                    Some((token.to_owned(), scheme.eq_ignore_ascii_case("dpop")))
                }
                None if text.eq_ignore_ascii_case("bearer") || text.eq_ignore_ascii_case("dpop") => {
                    return Err(BearerError::InvalidRequest("malformed Bearer or DPoP credentials"));
                }
                _ => None,
            }
        }
    };
    if header_token.is_some() && (in_url || in_body) {
        return Err(BearerError::InvalidRequest("send the access token in one way only"));
    }
    Ok(match header_token {
        Some((token, dpop)) => (Some(token), dpop),
        None => (None, false),
    })
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
}

fn answer(result: Result<tessera_proto::UserInfo, ServiceError>) -> Response {
    match result {
        Ok(info) => {
            let mut response = axum::Json(info).into_response();
            no_store(&mut response);
            response
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// `GET` and `POST /oauth2/userinfo`.
pub async fn userinfo(State(state): State<AppState>, method: Method, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let presented = presented(&headers, &method, &uri, &body);
    let mut response = match &presented {
        Ok(presented) => answer(state.service.userinfo(presented).await),
        Err(e) => answer(Err(ServiceError::Bearer(e.clone()))),
    };
    let token = presented.ok().and_then(|p| p.token);
    crate::http::cors::apply_for_token(&state, headers.get(header::ORIGIN), token.as_deref(), &mut response).await;
    response
}

/// `GET /session/user`.
pub async fn session_user(State(state): State<AppState>, method: Method, headers: HeaderMap, uri: Uri) -> Response {
    match presented(&headers, &method, &uri, &[]) {
        Ok(presented) => answer(state.service.session_user(&presented).await),
        Err(e) => answer(Err(ServiceError::Bearer(e))),
    }
}
