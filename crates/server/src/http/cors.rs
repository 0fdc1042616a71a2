//! CORS for browser apps calling the token, revocation and userinfo endpoints (the Bluescape seed's
//! "whitelisted domains"). The allowed origin is echoed exactly, never `*`, and credentials
//! (cookies) are never allowed: these endpoints authenticate clients, not browsers (R12).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_service::EndpointRequest;

use crate::AppState;

fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// Adds `Access-Control-Allow-Origin` to `response` when the calling client registered the
/// request's origin.
pub async fn apply(state: &AppState, origin: Option<&HeaderValue>, request: &EndpointRequest, response: &mut Response) {
    let Some(origin) = origin.and_then(|v| v.to_str().ok()) else { return };
    response.headers_mut().append(header::VARY, HeaderValue::from_static("Origin"));
    if state.service.cors_allowed(request, origin).await.unwrap_or(false)
        && let Ok(value) = HeaderValue::from_str(origin)
    {
        response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
}

/// Adds `Access-Control-Allow-Origin` to a resource's `response` when the bearer token's
/// client registered the request's origin (userinfo).
pub async fn apply_for_token(state: &AppState, origin: Option<&HeaderValue>, token: Option<&str>, response: &mut Response) {
    let Some(origin) = origin.and_then(|v| v.to_str().ok()) else { return };
    response.headers_mut().append(header::VARY, HeaderValue::from_static("Origin"));
    let Some(token) = token else { return };
    if state.service.cors_allowed_for_token(token, origin).await.unwrap_or(false)
        && let Ok(value) = HeaderValue::from_str(origin)
    {
        response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
}

/// `OPTIONS` preflight: allowed for an origin some client registered.
pub async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = origin(&headers) else { return response };
    if state.service.cors_preflight_allowed(origin).await.unwrap_or(false)
        && let Ok(value) = HeaderValue::from_str(origin)
    {
        let response_headers = response.headers_mut();
        response_headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        response_headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
        response_headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("authorization, content-type, dpop"));
        response_headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
    response
}
