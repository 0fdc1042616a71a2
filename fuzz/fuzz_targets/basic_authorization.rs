//! The `Authorization` header of the token, revocation and introspection endpoints: HTTP Basic
//! with form-encoded id and secret (RFC 6749 §2.3.1), alone and beside body credentials (A05).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::credentials;
use tessera_core::params::Params;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else { return };
    let alone = credentials::extract(Some(header), &Params::default());
    if let Ok(presented) = &alone {
        assert!(!presented.id.as_str().is_empty(), "an empty client id was accepted");
    }
    let body = Params::from_pairs(vec![("client_id".into(), "c".into()), ("client_secret".into(), "s".into())]).unwrap_or_default();
    if let Ok(presented) = credentials::extract(Some(header), &body) {
        // Two methods in one request are refused, so success means the header was not Basic.
        assert!(alone.is_err() || !header.trim_start().to_ascii_lowercase().starts_with("basic"), "{presented:?}");
    }
});
