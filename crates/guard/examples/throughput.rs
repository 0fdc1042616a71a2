//! Guard verification throughput against the raw signature verification of the same crypto
//! crate (`ring`), on this machine: `bench/guard.sh` runs it (release build).
//!
//! An issuer is served in process on 127.0.0.1 (discovery, JWKS and a revocation feed holding
//! 10,000 revoked token ids), guards start against it over HTTP, and 200,000 distinct ES256
//! access tokens are signed with the issuer's key. Then, for `SECONDS` each (default 5), on one
//! thread and then on every core:
//! - raw: `ring`'s ECDSA P-256 verification of each token's signing input and signature, the
//!   input already split and decoded (the floor of any JWT verifier with this crate);
//! - no cache: `Guard::verify` of each token by a guard without the cache of verified tokens:
//!   split, base64, header policy, key lookup, the same signature verification, claims JSON,
//!   iss/aud/exp/nbf, and the denylist;
//! - distinct: a fresh guard with the default cache, each token presented once (until the
//!   tokens run out): every lookup misses;
//! - repeated: a fresh guard with the default cache, each token presented 100 times in a row
//!   before the next: the first presentations verify the signature, the rest hit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use tessera_guard::{FeedCredentials, Guard, GuardConfig};
use tessera_jose::{Algorithm, SigningKey};

/// Tokens signed: enough that the distinct workload presents each once for most of its time.
const TOKENS: usize = 200_000;
/// Tokens the raw verification cycles through (its cost does not depend on repetition).
const RAW_TOKENS: usize = 20_000;

/// Calls `work(i)` on `threads` threads for `seconds`, or until `i` reaches `limit`: calls per second.
fn run_for(seconds: f64, threads: usize, limit: usize, work: Arc<dyn Fn(usize) + Send + Sync>) -> f64 {
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let work = work.clone();
            std::thread::spawn(move || {
                let mut n = 0usize;
                let deadline = Instant::now() + Duration::from_secs_f64(seconds);
                while Instant::now() < deadline && n * threads + t < limit {
                    for _ in 0..64 {
                        if n * threads + t >= limit {
                            break;
                        }
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

/// `1234567.8` as `1,234,568`.
fn thousands(x: f64) -> String {
    let digits = format!("{x:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
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
    let capacity = GuardConfig::new(&issuer).token_cache_capacity;
    let start = |token_cache_capacity: usize| {
        let mut config = GuardConfig::new(&issuer);
        config.feed = Some(FeedCredentials::new("bench", "bench"));
        config.token_cache_capacity = token_cache_capacity;
        async move {
            let guard = Guard::start(config).await.unwrap();
            assert_eq!(guard.snapshot().denylist[0], 10_000);
            guard
        }
    };

    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let sign = |i: usize| {
        let claims = serde_json::json!({
            "iss": issuer, "sub": format!("usr_{i:020}"), "aud": issuer, "exp": now + 3600, "iat": now,
            "jti": format!("jti_{i:040}"), "client_id": format!("cli_{:022}", i % 10), "scope": "projects:read projects:write deployments:write",
            "org_id": "org_0000000000000000000001"
        });
        key.sign("at+jwt", &claims).unwrap()
    };
    let tokens: Arc<Vec<String>> = Arc::new(std::thread::scope(|scope| {
        let chunk = TOKENS.div_ceil(cores);
        let parts: Vec<_> =
            (0..cores).map(|c| scope.spawn(move || (c * chunk..TOKENS.min((c + 1) * chunk)).map(sign).collect::<Vec<_>>())).collect();
        parts.into_iter().flat_map(|part| part.join().unwrap()).collect()
    }));
    let point = {
        let jwk = key.public_jwk();
        let mut p = vec![4u8];
        p.extend(B64.decode(jwk.x.as_ref().unwrap()).unwrap());
        p.extend(B64.decode(jwk.y.as_ref().unwrap()).unwrap());
        Arc::new(p)
    };
    let raw_inputs: Arc<Vec<(Vec<u8>, Vec<u8>)>> = Arc::new(
        tokens[..RAW_TOKENS]
            .iter()
            .map(|t| {
                let (input, sig) = t.rsplit_once('.').unwrap();
                (input.as_bytes().to_vec(), B64.decode(sig).unwrap())
            })
            .collect(),
    );
    let uncached = start(0).await;
    // Sanity: both paths accept the tokens.
    for (t, (input, sig)) in tokens.iter().zip(raw_inputs.iter()) {
        uncached.verify(t).unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &**point).verify(input, sig).unwrap();
    }

    println!("tokens: {TOKENS} distinct ES256 access tokens of {} bytes; the cache holds {capacity} tokens (the default)", tokens[0].len());
    println!("| threads | raw ring verify/s | guard, no cache | guard, distinct tokens | guard, each token ×100 |");
    println!("|---|---|---|---|---|");
    // Verifications per second through `guard` of the token `pick(i)`, and the share of cache hits.
    let through = |guard: &Guard, threads: usize, limit: usize, pick: fn(usize) -> usize| {
        let before = guard.snapshot();
        let work = {
            let (tokens, guard) = (tokens.clone(), guard.clone());
            Arc::new(move |i| assert!(guard.verify(&tokens[pick(i) % tokens.len()]).is_ok()))
        };
        let per_second = run_for(seconds, threads, limit, work);
        let after = guard.snapshot();
        let (hits, misses) = (after.token_cache_hits - before.token_cache_hits, after.token_cache_misses - before.token_cache_misses);
        (per_second, 100.0 * hits as f64 / (hits + misses).max(1) as f64)
    };
    for threads in [1, cores] {
        let raw = {
            let (inputs, point) = (raw_inputs.clone(), point.clone());
            let work = Arc::new(move |i: usize| {
                let (input, sig) = &inputs[i % inputs.len()];
                assert!(UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &**point).verify(input, sig).is_ok());
            });
            run_for(seconds, threads, usize::MAX, work)
        };
        let (plain, _) = through(&uncached, threads, usize::MAX, |i| i);
        let (distinct, distinct_hits) = through(&start(capacity).await, threads, TOKENS, |i| i);
        let (repeated, repeated_hits) = through(&start(capacity).await, threads, usize::MAX, |i| i / 100);
        println!(
            "| {threads} | {} | {} ({:.1} % of raw) | {} ({:.1} % of raw, {:.1} % of no cache; {distinct_hits:.1} % hits) | {} ({:.1}× raw; {repeated_hits:.1} % hits) |",
            thousands(raw),
            thousands(plain),
            100.0 * plain / raw,
            thousands(distinct),
            100.0 * distinct / raw,
            100.0 * distinct / plain,
            thousands(repeated),
            repeated / raw,
        );
    }
}
