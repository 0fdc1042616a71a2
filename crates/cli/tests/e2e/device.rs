//! The device authorization grant (RFC 8628): the device authorization endpoint, every answer
//! of the token endpoint to a polling device (`authorization_pending`, `slow_down` raising the
//! interval, `expired_token`, `access_denied`, tokens once), the verification page over HTTP
//! and in headless Chromium, user-code guessing limits, discovery, and Node's `openid-client`
//! doing the whole flow.

use std::time::Duration;

use serde_json::Value;
use tessera_testkit::browser::Browser;

use crate::agent::*;
use crate::common::*;

pub(crate) const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const ALPHABET: &str = "BCDFGHJKLMNPQRSTVWXZ";

/// A public device client (a TV app): device_code and refresh_token grants, scopes read, write.
pub(crate) fn device_client(server: &Server, fixture: &Fixture) -> Fixture {
    add_client(
        server,
        fixture,
        "Living Room TV",
        &["--public", "--grant", "device_code", "--grant", "refresh_token", "--scope", "read", "--scope", "write"],
    )
    .1
}

fn options(serve: &[&str]) -> ServerOptions {
    ServerOptions { serve: serve.iter().map(|s| (*s).to_owned()).collect(), ..ServerOptions::default() }
}

pub(crate) async fn start_device(server: &Server, client: &Fixture, scope: &str) -> Value {
    let response = post_form(server, "/oauth2/device_authorization", &[("client_id", &client.client_id), ("scope", scope)]).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

async fn poll(server: &Server, client: &Fixture, device_code: &str) -> reqwest::Response {
    post_form(server, "/oauth2/token", &[("grant_type", GRANT), ("device_code", device_code), ("client_id", &client.client_id)]).await
}

/// A signed-in user on the verification page: enters `typed`, gets the page back.
pub(crate) async fn enter_code(agent: &mut Agent<'_>, typed: &str) -> reqwest::Response {
    let page = agent.get("/device").await.text().await.unwrap();
    agent.submit("/device", &page, &["csrf_token"], &[("user_code", typed)]).await
}

/// Enters `typed` and presses `decision` on the prompt; returns the final page's response.
pub(crate) async fn decide(agent: &mut Agent<'_>, typed: &str, decision: &str) -> reqwest::Response {
    let response = enter_code(agent, typed).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    agent.submit("/device/decision", &page, &["csrf_token", "user_code"], &[("decision", decision)]).await
}

pub(crate) async fn signed_in<'a>(server: &'a Server, fixture: &Fixture) -> Agent<'a> {
    let mut agent = Agent::new(server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    agent
}

#[tokio::test]
async fn device_flow_pending_then_approved_on_the_page_then_tokens_once() {
    let (server, fixture) = start();
    let client = device_client(&server, &fixture);
    let started = start_device(&server, &client, "openid read").await;
    let user_code = started["user_code"].as_str().unwrap();
    let (head, tail) = user_code.split_once('-').unwrap();
    assert!(head.len() == 4 && tail.len() == 4 && format!("{head}{tail}").chars().all(|c| ALPHABET.contains(c)), "{user_code}");
    let issuer = server.url("").trim_end_matches('/').to_owned();
    assert_eq!(started["verification_uri"], format!("{issuer}/device"));
    assert_eq!(started["verification_uri_complete"], format!("{issuer}/device?user_code={user_code}"));
    assert_eq!((started["expires_in"].as_u64(), started["interval"].as_u64()), (Some(600), Some(5)));
    let device_code = started["device_code"].as_str().unwrap();
    assert_oauth_error(poll(&server, &client, device_code).await, 400, "authorization_pending").await;

    // The user opens verification_uri_complete: signed out, to the login page and back.
    let mut agent = Agent::new(&server);
    let complete = format!("/device?user_code={user_code}");
    let response = agent.get(&complete).await;
    assert_eq!(response.status(), 302);
    assert!(location(&response).starts_with("/login?"));
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let page = agent.get(&complete).await.text().await.unwrap();
    assert!(page.contains(&format!("value=\"{user_code}\"")), "the code is filled in: {page}");
    // Case and dash do not matter.
    let typed = format!("{}{}", head.to_lowercase(), tail.to_lowercase());
    let response = enter_code(&mut agent, &typed).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("Living Room TV") && page.contains(user_code) && page.contains("“read”"), "{page}");
    let response = agent.submit("/device/decision", &page, &["csrf_token", "user_code"], &[("decision", "allow")]).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Device connected"));

    // Approved: tokens at once (no slow_down for a decided authorization), then never again.
    let response = poll(&server, &client, device_code).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["scope"], "openid read");
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    let (_, claims) = jwt_parts(tokens["access_token"].as_str().unwrap());
    assert_eq!((claims["sub"].as_str(), claims["client_id"].as_str()), (Some(fixture.owner_id.as_str()), Some(client.client_id.as_str())));
    let (_, id) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["aud"], client.client_id.as_str());
    assert_eq!(id["amr"], serde_json::json!(["pwd"]), "how the approving user signed in: {id}");
    assert_eq!(id["acr"], "pwd");
    assert_oauth_error(poll(&server, &client, device_code).await, 400, "invalid_grant").await;
    // The refresh token works like any other.
    let response = post_form(
        &server,
        "/oauth2/token",
        &[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap()), ("client_id", &client.client_id)],
    )
    .await;
    assert_eq!(response.status(), 200);
    // The code is spent on the page too.
    assert_eq!(enter_code(&mut agent, user_code).await.status(), 400);
}

#[tokio::test]
async fn device_slow_down_raises_the_interval_by_five_seconds() {
    let (server, fixture) = start_with(options(&["--device-poll-interval", "2"]));
    let client = device_client(&server, &fixture);
    let started = start_device(&server, &client, "read").await;
    assert_eq!(started["interval"], 2);
    let device_code = started["device_code"].as_str().unwrap();
    assert_oauth_error(poll(&server, &client, device_code).await, 400, "authorization_pending").await;
    // At once again: too fast.
    assert_oauth_error(poll(&server, &client, device_code).await, 400, "slow_down").await;
    // After the original 2 s, still too fast: the interval is 7 s now.
    server.advance_clock(3).unwrap();
    assert_oauth_error(poll(&server, &client, device_code).await, 400, "slow_down").await;
}

#[tokio::test]
async fn device_code_expires() {
    let (server, fixture) = start_with(options(&["--device-code-lifetime", "1"]));
    let client = device_client(&server, &fixture);
    let started = start_device(&server, &client, "read").await;
    assert_eq!(started["expires_in"], 1);
    // Whole seconds counted from the request's second: 2 s later it has surely ended.
    server.advance_clock(2).unwrap();
    assert_oauth_error(poll(&server, &client, started["device_code"].as_str().unwrap()).await, 400, "expired_token").await;
    let mut agent = signed_in(&server, &fixture).await;
    let response = enter_code(&mut agent, started["user_code"].as_str().unwrap()).await;
    assert_eq!(response.status(), 400, "an expired code cannot be approved");
}

#[tokio::test]
async fn device_denied_answers_access_denied() {
    let (server, fixture) = start();
    let client = device_client(&server, &fixture);
    let started = start_device(&server, &client, "read").await;
    let mut agent = signed_in(&server, &fixture).await;
    let response = decide(&mut agent, started["user_code"].as_str().unwrap(), "deny").await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("denied"));
    assert_oauth_error(poll(&server, &client, started["device_code"].as_str().unwrap()).await, 400, "access_denied").await;
}

#[tokio::test]
async fn device_errors_at_both_endpoints() {
    let (server, fixture) = start();
    let client = device_client(&server, &fixture);
    // A client not registered for the grant, at both endpoints.
    let web = web_client(&server, &fixture, &[]);
    let response = post_basic(&server, "/oauth2/device_authorization", &web.client_id, &web.client_secret, &[("scope", "read")]).await;
    assert_oauth_error(response, 400, "unauthorized_client").await;
    let started = start_device(&server, &client, "read").await;
    let device_code = started["device_code"].as_str().unwrap();
    let response =
        post_basic(&server, "/oauth2/token", &web.client_id, &web.client_secret, &[("grant_type", GRANT), ("device_code", device_code)])
            .await;
    assert_oauth_error(response, 400, "unauthorized_client").await;
    // Another device client's code, an unknown code, no code.
    let other = device_client(&server, &fixture);
    assert_oauth_error(poll(&server, &other, device_code).await, 400, "invalid_grant").await;
    assert_oauth_error(poll(&server, &client, "not-a-device-code").await, 400, "invalid_grant").await;
    let response = post_form(&server, "/oauth2/token", &[("grant_type", GRANT), ("client_id", &client.client_id)]).await;
    assert_oauth_error(response, 400, "invalid_request").await;
    // The registration name is not a grant_type.
    let response = post_form(
        &server,
        "/oauth2/token",
        &[("grant_type", "device_code"), ("device_code", device_code), ("client_id", &client.client_id)],
    )
    .await;
    assert_oauth_error(response, 400, "unsupported_grant_type").await;
    // Scope and client authentication as elsewhere.
    let response = post_form(&server, "/oauth2/device_authorization", &[("client_id", &client.client_id), ("scope", "billing")]).await;
    assert_oauth_error(response, 400, "invalid_scope").await;
    let (_, confidential) = add_client(&server, &fixture, "cli", &["--grant", "device_code", "--scope", "read"]);
    let response = post_basic(&server, "/oauth2/device_authorization", &confidential.client_id, "wrong", &[]).await;
    assert_oauth_error(response, 401, "invalid_client").await;
    let response = post_form(&server, "/oauth2/device_authorization", &[("client_id", "nosuchclient")]).await;
    assert_oauth_error(response, 401, "invalid_client").await;
    let response = post_basic(&server, "/oauth2/device_authorization", &confidential.client_id, &confidential.client_secret, &[]).await;
    assert_eq!(response.status(), 200, "a confidential client authenticates as at the token endpoint");
    // The original device's authorization is still pending after all that.
    assert_oauth_error(poll(&server, &client, device_code).await, 400, "authorization_pending").await;
}

#[tokio::test]
async fn device_user_code_guessing_is_limited_per_user() {
    let (server, fixture) = start();
    let client = device_client(&server, &fixture);
    let started = start_device(&server, &client, "read").await;
    let mut agent = signed_in(&server, &fixture).await;
    for guess in
        ["BBBB-BBBB", "not a code", "0000-0000", "BCDF-GHJK", "ZZZZ-ZZZZ", "XXXX-XXXX", "KKKK-KKKK", "LLLL-LLLL", "MMMM-MMMM", "NNNN-NNNN"]
    {
        let response = enter_code(&mut agent, guess).await;
        assert_eq!(response.status(), 400, "{guess}");
        assert!(response.text().await.unwrap().contains("not valid"));
    }
    // Past the limit even the right code is refused, with Retry-After.
    let response = enter_code(&mut agent, started["user_code"].as_str().unwrap()).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    // Another user of the same organization (and address) is not locked out by this one.
    add_user(&server, &fixture, "second@example.test", "member", "second password 1", &[]);
    let mut other = Agent::new(&server);
    assert_eq!(other.login("second@example.test", "second password 1").await.status(), 303);
    assert_eq!(enter_code(&mut other, started["user_code"].as_str().unwrap()).await.status(), 200);
}

#[tokio::test]
async fn device_discovery_and_registration() {
    let (server, fixture) = start();
    for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
        let discovery: Value = http().get(server.url(path)).send().await.unwrap().json().await.unwrap();
        assert_eq!(discovery["device_authorization_endpoint"], server.url("/oauth2/device_authorization"), "{path}");
        assert!(discovery["grant_types_supported"].as_array().unwrap().contains(&Value::from(GRANT)), "{path}");
    }
    let client = device_client(&server, &fixture);
    let shown = server.cli.json(&["client", "show", &client.client_id]).unwrap();
    assert!(shown["grants"].as_array().unwrap().contains(&Value::from("device_code")), "{shown}");
    // The portal offers the grant.
    let mut agent = signed_in(&server, &fixture).await;
    let page = agent.get("/settings/api-clients/new?kind=server").await.text().await.unwrap();
    assert!(page.contains("value=\"device_code\""), "{page}");
}

#[tokio::test]
async fn device_verification_page_in_chromium() {
    let (server, fixture) = start();
    let client = device_client(&server, &fixture);
    let started = start_device(&server, &client, "read").await;
    let user_code = started["user_code"].as_str().unwrap();
    let browser = Browser::start().await.unwrap();
    const WAIT: Duration = Duration::from_secs(10);
    browser.goto(&server.url("/device")).await.unwrap();
    browser.wait_for_url(|url| url.contains("/login"), WAIT).await.unwrap();
    browser.wait_for_element("#email", WAIT).await.unwrap();
    browser.fill("#email", &fixture.owner_email).await.unwrap();
    browser.fill("#password", OWNER_PASSWORD).await.unwrap();
    browser.click("form button[type=submit]").await.unwrap();
    browser.wait_for_element("#user_code", WAIT).await.unwrap();
    let source = browser.page_source().await.unwrap();
    assert!(source.contains(r#"<label for="user_code">"#) && source.contains("name=\"viewport\""), "labelled, phone-sized");
    // A wrong code first: the page says so and keeps the form.
    browser.fill("#user_code", "bbbb-bbbb").await.unwrap();
    browser.click("form button[type=submit]").await.unwrap();
    browser.wait_for_element("#device-error", WAIT).await.unwrap();
    assert!(browser.text("#device-error").await.unwrap().contains("not valid"));
    // The right one, typed in lower case without the dash.
    browser.fill("#user_code", &user_code.replace('-', "").to_lowercase()).await.unwrap();
    browser.click("form button[type=submit]").await.unwrap();
    browser.wait_for_element("button[value=allow]", WAIT).await.unwrap();
    assert_eq!(browser.text("#user-code").await.unwrap(), user_code);
    assert!(browser.text("main").await.unwrap().contains("Living Room TV"));
    browser.click("button[value=allow]").await.unwrap();
    browser.wait_for_url(|url| url.ends_with("/device/decision"), WAIT).await.unwrap();
    assert!(browser.text("main").await.unwrap().contains("Device connected"));
    browser.close().await.unwrap();
    let response = poll(&server, &client, started["device_code"].as_str().unwrap()).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn interop_openid_client_device_flow() {
    let (server, fixture) = start_with(options(&["--device-poll-interval", "1"]));
    let client = device_client(&server, &fixture);
    let issuer = server.url("").trim_end_matches('/').to_owned();
    let mut script = InteropScript::start("device_flow.mjs", &[&issuer, &client.client_id]);
    let started = script.read_json("the device authorization");
    // The user approves on another device (our browser stand-in) while the library polls.
    let mut agent = signed_in(&server, &fixture).await;
    let complete = started["verification_uri_complete"].as_str().unwrap();
    let page = agent.get(complete).await.text().await.unwrap();
    assert!(page.contains(started["user_code"].as_str().unwrap()), "verification_uri_complete fills the code in");
    let response = agent.submit("/device", &page, &["csrf_token", "user_code"], &[]).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    let response = agent.submit("/device/decision", &page, &["csrf_token", "user_code"], &[("decision", "allow")]).await;
    assert_eq!(response.status(), 200);
    let result = script.read_json("polling");
    script.finish();
    assert_eq!(result["sub"], fixture.owner_id.as_str(), "{result}");
    assert_eq!(result["scope"], "openid read");
    assert!(result["refresh_token"].is_string());
}

/// A person whose browser works in one organization approves a device of another of theirs:
/// the page shows the scopes the approval grants there, under that membership (a member there:
/// no restricted scope), not those of the browser's membership (an owner's).
#[tokio::test]
async fn the_page_shows_the_scopes_of_the_membership_the_approval_acts_under() {
    let (server, acme) = start();
    let beta = tessera_testkit::Fixture::create(&server.cli).unwrap();
    server.cli.json(&["user", "create", "--org", &beta.org_name, "--email", &acme.owner_email, "--role", "member"]).unwrap();
    let flags = ["--public", "--grant", "device_code", "--scope", "read", "--scope", "admin"];
    let client = add_client(&server, &beta, "Beta TV", &flags).1;
    let started = start_device(&server, &client, "read admin").await;
    let user_code = started["user_code"].as_str().unwrap();
    let mut agent = signed_in(&server, &acme).await;
    let page = enter_code(&mut agent, user_code).await.text().await.unwrap();
    assert!(page.contains("“read”") && !page.contains("“admin”"), "as beta's member: {page}");
    assert_eq!(decide(&mut agent, user_code, "allow").await.status(), 200);
    let response = poll(&server, &client, started["device_code"].as_str().unwrap()).await;
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["scope"], "read", "what the page showed is what was granted");
}
