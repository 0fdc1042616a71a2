//! Guard verification throughput against the raw signature verification of the same crypto
//! crate (`ring`), on this machine: `bench/guard.sh` runs it (release build).
//!
//! An issuer is served in process on 127.0.0.1 (discovery and JWKS only), the guard starts
//! against it, and 1,000 distinct ES256 access tokens are signed with the issuer's key. Then,
//! for `SECONDS` each (default 5), on one thread and then on every core:
//! - raw: `ring`'s ECDSA P-256 verification of each token's signing input and signature, the
//!   input already split and decoded (the floor of any JWT verifier with this crate);
//! - guard: `Guard::verify` of each token: split, base64, header policy, key lookup, the same
//!   signature verification, claims JSON, iss/aud/exp/nbf, and the denylist (holding 10,000
//!   revoked token ids).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use tessera_guard::{Guard, GuardConfig};
use tessera_jose::{Algorithm, SigningKey};

fn run_for(seconds: f64, threads: usize, work: Arc<dyn Fn(usize) + Send + Sync>) -> f64 {
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let work = work.clone();
            std::thread::spawn(move || {
                let mut n = 0usize;
                let deadline = Instant::now() + Duration::from_secs_f64(seconds);
                while Instant::now() < deadline {
                    for _ in 0..64 {
                        work(n * threads + t);
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let seconds: f64 = std::env::var("SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let (key, _) = SigningKey::generate(Algorithm::ES256).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let discovery = serde_json::json!({
        "issuer": issuer, "token_endpoint": format!("{issuer}/oauth2/token"), "jwks_uri": format!("{issuer}/oauth2/jwks"),
        "revocation_endpoint": "", "introspection_endpoint": "", "grant_types_supported": [], "response_types_supported": [],
        "response_modes_supported": [], "scopes_supported": [], "subject_types_supported": [], "token_endpoint_auth_methods_supported": [],
        "revocation_endpoint_auth_methods_supported": [], "introspection_endpoint_auth_methods_supported": [],
        "id_token_signing_alg_values_supported": [], "access_token_signing_alg_values_supported": ["ES256"], "claims_supported": []
    });
    let jwks = serde_json::json!({ "keys": [key.public_jwk()] });
    let far = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 86_400;
    let revoked: Vec<(String, u64)> = (0..10_000).map(|i| (format!("revoked_{i:036}"), far)).collect();
    let feed = serde_json::json!({ "cursor": "1", "full": true, "tokens": revoked });
    let app = Router::new()
        .route("/oauth2/revocations", get(move || async move { axum::Json(feed) }))
        .route("/.well-known/openid-configuration", get(move || async move { axum::Json(discovery) }))
        .route("/oauth2/jwks", get(move || async move { axum::Json(jwks) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut config = GuardConfig::new(&issuer);
    config.feed = Some(tessera_guard::FeedCredentials::new("bench", "bench"));
    let guard = Guard::start(config).await.unwrap();
    assert_eq!(guard.snapshot().denylist[0], 10_000);

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let tokens: Arc<Vec<String>> = Arc::new(
        (0..1000)
            .map(|i| {
                let claims = serde_json::json!({
                    "iss": issuer, "sub": format!("usr_{i:020}"), "aud": issuer, "exp": now + 3600, "iat": now,
                    "jti": format!("jti_{i:040}"), "client_id": format!("cli_{:022}", i % 10), "scope": "projects:read projects:write deployments:write",
                    "org_id": "org_0000000000000000000001"
                });
                key.sign("at+jwt", &claims).unwrap()
            })
            .collect(),
    );
    let point = {
        let jwk = key.public_jwk();
        let mut p = vec![4u8];
        p.extend(B64.decode(jwk.x.as_ref().unwrap()).unwrap());
        p.extend(B64.decode(jwk.y.as_ref().unwrap()).unwrap());
        Arc::new(p)
    };
    let raw_inputs: Arc<Vec<(Vec<u8>, Vec<u8>)>> = Arc::new(
        tokens
            .iter()
            .map(|t| {
                let (input, sig) = t.rsplit_once('.').unwrap();
                (input.as_bytes().to_vec(), B64.decode(sig).unwrap())
            })
            .collect(),
    );
    // Sanity: both paths accept every token.
    for (t, (input, sig)) in tokens.iter().zip(raw_inputs.iter()) {
        guard.verify(t).unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &**point).verify(input, sig).unwrap();
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("tokens: 1000 distinct ES256 access tokens of {} bytes", tokens[0].len());
    println!("| threads | raw ring verify/s | guard verify/s | guard / raw |");
    println!("|---|---|---|---|");
    for threads in [1, cores] {
        let raw = {
            let (inputs, point) = (raw_inputs.clone(), point.clone());
            run_for(
                seconds,
                threads,
                Arc::new(move |i| {
                    let (input, sig) = &inputs[i % inputs.len()];
                    assert!(UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &**point).verify(input, sig).is_ok());
                }),
            )
        };
        let verified = {
            let (tokens, guard) = (tokens.clone(), guard.clone());
            run_for(seconds, threads, Arc::new(move |i| assert!(guard.verify(&tokens[i % tokens.len()]).is_ok())))
        };
        println!("| {threads} | {raw:.0} | {verified:.0} | {:.1} % |", 100.0 * verified / raw);
    }
}
