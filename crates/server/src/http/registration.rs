//! Dynamic client registration (RFC 7591) at `POST /oauth2/register` and its management (RFC
//! 7592) at `/oauth2/register/{client_id}`, both with a bearer token in the `Authorization`
//! header: the initial access token, then the registration access token. Served only when
//! `registration_endpoint` is on.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tessera_core::{ErrorCode, OAuthError};
use tessera_service::ServiceError;

use crate::AppState;
use crate::error::{ApiError, no_store};
use crate::http::resource::bearer_token;

/// The bearer token from the `Authorization` header only (the query and body carry metadata).
fn token(headers: &HeaderMap, uri: &Uri) -> Result<Option<String>, ServiceError> {
    bearer_token(headers, uri, &[]).map_err(ServiceError::Bearer)
}

fn metadata(body: &[u8]) -> Result<serde_json::Value, ServiceError> {
    serde_json::from_slice(body)
        .map_err(|_| ServiceError::oauth(OAuthError::new(ErrorCode::InvalidClientMetadata, "the body must be a JSON object")))
}

fn answer<T: serde::Serialize>(status: StatusCode, result: Result<T, ServiceError>) -> Response {
    match result {
        Ok(body) => {
            let mut response = (status, axum::Json(body)).into_response();
            no_store(&mut response);
            response
        }
        Err(e) => ApiError(e).into_response(),
    }
}

pub async fn register(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let result = async {
        let token = token(&headers, &uri)?;
        let body = metadata(&body)?;
        state.service.register_client(token.as_deref(), &body).await
    };
    answer(StatusCode::CREATED, result.await)
}

pub async fn read(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    let result = async { state.service.read_registration(&id, token(&headers, &uri)?.as_deref()).await };
    answer(StatusCode::OK, result.await)
}

pub async fn update(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap, uri: Uri, body: Bytes) -> Response {
    let result = async {
        let token = token(&headers, &uri)?;
        let body = metadata(&body)?;
        state.service.update_registration(&id, token.as_deref(), &body).await
    };
    answer(StatusCode::OK, result.await)
}

pub async fn delete(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    match async { state.service.delete_registration(&id, token(&headers, &uri)?.as_deref()).await }.await {
        Ok(()) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            no_store(&mut response);
            response
        }
        Err(e) => ApiError(e).into_response(),
    }
}
