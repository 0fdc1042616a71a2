//! DPoP (RFC 9449) at the token endpoint (binding, every refusal the RFC names, nonces), at
//! Tessera's own protected resources (userinfo, `/session/user`, the admin API; §7), "DPoP
//! required" per client (§5.2) in every place a client is set, public clients' refresh tokens
//! bound to their key (§5), the challenge of a request without a token (§7.1), and Node's
//! `openid-client` doing all of it, with and without server nonces.

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

// ---------------------------------------------------------------------------------------------
// "DPoP required" per client (RFC 9449 §5.2 `dpop_bound_access_tokens`)

/// A token request `form` by `client` (HTTP Basic when it has a secret, else its `client_id` in
/// the form) with the given proofs.
async fn token_request(server: &Server, client: &Fixture, form: &[(&str, &str)], proofs: &[&str]) -> reqwest::Response {
    let mut request = http().post(server.url("/oauth2/token"));
    let mut form = form.to_vec();
    if client.client_secret.is_empty() {
        form.push(("client_id", &client.client_id));
    } else {
        request = request.basic_auth(&client.client_id, Some(&client.client_secret));
    }
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    request.form(&form).send().await.expect("request")
}

fn token_proof(server: &Server, key: &SigningKey) -> String {
    sign_proof(key, &claims(server, "POST", "/oauth2/token")).unwrap()
}

/// Sends `form` without a proof (refused: `invalid_dpop_proof`), then with one (a bound token).
async fn refused_without_proof_then_bound(server: &Server, client: &Fixture, key: &SigningKey, form: &[(&str, &str)], what: &str) -> Value {
    let response = token_request(server, client, form, &[]).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof", "{what}: {body}");
    let response = token_request(server, client, form, &[&token_proof(server, key)]).await;
    assert_eq!(response.status(), 200, "{what}: the refused request spent nothing");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP", "{what}");
    assert_eq!(jwt_parts(body["access_token"].as_str().unwrap()).1["cnf"]["jkt"], key.kid(), "{what}");
    body
}

#[tokio::test]
async fn dpop_required_refuses_a_proofless_request_for_every_grant() {
    use crate::agent::*;
    use crate::device::{GRANT as DEVICE_GRANT, decide, signed_in};
    let (server, fixture) = start();
    let flags = [
        "--grant",
        "client_credentials",
        "--grant",
        "authorization_code",
        "--grant",
        "refresh_token",
        "--grant",
        "device_code",
        "--grant",
        "token_exchange",
        "--redirect-uri",
        "https://app.example/cb",
        "--scope",
        "read",
        "--require-dpop",
    ];
    let (created, client) = add_client(&server, &fixture, "strict app", &flags);
    assert_eq!(created["dpop_bound_access_tokens"], true);
    let shown = server.cli.json(&["client", "show", &client.client_id]).unwrap();
    assert_eq!(shown["dpop_bound_access_tokens"], true);
    let key = key();

    // client_credentials.
    let form = [("grant_type", "client_credentials")];
    refused_without_proof_then_bound(&server, &client, &key, &form, "client_credentials").await;
    // authorization_code: the refused redemption does not consume the code.
    let mut agent = Agent::new(&server);
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    let form =
        [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", "https://app.example/cb"), ("code_verifier", VERIFIER)];
    let tokens = refused_without_proof_then_bound(&server, &client, &key, &form, "authorization_code").await;
    // refresh_token: refused without a proof, the refresh token stays usable.
    let form = [("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())];
    refused_without_proof_then_bound(&server, &client, &key, &form, "refresh_token").await;
    // The device grant: the refused poll does not consume the approved device code.
    let started: Value =
        post_basic(&server, "/oauth2/device_authorization", &client.client_id, &client.client_secret, &[("scope", "read")])
            .await
            .json()
            .await
            .unwrap();
    let mut agent = signed_in(&server, &fixture).await;
    assert_eq!(decide(&mut agent, started["user_code"].as_str().unwrap(), "allow").await.status(), 200);
    let form = [("grant_type", DEVICE_GRANT), ("device_code", started["device_code"].as_str().unwrap())];
    refused_without_proof_then_bound(&server, &client, &key, &form, "device_code").await;
    // Token exchange.
    let subject = tokens["access_token"].as_str().unwrap();
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
        ("subject_token", subject),
        ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
    ];
    refused_without_proof_then_bound(&server, &client, &key, &form, "token_exchange").await;

    // Another client of the same owner is not affected, and the switch can be turned off.
    assert_eq!(token(&server, &fixture, None).await["token_type"], "Bearer");
    let updated = server.cli.json(&["client", "update", &client.client_id, "--require-dpop", "false"]).unwrap();
    assert_eq!(updated["dpop_bound_access_tokens"], false);
    let response = token_request(&server, &client, &[("grant_type", "client_credentials")], &[]).await;
    assert_eq!(response.status(), 200, "the next request already sees the change");
    assert_eq!(response.json::<Value>().await.unwrap()["token_type"], "Bearer");
}

#[tokio::test]
async fn dpop_required_is_set_in_the_admin_api_the_portal_and_dynamic_registration() {
    use crate::agent::*;
    let (server, fixture) =
        start_with(ServerOptions { serve: vec!["--registration-endpoint".into(), "true".into()], ..Default::default() });
    let (_, client) = add_client(&server, &fixture, "robot", &["--grant", "client_credentials", "--scope", "read"]);
    let (_, admin) = add_client(&server, &fixture, "admin-script", &["--scope", "tessera:clients"]);
    let admin_token = token(&server, &admin, None).await["access_token"].as_str().unwrap().to_owned();
    // The admin API: PATCH turns it on; the view and the OpenAPI schema name it.
    let path = server.url(&format!("/admin/v1/clients/{}", client.client_id));
    let response = http().patch(&path).bearer_auth(&admin_token).json(&json!({"dpop_bound_access_tokens": true})).send().await.unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let view: Value = http().get(&path).bearer_auth(&admin_token).send().await.unwrap().json().await.unwrap();
    assert_eq!(view["dpop_bound_access_tokens"], true);
    let proofless = token_request(&server, &client, &[("grant_type", "client_credentials")], &[]).await;
    assert_oauth_error(proofless, 400, "invalid_dpop_proof").await;
    let openapi: Value = http().get(server.url("/admin/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    for schema in ["ClientView", "NewClientRequest", "ClientPatch"] {
        let properties = &openapi["components"]["schemas"][schema]["properties"];
        // `boolean`, or `["boolean", "null"]` for the patch, where absent leaves it as it is.
        assert!(properties["dpop_bound_access_tokens"]["type"].to_string().contains("\"boolean\""), "{schema}: {properties}");
    }
    // A new client by the admin API with it set.
    let created: Value = http()
        .post(server.url("/admin/v1/clients"))
        .bearer_auth(&admin_token)
        .json(&json!({"name": "api-made", "scopes": ["read"], "dpop_bound_access_tokens": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["dpop_bound_access_tokens"], true, "{created}");

    // The portal: the client page says so, the edit form's checkbox is checked, and saving the
    // form without it turns it off.
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let page = agent.get(&format!("/settings/api-clients/{}", client.client_id)).await.text().await.unwrap();
    assert!(page.contains("DPoP-bound access tokens</dt><dd>required"), "{page}");
    let edit_path = format!("/settings/api-clients/{}/edit", client.client_id);
    let form = agent.get(&edit_path).await.text().await.unwrap();
    assert!(form.contains("name=\"dpop_bound_access_tokens\" value=\"true\" checked"), "{form}");
    let response = agent.submit(&edit_path, &form, &["csrf_token"], &[("name", "robot"), ("run_as", &fixture.owner_email)]).await;
    assert_eq!(response.status(), 303, "{:?}", response.text().await);
    assert_eq!(server.cli.json(&["client", "show", &client.client_id]).unwrap()["dpop_bound_access_tokens"], false);
    let response = agent
        .submit(
            &edit_path,
            &form,
            &["csrf_token"],
            &[("name", "robot"), ("run_as", &fixture.owner_email), ("dpop_bound_access_tokens", "true")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(server.cli.json(&["client", "show", &client.client_id]).unwrap()["dpop_bound_access_tokens"], true);
    // The portal's token generator sends no proof: it shows the token endpoint's refusal.
    let html = agent.get(&format!("/tools/access-token?client_id={}", client.client_id)).await.text().await.unwrap();
    let response =
        agent.submit("/tools/access-token", &html, &["csrf_token"], &[("client_id", &client.client_id), ("scope", "read")]).await;
    assert_eq!(response.status(), 400);
    let page = response.text().await.unwrap();
    assert!(page.contains("invalid_dpop_proof") && page.contains("a DPoP proof is required"), "{page}");
    // The new-client form has the checkbox too.
    let new_form = agent.get("/settings/api-clients/new?kind=server").await.text().await.unwrap();
    assert!(new_form.contains("name=\"dpop_bound_access_tokens\""), "{new_form}");

    // Dynamic registration (RFC 7591): the metadata is taken and echoed; a non-boolean is refused.
    let made = server.cli.json(&["client", "registration-token", "create", "--org", &fixture.org_name, "--owner", &fixture.owner_email]);
    let initial = made.unwrap()["initial_access_token"].as_str().unwrap().to_owned();
    let body =
        json!({"client_name": "Registered", "grant_types": ["client_credentials"], "scope": "read", "dpop_bound_access_tokens": true});
    let response = http().post(server.url("/oauth2/register")).bearer_auth(&initial).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let registered: Value = response.json().await.unwrap();
    assert_eq!(registered["dpop_bound_access_tokens"], true);
    let registered_client = Fixture {
        client_id: registered["client_id"].as_str().unwrap().to_owned(),
        client_secret: registered["client_secret"].as_str().unwrap().to_owned(),
        ..fixture.clone()
    };
    let proofless = token_request(&server, &registered_client, &[("grant_type", "client_credentials")], &[]).await;
    assert_oauth_error(proofless, 400, "invalid_dpop_proof").await;
    let bad = json!({"grant_types": ["client_credentials"], "dpop_bound_access_tokens": "yes"});
    let response = http().post(server.url("/oauth2/register")).bearer_auth(&initial).json(&bad).send().await.unwrap();
    assert_oauth_error(response, 400, "invalid_client_metadata").await;
    // Without the member, a registration is not bound and says so.
    let plain = json!({"grant_types": ["client_credentials"], "scope": "read"});
    let response = http().post(server.url("/oauth2/register")).bearer_auth(&initial).json(&plain).send().await.unwrap();
    assert_eq!(response.json::<Value>().await.unwrap()["dpop_bound_access_tokens"], false);
}

// ---------------------------------------------------------------------------------------------
// Refresh tokens of public clients are bound to the proof's key (RFC 9449 §5)

/// A public client (code + refresh grants, PKCE) and the owner's first token response for it,
/// redeemed with `proofs`.
async fn public_tokens(server: &Server, fixture: &Fixture, proofs: &[&str]) -> (Fixture, Value) {
    use crate::agent::*;
    let mut flags = PUBLIC_SPA.to_vec();
    flags.extend_from_slice(&["--grant", "refresh_token", "--scope", "read"]);
    let (_, spa) = add_client(server, fixture, "spa", &flags);
    let mut agent = Agent::new(server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let query = format!(
        "response_type=code&client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&scope=read&code_challenge={}&code_challenge_method=S256",
        spa.client_id,
        challenge(VERIFIER)
    );
    let code = response_params(&agent.authorize(&query, "allow").await)["code"].clone();
    let form =
        [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", "http://127.0.0.1/cb"), ("code_verifier", VERIFIER)];
    let response = token_request(server, &spa, &form, proofs).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    (spa, response.json().await.unwrap())
}

#[tokio::test]
async fn a_public_clients_refresh_token_needs_a_proof_by_its_key_and_rebinds() {
    let (server, fixture) = start();
    let key = key();
    let (spa, first) = public_tokens(&server, &fixture, &[&token_proof(&server, &key)]).await;
    assert_eq!(first["token_type"], "DPoP");
    let refresh_token = first["refresh_token"].as_str().unwrap().to_owned();
    // Introspection reports the key the family is bound to.
    let introspected = introspect(&server, &fixture, &refresh_token).await;
    assert_eq!((introspected["active"].as_bool(), introspected["token_type"].as_str()), (Some(true), Some("refresh_token")));
    assert_eq!(introspected["cnf"]["jkt"], key.kid());

    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token.as_str())];
    // No proof, or a proof by another key: invalid_dpop_proof, and the token stays usable.
    let headers = assert_oauth_error(token_request(&server, &spa, &form, &[]).await, 400, "invalid_dpop_proof").await;
    assert!(headers.get("dpop-nonce").is_none());
    let other = self::key();
    assert_oauth_error(token_request(&server, &spa, &form, &[&token_proof(&server, &other)]).await, 400, "invalid_dpop_proof").await;
    assert_eq!(introspect(&server, &fixture, &refresh_token).await["active"], true, "refusals leave the family alone");
    assert!(is_active(&server, &fixture, first["access_token"].as_str().unwrap()).await);
    // A proof by the bound key: rotated, and the new access token is bound to the same key.
    let response = token_request(&server, &spa, &form, &[&token_proof(&server, &key)]).await;
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await.unwrap();
    assert_eq!(second["token_type"], "DPoP");
    assert_eq!(jwt_parts(second["access_token"].as_str().unwrap()).1["cnf"]["jkt"], key.kid());
    // The rotated token stays bound: the family keeps its key.
    let next = second["refresh_token"].as_str().unwrap();
    assert_eq!(introspect(&server, &fixture, next).await["cnf"]["jkt"], key.kid());
    let form = [("grant_type", "refresh_token"), ("refresh_token", next)];
    assert_oauth_error(token_request(&server, &spa, &form, &[]).await, 400, "invalid_dpop_proof").await;
    assert_oauth_error(token_request(&server, &spa, &form, &[&token_proof(&server, &other)]).await, 400, "invalid_dpop_proof").await;
    assert_eq!(token_request(&server, &spa, &form, &[&token_proof(&server, &key)]).await.status(), 200);
    // The first token again is reuse: the family is revoked, whoever presents it.
    let reuse = [("grant_type", "refresh_token"), ("refresh_token", refresh_token.as_str())];
    assert_oauth_error(token_request(&server, &spa, &reuse, &[&token_proof(&server, &key)]).await, 400, "invalid_grant").await;

    // A public client that redeemed its code without a proof has an unbound family.
    let (spa, plain) = public_tokens(&server, &fixture, &[]).await;
    assert_eq!(plain["token_type"], "Bearer");
    let unbound = plain["refresh_token"].as_str().unwrap();
    assert!(introspect(&server, &fixture, unbound).await.get("cnf").is_none());
    let form = [("grant_type", "refresh_token"), ("refresh_token", unbound)];
    let response = token_request(&server, &spa, &form, &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["token_type"], "Bearer");
}

#[tokio::test]
async fn a_public_clients_bound_refresh_takes_the_nonce_when_the_server_demands_one() {
    let (server, fixture) = start_with(ServerOptions { serve: vec!["--dpop-require-nonce".into(), "true".into()], ..Default::default() });
    let key = key();
    let first_try = token_proof(&server, &key);
    // Learn the nonce from a refused proof-carrying request (nothing is spent by it).
    let headers = assert_oauth_error(token_with(&server, &fixture, &[&first_try]).await, 400, "use_dpop_nonce").await;
    let nonce = headers["dpop-nonce"].to_str().unwrap().to_owned();
    let with_nonce = || {
        let mut c = claims(&server, "POST", "/oauth2/token");
        c["nonce"] = json!(nonce);
        sign_proof(&key, &c).unwrap()
    };
    let (spa, first) = public_tokens(&server, &fixture, &[&with_nonce()]).await;
    let form = [("grant_type", "refresh_token"), ("refresh_token", first["refresh_token"].as_str().unwrap())];
    // Without a proof, the refusal carries the nonce to use.
    let headers = assert_oauth_error(token_request(&server, &spa, &form, &[]).await, 400, "invalid_dpop_proof").await;
    assert!(headers.get("dpop-nonce").is_some());
    let response = token_request(&server, &spa, &form, &[&with_nonce()]).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_confidential_clients_refresh_token_is_not_bound() {
    use crate::agent::*;
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &["--grant", "refresh_token"]);
    let key = key();
    let mut agent = Agent::new(&server);
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    let form =
        [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", "https://app.example/cb"), ("code_verifier", VERIFIER)];
    let response = token_request(&server, &client, &form, &[&token_proof(&server, &key)]).await;
    assert_eq!(response.status(), 200);
    let first: Value = response.json().await.unwrap();
    assert_eq!(first["token_type"], "DPoP", "the access token is bound");
    let rt = first["refresh_token"].as_str().unwrap();
    assert!(introspect(&server, &fixture, rt).await.get("cnf").is_none(), "the refresh token is not");
    // It authenticates, so its refresh needs no proof (a Bearer token then) ...
    let response = token_request(&server, &client, &[("grant_type", "refresh_token"), ("refresh_token", rt)], &[]).await;
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await.unwrap();
    assert_eq!(second["token_type"], "Bearer");
    // ... and takes any key's proof, binding the new access token to that key.
    let other = self::key();
    let form = [("grant_type", "refresh_token"), ("refresh_token", second["refresh_token"].as_str().unwrap())];
    let response = token_request(&server, &client, &form, &[&token_proof(&server, &other)]).await;
    assert_eq!(response.status(), 200);
    let third: Value = response.json().await.unwrap();
    assert_eq!(third["token_type"], "DPoP");
    assert_eq!(jwt_parts(third["access_token"].as_str().unwrap()).1["cnf"]["jkt"], other.kid());
}

// ---------------------------------------------------------------------------------------------
// No token at all (RFC 9449 §7.1, RFC 6750 §3.1)

#[tokio::test]
async fn a_request_without_a_token_is_offered_bearer_and_dpop() {
    let (server, _fixture) = start();
    for (method, path) in RESOURCES {
        let response = http().request(method.parse().unwrap(), server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
        let challenges: Vec<String> =
            response.headers().get_all("www-authenticate").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        assert_eq!(challenges, ["Bearer realm=\"tessera\"", "DPoP algs=\"ES256 EdDSA RS256 PS256\""], "{method} {path}");
        // Another scheme counts as no token.
        let response = http().request(method.parse().unwrap(), server.url(path)).basic_auth("a", Some("b")).send().await.unwrap();
        assert_eq!(response.headers().get_all("www-authenticate").iter().count(), 2, "{method} {path}");
    }
}

// ---------------------------------------------------------------------------------------------
// Node's openid-client (interop/node/dpop.mjs), with and without server nonces

async fn openid_client_does_dpop(nonces: bool) {
    use crate::agent::*;
    let serve = if nonces { vec!["--dpop-require-nonce".into(), "true".into()] } else { Vec::new() };
    let (server, fixture) = start_with(ServerOptions { serve, ..Default::default() });
    let (_, cc) = add_client(&server, &fixture, "dpop robot", &["--grant", "client_credentials", "--scope", "read", "--require-dpop"]);
    let mut flags = PUBLIC_SPA.to_vec();
    flags.extend_from_slice(&["--grant", "refresh_token", "--scope", "read"]);
    let (_, spa) = add_client(&server, &fixture, "dpop spa", &flags);
    let issuer = server.url("").trim_end_matches('/').to_owned();
    let mut script = InteropScript::start("dpop.mjs", &[&issuer, &cc.client_id, &cc.client_secret, &spa.client_id, "http://127.0.0.1/cb"]);
    let first = script.read_json("authorizing");
    let authorization_url = first["authorization_url"].as_str().unwrap();
    // The user's part, in our browser stand-in: sign in, Allow, and the callback goes back.
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let callback = agent.authorize(authorization_url.split_once('?').unwrap().1, "allow").await;
    script.answer(&callback);
    let result = script.read_json("the code flow");
    script.finish();

    // Every token is DPoP-bound, to the key the script made for it.
    let bound_to = |token: &Value| jwt_parts(token.as_str().unwrap()).1["cnf"]["jkt"].clone();
    let cc_result = &result["client_credentials"];
    assert!(cc_result["token_type"].as_str().unwrap().eq_ignore_ascii_case("DPoP"), "{result}");
    assert_eq!(bound_to(&cc_result["access_token"]), cc_result["jkt"], "{result}");
    let code = &result["code"];
    assert!(code["token_type"].as_str().unwrap().eq_ignore_ascii_case("DPoP"), "{result}");
    assert_eq!(bound_to(&code["access_token"]), code["jkt"]);
    assert_ne!(code["jkt"], cc_result["jkt"], "two keys, two thumbprints");
    let refreshed = &result["refreshed"];
    assert!(refreshed["token_type"].as_str().unwrap().eq_ignore_ascii_case("DPoP"), "{result}");
    assert_eq!(bound_to(&refreshed["access_token"]), code["jkt"], "the refresh rebinds to the same key");
    // The public client's refresh-token family is bound to that key.
    let introspected = introspect(&server, &fixture, refreshed["refresh_token"].as_str().unwrap()).await;
    assert_eq!(introspected["cnf"]["jkt"], code["jkt"], "{introspected}");
    // The resources answered with a proof of the key.
    assert_eq!(result["userinfo_sub"], fixture.owner_id.as_str());
    assert_eq!(result["session_user"]["status"], 200);
    assert_eq!(result["session_user"]["body"]["sub"], fixture.owner_id.as_str());
    if nonces {
        assert!(result["nonce_challenges"].as_u64().unwrap() >= 1, "openid-client met and retried use_dpop_nonce: {result}");
    } else {
        assert_eq!(result["nonce_challenges"], 0, "{result}");
    }
}

#[tokio::test]
async fn interop_openid_client_dpop() {
    openid_client_does_dpop(false).await;
}

#[tokio::test]
async fn interop_openid_client_dpop_with_server_nonces() {
    openid_client_does_dpop(true).await;
}
