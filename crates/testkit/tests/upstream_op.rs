#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The upstream OpenID Provider harness on its own, without Tessera: a whole code flow with
//! PKCE against node-oidc-provider, and its rogue-keys switch.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tessera_testkit::upstream_op::UpstreamOp;

const REDIRECT_URI: &str = "http://127.0.0.1:9/cb"; // nothing listens: sign_in stops before it

#[tokio::test]
async fn upstream_op_runs_a_code_flow_and_can_publish_rogue_keys() {
    let op = UpstreamOp::start("tessera-sso", "upstream secret", &[REDIRECT_URI.to_owned()]).unwrap();
    let http = reqwest::Client::new();
    let get = |url: String| {
        let http = http.clone();
        async move { http.get(&url).send().await.unwrap().error_for_status().unwrap().json::<Value>().await.unwrap() }
    };
    let discovery = get(format!("{}/.well-known/openid-configuration", op.issuer())).await;
    assert_eq!(discovery["issuer"], op.issuer());

    let verifier = "a-pkce-verifier-of-at-least-forty-three-characters-0123456789";
    let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()));
    let mut authorize = reqwest::Url::parse(discovery["authorization_endpoint"].as_str().unwrap()).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "tessera-sso")
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "openid email profile")
        .append_pair("state", "state-1")
        .append_pair("nonce", "nonce-1")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");

    op.set_account("ada", "ada@corp.example", false, "Ada Lovelace").await.unwrap();
    let back = reqwest::Url::parse(&op.sign_in(authorize.as_str(), "ada").await.unwrap()).unwrap();
    assert!(back.as_str().starts_with(REDIRECT_URI), "{back}");
    let param = |name: &str| back.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    assert_eq!(param("state").as_deref(), Some("state-1"), "{back}");
    let code = param("code").unwrap_or_else(|| panic!("no code in {back}"));

    let tokens: Value = http
        .post(discovery["token_endpoint"].as_str().unwrap())
        .basic_auth("tessera-sso", Some("upstream secret"))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI), ("code_verifier", verifier)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_token = tokens["id_token"].as_str().unwrap_or_else(|| panic!("no ID token: {tokens}"));
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["iss"], op.issuer());
    assert_eq!(claims["sub"], "ada");
    assert_eq!(claims["email"], "ada@corp.example");
    assert_eq!(claims["email_verified"], false);
    assert_eq!(claims["name"], "Ada Lovelace");
    assert_eq!(claims["nonce"], "nonce-1");
    assert_eq!(claims["aud"], "tessera-sso");

    // Rogue keys: the same kid, another public key.
    let jwks_uri = discovery["jwks_uri"].as_str().unwrap().to_owned();
    let real = get(jwks_uri.clone()).await["keys"][0].clone();
    op.set_rogue_keys(true).await.unwrap();
    let rogue = get(jwks_uri.clone()).await["keys"][0].clone();
    assert_eq!(rogue["kid"], real["kid"]);
    assert!(rogue["n"].is_string() && rogue["n"] != real["n"], "real {real} rogue {rogue}");
    op.set_rogue_keys(false).await.unwrap();
    assert_eq!(get(jwks_uri).await["keys"][0], real);
}
