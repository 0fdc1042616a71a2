//! Bearer-protected resources (RFC 6750): `/oauth2/userinfo` and `GET /session/user`. The
//! token comes in the `Authorization` header only; one also sent in the query or body is a
//! 400 (V11), one only in `?access_token=` is not accepted (V12).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use tessera_service::ServiceError;
use tessera_service::error::BearerError;

use crate::AppState;
use crate::error::{ApiError, no_store};

/// The bearer token of a request, or why there is none usable.
pub(crate) fn bearer_token(headers: &HeaderMap, uri: &Uri, body: &[u8]) -> Result<Option<String>, BearerError> {
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
            // The scheme is case-insensitive (V13). Malformed Bearer credentials are a 400;
            // another scheme (Basic, ...) counts as no token: a plain challenge (V10).
            match text.split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                    let token = token.trim();
                    if !is_b64token(token) {
                        return Err(BearerError::InvalidRequest("malformed Bearer credentials"));
                    }
                    Some(token.to_owned())
                }
                None if text.eq_ignore_ascii_case("bearer") => return Err(BearerError::InvalidRequest("malformed Bearer credentials")),
                _ => None,
            }
        }
    };
    if header_token.is_some() && (in_url || in_body) {
        return Err(BearerError::InvalidRequest("send the access token in one way only"));
    }
    Ok(header_token)
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
pub async fn userinfo(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let token = bearer_token(&headers, &uri, &body);
    let mut response = match &token {
        Ok(token) => answer(state.service.userinfo(token.as_deref()).await),
        Err(e) => answer(Err(ServiceError::Bearer(e.clone()))),
    };
    let token = token.ok().flatten();
    crate::http::cors::apply_for_token(&state, headers.get(header::ORIGIN), token.as_deref(), &mut response).await;
    response
}

/// `GET /session/user`.
pub async fn session_user(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    match bearer_token(&headers, &uri, &[]) {
        Ok(token) => answer(state.service.session_user(token.as_deref()).await),
        Err(e) => answer(Err(ServiceError::Bearer(e))),
    }
}
