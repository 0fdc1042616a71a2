//! `private_key_jwt` input (RFC 7523): a client's key set as registered (JWKS, JWK or PEM text,
//! or a document fetched from its `jwks_uri`), and an assertion as presented: framing, header
//! policy, key choice, algorithm fitted to the key, then the claims rules of `core::assertion`.
//! The first byte picks which.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tessera_core::assertion::{self, Expected};
use tessera_jose::assertion::{ClientKeySet, jwks_from_pasted, verify_assertion};
use tessera_jose::{Algorithm, SigningKey};

fn keys() -> &'static ClientKeySet {
    static KEYS: OnceLock<ClientKeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        let (es, _) = SigningKey::generate(Algorithm::ES256).expect("a key");
        let (ed, _) = SigningKey::generate(Algorithm::EdDSA).expect("a key");
        let jwks = serde_json::json!({ "keys": [es.public_jwk(), ed.public_jwk()] }).to_string();
        ClientKeySet::parse(&jwks).expect("a key set")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    if mode % 2 == 0 {
        let parsed = ClientKeySet::parse(text);
        if let Ok(jwks) = jwks_from_pasted(text) {
            // What is stored must parse again, and hold no private member.
            assert!(ClientKeySet::parse(&jwks).is_ok());
        }
        drop(parsed);
        return;
    }
    let _ = assertion::unverified_subject(text);
    if let Ok(verified) = verify_assertion(text, keys()) {
        let audiences = ["https://id.example".to_owned()];
        let expected = Expected { client_id: "app", audiences: &audiences, now: 1_700_000_000, leeway: 60 };
        let _ = assertion::check(&verified.payload, &expected);
    }
});
