//! The one error type of the client: each variant says what went wrong and where.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The client was configured wrongly (a bad URL, no credentials).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The token endpoint refused to issue a token (`invalid_client`: wrong id or secret, or
    /// the client is OFF; `invalid_grant`: the refresh token is no longer valid; ...).
    #[error("the token endpoint answered {status} {error}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Auth { status: u16, error: String, description: Option<String> },
    /// The API answered with a status other than 2xx (after any retries).
    #[error("the API answered {status}{}{} (attempt {attempts})", error.as_deref().map(|e| format!(" {e}")).unwrap_or_default(), description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Api {
        status: u16,
        /// The `error` member of a JSON error body, if any.
        error: Option<String>,
        /// The `error_description` (or `message`) member, if any.
        description: Option<String>,
        /// How many times the request was sent.
        attempts: u32,
    },
    /// No answer within the configured timeout.
    #[error("no answer from {url} within the timeout{}", if after.is_zero() { String::new() } else { format!(" of {after:?}") })]
    Timeout {
        url: String,
        /// The timeout, when known (zero otherwise).
        after: Duration,
    },
    /// The server could not be reached (connection refused, DNS, TLS ...).
    #[error("cannot reach {url}: {detail}")]
    Network { url: String, detail: String },
    /// An answer whose body is not what was expected.
    #[error("cannot read the response body: {0}")]
    Decode(String),
    /// A page of a collection that cannot be followed.
    #[error("pagination: {0}")]
    Pagination(String),
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<serde_json::Value>,
    error_description: Option<String>,
    message: Option<String>,
}

impl Error {
    pub(crate) async fn from_response(response: reqwest::Response, attempts: u32) -> Error {
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        let parsed: Option<ErrorBody> = serde_json::from_slice(&body).ok();
        let (error, description) = match parsed {
            Some(b) => (
                b.error.map(|e| match e {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                }),
                b.error_description.or(b.message),
            ),
            None => (None, None),
        };
        Error::Api { status, error, description, attempts }
    }

    /// For middleware: this error inside a `reqwest_middleware::Error`.
    pub(crate) fn into_middleware(self) -> reqwest_middleware::Error {
        reqwest_middleware::Error::Middleware(anyhow::Error::new(self))
    }

    /// The error a middleware chain's failure stands for: the [`Error`] that
    /// [`TesseraAuth`](crate::TesseraAuth) put there, or the transport's failure.
    pub fn from_middleware(e: reqwest_middleware::Error) -> Error {
        Error::from_middleware_within(e, Duration::ZERO)
    }

    pub(crate) fn from_middleware_within(e: reqwest_middleware::Error, timeout: Duration) -> Error {
        match e {
            reqwest_middleware::Error::Middleware(e) => match e.downcast::<Error>() {
                Ok(error) => error,
                Err(other) => Error::Network { url: String::new(), detail: format!("{other:#}") },
            },
            reqwest_middleware::Error::Reqwest(e) => {
                let url = e.url().map(|u| u.to_string()).unwrap_or_default();
                crate::network_error(url, &e, timeout)
            }
        }
    }

    /// The HTTP status of an API or token-endpoint refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Auth { status, .. } => Some(*status),
            _ => None,
        }
    }
}
