//! `GET /oauth2/revocations`: the revocation feed guards poll (client authentication with HTTP
//! Basic; only clients named in `revocation_feed_clients`).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tessera_core::params::Params;
use tessera_service::EndpointRequest;

use crate::AppState;
use crate::error::{ApiError, no_store};
use crate::http::extract::client_ip;

#[derive(Debug, Deserialize)]
pub struct FeedQuery {
    after: Option<String>,
}

pub async fn revocations(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let (parts, _) = request.into_parts();
    let Ok(Query(query)) = Query::<FeedQuery>::try_from_uri(&parts.uri) else {
        return ApiError::from(tessera_core::OAuthError::invalid_request("the only parameter is after")).into_response();
    };
    let headers: &HeaderMap = &parts.headers;
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let authorization = match (values.next(), values.next()) {
        (Some(one), None) => one.to_str().ok().map(str::to_owned),
        _ => None,
    };
    let request = EndpointRequest {
        authorization,
        params: Params::default(),
        peer: client_ip(&parts, &state),
        path: parts.uri.path().to_owned(),
        dpop: Vec::new(),
    };
    match state.service.revocation_feed(&request, query.after.as_deref()).await {
        Ok(feed) => {
            let mut response = axum::Json(feed).into_response();
            no_store(&mut response);
            response
        }
        Err(e) => ApiError(e).into_response(),
    }
}
