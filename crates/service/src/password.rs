//! User passwords: Argon2id with the crate's default (OWASP-recommended) parameters.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

use crate::error::{Result, ServiceError};

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 1024;

/// Hashes a password; refuses ones too short or too long to be sensible.
pub fn hash(password: &str) -> Result<String> {
    if password.chars().count() < MIN_LEN || password.len() > MAX_LEN {
        return Err(ServiceError::Invalid(format!("a password must have {MIN_LEN} to {MAX_LEN} characters")));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| ServiceError::Internal("password hashing failed".into()))
}

/// Checks a password against a stored hash.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn hash_and_verify() {
        let stored = super::hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(super::verify("correct horse", &stored));
        assert!(!super::verify("wrong horse", &stored));
        assert!(super::hash("short").is_err());
    }
}
