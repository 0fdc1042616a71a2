//! The first-party session API of the Bluedot seed (`POST /sessions`, `POST /sessions/refresh`,
//! `DELETE /sessions`). Its answers and errors have the seed's own shape:
//! `201 {statusCode, idToken, accessToken, refreshToken}` and `{statusCode, error, message}`.

use axum::extract::{FromRef, FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_service::session_api::SessionTokens;
use tessera_service::{EndpointRequest, ServiceError, message};

use crate::AppState;
use crate::error::{SessionApiError, no_store};
use crate::http::extract::{client_ip, read_endpoint_request};
use crate::http::resource::bearer_token;

/// A session API request body (JSON, or a form), with errors in the session API's shape.
pub struct SessionRequest(EndpointRequest);

impl<S> FromRequest<S> for SessionRequest
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match read_endpoint_request(req, &AppState::from_ref(state)).await {
            Ok((request, _origin)) => Ok(SessionRequest(request)),
            Err(rejection) => Err(crate::error::session_error(rejection.status, &rejection.description)),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionCreated<'a> {
    status_code: u16,
    id_token: &'a str,
    access_token: &'a str,
    refresh_token: &'a str,
}

fn created(tokens: &SessionTokens) -> Response {
    let body = SessionCreated {
        status_code: 201,
        id_token: &tokens.id_token,
        access_token: &tokens.access_token,
        refresh_token: &tokens.refresh_token,
    };
    let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
    no_store(&mut response);
    response
}

fn required<'a>(request: &'a EndpointRequest, name: &str) -> Result<&'a str, SessionApiError> {
    request
        .params
        .get(name)
        .ok_or_else(|| SessionApiError(ServiceError::invalid(message!("session-param-required", "{name} is required", name = name))))
}

/// `POST /sessions {email, password}`.
pub async fn create(State(state): State<AppState>, SessionRequest(request): SessionRequest) -> Result<Response, SessionApiError> {
    let email = required(&request, "email")?;
    let password = required(&request, "password")?;
    let tokens = state.service.create_api_session(email, password, request.peer).await?;
    Ok(created(&tokens))
}

/// `POST /sessions/refresh {refreshToken}`.
pub async fn refresh(State(state): State<AppState>, SessionRequest(request): SessionRequest) -> Result<Response, SessionApiError> {
    let token = required(&request, "refreshToken")?;
    let tokens = state.service.refresh_api_session(token).await?;
    Ok(created(&tokens))
}

/// `DELETE /sessions` with the session's access token as Bearer: 204.
pub async fn end(State(state): State<AppState>, request: Request) -> Result<Response, SessionApiError> {
    let (parts, _body) = request.into_parts();
    let token = bearer_token(&parts.headers, &parts.uri, &[]).map_err(ServiceError::Bearer)?;
    let token = token.ok_or(ServiceError::Bearer(tessera_service::error::BearerError::Missing { dpop: false }))?;
    state.service.end_api_session(&token, client_ip(&parts, &state)).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    no_store(&mut response);
    Ok(response)
}
