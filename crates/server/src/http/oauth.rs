//! `POST /oauth2/token`, `/oauth2/revoke`, `/oauth2/introspect`, `/oauth2/par`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tessera_service::ServiceError;

use crate::AppState;
use crate::error::{self, ApiError, no_store};
use crate::http::cors;
use crate::http::extract::OAuthRequest;

pub async fn token(State(state): State<AppState>, OAuthRequest(request, origin): OAuthRequest) -> Response {
    let mut response = match state.service.token(&request).await {
        Ok(issued) => {
            let mut response = axum::Json(issued).into_response();
            no_store(&mut response);
            response
        }
        Err(ServiceError::NotApproved) => error::not_approved(state.unapproved_status).into_oauth_response(),
        Err(e) => ApiError(e).into_response(),
    };
    cors::apply(&state, origin.as_ref(), &request, &mut response).await;
    response
}

/// RFC 7009 §2.2: 200 with an empty body, whether or not the token was found.
pub async fn revoke(State(state): State<AppState>, OAuthRequest(request, origin): OAuthRequest) -> Response {
    let mut response = match state.service.revoke(&request).await {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            no_store(&mut response);
            response
        }
        Err(e) => ApiError(e).into_response(),
    };
    cors::apply(&state, origin.as_ref(), &request, &mut response).await;
    response
}

/// RFC 9126 §2.2: 201 with `request_uri` and `expires_in`; errors as at the token endpoint.
pub async fn par(State(state): State<AppState>, OAuthRequest(request, origin): OAuthRequest) -> Response {
    let mut response = match state.service.push_authorization_request(&request).await {
        Ok(pushed) => {
            let mut response = (StatusCode::CREATED, axum::Json(pushed)).into_response();
            no_store(&mut response);
            response
        }
        Err(e) => ApiError(e).into_response(),
    };
    cors::apply(&state, origin.as_ref(), &request, &mut response).await;
    response
}

pub async fn introspect(State(state): State<AppState>, OAuthRequest(request, _): OAuthRequest) -> Result<Response, ApiError> {
    let answer = state.service.introspect(&request).await?;
    let mut response = axum::Json(answer).into_response();
    no_store(&mut response);
    Ok(response)
}
