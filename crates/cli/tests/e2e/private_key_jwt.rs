//! `private_key_jwt` client authentication (RFC 7523 §2.2, OIDC Core §9; SECURITY.md J13):
//! clients registered with an inline JWKS or a `jwks_uri` get tokens, introspect and revoke
//! with signed assertions; every way an assertion can be wrong is one `invalid_client` (401),
//! with the reason in the audit log only; private keys are refused at registration.
//!
//! Every test first shows that a good assertion from the same key works, so each refusal is
//! due to the one thing changed.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use serde_json::{Value, json};
use tessera_jose::{Algorithm, SigningKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::agent::*;
use crate::common::*;
use crate::jwt_validation::{eventually_async, unix_now};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}-{}", std::process::id(), unix_now(), COUNTER.fetch_add(1, Ordering::SeqCst))
}

/// A JWKS document holding the public halves of `keys`.
pub fn jwks_of(keys: &[&SigningKey]) -> String {
    json!({ "keys": keys.iter().map(|k| k.public_jwk()).collect::<Vec<_>>() }).to_string()
}

/// Writes `text` to a fresh temporary file (for `--jwks FILE`).
fn temp_file(text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{}.jwks", unique("tessera-e2e")));
    std::fs::write(&path, text).unwrap();
    path
}

/// Registers a `private_key_jwt` client with the fixture's org and owner; returns its id.
pub fn register(server: &Server, fixture: &Fixture, flags: &[&str]) -> String {
    let (created, _) = add_client(server, fixture, &unique("signer"), flags);
    assert_eq!(created["token_endpoint_auth_method"], "private_key_jwt", "{created}");
    assert!(created.get("client_secret").is_none(), "no secret for a private_key_jwt client: {created}");
    created["client_id"].as_str().unwrap().to_owned()
}

pub fn register_inline(server: &Server, fixture: &Fixture, key: &SigningKey) -> String {
    let file = temp_file(&jwks_of(&[key]));
    register(server, fixture, &["--jwks", file.to_str().unwrap(), "--scope", "read"])
}

/// Good claims of an assertion by `client` for `aud`, fresh `jti`.
pub fn claims(client: &str, aud: &str) -> Value {
    let now = unix_now();
    json!({ "iss": client, "sub": client, "aud": aud, "exp": now + 60, "iat": now, "jti": unique("jti") })
}

pub fn sign(key: &SigningKey, claims: &Value) -> String {
    key.sign("JWT", claims).unwrap()
}

/// A compact JWS with an arbitrary header, signed by `key` (the header may lie about `alg`).
fn sign_with_header(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
    let signature = key.sign_raw(input.as_bytes()).unwrap();
    format!("{input}.{}", B64.encode(signature))
}

/// `POST path` authenticated by `assertion` (no `client_id` unless given).
pub async fn post_assertion(server: &Server, path: &str, assertion: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![("client_assertion_type", JWT_BEARER), ("client_assertion", assertion)];
    form.extend_from_slice(extra);
    post_form(server, path, &form).await
}

async fn assert_refused(server: &Server, assertion: &str, what: &str) {
    let response = post_assertion(server, "/oauth2/token", assertion, &[("grant_type", "client_credentials")]).await;
    let headers = assert_oauth_error(response, 401, "invalid_client").await;
    assert!(headers.get("www-authenticate").is_none(), "{what}: no Basic challenge without Basic");
}

async fn assert_token(server: &Server, assertion: &str, what: &str) -> Value {
    let response = post_assertion(server, "/oauth2/token", assertion, &[("grant_type", "client_credentials")]).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{what}: {body}");
    body
}

/// The reasons of the audited client-authentication failures of `client`, oldest first.
fn failure_reasons(server: &Server, fixture: &Fixture, client: &str) -> Vec<String> {
    let entries = server.cli.json(&["audit", "list", "--org", &fixture.org_name, "--limit", "500"]).unwrap();
    let mut reasons: Vec<String> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "client_auth_failed" && e["target"] == client)
        .map(|e| e["detail"]["reason"].as_str().unwrap_or_default().to_owned())
        .collect();
    reasons.reverse();
    reasons
}

#[tokio::test]
async fn private_key_jwt_with_an_inline_jwks_works_at_token_introspection_and_revocation() {
    let (server, fixture) = start();
    let token_url = server.url("/oauth2/token");
    let issuer = server.url("");
    for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
        let (key, _) = SigningKey::generate(alg).unwrap();
        let client = register_inline(&server, &fixture, &key);
        // aud: the token endpoint's URL or the issuer; client_id in the body or not.
        let issued = assert_token(&server, &sign(&key, &claims(&client, &token_url)), &format!("{alg:?}")).await;
        assert_eq!(issued["scope"], "read");
        let response = post_assertion(
            &server,
            "/oauth2/token",
            &sign(&key, &claims(&client, &issuer)),
            &[("grant_type", "client_credentials"), ("client_id", &client)],
        )
        .await;
        assert_eq!(response.status(), 200, "aud = issuer, with client_id");
        let access = issued["access_token"].as_str().unwrap();
        let (_, token_claims) = jwt_parts(access);
        assert_eq!(token_claims["client_id"], client.as_str());

        // Introspection, with an assertion made for the introspection endpoint itself.
        let introspect_url = server.url("/oauth2/introspect");
        let response =
            post_assertion(&server, "/oauth2/introspect", &sign(&key, &claims(&client, &introspect_url)), &[("token", access)]).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!((body["active"].as_bool(), body["client_id"].as_str()), (Some(true), Some(client.as_str())), "{body}");

        // Revocation of its own token; it then stops working.
        let response = post_assertion(&server, "/oauth2/revoke", &sign(&key, &claims(&client, &token_url)), &[("token", access)]).await;
        assert_eq!(response.status(), 200);
        assert!(!is_active(&server, &fixture, access).await, "{alg:?}: revoked by its client");
    }

    // Discovery offers the method and the algorithms at every client-authenticated endpoint.
    let metadata: Value = http().get(server.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    for endpoint in ["token", "introspection", "revocation"] {
        let methods = &metadata[format!("{endpoint}_endpoint_auth_methods_supported")];
        assert!(methods.as_array().unwrap().contains(&json!("private_key_jwt")), "{endpoint}: {methods}");
        let algs = &metadata[format!("{endpoint}_endpoint_auth_signing_alg_values_supported")];
        assert_eq!(*algs, json!(["ES256", "EdDSA", "RS256", "PS256"]), "{endpoint}");
    }
}

#[tokio::test]
async fn j13_every_bad_assertion_is_invalid_client_with_the_reason_audited() {
    let (server, fixture) = start();
    let (key, _) = SigningKey::generate(Algorithm::ES256).unwrap();
    let client = register_inline(&server, &fixture, &key);
    let (other_key, _) = SigningKey::generate(Algorithm::ES256).unwrap();
    let other_client = register_inline(&server, &fixture, &other_key);
    let token_url = server.url("/oauth2/token");
    let good = || claims(&client, &token_url);
    let with = |member: &str, value: Value| {
        let mut c = good();
        c[member] = value;
        c
    };
    let without = |member: &str| {
        let mut c = good();
        c.as_object_mut().unwrap().remove(member);
        c
    };
    let now = unix_now();
    let header = |alg: &str, kid: &str| json!({ "alg": alg, "typ": "JWT", "kid": kid });

    // The control, and a replay of it.
    let first = sign(&key, &good());
    assert_token(&server, &first, "control").await;
    assert_refused(&server, &first, "replayed jti").await;

    let hs256 = {
        // HS256 "signed" with the client's public key as the HMAC secret (RFC 8725 §2.1).
        let jwks = jwks_of(&[&key]);
        let input = format!("{}.{}", B64.encode(header("HS256", key.kid()).to_string()), B64.encode(good().to_string()));
        let mac = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, jwks.as_bytes()), input.as_bytes());
        format!("{input}.{}", B64.encode(mac.as_ref()))
    };
    let bad_signature = {
        let token = sign(&key, &good());
        let (head, signature) = token.rsplit_once('.').unwrap();
        let mut raw = B64.decode(signature).unwrap();
        raw[5] ^= 1;
        format!("{head}.{}", B64.encode(raw))
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("replayed jti", first.clone(), "assertion_replayed"),
        ("wrong aud", sign(&key, &with("aud", json!("https://elsewhere.example/token"))), "assertion_wrong_audience"),
        ("missing aud", sign(&key, &without("aud")), "assertion_wrong_audience"),
        ("expired", sign(&key, &with("exp", json!(now - 120))), "assertion_expired"),
        ("exp too far ahead", sign(&key, &with("exp", json!(now + 7200))), "assertion_exp_too_far"),
        ("missing exp", sign(&key, &without("exp")), "assertion_missing_exp"),
        ("nbf in the future", sign(&key, &with("nbf", json!(now + 600))), "assertion_not_yet_valid"),
        ("iat in the future", sign(&key, &with("iat", json!(now + 600))), "assertion_not_yet_valid"),
        ("missing jti", sign(&key, &without("jti")), "assertion_missing_jti"),
        ("iss is not sub", sign(&key, &with("iss", json!(other_client))), "assertion_wrong_issuer"),
        ("another client's sub, our key", sign(&key, &claims(&other_client, &token_url)), "assertion_unknown_key"),
        (
            "alg none",
            format!("{}.{}.", B64.encode(header("none", key.kid()).to_string()), B64.encode(good().to_string())),
            "assertion_algorithm",
        ),
        ("HS256 keyed with the public key", hs256, "assertion_algorithm"),
        ("alg not fitting the key", sign_with_header(&key, &header("RS256", key.kid()), &good()), "assertion_algorithm"),
        ("unknown kid", sign_with_header(&key, &header("ES256", "no-such-kid"), &good()), "assertion_unknown_key"),
        ("signed by another key", sign(&other_key, &good()), "assertion_unknown_key"),
        ("bad signature", bad_signature, "assertion_bad_signature"),
        (
            "embedded jwk header",
            sign_with_header(&key, &json!({ "alg": "ES256", "kid": key.kid(), "jwk": key.public_jwk() }), &good()),
            "assertion_header",
        ),
        ("not a JWT", "not-a-jwt".to_owned(), ""),
    ];
    for (what, assertion, _) in &cases[1..] {
        assert_refused(&server, assertion, what).await;
    }
    // One audited reason per refusal, each the one thing that was wrong. "Not a JWT" names no
    // client (no readable sub), and another client's sub is audited under that client.
    let for_client: Vec<&str> =
        cases.iter().filter(|(what, _, r)| !r.is_empty() && *what != "another client's sub, our key").map(|(_, _, r)| *r).collect();
    assert_eq!(failure_reasons(&server, &fixture, &client), for_client);
    assert_eq!(
        failure_reasons(&server, &fixture, &other_client),
        vec!["assertion_unknown_key"],
        "an assertion naming another client is checked against that client's keys"
    );

    // Errors at introspection and revocation are the same invalid_client.
    let access = access_token(&server, &fixture).await;
    for path in ["/oauth2/introspect", "/oauth2/revoke"] {
        let response =
            post_assertion(&server, path, &sign(&key, &with("aud", json!("https://elsewhere.example"))), &[("token", &access)]).await;
        assert_oauth_error(response, 401, "invalid_client").await;
    }
    assert!(is_active(&server, &fixture, &access).await, "nothing was revoked by a refused client");

    // None of that burned the key or a later jti: a good assertion still works.
    assert_token(&server, &sign(&key, &good()), "after the refusals").await;
    let log = server.log();
    assert!(!log.contains(&first), "the assertion never reaches the log");
}

#[tokio::test]
async fn assertion_and_secret_together_are_invalid_request_and_the_wrong_method_is_invalid_client() {
    let (server, fixture) = start();
    let (key, _) = SigningKey::generate(Algorithm::ES256).unwrap();
    let client = register_inline(&server, &fixture, &key);
    let token_url = server.url("/oauth2/token");

    // Both an assertion and a secret: in the body, or the secret as Basic.
    let assertion = sign(&key, &claims(&client, &token_url));
    let response = post_assertion(
        &server,
        "/oauth2/token",
        &assertion,
        &[("grant_type", "client_credentials"), ("client_id", &client), ("client_secret", "whatever")],
    )
    .await;
    assert_oauth_error(response, 400, "invalid_request").await;
    let response = http()
        .post(server.url("/oauth2/token"))
        .basic_auth(&fixture.client_id, Some(&fixture.client_secret))
        .form(&[("grant_type", "client_credentials"), ("client_assertion_type", JWT_BEARER), ("client_assertion", &assertion)])
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, 400, "invalid_request").await;
    // One of the pair without the other.
    for form in [
        vec![("grant_type", "client_credentials"), ("client_id", client.as_str()), ("client_assertion_type", JWT_BEARER)],
        vec![("grant_type", "client_credentials"), ("client_id", client.as_str()), ("client_assertion", assertion.as_str())],
    ] {
        assert_oauth_error(post_form(&server, "/oauth2/token", &form).await, 400, "invalid_request").await;
    }
    // Another assertion type.
    let response = post_form(
        &server,
        "/oauth2/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
            ("client_assertion", &assertion),
        ],
    )
    .await;
    assert_oauth_error(response, 401, "invalid_client").await;
    // The assertion survived all of that (none of it was accepted, so its jti is unspent).
    assert_token(&server, &assertion, "the untouched assertion").await;

    // A private_key_jwt client presenting a secret, or nothing.
    let response =
        post_form(&server, "/oauth2/token", &[("grant_type", "client_credentials"), ("client_id", &client), ("client_secret", "x")]).await;
    assert_oauth_error(response, 401, "invalid_client").await;
    let response = post_form(&server, "/oauth2/token", &[("grant_type", "client_credentials"), ("client_id", &client)]).await;
    assert_oauth_error(response, 401, "invalid_client").await;
    // A secret client presenting a valid assertion signed with a key it never registered.
    let forged = sign(&key, &claims(&fixture.client_id, &token_url));
    assert_refused(&server, &forged, "secret client sending an assertion").await;
    let reasons = failure_reasons(&server, &fixture, &client);
    assert_eq!(reasons, ["wrong_auth_method", "wrong_auth_method"], "{reasons:?}");
    assert_eq!(failure_reasons(&server, &fixture, &fixture.client_id), ["wrong_auth_method"]);
    // And the secret client's secret still works.
    token(&server, &fixture, None).await;
}

#[tokio::test]
async fn registration_refuses_private_keys_insecure_jwks_uris_and_secrets_for_key_clients() {
    let (server, fixture) = start();
    let (key, _) = SigningKey::generate(Algorithm::ES256).unwrap();
    let create = |flags: &[&str]| {
        let name = unique("refused");
        let mut args = vec!["client", "create", "--org", &fixture.org_name, "--owner", &fixture.owner_email, "--name", &name];
        args.extend_from_slice(flags);
        server.cli.run(&args).unwrap()
    };
    let mut private = serde_json::to_value(key.public_jwk()).unwrap();
    private["d"] = json!(B64.encode([7u8; 32]));
    let private_jwks = temp_file(&json!({ "keys": [private] }).to_string());
    let private_pem = temp_file(
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBm/RAlphM3+hUG6wWfcO5bIUIaqMLa2ywxcOK1wMWbh\n-----END PRIVATE KEY-----\n",
    );
    let symmetric = temp_file(r#"{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQ"}"#);
    let good = temp_file(&jwks_of(&[&key]));
    for (what, flags, needle) in [
        ("private JWK", vec!["--jwks", private_jwks.to_str().unwrap()], "private"),
        ("PEM private key", vec!["--jwks", private_pem.to_str().unwrap()], "private"),
        ("symmetric key", vec!["--jwks", symmetric.to_str().unwrap()], "private"),
        ("http jwks_uri elsewhere", vec!["--jwks-uri", "http://keys.example/jwks"], "jwks_uri"),
        ("both jwks and jwks_uri", vec!["--jwks", good.to_str().unwrap(), "--jwks-uri", "https://keys.example/jwks"], "not both"),
        ("private_key_jwt without keys", vec!["--token-endpoint-auth-method", "private_key_jwt"], "public keys"),
        (
            "keys for a secret client",
            vec!["--token-endpoint-auth-method", "client_secret_basic", "--jwks", good.to_str().unwrap()],
            "only for private_key_jwt",
        ),
        ("unknown method", vec!["--token-endpoint-auth-method", "client_secret_jwt"], "unknown token_endpoint_auth_method"),
    ] {
        let out = create(&flags);
        assert!(!out.success, "{what} must be refused");
        assert!(out.stderr.contains(needle), "{what}: {}", out.stderr);
    }
    let listed = server.cli.json(&["client", "list", "--org", &fixture.org_name]).unwrap().to_string();
    assert!(!listed.contains("refused-"), "nothing was registered: {listed}");

    // A PEM public key is accepted and stored as a JWKS; such a client has no secret to
    // regenerate or show.
    let spki = {
        let jwk = serde_json::to_value(key.public_jwk()).unwrap();
        let mut der = hex_bytes("3059301306072a8648ce3d020106082a8648ce3d030107034200");
        der.push(4);
        der.extend(B64.decode(jwk["x"].as_str().unwrap()).unwrap());
        der.extend(B64.decode(jwk["y"].as_str().unwrap()).unwrap());
        format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", STANDARD.encode(der))
    };
    let pem = temp_file(&spki);
    let client = register(&server, &fixture, &["--jwks", pem.to_str().unwrap()]);
    let shown = server.cli.json(&["client", "show", &client]).unwrap();
    assert_eq!(shown["jwks"]["keys"][0]["x"], serde_json::to_value(key.public_jwk()).unwrap()["x"], "{shown}");
    assert_eq!(shown["jwks"]["keys"][0]["kid"], key.kid(), "a PEM key gets its RFC 7638 thumbprint as kid");
    let out = server.cli.run(&["client", "regenerate-secret", &client]).unwrap();
    assert!(!out.success && out.stderr.contains("has no secret"), "{}", out.stderr);
    assert_token(&server, &sign(&key, &claims(&client, &server.url("/oauth2/token"))), "PEM-registered key").await;

    // client update replaces the keys: the old key stops, the new one works.
    let (new_key, _) = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let new_file = temp_file(&jwks_of(&[&new_key]));
    let updated = server.cli.json(&["client", "update", &client, "--jwks", new_file.to_str().unwrap()]).unwrap();
    assert_eq!(updated["jwks"]["keys"][0]["kid"], new_key.kid());
    assert_refused(&server, &sign(&key, &claims(&client, &server.url("/oauth2/token"))), "the replaced key").await;
    assert_token(&server, &sign(&new_key, &claims(&client, &server.url("/oauth2/token"))), "the new key").await;
    let out = server.cli.run(&["client", "update", &fixture.client_id, "--jwks", new_file.to_str().unwrap()]).unwrap();
    assert!(!out.success, "a secret client gets no keys");
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// A tiny HTTP server on 127.0.0.1 that serves `body` at any path and counts requests.
pub struct JwksHost {
    pub url: String,
    pub body: Arc<Mutex<String>>,
    pub hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksHost {
    pub async fn start(body: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let body = Arc::new(Mutex::new(body));
        let hits = Arc::new(AtomicUsize::new(0));
        let (served, counter) = (body.clone(), hits.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                let (served, counter) = (served.clone(), counter.clone());
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let body = served.lock().unwrap().clone();
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { url, body, hits, task }
    }
}

impl Drop for JwksHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn jwks_uri_keys_are_fetched_cached_and_a_rotated_key_is_picked_up_on_its_unknown_kid() {
    // The key host is on 127.0.0.1: the operator allows internal hosts.
    let (server, fixture) =
        start_with(ServerOptions { serve: vec!["--allow-internal-jwks-uri".into(), "true".into()], ..Default::default() });
    let (first, _) = SigningKey::generate(Algorithm::ES256).unwrap();
    let host = JwksHost::start(jwks_of(&[&first])).await;
    let client = register(&server, &fixture, &["--jwks-uri", &host.url]);
    assert_eq!(host.hits.load(Ordering::SeqCst), 0, "registration does not fetch");
    let token_url = server.url("/oauth2/token");
    assert_token(&server, &sign(&first, &claims(&client, &token_url)), "first key").await;
    assert_token(&server, &sign(&first, &claims(&client, &token_url)), "first key again").await;
    assert_eq!(host.hits.load(Ordering::SeqCst), 1, "fetched once, then cached");

    // The client rotates: its JWKS now holds only the second key.
    let (second, _) = SigningKey::generate(Algorithm::ES256).unwrap();
    *host.body.lock().unwrap() = jwks_of(&[&second]);
    let server_ref = &server;
    let (second_ref, client_ref, url_ref) = (&second, &client, &token_url);
    let picked_up = eventually_async(Duration::from_secs(15), || async move {
        let response = post_assertion(
            server_ref,
            "/oauth2/token",
            &sign(second_ref, &claims(client_ref, url_ref)),
            &[("grant_type", "client_credentials")],
        )
        .await;
        if response.status() == 200 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        false
    })
    .await;
    assert!(picked_up, "the new key is fetched on its unknown kid");
    let hits = host.hits.load(Ordering::SeqCst);
    assert!((2..=3).contains(&hits), "fetched again at most once per interval, not per request: {hits}");
    // The old key is gone from the set, so its assertions fail; made-up kids fetch nothing more
    // within the interval.
    assert_refused(&server, &sign(&first, &claims(&client, &token_url)), "the rotated-out key").await;
    assert_refused(
        &server,
        &sign_with_header(&second, &json!({"alg": "ES256", "kid": "made-up"}), &claims(&client, &token_url)),
        "made-up kid",
    )
    .await;
    assert_eq!(host.hits.load(Ordering::SeqCst), hits, "no fetch per unknown kid within the interval");
    assert_token(&server, &sign(&second, &claims(&client, &token_url)), "second key").await;
}

/// By default a `jwks_uri` on an internal address is never fetched: not by its address literal,
/// and not by a name that resolves to one (`localhost`); the assertions of such a client are
/// refused like any other bad assertion. Allowing internal hosts is the operator's choice.
#[tokio::test]
async fn a_jwks_uri_on_an_internal_address_is_not_fetched_unless_the_operator_allows_it() {
    let (server, fixture) = start();
    let (key, _) = SigningKey::generate(Algorithm::ES256).unwrap();
    let host = JwksHost::start(jwks_of(&[&key])).await;
    let by_name = host.url.replace("127.0.0.1", "localhost");
    let token_url = server.url("/oauth2/token");
    for uri in [host.url.as_str(), by_name.as_str()] {
        let client = register(&server, &fixture, &["--jwks-uri", uri]);
        assert_refused(&server, &sign(&key, &claims(&client, &token_url)), uri).await;
    }
    assert_eq!(host.hits.load(Ordering::SeqCst), 0, "no request reached the internal host");

    let (allowed, fixture) =
        start_with(ServerOptions { serve: vec!["--allow-internal-jwks-uri".into(), "true".into()], ..Default::default() });
    let client = register(&allowed, &fixture, &["--jwks-uri", &by_name]);
    assert_token(&allowed, &sign(&key, &claims(&client, &allowed.url("/oauth2/token"))), "allowed by the operator").await;
    assert_eq!(host.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_portal_registers_a_pasted_public_key_and_shows_no_secret() {
    let (server, fixture) = start();
    let (key, _) = SigningKey::generate(Algorithm::ES256).unwrap();
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let form = agent.get("/settings/api-clients/new?kind=server").await.text().await.unwrap();
    assert!(form.contains("name=\"public_key\""), "the form offers a public key field");
    let csrf = hidden(&form, "csrf_token");

    // A private key pasted by mistake is refused, on the form, and nothing is registered.
    let mut private = serde_json::to_value(key.public_jwk()).unwrap();
    private["d"] = json!(B64.encode([7u8; 32]));
    let response = agent
        .post(
            "/settings/api-clients/new",
            &[
                ("csrf_token", &csrf),
                ("name", "pasted private"),
                ("grants", "client_credentials"),
                ("scopes", "read"),
                ("public_key", &private.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), 400);
    let page = response.text().await.unwrap();
    assert!(page.contains("holds a private or symmetric key"), "the form says why");
    assert!(!page.contains(private["d"].as_str().unwrap()), "and does not show the private key back");

    let jwk = serde_json::to_string(key.public_jwk()).unwrap();
    let response = agent
        .post(
            "/settings/api-clients/new",
            &[("csrf_token", &csrf), ("name", "signed app"), ("grants", "client_credentials"), ("scopes", "read"), ("public_key", &jwk)],
        )
        .await;
    let html = agent.follow(response).await.text().await.unwrap();
    assert!(html.contains("id=\"no-secret\"") && !html.contains("id=\"regenerate\"") && !html.contains("id=\"show-secret\""), "{html}");
    let listed = server.cli.json(&["client", "list", "--org", &fixture.org_name]).unwrap();
    let created = listed.as_array().unwrap().iter().find(|c| c["name"] == "signed app").unwrap().clone();
    assert_eq!(created["token_endpoint_auth_method"], "private_key_jwt");
    assert!(!listed.to_string().contains("pasted private"));
    let client = created["client_id"].as_str().unwrap();
    let page_html = agent.get(&format!("/settings/api-clients/{client}")).await.text().await.unwrap();
    assert!(page_html.contains("id=\"public-keys\"") && !page_html.contains("id=\"regenerate\""), "{page_html}");
    assert_token(&server, &sign(&key, &claims(client, &server.url("/oauth2/token"))), "portal-registered key").await;

    // The token generator cannot act for it: the server never holds the private key.
    let generator = agent.get(&format!("/tools/access-token?client_id={client}")).await.text().await.unwrap();
    let response = agent.submit("/tools/access-token", &generator, &["csrf_token"], &[("client_id", client)]).await;
    let answer = response.text().await.unwrap();
    assert!(answer.contains("only the holder of its private key can get its tokens"), "{answer}");
    assert!(failure_reasons(&server, &fixture, client).is_empty(), "no failed authentication was even tried");

    // The admin API takes the same fields.
    let admin_token = {
        let (_, admin) = add_client(&server, &fixture, "admin tool", &["--scope", "tessera:clients"]);
        token(&server, &admin, Some("tessera:clients")).await["access_token"].as_str().unwrap().to_owned()
    };
    let response = http()
        .post(server.url("/admin/v1/clients"))
        .bearer_auth(&admin_token)
        .json(&json!({ "name": "api signed", "jwks": { "keys": [key.public_jwk()] } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_endpoint_auth_method"], "private_key_jwt", "{body}");
    assert!(body.get("client_secret").is_none());
    let response = http()
        .post(server.url("/admin/v1/clients"))
        .bearer_auth(&admin_token)
        .json(&json!({ "name": "api private", "jwks": private }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}
