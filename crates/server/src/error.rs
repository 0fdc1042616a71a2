//! The one place that turns errors into HTTP responses: status, `WWW-Authenticate`,
//! `Retry-After`, and the body: RFC 6749 §5.2 JSON for the OAuth endpoints, the seed's shape for
//! the session API, RFC 7807 `application/problem+json` for the admin API. A 500 body is
//! generic; details go to the log.

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

/// What an error means on the wire: status, RFC 6749/6750 code, text and extra headers. The
/// OAuth endpoints render it as `{error, error_description}`, the session API as
/// `{statusCode, error, message}`.
pub struct Described {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub description: String,
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl Described {
    /// A 5xx answer names its request's id, which ties it to the log (SPEC §14).
    fn new(status: StatusCode, code: ErrorCode, description: impl Into<String>) -> Self {
        let mut description = description.into();
        if status.is_server_error()
            && let Some(id) = crate::http::page::request_id()
        {
            description = format!("{description} (request id {})", id.to_str().unwrap_or_default());
        }
        Self { status, code, description, headers: Vec::new() }
    }

    fn with(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// As an OAuth endpoint answers: `{error, error_description}` (RFC 6749 §5.2).
    pub fn into_oauth_response(self) -> Response {
        let body = ErrorResponse { error: self.code.as_str().to_owned(), error_description: Some(self.description.clone()) };
        self.render(body)
    }

    /// Renders with the no-store headers every error carries.
    fn render(self, body: impl serde::Serialize) -> Response {
        let mut response = (self.status, axum::Json(body)).into_response();
        no_store(&mut response);
        response.headers_mut().extend(self.headers);
        response
    }
}

/// An application the user's organization has not approved (`unauthorized_client`), answered
/// with `status`: 400 by RFC 6749, or a profile's client error (the token endpoint passes
/// [`crate::AppState::unapproved_status`]).
pub fn not_approved(status: StatusCode) -> Described {
    let described = Described::new(
        status,
        ErrorCode::UnauthorizedClient,
        "this application has not been approved by an admin of the user's organization",
    );
    // RFC 9110 §15.5.6: a 405 names the methods that are allowed.
    if status == StatusCode::METHOD_NOT_ALLOWED { described.with(header::ALLOW, HeaderValue::from_static("POST")) } else { described }
}

/// The one table from service errors to what the client is told.
pub fn describe(error: ServiceError) -> Described {
    match error {
        ServiceError::OAuth { error, client_used_basic } => {
            let described = Described::new(status_of(error.code), error.code, error.description);
            // RFC 6749 §5.2: a client that failed Basic authentication is challenged to retry it.
            let failed_basic = client_used_basic && error.code == ErrorCode::InvalidClient;
            if failed_basic { described.with(header::WWW_AUTHENTICATE, HeaderValue::from_static(BASIC_CHALLENGE)) } else { described }
        }
        ServiceError::NotApproved => not_approved(StatusCode::BAD_REQUEST),
        ServiceError::Dpop { error, nonce, resource } => {
            // RFC 9449 §7.1: a protected resource answers 401 with a DPoP challenge; the token
            // endpoint answers 400 (§5).
            let status = if resource { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
            let mut described = Described::new(status, error.code, error.description);
            if resource {
                let challenge =
                    format!(r#"DPoP algs="{}", error="{}""#, tessera_service::dpop::DPOP_ALGORITHMS.join(" "), error.code.as_str());
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    described = described.with(header::WWW_AUTHENTICATE, value);
                }
            }
            match nonce.map(HeaderValue::try_from) {
                Some(Ok(value)) => described.with(header::HeaderName::from_static("dpop-nonce"), value),
                _ => described,
            }
        }
        ServiceError::DevicePoll(error) => Described::new(StatusCode::BAD_REQUEST, error.code, error.description),
        ServiceError::TooManyAttempts { retry_after } => {
            Described::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::InvalidClient, "too many failed attempts; retry later")
                .with(header::RETRY_AFTER, HeaderValue::from(retry_after))
        }
        ServiceError::BadCredentials => Described::new(StatusCode::UNAUTHORIZED, ErrorCode::AccessDenied, "wrong email or password"),
        ServiceError::Bearer(error) => describe_bearer(&error),
        ServiceError::Invalid(why) => Described::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, why.message.english),
        ServiceError::Forbidden(why) => Described::new(StatusCode::FORBIDDEN, ErrorCode::AccessDenied, why.english),
        ServiceError::NotFound(what) => Described::new(StatusCode::NOT_FOUND, ErrorCode::InvalidRequest, format!("{what} not found")),
        ServiceError::Conflict(what) => Described::new(StatusCode::CONFLICT, ErrorCode::InvalidRequest, what.english),
        ServiceError::Off(what) => Described::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::TemporarilyUnavailable, what.english),
        ServiceError::Unavailable(detail) => {
            tracing::warn!(%detail, "store unavailable");
            Described::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
                "the service is temporarily unavailable; retry later",
            )
            .with(header::RETRY_AFTER, HeaderValue::from_static("5"))
        }
        ServiceError::Internal(detail) => {
            // The request's span carries its id into this line.
            tracing::error!(%detail, "internal error");
            Described::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::ServerError, "internal error")
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        describe(self.0).into_oauth_response()
    }
}

/// What a page handler answers: its page, or a [`PageError`] (so handlers use `?`).
pub type PageResult = Result<Response, PageError>;

/// A page's refusal on its way out.
#[derive(Debug)]
pub enum PageError {
    /// A service error, as a page for people ([`page_for`]).
    Service(ServiceError),
    /// A page a check already made: the sign-in redirect, an expired form.
    Answer(Response),
}

impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        PageError::Service(e)
    }
}

impl From<Response> for PageError {
    fn from(answer: Response) -> Self {
        PageError::Answer(answer)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Service(e) => page_for(&e),
            PageError::Answer(answer) => answer,
        }
    }
}

/// A service error on a page, for people: the status of the table above ([`describe`]) with a
/// sentence instead of an error code. What the user may not see is simply not there; a failure
/// of the store or of the server itself is one generic page, its details in the log.
/// [`PageError`]'s page for `error`.
pub fn page_for(error: &ServiceError) -> Response {
    use fluent_bundle::FluentValue;

    use crate::http::i18n;
    use crate::http::views::message;
    match error {
        ServiceError::NotFound(what) => message(
            StatusCode::NOT_FOUND,
            &i18n::text("account-error-not-found", &[]),
            &i18n::text("account-error-not-found-text", &[("name", FluentValue::from(i18n::thing(what)))]),
        ),
        ServiceError::Forbidden(why) => {
            message(StatusCode::FORBIDDEN, &i18n::text("account-error-not-allowed", &[]), &sentence(&i18n::said(why)))
        }
        ServiceError::Invalid(why) => {
            message(StatusCode::BAD_REQUEST, &i18n::text("account-error-cannot", &[]), &sentence(&i18n::said(&why.message)))
        }
        ServiceError::Conflict(why) => message(StatusCode::CONFLICT, &i18n::text("account-error-cannot", &[]), &sentence(&i18n::said(why))),
        ServiceError::Off(why) => {
            message(StatusCode::SERVICE_UNAVAILABLE, &i18n::text("account-error-off", &[]), &sentence(&i18n::said(why)))
        }
        other => {
            match other {
                ServiceError::Unavailable(detail) => tracing::warn!(%detail, "store unavailable"),
                other => tracing::error!(error = %other, "a page failed"),
            }
            let brand = FluentValue::from(crate::http::page::brand_name());
            message(
                StatusCode::SERVICE_UNAVAILABLE,
                &i18n::text("account-error-failed", &[]),
                &i18n::text("account-error-failed-text", &[("name", brand)]),
            )
        }
    }
}

/// A message as a sentence: a capital first letter and a full stop.
pub(crate) fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + if text.ends_with('.') { "" } else { "." },
        None => String::new(),
    }
}

/// An error of the admin API (`/admin/v1`), rendered as an RFC 7807 problem from the same table.
#[derive(Debug)]
pub struct ProblemError(pub ServiceError);

impl From<ServiceError> for ProblemError {
    fn from(e: ServiceError) -> Self {
        ProblemError(e)
    }
}

impl IntoResponse for ProblemError {
    fn into_response(self) -> Response {
        let field = match &self.0 {
            ServiceError::Invalid(why) => why.field,
            _ => None,
        };
        let described = describe(self.0);
        let mut body = problem_body(described.status, described.code, &described.description);
        body.field = field.map(str::to_owned);
        let mut response = described.render(body);
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

/// The media type of RFC 7807 problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

fn problem_body(status: StatusCode, code: ErrorCode, detail: &str) -> tessera_proto::Problem {
    tessera_proto::Problem {
        kind: "about:blank".to_owned(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail: detail.to_owned(),
        error: code.as_str().to_owned(),
        field: None,
    }
}

/// An admin-API problem that arises before the service is reached: a malformed, oversize or
/// mistyped body or query, an unknown path or method.
pub fn problem(status: StatusCode, detail: &str) -> Response {
    let code = match status {
        StatusCode::INTERNAL_SERVER_ERROR => ErrorCode::ServerError,
        _ => ErrorCode::InvalidRequest,
    };
    let mut response = (status, axum::Json(problem_body(status, code, detail))).into_response();
    no_store(&mut response);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// An error of the first-party session API, in its own shape (the Bluedot seed):
/// `{"statusCode": 401, "error": "Unauthorized", "message": "…"}`.
#[derive(Debug)]
pub struct SessionApiError(pub ServiceError);

impl From<ServiceError> for SessionApiError {
    fn from(e: ServiceError) -> Self {
        SessionApiError(e)
    }
}

impl IntoResponse for SessionApiError {
    fn into_response(self) -> Response {
        let described = describe(self.0);
        let body = session_error_body(described.status, &described.description);
        described.render(body)
    }
}

fn session_error_body(status: StatusCode, message: &str) -> serde_json::Value {
    serde_json::json!({
        "statusCode": status.as_u16(),
        "error": status.canonical_reason().unwrap_or("Error"),
        "message": message,
    })
}

/// A session API error that arises before the service is reached (a malformed body).
pub fn session_error(status: StatusCode, message: &str) -> Response {
    let mut response = (status, axum::Json(session_error_body(status, message))).into_response();
    no_store(&mut response);
    response
}

/// An RFC 6750 §3 answer from a protected resource: the status, the `WWW-Authenticate: Bearer`
/// challenge with its error, and the same error as JSON.
pub fn bearer_error(error: &BearerError) -> Response {
    ApiError(ServiceError::Bearer(error.clone())).into_response()
}

fn describe_bearer(error: &BearerError) -> Described {
    let (status, code, challenge) = match error {
        BearerError::Missing { .. } => (StatusCode::UNAUTHORIZED, ErrorCode::InvalidToken, "Bearer realm=\"tessera\"".to_owned()),
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
        BearerError::Missing { dpop: false } => "a bearer token is required",
        BearerError::Missing { dpop: true } => "an access token is required (Bearer, or DPoP with a proof)",
        BearerError::InvalidRequest(why) => why,
        BearerError::InvalidToken => "the access token is invalid, expired or revoked",
        BearerError::InsufficientScope(_) => "the access token lacks the scope this resource needs",
    };
    let mut described = Described::new(status, code, description);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        described = described.with(header::WWW_AUTHENTICATE, value);
    }
    // RFC 9449 §7.1: a resource that takes both schemes offers both, each in its own header.
    if let BearerError::Missing { dpop: true } = error
        && let Ok(value) = HeaderValue::from_str(&format!(r#"DPoP algs="{}""#, tessera_service::dpop::DPOP_ALGORITHMS.join(" ")))
    {
        described = described.with(header::WWW_AUTHENTICATE, value);
    }
    described
}
