//! The protocol and the policy of Tessera, sans-IO.
//!
//! This crate parses raw parameters into typed requests and decides: which grant, which scopes,
//! which claims, whether a client authenticates, whether a token is still active. It takes
//! already-loaded data and an explicit `now` (Unix seconds) and returns a decision. It never
//! reads a clock, touches a socket, a database or a random number generator; a test in
//! `tests/tidy.rs` keeps it that way.

pub mod access;
pub mod assertion;
pub mod audit;
pub mod authorize;
pub mod client;
pub mod code;
pub mod credentials;
pub mod device;
pub mod dpop;
pub mod error;
pub mod exchange;
pub mod grant;
pub mod introspection;
pub mod issue;
pub mod message;
pub mod model;
pub mod oidc;
pub mod par;
pub mod params;
pub mod password_hash;
pub mod refresh;
pub mod registration;
pub mod resource;
pub mod scope;
pub mod token;

#[cfg(test)]
mod testing;

pub use error::{ErrorCode, OAuthError};
pub use message::Message;
