//! DPoP (RFC 9449) at the token endpoint: binding, every refusal the RFC names, nonces.

use serde_json::{Value, json};
use tessera_jose::dpop::{sign_proof, sign_with_header};
use tessera_jose::{Algorithm, SigningKey};

use crate::common::*;

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::ES256).expect("key").0
}

fn claims(server: &Server, method: &str, path: &str) -> Value {
    json!({"htm": method, "htu": server.url(path), "iat": now(), "jti": format!("{}-{}", now(), rand_suffix())})
}

fn rand_suffix() -> String {
    let mut bytes = [0u8; 12];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).expect("random");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn token_with(server: &Server, fixture: &Fixture, proofs: &[&str]) -> reqwest::Response {
    let mut request = http().post(server.url("/oauth2/token")).basic_auth(&fixture.client_id, Some(&fixture.client_secret));
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    request.form(&[("grant_type", "client_credentials")]).send().await.expect("request")
}

#[tokio::test]
async fn a_valid_proof_binds_the_token_and_introspection_reports_the_key() {
    let (server, fixture) = start();
    let key = key();
    let proof = sign_proof(&key, &claims(&server, "POST", "/oauth2/token")).unwrap();
    let response = token_with(&server, &fixture, &[&proof]).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    let (_, token_claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(token_claims["cnf"]["jkt"], key.kid(), "cnf.jkt is the RFC 7638 thumbprint of the proof key");
    let introspection = introspect(&server, &fixture, body["access_token"].as_str().unwrap()).await;
    assert_eq!(introspection["active"], true);
    assert_eq!(introspection["token_type"], "DPoP");
    assert_eq!(introspection["cnf"]["jkt"], key.kid());
    // Without a proof the token stays a Bearer token without cnf.
    let plain = token(&server, &fixture, None).await;
    assert_eq!(plain["token_type"], "Bearer");
    assert!(jwt_parts(plain["access_token"].as_str().unwrap()).1.get("cnf").is_none());
    let discovery: Value = http().get(server.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(discovery["dpop_signing_alg_values_supported"], json!(["ES256", "EdDSA", "RS256", "PS256"]));
}

#[tokio::test]
async fn every_invalid_proof_is_invalid_dpop_proof() {
    let (server, fixture) = start();
    let key = key();
    let good = || claims(&server, "POST", "/oauth2/token");
    let with = |name: &str, value: Value| {
        let mut c = good();
        c[name] = value;
        c
    };
    let header = |edit: &dyn Fn(&mut Value)| {
        let proof = sign_proof(&key, &good()).unwrap();
        let mut h: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, proof.split('.').next().unwrap()).unwrap(),
        )
        .unwrap();
        edit(&mut h);
        sign_with_header(&key, &h, &good()).unwrap()
    };
    let other = self::key();
    let good_proof = sign_proof(&key, &good()).unwrap();
    let theirs = sign_proof(&other, &good()).unwrap();
    let bad_signature = format!("{}.{}", theirs.split('.').next().unwrap(), good_proof.split_once('.').unwrap().1);
    let cases: Vec<(&str, String)> = vec![
        ("bad signature", bad_signature),
        ("wrong typ", header(&|h| h["typ"] = json!("JWT"))),
        ("symmetric alg", header(&|h| h["alg"] = json!("HS256"))),
        ("alg none", header(&|h| h["alg"] = json!("none"))),
        ("private key in jwk", header(&|h| h["jwk"]["d"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))),
        ("wrong htm", sign_proof(&key, &with("htm", json!("GET"))).unwrap()),
        ("wrong htu", sign_proof(&key, &with("htu", json!(server.url("/oauth2/introspect")))).unwrap()),
        ("stale iat", sign_proof(&key, &with("iat", json!(now() - 3600))).unwrap()),
        ("future iat", sign_proof(&key, &with("iat", json!(now() + 3600))).unwrap()),
        ("no jti", sign_proof(&key, &json!({"htm": "POST", "htu": server.url("/oauth2/token"), "iat": now()})).unwrap()),
        ("not a jwt", "not.a.proof".to_owned()),
    ];
    for (what, proof) in cases {
        let response = token_with(&server, &fixture, &[&proof]).await;
        let headers = assert_oauth_error(response, 400, "invalid_dpop_proof").await;
        assert!(headers.get("dpop-nonce").is_none(), "{what}: no nonce unless the server demands them");
    }
    // Two DPoP headers (RFC 9449 §4.3 check 1).
    let (a, b) = (sign_proof(&key, &good()).unwrap(), sign_proof(&key, &good()).unwrap());
    assert_oauth_error(token_with(&server, &fixture, &[&a, &b]).await, 400, "invalid_dpop_proof").await;
    // htu compared normalised: host case, default port, query ignored.
    let base = server.url("/oauth2/token").replace("http://", "HTTP://") + "?x=1";
    let normalised = sign_proof(&key, &with("htu", json!(base))).unwrap();
    assert_eq!(token_with(&server, &fixture, &[&normalised]).await.status(), 200);
}

#[tokio::test]
async fn a_replayed_jti_is_refused() {
    let (server, fixture) = start();
    let key = key();
    let proof = sign_proof(&key, &claims(&server, "POST", "/oauth2/token")).unwrap();
    assert_eq!(token_with(&server, &fixture, &[&proof]).await.status(), 200);
    assert_oauth_error(token_with(&server, &fixture, &[&proof]).await, 400, "invalid_dpop_proof").await;
    // A refused proof does not spend its jti: the same jti in a valid proof still works once.
    let mut c = claims(&server, "POST", "/oauth2/token");
    let bad = sign_proof(&key, &{
        let mut b = c.clone();
        b["htm"] = json!("PUT");
        b
    })
    .unwrap();
    assert_oauth_error(token_with(&server, &fixture, &[&bad]).await, 400, "invalid_dpop_proof").await;
    c["iat"] = json!(now());
    assert_eq!(token_with(&server, &fixture, &[&sign_proof(&key, &c).unwrap()]).await.status(), 200);
}

#[tokio::test]
async fn nonces_when_the_server_demands_them() {
    let (server, fixture) = start_with(ServerOptions { serve: vec!["--dpop-require-nonce".into(), "true".into()], ..Default::default() });
    let key = key();
    // Missing nonce: use_dpop_nonce with the nonce to use.
    let proof = sign_proof(&key, &claims(&server, "POST", "/oauth2/token")).unwrap();
    let headers = assert_oauth_error(token_with(&server, &fixture, &[&proof]).await, 400, "use_dpop_nonce").await;
    let nonce = headers["dpop-nonce"].to_str().unwrap().to_owned();
    // A stale or made-up nonce: the same answer.
    let mut stale = claims(&server, "POST", "/oauth2/token");
    stale["nonce"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
    let headers =
        assert_oauth_error(token_with(&server, &fixture, &[&sign_proof(&key, &stale).unwrap()]).await, 400, "use_dpop_nonce").await;
    assert_eq!(headers["dpop-nonce"].to_str().unwrap(), nonce);
    // With the nonce, the token is issued and bound.
    let mut fresh = claims(&server, "POST", "/oauth2/token");
    fresh["nonce"] = json!(nonce);
    let response = token_with(&server, &fixture, &[&sign_proof(&key, &fresh).unwrap()]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["token_type"], "DPoP");
    // Bearer requests are not affected by the nonce requirement.
    assert_eq!(token(&server, &fixture, None).await["token_type"], "Bearer");
}
