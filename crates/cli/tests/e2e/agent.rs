//! The fixture's side of HTTP-level tests of the pages: its web client, code requests and
//! redemption. The browser stand-in itself (`Agent`) is the testkit's; real Chromium drives the
//! same pages in `browser_flows.rs`.

use serde_json::Value;
pub use tessera_testkit::agent::{Agent, challenge, hidden, location, response_params};

use crate::common::*;

/// The password the fixture gives its owner.
pub const OWNER_PASSWORD: &str = "owner password 1";

/// A PKCE verifier and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-test";

/// A confidential web client of the fixture's org: code + refresh grants, one redirect URI.
pub fn web_client(server: &Server, fixture: &Fixture, extra: &[&str]) -> Fixture {
    let mut flags =
        vec!["--grant", "authorization_code", "--redirect-uri", "https://app.example/cb", "--scope", "read", "--scope", "write"];
    flags.extend_from_slice(extra);
    add_client(server, fixture, "Web App", &flags).1
}

/// The authorize query of a code request by `client` (with `extra` appended), with PKCE: the
/// S256 challenge of [`VERIFIER`], which [`redeem`] sends, unless `extra` brings a challenge of
/// its own.
pub fn code_query(client: &Fixture, extra: &str) -> String {
    let pkce = if extra.contains("code_challenge") {
        String::new()
    } else {
        format!("&code_challenge={}&code_challenge_method=S256", challenge(VERIFIER))
    };
    format!("response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=xyz{pkce}{extra}", client.client_id)
}

/// Signs the owner in, authorizes `client` (Allow) and returns the code.
pub async fn owner_code(agent: &mut Agent<'_>, fixture: &Fixture, client: &Fixture, extra: &str) -> String {
    if !agent.cookies.contains_key("tessera_session") {
        let response = agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
        assert_eq!(response.status(), 303);
    }
    let url = agent.authorize(&code_query(client, extra), "allow").await;
    let params = response_params(&url);
    assert!(url.starts_with("https://app.example/cb?"), "{url}");
    params.get("code").unwrap_or_else(|| panic!("no code in {url}")).clone()
}

/// Redeems a code of [`code_query`] as `client` with Basic credentials and the PKCE verifier
/// (and `extra` fields; a `code_verifier` among them replaces it).
pub async fn redeem(server: &Server, client: &Fixture, code: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", "https://app.example/cb")];
    if !extra.iter().any(|(name, _)| *name == "code_verifier") {
        form.push(("code_verifier", VERIFIER));
    }
    form.extend_from_slice(extra);
    post_basic(server, "/oauth2/token", &client.client_id, &client.client_secret, &form).await
}

pub async fn redeem_ok(server: &Server, client: &Fixture, code: &str) -> Value {
    let response = redeem(server, client, code, &[]).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    response.json().await.unwrap()
}

pub async fn refresh(server: &Server, client: &Fixture, token: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend_from_slice(extra);
    post_basic(server, "/oauth2/token", &client.client_id, &client.client_secret, &form).await
}

pub async fn userinfo(server: &Server, token: &str) -> reqwest::Response {
    http().get(server.url("/oauth2/userinfo")).bearer_auth(token).send().await.unwrap()
}
