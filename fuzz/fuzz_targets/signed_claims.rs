//! Validly signed tokens with arbitrary header and payload bytes: what the introspection
//! endpoint and the guard do once the signature checks out (claims parsing, `typ`, the lifetime
//! rule), reached without the fuzzer having to forge ECDSA signatures.
#![no_main]

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use tessera_jose::{Algorithm, SigningKey, VerifyingKey};

fn keys() -> &'static (SigningKey, VerifyingKey) {
    static KEYS: OnceLock<(SigningKey, VerifyingKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let (signing, _) = SigningKey::generate(Algorithm::ES256).expect("a key");
        let verifying = VerifyingKey::from_jwk(signing.public_jwk()).expect("its public key");
        (signing, verifying)
    })
}

fuzz_target!(|data: &[u8]| {
    let (signing, verifying) = keys();
    // Input: header JSON, a 0 byte, payload JSON. Without a 0 byte, our usual header.
    let (header, payload) = match data.iter().position(|b| *b == 0) {
        Some(split) => (data[..split].to_vec(), &data[split + 1..]),
        None => (format!(r#"{{"alg":"ES256","typ":"at+jwt","kid":"{}"}}"#, signing.kid()).into_bytes(), data),
    };
    let mut token = URL_SAFE_NO_PAD.encode(&header);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let Ok(signature) = signing.sign_raw(token.as_bytes()) else { return };
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    let find = |kid: &str| (kid == verifying.kid()).then_some(verifying);
    if let Ok(verified) = tessera_jose::verify(&token, "at+jwt", find) {
        assert_eq!(verified.payload, payload);
        if let Ok(claims) = serde_json::from_slice::<tessera_proto::AccessTokenClaims>(&verified.payload) {
            for now in [0, 1_700_000_000, i64::MAX, i64::MIN] {
                let _ = tessera_core::token::check_lifetime(&claims, now, 60);
                let _ = tessera_core::token::check_lifetime(&claims, now, u32::MAX);
            }
        }
    }
});
