//! The one place that turns errors into HTTP responses: status, `WWW-Authenticate`,
//! `Retry-After`, and the RFC 6749 §5.2 JSON body. A 500 body is generic; details go to the log.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_core::{ErrorCode, OAuthError};
use tessera_proto::ErrorResponse;
use tessera_service::ServiceError;
use tessera_service::error::BearerError;

/// An error on its way out of a handler.
#[derive(Debug)]
pub struct ApiError(pub ServiceError);

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError(e)
    }
}

impl From<OAuthError> for ApiError {
    fn from(e: OAuthError) -> Self {
        ApiError(ServiceError::oauth(e))
    }
}

/// The realm of the Basic challenge on the token, revocation and introspection endpoints.
pub const BASIC_CHALLENGE: &str = "Basic realm=\"tessera\", charset=\"UTF-8\"";

fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        ErrorCode::AccessDenied | ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// A JSON error body with the no-store headers every OAuth error carries.
pub fn json_error(status: StatusCode, code: ErrorCode, description: &str) -> Response {
    let body = ErrorResponse { error: code.as_str().to_owned(), error_description: Some(description.to_owned()) };
    let mut response = (status, axum::Json(body)).into_response();
    no_store(&mut response);
    response
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1, V16).
pub fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self.0 {
            ServiceError::OAuth { error, basic_challenge } => {
                let mut response = json_error(status_of(error.code), error.code, &error.description);
                if basic_challenge {
                    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(BASIC_CHALLENGE));
                }
                response
            }
            ServiceError::TooManyAttempts { retry_after } => {
                let mut response =
                    json_error(StatusCode::TOO_MANY_REQUESTS, ErrorCode::InvalidClient, "too many failed attempts; retry later");
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                response
            }
            ServiceError::BadCredentials => json_error(StatusCode::UNAUTHORIZED, ErrorCode::AccessDenied, "wrong email or password"),
            ServiceError::Bearer(error) => bearer_error(&error),
            ServiceError::Invalid(message) => json_error(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, &message),
            ServiceError::NotFound(what) => json_error(StatusCode::NOT_FOUND, ErrorCode::InvalidRequest, &format!("{what} not found")),
            ServiceError::Conflict(what) => json_error(StatusCode::CONFLICT, ErrorCode::InvalidRequest, &what),
            ServiceError::Unavailable(detail) => {
                tracing::warn!(%detail, "store unavailable");
                let mut response = json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::TemporarilyUnavailable,
                    "the service is temporarily unavailable; retry later",
                );
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                response
            }
            ServiceError::Internal(detail) => {
                let id = request_id();
                tracing::error!(%detail, request_id = %id, "internal error");
                json_error(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::ServerError, &format!("internal error (request id {id})"))
            }
        }
    }
}

/// An RFC 6750 §3 answer from a protected resource: the status, the `WWW-Authenticate: Bearer`
/// challenge with its error, and the same error as JSON.
pub fn bearer_error(error: &BearerError) -> Response {
    let (status, code, challenge) = match error {
        BearerError::Missing => (StatusCode::UNAUTHORIZED, ErrorCode::InvalidToken, "Bearer realm=\"tessera\"".to_owned()),
        BearerError::InvalidRequest(_) => {
            (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, "Bearer realm=\"tessera\", error=\"invalid_request\"".to_owned())
        }
        BearerError::InvalidToken => {
            (StatusCode::UNAUTHORIZED, ErrorCode::InvalidToken, "Bearer realm=\"tessera\", error=\"invalid_token\"".to_owned())
        }
        BearerError::InsufficientScope(scope) => (
            StatusCode::FORBIDDEN,
            ErrorCode::InsufficientScope,
            format!("Bearer realm=\"tessera\", error=\"insufficient_scope\", scope=\"{scope}\""),
        ),
    };
    let description = match error {
        BearerError::Missing => "a bearer token is required",
        BearerError::InvalidRequest(why) => why,
        BearerError::InvalidToken => "the access token is invalid, expired or revoked",
        BearerError::InsufficientScope(_) => "the access token lacks the scope this resource needs",
    };
    let mut response = json_error(status, code, description);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// A short id that ties a generic 500 to its log line.
fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{:x}-{:x}", nanos, NEXT.fetch_add(1, Ordering::Relaxed))
}
