//! `/healthz` (the process is up), `/readyz` (the store answers) and `/metrics` (Prometheus).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.service.store().ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            // Like every 5xx answer, it names the request (SPEC §14).
            let id = crate::http::page::request_id();
            let id = id.as_ref().and_then(|id| id.to_str().ok()).unwrap_or_default();
            (StatusCode::SERVICE_UNAVAILABLE, format!("store unavailable (request id {id})")).into_response()
        }
    }
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = state.metrics.render(&state.service).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    response
}
