//! A token as presented for introspection or to the guard: compact-JWS framing, header policy,
//! key lookup by `kid`, algorithm pinned by the key, signature (J01–J04, J10, J11, J14).
#![no_main]

use std::sync::OnceLock;

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
    let Ok(token) = std::str::from_utf8(data) else { return };
    let (_, key) = keys();
    let find = |kid: &str| (kid == key.kid()).then_some(key);
    if let Ok(verified) = tessera_jose::verify(token, "at+jwt", find) {
        // Only a token signed by our key, with its algorithm, can get here.
        assert_eq!(verified.header.alg, key.algorithm().name());
        let _ = serde_json::from_slice::<tessera_proto::AccessTokenClaims>(&verified.payload);
    }
});
