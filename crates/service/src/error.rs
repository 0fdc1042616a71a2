//! The service layer's one error type: protocol errors for the client, admin input errors for
//! operators, and store failures (details for the log only).

use tessera_core::{Message, OAuthError, message};
use tessera_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// An OAuth error for the client; `client_used_basic` when the client authenticated, or
    /// tried to, with `client_secret_basic` (a failed one is asked to retry that way).
    #[error("{error}")]
    OAuth { error: OAuthError, client_used_basic: bool },
    /// The client needs an org admin's approval for the user's organization and has none
    /// (`unauthorized_client`; how it is answered is the server's and the profile's matter).
    #[error("the application has not been approved for this organization")]
    NotApproved,
    /// A token-endpoint answer to a device's poll (RFC 8628 §3.5): status 400 whatever the
    /// code, `access_denied` included.
    #[error("{0}")]
    DevicePoll(OAuthError),
    /// Too many failed attempts: answer 429 with `Retry-After`.
    #[error("too many failed attempts")]
    TooManyAttempts { retry_after: u64 },
    /// A wrong email or password (or an unknown email: the same answer).
    #[error("wrong email or password")]
    BadCredentials,
    /// An RFC 6750 error at a protected resource (userinfo, `/session/user`).
    #[error("bearer token error")]
    Bearer(BearerError),
    /// A DPoP proof refused (RFC 9449): `invalid_dpop_proof` or `use_dpop_nonce`, with the
    /// nonce to use next when the server demands one; `resource` for a protected resource
    /// (401 and a `WWW-Authenticate: DPoP` challenge) rather than the token endpoint (400).
    #[error("{error}")]
    Dpop { error: OAuthError, nonce: Option<String>, resource: bool },
    /// Bad input to an administrative use case (CLI, admin API, pages): the rule it broke, and
    /// the field it is about when there is one (a form shows the message there).
    #[error("{0}")]
    Invalid(Invalid),
    /// The actor sees the record but may not do this; the text says why.
    #[error("forbidden: {0}")]
    Forbidden(Message),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {0}")]
    Conflict(Message),
    /// A feature this server was not set up for (email without `--smtp-url`); the text says
    /// what is off and what to do instead.
    #[error("off: {0}")]
    Off(Message),
    /// The store cannot be reached, or is read-only or full.
    #[error("the store is unavailable")]
    Unavailable(String),
    /// A bug or corrupt data. The text goes to the log, never to a client.
    #[error("internal error")]
    Internal(String),
}

/// A rule that input broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The input field it is about (the names of the admin API and the portal's forms).
    pub field: Option<&'static str>,
    /// What is wrong, for people: never a secret.
    pub message: Message,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.message.fmt(f)
    }
}

impl From<tessera_core::client::Problem> for Invalid {
    fn from(problem: tessera_core::client::Problem) -> Self {
        Invalid { field: Some(problem.field), message: problem.message }
    }
}

/// Why a protected resource refuses a request (RFC 6750 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BearerError {
    /// No token at all: a bare challenge; with `dpop` (the resource takes DPoP-bound tokens
    /// too) a bare `DPoP` challenge next to the `Bearer` one (RFC 9449 §7.1).
    Missing { dpop: bool },
    /// The token was sent in more than one way, or malformed.
    InvalidRequest(&'static str),
    /// Unknown, expired, revoked or otherwise inactive.
    InvalidToken,
    /// Active, but without the scope this resource needs.
    InsufficientScope(&'static str),
}

impl ServiceError {
    pub fn oauth(error: OAuthError) -> Self {
        ServiceError::OAuth { error, client_used_basic: false }
    }

    /// Bad input, about no field in particular.
    pub fn invalid(message: impl Into<Message>) -> Self {
        ServiceError::Invalid(Invalid { field: None, message: message.into() })
    }

    /// The actor may not do this: `why`.
    pub fn forbidden(why: impl Into<Message>) -> Self {
        ServiceError::Forbidden(why.into())
    }

    /// The change conflicts with what is there: `why`.
    pub fn conflict(why: impl Into<Message>) -> Self {
        ServiceError::Conflict(why.into())
    }

    /// A feature this server was not set up for: `why`.
    pub fn off(why: impl Into<Message>) -> Self {
        ServiceError::Off(why.into())
    }

    /// Bad input in `field`.
    pub fn invalid_field(field: &'static str, message: impl Into<Message>) -> Self {
        ServiceError::Invalid(Invalid { field: Some(field), message: message.into() })
    }
}

impl From<tessera_core::issue::Refusal> for ServiceError {
    fn from(refusal: tessera_core::issue::Refusal) -> Self {
        match refusal {
            tessera_core::issue::Refusal::OAuth(error) => error.into(),
            tessera_core::issue::Refusal::NotApproved => Self::NotApproved,
        }
    }
}

impl From<OAuthError> for ServiceError {
    fn from(error: OAuthError) -> Self {
        ServiceError::oauth(error)
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound("record"),
            StoreError::Conflict(what) => ServiceError::Conflict(store_conflict(what)),
            StoreError::Unavailable(detail) => ServiceError::Unavailable(detail),
            StoreError::Corrupt(detail) => ServiceError::Internal(detail),
        }
    }
}

/// The store's words for a conflict, as a message for people.
fn store_conflict(what: &'static str) -> Message {
    match what {
        "already exists" => message!("store-already-exists", "already exists"),
        "an account uses this email" => message!("store-email-taken", "an account uses this email"),
        "value out of range" => message!("store-out-of-range", "value out of range"),
        _ => message!("store-in-use", "refers to something that does not exist or is still in use"),
    }
}

pub type Result<T> = std::result::Result<T, ServiceError>;
