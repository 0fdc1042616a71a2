//! Discovery documents (RFC 8414, OIDC Discovery) and the JWKS.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;

pub async fn metadata(State(state): State<AppState>) -> Response {
    let mut response = axum::Json(state.service.metadata()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

/// Current, next and retired-but-still-needed public keys. Cached briefly by clients: the next
/// key is published well before it signs, so a short cache never misses a key.
pub async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let body = state.service.jwks().await?;
    let mut response = body.to_string().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    Ok(response)
}
