//! The browser flows in real headless Chromium: a user signs in, sees the consent page, presses
//! Allow, and the test client exchanges the code and calls userinfo; Deny returns
//! `access_denied`; a second visit skips consent; logout ends the session.
//!
//! With `TESSERA_UPDATE_SCREENSHOTS=1` the login and consent pages are saved under
//! `docs/screenshots/` (the pictures in the docs come from this test).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use tessera_testkit::browser::Browser;

use crate::agent::*;
use crate::common::*;

const WAIT: Duration = Duration::from_secs(10);

fn save_screenshot(name: &str, png: &[u8]) {
    if std::env::var_os("TESSERA_UPDATE_SCREENSHOTS").is_none() {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

/// A confidential client whose redirect URI is a path on the test server itself, so the
/// browser lands on a real page and its URL can be read.
fn browser_client(server: &Server, fixture: &Fixture, name: &str) -> (Fixture, String) {
    let callback = server.url("/callback");
    let (_, client) = add_client(
        server,
        fixture,
        name,
        &["--grant", "authorization_code", "--redirect-uri", &callback, "--scope", "read", "--scope", "write"],
    );
    (client, callback)
}

/// A code request with PKCE (the S256 challenge of `VERIFIER`).
fn authorize_url(server: &Server, client: &Fixture, callback: &str, extra: &str) -> String {
    let challenge = challenge(VERIFIER);
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", callback),
        ("scope", "openid email read"),
        ("state", "browser-state"),
        ("nonce", "browser-nonce"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    server.url(&format!("/oauth2/authorize?{query}{extra}"))
}

async fn sign_in(browser: &Browser, email: &str, password: &str) {
    browser.wait_for_element("#email", WAIT).await.unwrap();
    browser.fill("#email", email).await.unwrap();
    browser.fill("#password", password).await.unwrap();
    browser.click("form button[type=submit]").await.unwrap();
}

#[tokio::test]
async fn a_user_signs_in_allows_and_the_client_gets_tokens_and_userinfo() {
    let (server, fixture) = start();
    let (client, callback) = browser_client(&server, &fixture, "Acme Dashboard");
    let browser = Browser::start().await.unwrap();

    browser.goto(&authorize_url(&server, &client, &callback, "")).await.unwrap();
    browser.wait_for_url(|url| url.contains("/login"), WAIT).await.unwrap();
    let labels = browser.page_source().await.unwrap();
    assert!(labels.contains(r#"<label for="email">"#) && labels.contains(r#"<label for="password">"#), "accessible labels");
    save_screenshot("login.png", &browser.screenshot_png().await.unwrap());
    sign_in(&browser, &fixture.owner_email, OWNER_PASSWORD).await;

    browser.wait_for_element("button[value=allow]", WAIT).await.unwrap();
    let consent = browser.text("main").await.unwrap();
    assert!(consent.contains("Acme Dashboard"), "{consent}");
    assert!(consent.contains(&fixture.owner_email), "the owner of the app and the user are named: {consent}");
    assert!(consent.contains("See your email address") && consent.contains("“read”"), "scopes in words: {consent}");
    save_screenshot("consent.png", &browser.screenshot_png().await.unwrap());
    browser.click("button[value=allow]").await.unwrap();

    let landed = browser.wait_for_url(|url| url.starts_with(&callback), WAIT).await.unwrap();
    let params = response_params(&landed);
    assert_eq!(params["state"], "browser-state");
    assert_eq!(params["iss"], server.base);
    let response = post_basic(
        &server,
        "/oauth2/token",
        &client.client_id,
        &client.client_secret,
        &[("grant_type", "authorization_code"), ("code", &params["code"]), ("redirect_uri", &callback), ("code_verifier", VERIFIER)],
    )
    .await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    let (_, id) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "browser-nonce");
    let info: Value = userinfo(&server, tokens["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(info["email"], fixture.owner_email.as_str());

    // A second visit: signed in and consented, straight back to the client.
    browser.goto(&authorize_url(&server, &client, &callback, "")).await.unwrap();
    let landed = browser.wait_for_url(|url| url.starts_with(&callback), WAIT).await.unwrap();
    assert!(response_params(&landed).contains_key("code"), "no consent page the second time: {landed}");

    // The session cookie as the browser holds it.
    let session = browser.cookies().await.unwrap().into_iter().find(|c| c.name == "tessera_session").expect("session cookie");
    assert!(session.http_only, "HttpOnly");
    assert_eq!(session.same_site.as_deref(), Some("Lax"));

    // Logout: the confirmation button says "Log out"; afterwards the login page is back.
    browser.goto(&server.url("/logout")).await.unwrap();
    browser.wait_for_element("form button[type=submit]", WAIT).await.unwrap();
    assert_eq!(browser.text("form button[type=submit]").await.unwrap(), "Log out");
    browser.click("form button[type=submit]").await.unwrap();
    // (The logout page has an h1 too: wait for the next page's, not just for an h1.)
    let signed_out = browser.wait_for_text("h1", |h1| h1.contains("signed out"), WAIT).await;
    assert!(signed_out.is_ok(), "{signed_out:?}");
    browser.goto(&authorize_url(&server, &client, &callback, "")).await.unwrap();
    browser.wait_for_url(|url| url.contains("/login"), WAIT).await.unwrap();
}

#[tokio::test]
async fn a_signed_in_user_posted_from_another_site_goes_through_without_signing_in_again() {
    let (server, fixture) = start();
    let (client, callback) = browser_client(&server, &fixture, "Form Poster");
    let browser = Browser::start().await.unwrap();
    browser.goto(&authorize_url(&server, &client, &callback, "")).await.unwrap();
    sign_in(&browser, &fixture.owner_email, OWNER_PASSWORD).await;
    browser.wait_for_element("button[value=allow]", WAIT).await.unwrap();
    browser.click("button[value=allow]").await.unwrap();
    browser.wait_for_url(|url| url.starts_with(&callback), WAIT).await.unwrap();

    // Another site's page posts the request (OIDC Core §3.1.2.1), with prompt=none: the browser
    // leaves the SameSite=Lax session cookie out of that POST, yet the user is recognised.
    let challenge = challenge(VERIFIER);
    let fields = [
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", callback.as_str()),
        ("scope", "openid email read"),
        ("state", "posted-state"),
        ("prompt", "none"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let inputs: String = fields.iter().map(|(name, value)| format!(r#"<input type="hidden" name="{name}" value="{value}">"#)).collect();
    let page = format!(r#"<form method="post" action="{}">{inputs}<button id="go">Go</button></form>"#, server.url("/oauth2/authorize"));
    let encoded: String = serde_urlencoded::to_string([("x", page.as_str())]).unwrap().trim_start_matches("x=").replace('+', "%20");
    browser.goto(&format!("data:text/html,{encoded}")).await.unwrap();
    browser.wait_for_element("#go", WAIT).await.unwrap();
    browser.click("#go").await.unwrap();
    let landed = browser.wait_for_url(|url| url.starts_with(&callback), WAIT).await.unwrap();
    let params = response_params(&landed);
    assert_eq!(params.get("state").map(String::as_str), Some("posted-state"), "{landed}");
    assert!(params.contains_key("code"), "signed in, no login_required: {landed}");
    browser.close().await.unwrap();
}

#[tokio::test]
async fn deny_returns_access_denied_to_the_client() {
    let (server, fixture) = start();
    let (client, callback) = browser_client(&server, &fixture, "Nosy App");
    let browser = Browser::start().await.unwrap();
    browser.goto(&authorize_url(&server, &client, &callback, "")).await.unwrap();
    sign_in(&browser, &fixture.owner_email, OWNER_PASSWORD).await;
    browser.wait_for_element("button[value=deny]", WAIT).await.unwrap();
    browser.click("button[value=deny]").await.unwrap();
    let landed = browser.wait_for_url(|url| url.starts_with(&callback), WAIT).await.unwrap();
    let params = response_params(&landed);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "browser-state");
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_an_error() {
    let (server, fixture) = start();
    let browser = Browser::start().await.unwrap();
    browser.goto(&server.url("/login")).await.unwrap();
    sign_in(&browser, &fixture.owner_email, "not the password").await;
    browser.wait_for_element("[role=alert]", WAIT).await.unwrap();
    assert_eq!(browser.text("[role=alert]").await.unwrap(), "Wrong email or password.");
    sign_in(&browser, &fixture.owner_email, OWNER_PASSWORD).await;
    browser.wait_for_element(".who", WAIT).await.unwrap();
    assert!(browser.text(".who").await.unwrap().contains(&fixture.owner_email), "signed in, in the portal");
}
