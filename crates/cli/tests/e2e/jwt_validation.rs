//! Access-token validation at `POST /oauth2/introspect` (SECURITY.md §7, J01–J14, and X12).
//!
//! A token that must not work gets exactly `200 {"active":false}`, never a 500. Tokens that must
//! be validly signed yet wrong are signed with the server's own current key (testkit's
//! [`Forge`]); every test first shows that the same forge, with the one wrong thing left out,
//! makes a token the server accepts, so a refusal is due to that one thing.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use tessera_testkit::forge::Forge;

use crate::common::*;

/// Unix seconds now, on the same clock as the server.
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Polls the async `check` until it returns true or `timeout` passes (the async twin of
/// `eventually`: no fixed sleeps).
pub async fn eventually_async<F: Future<Output = bool>>(timeout: Duration, mut check: impl FnMut() -> F) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A running server, its fixture, a forge over its current key, and the claims of a real token
/// it issued (as a template for forged ones).
struct Setup {
    server: Server,
    fixture: Fixture,
    forge: Forge,
    template: Value,
}

async fn setup() -> Setup {
    setup_with(ServerOptions::default()).await
}

async fn setup_with(options: ServerOptions) -> Setup {
    let (server, fixture) = start_with(options);
    let real = access_token(&server, &fixture).await;
    let (header, template) = jwt_parts(&real);
    let forge = Forge::current(&server.cli).await.expect("forge over the server's key");
    assert_eq!(header["kid"], forge.kid(), "the forge holds the key that signs the server's tokens");
    let setup = Setup { server, fixture, forge, template };
    let control = setup.forge.sign(&setup.forge.header("at+jwt"), &setup.claims(|_| {})).unwrap();
    setup.assert_active(&control, "control: a forged token with the server's own header and fresh claims").await;
    setup
}

impl Setup {
    /// Claims like the real token's with a fresh `jti` and lifetime, edited by `edit`.
    fn claims(&self, edit: impl FnOnce(&mut Value)) -> Value {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let mut claims = self.template.clone();
        let now = unix_now();
        claims["jti"] = json!(format!("forged-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
        claims["iat"] = json!(now);
        claims["exp"] = json!(now + 3600);
        edit(&mut claims);
        claims
    }

    fn header(&self, edit: impl FnOnce(&mut Value)) -> Value {
        let mut header = self.forge.header("at+jwt");
        edit(&mut header);
        header
    }

    /// A token signed with the server's key from an edited header and edited claims.
    fn forged(&self, header: impl FnOnce(&mut Value), claims: impl FnOnce(&mut Value)) -> String {
        self.forge.sign(&self.header(header), &self.claims(claims)).unwrap()
    }

    async fn introspect_raw(&self, token: &str) -> (u16, String) {
        let response =
            post_basic(&self.server, "/oauth2/introspect", &self.fixture.client_id, &self.fixture.client_secret, &[("token", token)]).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Exactly `200 {"active":false}`.
    async fn assert_inactive(&self, token: &str, what: &str) {
        let (status, body) = self.introspect_raw(token).await;
        assert_eq!(status, 200, "{what}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{what}: body is not JSON: {body}"));
        assert_eq!(body, json!({ "active": false }), "{what}");
    }

    async fn assert_active(&self, token: &str, what: &str) {
        let (status, body) = self.introspect_raw(token).await;
        assert_eq!(status, 200, "{what}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["active"], true, "{what}: {body}");
    }

    /// Never a panic in the server.
    fn assert_no_panic(&self) {
        let log = self.server.log();
        assert!(!log.contains("panicked"), "the server panicked: {log}");
    }
}

fn segments(token: &str) -> Vec<&str> {
    token.split('.').collect()
}

#[tokio::test]
async fn j01_alg_none_without_signature_is_refused() {
    let s = setup().await;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let token = s.forged(|h| h["alg"] = json!(alg), |_| {});
        let parts = segments(&token);
        s.assert_inactive(&format!("{}.{}.", parts[0], parts[1]), &format!("alg {alg}, empty signature")).await;
        s.assert_inactive(&format!("{}.{}", parts[0], parts[1]), &format!("alg {alg}, no signature segment")).await;
        s.assert_inactive(&token, &format!("alg {alg} with a signature")).await;
    }
    // A real token re-encoded with alg none and its signature dropped.
    let real = access_token(&s.server, &s.fixture).await;
    let (mut header, _) = jwt_parts(&real);
    header["alg"] = json!("none");
    let payload = segments(&real)[1].to_owned();
    s.assert_inactive(&format!("{}.{payload}.", B64.encode(header.to_string())), "real token re-encoded with alg none").await;
    s.assert_no_panic();
}

#[tokio::test]
async fn j02_hs256_keyed_with_the_published_public_key_is_refused() {
    let s = setup().await;
    let jwks_text = http().get(s.server.url("/oauth2/jwks")).send().await.unwrap().text().await.unwrap();
    let jwks: Value = serde_json::from_str(&jwks_text).unwrap();
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == s.forge.kid()).expect("the current key is published").clone();
    let coordinate = |name: &str| jwk[name].as_str().map(|v| B64.decode(v).unwrap()).unwrap_or_default();
    let mut point = vec![4u8];
    point.extend(coordinate("x"));
    point.extend(coordinate("y"));
    // Every way an HMAC key could be read out of the published key.
    let hmac_keys: Vec<(&str, Vec<u8>)> = vec![
        ("the JWK as JSON", serde_json::to_vec(&jwk).unwrap()),
        ("the whole JWKS document", jwks_text.clone().into_bytes()),
        ("the SEC1 point", point),
        ("x", coordinate("x")),
        ("the thumbprint kid", s.forge.kid().as_bytes().to_vec()),
    ];
    for alg in ["HS256", "HS384", "HS512"] {
        for (what, secret) in &hmac_keys {
            for with_kid in [true, false] {
                let mut header = s.header(|h| h["alg"] = json!(alg));
                if !with_kid {
                    header.as_object_mut().unwrap().remove("kid");
                }
                let claims = s.claims(|_| {});
                let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
                let algorithm = match alg {
                    "HS256" => ring::hmac::HMAC_SHA256,
                    "HS384" => ring::hmac::HMAC_SHA384,
                    _ => ring::hmac::HMAC_SHA512,
                };
                let tag = ring::hmac::sign(&ring::hmac::Key::new(algorithm, secret), input.as_bytes());
                let token = format!("{input}.{}", B64.encode(tag.as_ref()));
                s.assert_inactive(&token, &format!("{alg} keyed with {what}, kid {with_kid}")).await;
            }
        }
    }
    // The real signature under a header that claims HS256 is refused too.
    let token = s.forged(|_| {}, |_| {});
    let parts = segments(&token);
    let hs_header = B64.encode(s.header(|h| h["alg"] = json!("HS256")).to_string());
    s.assert_inactive(&format!("{hs_header}.{}.{}", parts[1], parts[2]), "ES256 signature under an HS256 header").await;
    s.assert_no_panic();
}

#[tokio::test]
async fn j03_hostile_kids_are_only_matched_against_the_key_set() {
    let s = setup().await;
    let long_fitting = "k".repeat(5 * 1024);
    for kid in [
        json!("../../etc/passwd"),
        json!("/etc/passwd"),
        json!("' OR 1=1 --"),
        json!("\" OR \"\"=\""),
        json!("unknown-kid"),
        json!(""),
        json!(long_fitting),
        json!(format!("{}\u{0}", s.forge.kid())),
        json!(format!("{} ", s.forge.kid())),
        json!(s.forge.kid().to_lowercase() + "x"),
        json!(42),
        json!(null),
        json!([s.forge.kid()]),
        json!({ "kid": s.forge.kid() }),
    ] {
        let what = format!("kid {:.60}", kid.to_string());
        s.assert_inactive(&s.forged(|h| h["kid"] = kid, |_| {}), &what).await;
    }
    let no_kid = s.forged(|h| drop(h.as_object_mut().unwrap().remove("kid")), |_| {});
    s.assert_inactive(&no_kid, "no kid").await;

    // A 10 KB kid makes a token longer than the 8 KiB parameter limit: it must still be a clean
    // refusal, never active and never a 5xx.
    let token = s.forged(|h| h["kid"] = json!("k".repeat(10 * 1024)), |_| {});
    assert!(token.len() > 10 * 1024);
    let (status, body) = s.introspect_raw(&token).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(
        (status == 200 && body == json!({ "active": false })) || (status == 400 && body["error"] == "invalid_request"),
        "10 KB kid: {status} {body}"
    );
    // The server still works and still knows its key.
    s.assert_active(&s.forged(|_| {}, |_| {}), "an honest token afterwards").await;
    s.assert_no_panic();
}

#[tokio::test]
async fn j04_jku_x5u_and_embedded_keys_are_never_followed() {
    let s = setup().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (attacker, _) = tessera_jose::SigningKey::generate(tessera_jose::Algorithm::ES256).unwrap();
    let attacker_jwk = serde_json::to_value(attacker.public_jwk()).unwrap();
    let own_jwk = s.forge.public_jwk().unwrap();
    let cases: Vec<(&str, Value)> = vec![
        ("jku", s.header(|h| h["jku"] = json!(format!("http://{addr}/jwks.json")))),
        ("jku without kid", {
            let mut h = s.header(|h| h["jku"] = json!(format!("http://{addr}/jwks.json")));
            h.as_object_mut().unwrap().remove("kid");
            h
        }),
        ("x5u", s.header(|h| h["x5u"] = json!(format!("http://{addr}/cert.pem")))),
        ("embedded jwk of the server's own key", s.header(|h| h["jwk"] = own_jwk.clone())),
        ("embedded jwk of another key", s.header(|h| h["jwk"] = attacker_jwk.clone())),
        ("x5c", s.header(|h| h["x5c"] = json!(["MIIBszCCAVmgAwIBAgIUQ2Vyd"]))),
    ];
    for (what, header) in cases {
        s.assert_inactive(&s.forge.sign(&header, &s.claims(|_| {})).unwrap(), &format!("{what}, signed by the server's key")).await;
    }
    // Signed by the attacker's key, which the token itself carries and points at.
    let header = json!({
        "alg": "ES256",
        "typ": "at+jwt",
        "kid": attacker.kid(),
        "jwk": attacker_jwk,
        "jku": format!("http://{addr}/jwks.json"),
    });
    let claims = s.claims(|_| {});
    let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
    let token = format!("{input}.{}", B64.encode(attacker.sign_raw(input.as_bytes()).unwrap()));
    s.assert_inactive(&token, "signed by an embedded attacker key").await;
    // One more full round trip, then the listener must have seen nothing.
    s.assert_active(&s.forged(|_| {}, |_| {}), "an honest token afterwards").await;
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok((_, peer)) => panic!("the server connected to the jku/x5u listener from {peer}"),
        Err(e) => panic!("listener error: {e}"),
    }
    s.assert_no_panic();
}

#[tokio::test]
async fn j05_exp_in_the_past_beyond_the_leeway_is_refused() {
    let s = setup().await;
    let now = unix_now();
    s.assert_active(
        &s.forged(|_| {}, |c| (c["iat"], c["exp"]) = (json!(now - 600), json!(now - 20))),
        "expired 20 s ago, within the 60 s leeway",
    )
    .await;
    s.assert_inactive(&s.forged(|_| {}, |c| (c["iat"], c["exp"]) = (json!(now - 600), json!(now - 120))), "expired 120 s ago").await;
    s.assert_inactive(&s.forged(|_| {}, |c| (c["iat"], c["exp"]) = (json!(now - 90_000), json!(now - 86_400))), "expired a day ago").await;
    s.assert_inactive(&s.forged(|_| {}, |c| drop(c.as_object_mut().unwrap().remove("exp"))), "no exp").await;
    s.assert_inactive(&s.forged(|_| {}, |c| c["exp"] = json!(i64::MIN)), "exp i64::MIN").await;
    s.assert_inactive(&s.forged(|_| {}, |c| c["exp"] = json!(format!("{}", now + 3600))), "exp as a string").await;
    s.assert_no_panic();
}

#[tokio::test]
async fn j06_nbf_or_iat_in_the_future_beyond_the_leeway_is_refused() {
    let s = setup().await;
    let now = unix_now();
    s.assert_inactive(&s.forged(|_| {}, |c| c["nbf"] = json!(now + 120)), "nbf 120 s ahead").await;
    s.assert_inactive(&s.forged(|_| {}, |c| c["iat"] = json!(now + 120)), "iat 120 s ahead").await;
    s.assert_inactive(&s.forged(|_| {}, |c| (c["iat"], c["exp"]) = (json!(now + 86_400), json!(now + 90_000))), "iat a day ahead").await;
    s.assert_inactive(&s.forged(|_| {}, |c| c["nbf"] = json!(i64::MAX)), "nbf i64::MAX").await;
    s.assert_no_panic();
}

#[tokio::test]
async fn x12_iat_and_nbf_ahead_within_the_leeway_pass_and_beyond_it_fail() {
    let s = setup().await;
    let now = unix_now();
    s.assert_active(&s.forged(|_| {}, |c| c["iat"] = json!(now + 30)), "iat 30 s ahead").await;
    s.assert_active(&s.forged(|_| {}, |c| c["nbf"] = json!(now + 30)), "nbf 30 s ahead").await;
    s.assert_active(&s.forged(|_| {}, |c| (c["iat"], c["nbf"]) = (json!(now + 30), json!(now + 30))), "iat and nbf 30 s ahead").await;
    s.assert_inactive(&s.forged(|_| {}, |c| c["iat"] = json!(now + 90)), "iat 90 s ahead").await;
    s.assert_inactive(&s.forged(|_| {}, |c| c["nbf"] = json!(now + 90)), "nbf 90 s ahead").await;
    s.assert_inactive(&s.forged(|_| {}, |c| (c["iat"], c["nbf"]) = (json!(now), json!(now + 90))), "iat now, nbf 90 s ahead").await;
}

#[tokio::test]
async fn j07_a_validly_signed_token_for_another_audience_is_refused() {
    let s = setup().await;
    assert_eq!(s.template["aud"], s.server.base.as_str(), "the audience follows the issuer by default");
    for aud in [
        json!("https://other-resource.example/api"),
        json!(format!("{}/", s.server.base)),
        json!(s.server.base.to_uppercase()),
        json!(""),
        json!(["https://other-resource.example/api"]),
    ] {
        let what = format!("aud {aud}");
        s.assert_inactive(&s.forged(|_| {}, |c| c["aud"] = aud), &what).await;
    }
    s.assert_inactive(&s.forged(|_| {}, |c| drop(c.as_object_mut().unwrap().remove("aud"))), "no aud").await;
    s.assert_no_panic();
}

#[tokio::test]
async fn j08_a_validly_signed_token_from_another_issuer_is_refused() {
    let s = setup().await;
    for iss in [json!("https://evil.example"), json!(format!("{}/", s.server.base)), json!(s.server.base.replace("127.0.0.1", "localhost"))]
    {
        let what = format!("iss {iss}");
        s.assert_inactive(&s.forged(|_| {}, |c| c["iss"] = iss), &what).await;
    }
    s.assert_inactive(&s.forged(|_| {}, |c| drop(c.as_object_mut().unwrap().remove("iss"))), "no iss").await;
    s.assert_no_panic();
}

#[tokio::test]
async fn j09_only_typ_at_jwt_is_accepted() {
    let s = setup().await;
    s.assert_active(&s.forged(|h| h["typ"] = json!("application/at+jwt"), |_| {}), "typ application/at+jwt (RFC 9068 §4)").await;
    for typ in [json!("JWT"), json!("jwt"), json!("application/jwt"), json!("at+jwt2"), json!("id_token+jwt"), json!(""), json!(null)] {
        let what = format!("typ {typ}");
        s.assert_inactive(&s.forged(|h| h["typ"] = typ, |_| {}), &what).await;
    }
    s.assert_inactive(&s.forged(|h| drop(h.as_object_mut().unwrap().remove("typ")), |_| {}), "no typ").await;
    s.assert_no_panic();
}

#[tokio::test]
async fn j10_flipped_bits_stripped_signatures_and_extra_dots_are_refused() {
    let s = setup().await;
    let real = access_token(&s.server, &s.fixture).await;
    s.assert_active(&real, "the untouched token").await;
    let parts = segments(&real);
    let flip = |segment: &str, index: usize, bit: u8| {
        let mut bytes = B64.decode(segment).unwrap();
        let index = index.min(bytes.len() - 1);
        bytes[index] ^= 1 << bit;
        B64.encode(bytes)
    };
    let payload_len = B64.decode(parts[1]).unwrap().len();
    for (index, bit) in [(0, 0), (payload_len / 2, 3), (payload_len - 2, 0), (payload_len - 1, 7)] {
        let token = format!("{}.{}.{}", parts[0], flip(parts[1], index, bit), parts[2]);
        s.assert_inactive(&token, &format!("payload byte {index} bit {bit} flipped")).await;
    }
    for (index, bit) in [(0, 0), (31, 5), (32, 1), (usize::MAX, 7)] {
        let token = format!("{}.{}.{}", parts[0], parts[1], flip(parts[2], index, bit));
        s.assert_inactive(&token, &format!("signature byte {index} bit {bit} flipped")).await;
    }
    let header_len = B64.decode(parts[0]).unwrap().len();
    s.assert_inactive(&format!("{}.{}.{}", flip(parts[0], header_len / 2, 2), parts[1], parts[2]), "header bit flipped").await;
    s.assert_inactive(&format!("{}.{}.", parts[0], parts[1]), "signature stripped, dot kept").await;
    s.assert_inactive(&format!("{}.{}", parts[0], parts[1]), "signature and dot stripped").await;
    s.assert_inactive(&format!("{real}."), "extra trailing dot").await;
    s.assert_inactive(&format!("{real}.."), "two extra trailing dots").await;
    s.assert_inactive(&format!(".{real}"), "extra leading dot").await;
    s.assert_inactive(&format!("{}.{}.{}", parts[0], parts[1], &parts[2][..parts[2].len() - 2]), "signature truncated").await;
    s.assert_inactive(&format!("{}..{}", parts[0], parts[2]), "payload stripped").await;
    s.assert_active(&real, "the untouched token still works").await;
    s.assert_no_panic();
}

#[tokio::test]
async fn j11_an_unknown_crit_header_is_refused() {
    let s = setup().await;
    for (crit, extra) in [
        (json!(["x-tessera-unknown"]), Some(("x-tessera-unknown", json!(true)))),
        (json!(["x-tessera-unknown"]), None),
        (json!(["b64"]), Some(("b64", json!(false)))),
        (json!(["exp"]), Some(("exp", json!(unix_now() + 60)))),
        (json!([]), None),
        (json!("x-tessera-unknown"), None),
    ] {
        let what = format!("crit {crit} {extra:?}");
        let token = s.forged(
            |h| {
                h["crit"] = crit;
                if let Some((name, value)) = extra {
                    h[name] = value;
                }
            },
            |_| {},
        );
        s.assert_inactive(&token, &what).await;
    }
    s.assert_no_panic();
}

#[tokio::test]
async fn j12_purged_keys_stop_working_and_the_published_previous_key_still_works() {
    // Retired keys are purged once the longest token lifetime plus the leeway (here 1 s) has
    // passed; the forged tokens carry an hour-long exp so only the key decides.
    let options = ServerOptions {
        serve: ["--access-token-ttl", "1", "--max-access-token-ttl", "1", "--leeway", "0"].map(String::from).to_vec(),
        ..Default::default()
    };
    let s = setup_with(options).await;
    let first_kid = s.forge.kid().to_owned();
    let by_first = s.forged(|_| {}, |_| {});
    let server = &s.server;
    let jwks_kids = move || async move {
        let jwks: Value = http().get(server.url("/oauth2/jwks")).send().await.unwrap().json().await.unwrap();
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };

    let rotated = s.server.cli.run(&["keys", "rotate"]).unwrap();
    assert!(rotated.success, "{}", rotated.stderr);
    let keys = rotated.json().unwrap();
    let first = keys.as_array().unwrap().iter().find(|k| k["kid"] == first_kid.as_str()).expect("the first key is still listed");
    assert_eq!(first["state"], "retired");
    let retired_at = first["retired_at"].as_i64().unwrap();
    let second = Forge::current(&s.server.cli).await.unwrap();
    assert_ne!(second.kid(), first_kid);
    let by_second = second.sign(&second.header("at+jwt"), &s.claims(|_| {})).unwrap();
    let second_kid = second.kid().to_owned();
    let published = |kid: String, wanted: bool| {
        move || {
            let kid = kid.clone();
            async move { jwks_kids().await.contains(&kid) == wanted }
        }
    };
    assert!(eventually_async(Duration::from_secs(10), published(second_kid.clone(), true)).await, "the new key is published");
    assert!(jwks_kids().await.contains(&first_kid), "the retired key stays published");
    s.assert_active(&by_first, "token of the retired, still published key").await;
    s.assert_active(&by_second, "token of the new current key").await;

    // Once the retention has passed, the next rotation purges the first key.
    assert!(eventually_async(Duration::from_secs(5), move || async move { unix_now() > retired_at + 1 }).await);
    let rotated = s.server.cli.run(&["keys", "rotate"]).unwrap();
    assert!(rotated.success, "{}", rotated.stderr);
    let listed = rotated.json().unwrap().to_string();
    assert!(!listed.contains(&first_kid), "the first key is purged from the store: {listed}");
    assert!(eventually_async(Duration::from_secs(10), published(first_kid.clone(), false)).await, "purged from the JWKS");
    s.assert_inactive(&by_first, "token of a key no longer in the JWKS").await;
    assert!(jwks_kids().await.contains(&second_kid), "the previous key stays published");
    s.assert_active(&by_second, "token of the previous key, still published").await;
    s.assert_no_panic();
}

#[tokio::test]
async fn j13_assertions_from_a_secret_client_are_refused_whatever_they_claim() {
    // private_key_jwt is offered (its own cases: `private_key_jwt.rs`), but only to clients
    // registered for it: the fixture's client has a secret, so no assertion authenticates it,
    // not even one signed with a key the server trusts (its own).
    let s = setup().await;
    let metadata: Value = http().get(s.server.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    for member in [
        "token_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ] {
        let methods = metadata[member].as_array().unwrap_or_else(|| panic!("{member} missing: {metadata}"));
        assert!(methods.iter().any(|m| m == "private_key_jwt"), "{member}: {methods:?}");
        assert!(!methods.iter().any(|m| m == "client_secret_jwt"), "{member}: {methods:?}");
    }
    let algs = metadata["token_endpoint_auth_signing_alg_values_supported"].as_array().unwrap();
    assert!(!algs.iter().any(|a| a == "none" || a.as_str().is_some_and(|a| a.starts_with("HS"))), "{algs:?}");

    const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    let id = s.fixture.client_id.clone();
    let token_endpoint = s.server.url("/oauth2/token");
    let now = unix_now();
    let assertion = |claims: Value| s.forge.sign(&s.forge.header("JWT"), &claims).unwrap();
    let good = json!({ "iss": id, "sub": id, "aud": token_endpoint, "exp": now + 60, "iat": now, "jti": "assertion-1" });
    let cases = [
        ("well-formed", assertion(good.clone())),
        ("replayed jti", assertion(good.clone())),
        ("wrong aud", assertion(json!({ "iss": id, "sub": id, "aud": "https://elsewhere.example/token", "exp": now + 60, "jti": "a2" }))),
        ("no exp", assertion(json!({ "iss": id, "sub": id, "aud": token_endpoint, "jti": "a3" }))),
        ("garbage", "not-a-jwt".to_owned()),
    ];
    let access = access_token(&s.server, &s.fixture).await;
    for (what, assertion) in &cases {
        for (path, extra) in [
            ("/oauth2/token", ("grant_type", "client_credentials")),
            ("/oauth2/introspect", ("token", access.as_str())),
            ("/oauth2/revoke", ("token", access.as_str())),
        ] {
            for with_id in [true, false] {
                let mut form = vec![extra, ("client_assertion_type", JWT_BEARER), ("client_assertion", assertion.as_str())];
                if with_id {
                    form.push(("client_id", id.as_str()));
                }
                let response = post_form(&s.server, path, &form).await;
                let headers = assert_oauth_error(response, 401, "invalid_client").await;
                assert!(headers.get("www-authenticate").is_none(), "{what} at {path}: no Basic challenge without Basic");
            }
        }
        let body = json!({ "grant_type": "client_credentials", "client_id": id, "client_assertion_type": JWT_BEARER, "client_assertion": assertion });
        let response = http().post(s.server.url("/oauth2/token")).json(&body).send().await.unwrap();
        assert_oauth_error(response, 401, "invalid_client").await;
    }
    // client_assertion_type without client_assertion, or the reverse, is a malformed request;
    // an assertion of another type is not one we can authenticate.
    for (form, status, code) in [
        (
            vec![("grant_type", "client_credentials"), ("client_id", id.as_str()), ("client_assertion_type", JWT_BEARER)],
            400,
            "invalid_request",
        ),
        (
            vec![("grant_type", "client_credentials"), ("client_id", id.as_str()), ("client_assertion", cases[0].1.as_str())],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", id.as_str()),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
                ("client_assertion", cases[0].1.as_str()),
            ],
            401,
            "invalid_client",
        ),
    ] {
        assert_oauth_error(post_form(&s.server, "/oauth2/token", &form).await, status, code).await;
    }
    // The access token was neither revoked nor exposed by any of that, and the secret still works.
    s.assert_active(&access, "the token the assertions tried to revoke").await;
    s.assert_no_panic();
}

#[tokio::test]
async fn j14_oversized_deep_and_broken_tokens_get_a_quick_clean_answer() {
    let s = setup().await;
    // (what, raw body, content type)
    let mut bodies: Vec<(String, Vec<u8>, &str)> = Vec::new();
    let form = |token: &str| format!("token={token}").into_bytes();
    let big = "A".repeat(1024 * 1024);
    bodies.push(("1 MB token".into(), form(&format!("{big}.{big}.{big}")), "application/x-www-form-urlencoded"));
    bodies.push((
        "1 MB token in JSON".into(),
        json!({ "token": format!("{big}.{big}.{big}") }).to_string().into_bytes(),
        "application/json",
    ));
    let nested = |depth: usize| format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
    let deep_claims = s.forge.sign_bytes(s.header(|_| {}).to_string().as_bytes(), nested(10_000).as_bytes()).unwrap();
    bodies.push(("claims nested 10,000 deep, validly signed".into(), form(&deep_claims), "application/x-www-form-urlencoded"));
    let deep_header = format!("{}.{}.", B64.encode(nested(10_000)), B64.encode(s.claims(|_| {}).to_string()));
    bodies.push(("header nested 10,000 deep".into(), form(&deep_header), "application/x-www-form-urlencoded"));
    // Deep nesting that fits the parameter limit, so it reaches the JSON parsers.
    let deep_fitting = s.forge.sign_bytes(s.header(|_| {}).to_string().as_bytes(), nested(2_400).as_bytes()).unwrap();
    assert!(deep_fitting.len() < 8 * 1024);
    bodies.push(("claims nested 2,400 deep, validly signed".into(), form(&deep_fitting), "application/x-www-form-urlencoded"));
    let header_fitting = format!("{}.{}.", B64.encode(nested(2_400)), B64.encode(s.claims(|_| {}).to_string()));
    bodies.push(("header nested 2,400 deep".into(), form(&header_fitting), "application/x-www-form-urlencoded"));
    for broken in ["!!!.@@@.###", "eyJ+/=.eyJ+/=.abc+/=", "a.b.c", "e30.e30.", "....", "%%%", "eyJhbGciOiJFUzI1NiJ9===.e30.AA"] {
        bodies.push((
            format!("bad base64url {broken}"),
            format!("token={}", urlencode(broken)).into_bytes(),
            "application/x-www-form-urlencoded",
        ));
    }
    let real = access_token(&s.server, &s.fixture).await;
    let parts = segments(&real);
    let padded = format!("{}=.{}.{}", parts[0], parts[1], parts[2]);
    bodies.push(("padded base64 header".into(), form(&urlencode(&padded)), "application/x-www-form-urlencoded"));
    let std_alphabet = format!("{}.{}.{}", parts[0], parts[1], parts[2].replace('-', "+").replace('_', "/"));
    if std_alphabet != real {
        bodies.push(("standard-alphabet base64 signature".into(), form(&urlencode(&std_alphabet)), "application/x-www-form-urlencoded"));
    }
    // Non-UTF-8: raw bytes in the form, percent-encoded bytes, a signed payload and an unsigned header that are not UTF-8.
    bodies.push(("raw non-UTF-8 form bytes".into(), b"token=\xff\xfe\xfd.\xc3\x28.\x80".to_vec(), "application/x-www-form-urlencoded"));
    bodies.push(("percent-encoded non-UTF-8".into(), b"token=%FF%FE%FD.%C3%28.%80".to_vec(), "application/x-www-form-urlencoded"));
    bodies.push(("non-UTF-8 JSON body".into(), b"{\"token\":\"\xff\xfe\"}".to_vec(), "application/json"));
    let mut latin1 = b"{\"iss\":\"caf\xe9\",".to_vec();
    latin1.extend_from_slice(&serde_json::to_vec(&s.claims(|c| drop(c.as_object_mut().unwrap().remove("iss")))).unwrap()[1..]);
    let signed_latin1 = s.forge.sign_bytes(s.header(|_| {}).to_string().as_bytes(), &latin1).unwrap();
    bodies.push(("validly signed non-UTF-8 payload".into(), form(&signed_latin1), "application/x-www-form-urlencoded"));
    let latin1_header = format!("{}.{}.{}", B64.encode(b"{\"alg\":\"ES256\",\"typ\":\"at+jwt\xff\"}"), parts[1], parts[2]);
    bodies.push(("non-UTF-8 header".into(), form(&latin1_header), "application/x-www-form-urlencoded"));

    let authorization = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", s.fixture.client_id, s.fixture.client_secret))
    );
    for (what, body, content_type) in bodies {
        let started = Instant::now();
        let (status, text) = raw_post(&s.server, "/oauth2/introspect", &authorization, content_type, body).await;
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(5), "{what}: took {elapsed:?}");
        let json: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: {status} with a non-JSON body {text:.200}"));
        let inactive = status == 200 && json == json!({ "active": false });
        let clean_refusal = matches!(status, 400 | 401 | 413 | 431) && json["error"].is_string();
        assert!(inactive || clean_refusal, "{what}: {status} {text:.300}");
    }
    s.assert_active(&real, "the server still works afterwards").await;
    s.assert_no_panic();
}

/// One HTTP/1.1 POST over a raw socket with `Expect: 100-continue` (as curl sends for large
/// bodies), returning the final status and body. The server may refuse an oversized body
/// before reading it and close the connection; a client that pushes the whole body first then
/// sees a reset instead of the answer, so the body is only sent after `100 Continue`.
async fn raw_post(server: &Server, path: &str, authorization: &str, content_type: &str, body: Vec<u8>) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = server.base.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {authorization}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let mut pending = Some((writer, body));
    let mut writing = None;
    let mut response = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&chunk[..n]),
            }
            if response.starts_with(b"HTTP/1.1 100") {
                let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                response.drain(..end + 4);
                if let Some((mut writer, body)) = pending.take() {
                    writing = Some(tokio::spawn(async move {
                        let _ = writer.write_all(&body).await;
                        writer
                    }));
                }
            }
            if let Some(complete) = complete_response(&response) {
                return Some(complete);
            }
        }
        complete_response(&response)
    })
    .await;
    if let Some(writing) = writing {
        writing.abort();
    }
    read.ok().flatten().unwrap_or_else(|| panic!("no complete HTTP response: {:?}", String::from_utf8_lossy(&response)))
}

/// The status and body of a complete HTTP/1.1 response with a `Content-Length`.
fn complete_response(raw: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.trim().to_owned()))?
        .parse()
        .ok()?;
    (body.len() >= length).then(|| (status, body[..length].to_owned()))
}

/// Percent-encodes everything outside the unreserved set.
fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}
