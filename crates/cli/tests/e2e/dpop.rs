//! DPoP (RFC 9449) at the token endpoint (binding, every refusal the RFC names, nonces) and at
//! Tessera's own protected resources (userinfo, `/session/user`, the admin API; §7).

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

// ---------------------------------------------------------------------------------------------
// Tessera's own protected resources (RFC 9449 §7)

/// The resources that take our access tokens, with the method each is called with here.
const RESOURCES: [(&str, &str); 4] =
    [("GET", "/oauth2/userinfo"), ("POST", "/oauth2/userinfo"), ("GET", "/session/user"), ("GET", "/admin/v1/me")];

/// A client-credentials client of the fixture's owner holding `openid` and `tessera:clients`,
/// and a token for it: DPoP-bound to `key` when given.
async fn resource_token(server: &Server, fixture: &Fixture, key: Option<&SigningKey>) -> String {
    let flags = ["--grant", "client_credentials", "--scope", "openid", "--scope", "tessera:clients"];
    let (_, client) = add_client(server, fixture, "resource script", &flags);
    let proofs = key.map(|k| sign_proof(k, &claims(server, "POST", "/oauth2/token")).unwrap());
    let response = token_with(server, &client, proofs.as_slice().iter().map(String::as_str).collect::<Vec<_>>().as_slice()).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], if key.is_some() { "DPoP" } else { "Bearer" });
    body["access_token"].as_str().unwrap().to_owned()
}

/// A proof for `method path` carrying the `ath` of `token`.
fn resource_proof(server: &Server, key: &SigningKey, method: &str, path: &str, token: &str) -> String {
    let mut c = claims(server, method, path);
    c["ath"] = json!(tessera_jose::dpop::access_token_hash(token));
    sign_proof(key, &c).unwrap()
}

async fn call(server: &Server, method: &str, path: &str, authorization: &str, proofs: &[&str]) -> reqwest::Response {
    let mut request = http().request(method.parse().unwrap(), server.url(path)).header("authorization", authorization);
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    request.send().await.unwrap()
}

/// A 401 with `error` in the body and a `DPoP` challenge naming it (RFC 9449 §7.1).
async fn assert_dpop_refusal(response: reqwest::Response, error: &str, what: &str) -> reqwest::header::HeaderMap {
    let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert!(challenge.starts_with("DPoP ") && challenge.contains(&format!("error=\"{error}\"")), "{what}: {challenge}");
    assert!(challenge.contains("algs=\"ES256"), "{what}: {challenge}");
    assert_oauth_error(response, 401, error).await
}

#[tokio::test]
async fn a_bound_token_works_at_every_resource_with_a_proof_of_the_request() {
    let (server, fixture) = start();
    let key = key();
    let token = resource_token(&server, &fixture, Some(&key)).await;
    let auth = format!("DPoP {token}");
    for (method, path) in RESOURCES {
        let proof = resource_proof(&server, &key, method, path, &token);
        let response = call(&server, method, path, &auth, &[&proof]).await;
        assert_eq!(response.status(), 200, "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert!(body["sub"].is_string() || body["user"].is_object() || body["client_id"].is_string(), "{method} {path}: {body}");
        // The scheme is case-insensitive, like Bearer.
        let proof = resource_proof(&server, &key, method, path, &token);
        assert_eq!(call(&server, method, path, &format!("dpop {token}"), &[&proof]).await.status(), 200, "{method} {path}");
    }
    // A plain token without cnf keeps working as Bearer, and only as Bearer.
    let plain = resource_token(&server, &fixture, None).await;
    for (method, path) in RESOURCES {
        assert_eq!(call(&server, method, path, &format!("Bearer {plain}"), &[]).await.status(), 200, "{method} {path}");
        let proof = resource_proof(&server, &key, method, path, &plain);
        assert_dpop_refusal(call(&server, method, path, &format!("DPoP {plain}"), &[&proof]).await, "invalid_token", path).await;
    }
}

#[tokio::test]
async fn a_bound_token_presented_as_bearer_is_invalid_token() {
    let (server, fixture) = start();
    let key = key();
    let token = resource_token(&server, &fixture, Some(&key)).await;
    for (method, path) in RESOURCES {
        let what = format!("{method} {path}");
        assert_dpop_refusal(call(&server, method, path, &format!("Bearer {token}"), &[]).await, "invalid_token", &what).await;
        // A proof does not help: the scheme must be DPoP.
        let proof = resource_proof(&server, &key, method, path, &token);
        assert_dpop_refusal(call(&server, method, path, &format!("Bearer {token}"), &[&proof]).await, "invalid_token", &what).await;
    }
}

#[tokio::test]
async fn every_bad_proof_at_a_resource_is_invalid_dpop_proof() {
    let (server, fixture) = start();
    let key = key();
    let other = self::key();
    let token = resource_token(&server, &fixture, Some(&key)).await;
    let auth = format!("DPoP {token}");
    let ath = tessera_jose::dpop::access_token_hash(&token);
    for (method, path) in RESOURCES {
        let good = || {
            let mut c = claims(&server, method, path);
            c["ath"] = json!(ath);
            c
        };
        let with = |name: &str, value: Value| {
            let mut c = good();
            c[name] = value;
            c
        };
        let no_ath = {
            let mut c = good();
            c.as_object_mut().unwrap().remove("ath");
            c
        };
        let wrong_method = if method == "GET" { "POST" } else { "GET" };
        let cases: Vec<(&str, String)> = vec![
            ("wrong ath", sign_proof(&key, &with("ath", json!(tessera_jose::dpop::access_token_hash("another token")))).unwrap()),
            ("no ath", sign_proof(&key, &no_ath).unwrap()),
            ("another key", sign_proof(&other, &good()).unwrap()),
            ("wrong htu", sign_proof(&key, &with("htu", json!(server.url("/oauth2/token")))).unwrap()),
            ("wrong htm", sign_proof(&key, &with("htm", json!(wrong_method))).unwrap()),
            ("stale iat", sign_proof(&key, &with("iat", json!(now() - 3600))).unwrap()),
            ("not a jwt", "not.a.proof".to_owned()),
        ];
        for (what, proof) in cases {
            let what = format!("{method} {path}: {what}");
            assert_dpop_refusal(call(&server, method, path, &auth, &[&proof]).await, "invalid_dpop_proof", &what).await;
        }
        // No proof, or two.
        assert_dpop_refusal(call(&server, method, path, &auth, &[]).await, "invalid_dpop_proof", path).await;
        let (a, b) = (sign_proof(&key, &good()).unwrap(), sign_proof(&key, &good()).unwrap());
        assert_dpop_refusal(call(&server, method, path, &auth, &[&a, &b]).await, "invalid_dpop_proof", path).await;
        // A replayed jti.
        let proof = sign_proof(&key, &good()).unwrap();
        assert_eq!(call(&server, method, path, &auth, &[&proof]).await.status(), 200, "{method} {path}");
        assert_dpop_refusal(call(&server, method, path, &auth, &[&proof]).await, "invalid_dpop_proof", path).await;
    }
    // A proof made for the token endpoint does not open a resource, nor the reverse.
    let token_proof = sign_proof(&key, &claims(&server, "POST", "/oauth2/token")).unwrap();
    assert_dpop_refusal(call(&server, "GET", "/oauth2/userinfo", &auth, &[&token_proof]).await, "invalid_dpop_proof", "token proof").await;
}

#[tokio::test]
async fn a_resource_demands_the_nonce_when_the_server_does() {
    let (server, fixture) = start_with(ServerOptions { serve: vec!["--dpop-require-nonce".into(), "true".into()], ..Default::default() });
    let key = key();
    // The token request itself needs a nonce first.
    let proof = sign_proof(&key, &claims(&server, "POST", "/oauth2/token")).unwrap();
    let flags = ["--grant", "client_credentials", "--scope", "openid"];
    let (_, client) = add_client(&server, &fixture, "nonce script", &flags);
    let headers = assert_oauth_error(token_with(&server, &client, &[&proof]).await, 400, "use_dpop_nonce").await;
    let nonce = headers["dpop-nonce"].to_str().unwrap().to_owned();
    let mut c = claims(&server, "POST", "/oauth2/token");
    c["nonce"] = json!(nonce);
    let body: Value = token_with(&server, &client, &[&sign_proof(&key, &c).unwrap()]).await.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();
    let auth = format!("DPoP {token}");
    // At userinfo: without a nonce, 401 use_dpop_nonce with the nonce to use.
    let proof = resource_proof(&server, &key, "GET", "/oauth2/userinfo", &token);
    let headers = assert_dpop_refusal(call(&server, "GET", "/oauth2/userinfo", &auth, &[&proof]).await, "use_dpop_nonce", "no nonce").await;
    let mut c = claims(&server, "GET", "/oauth2/userinfo");
    c["ath"] = json!(tessera_jose::dpop::access_token_hash(&token));
    c["nonce"] = json!(headers["dpop-nonce"].to_str().unwrap());
    let response = call(&server, "GET", "/oauth2/userinfo", &auth, &[&sign_proof(&key, &c).unwrap()]).await;
    assert_eq!(response.status(), 200);
}
