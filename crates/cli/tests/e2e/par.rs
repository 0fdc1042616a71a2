//! Pushed authorization requests (RFC 9126): the push endpoint and its errors (§2), the
//! authorization endpoint's use of a `request_uri` through the real login and consent pages
//! (§4: single-use, bound to its client, expiring), "PAR required" per client and server-wide
//! (§5, §6), discovery, and Node's `openid-client` doing a PAR + code flow.

use serde_json::Value;

use crate::agent::*;
use crate::common::*;

const PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The form of a code request by the web client, with PKCE.
pub(crate) fn push_form<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("response_type", "code"),
        ("redirect_uri", "https://app.example/cb"),
        ("scope", "openid read"),
        ("state", "pushed-state"),
        ("nonce", "pushed-nonce"),
        ("code_challenge_method", "S256"),
    ];
    form.extend_from_slice(extra);
    form
}

pub(crate) async fn push(server: &Server, client: &Fixture, form: &[(&str, &str)]) -> reqwest::Response {
    post_basic(server, "/oauth2/par", &client.client_id, &client.client_secret, form).await
}

/// Pushes a valid code request for `client`; returns the `request_uri`.
pub(crate) async fn pushed_uri(server: &Server, client: &Fixture, extra: &[(&str, &str)]) -> String {
    let challenge = challenge(VERIFIER);
    let mut form = push_form(extra);
    form.push(("code_challenge", &challenge));
    let response = push(server, client, &form).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    let body: Value = response.json().await.unwrap();
    body["request_uri"].as_str().unwrap().to_owned()
}

pub(crate) fn authorize_path(client_id: &str, request_uri: &str, extra: &str) -> String {
    let query = serde_urlencoded::to_string([("client_id", client_id), ("request_uri", request_uri)]).unwrap();
    format!("/oauth2/authorize?{query}{extra}")
}

/// Asserts an authorization-endpoint error page: 400, no redirect, the RFC's error code shown.
async fn assert_error_page(response: reqwest::Response, code: &str) {
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    let page = response.text().await.unwrap();
    assert!(page.contains(code) || page.contains("request_uri"), "{page}");
}

#[tokio::test]
async fn par_code_flow_through_login_and_consent_then_the_request_uri_is_spent() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let challenge = challenge(VERIFIER);
    let mut form = push_form(&[]);
    form.push(("code_challenge", &challenge));
    let response = push(&server, &client, &form).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    assert!(request_uri.starts_with(PREFIX) && request_uri.len() > PREFIX.len() + 40, "{request_uri}");
    assert_eq!(body["expires_in"], 90);

    // Signed out: to the login page and back. Parameters beside client_id and request_uri are
    // ignored (RFC 9126 §4): the scope, state and redirect URI are the pushed ones.
    let mut agent = Agent::new(&server);
    let first = authorize_path(&client.client_id, &request_uri, "&scope=write&state=other&redirect_uri=https%3A%2F%2Fevil.example%2F");
    let response = agent.get(&first).await;
    assert_eq!(response.status(), 302);
    let login = location(&response);
    assert!(login.starts_with("/login?"), "{login}");
    let page = agent.get(&login).await.text().await.unwrap();
    let (csrf, return_to) = (hidden(&page, "csrf_token"), hidden(&page, "return_to"));
    assert!(return_to.contains("request_uri="), "{return_to}");
    let response = agent
        .post("/login", &[("email", &fixture.owner_email), ("password", OWNER_PASSWORD), ("csrf_token", &csrf), ("return_to", &return_to)])
        .await;
    assert_eq!(response.status(), 303);
    let response = agent.get(&location(&response)).await;
    assert_eq!(response.status(), 200, "the consent page");
    let page = response.text().await.unwrap();
    assert!(page.contains("read") && !page.contains("“write”"), "the pushed scope is asked: {page}");
    let response = agent.submit("/oauth2/authorize/decision", &page, &["csrf_token", "request"], &[("decision", "allow")]).await;
    assert_eq!(response.status(), 303);
    let url = location(&response);
    assert!(url.starts_with("https://app.example/cb?"), "{url}");
    let params = response_params(&url);
    assert_eq!(params["state"], "pushed-state");
    assert_eq!(params["iss"], server.url("").trim_end_matches('/'));
    // The code carries the pushed request's PKCE challenge and nonce.
    let response = redeem(&server, &client, &params["code"], &[("code_verifier", VERIFIER)]).await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["scope"], "openid read");
    let (_, id) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "pushed-nonce");

    // Single use: the same request_uri again (consent is remembered now, so it would
    // otherwise answer at once) is refused.
    let response = agent.get(&authorize_path(&client.client_id, &request_uri, "")).await;
    assert_error_page(response, "invalid_request_uri").await;
}

#[tokio::test]
async fn par_code_needs_the_pushed_pkce_verifier() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let request_uri = pushed_uri(&server, &client, &[]).await;
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let url = agent.authorize(&authorize_path(&client.client_id, &request_uri, "")["/oauth2/authorize?".len()..], "allow").await;
    let code = response_params(&url)["code"].clone();
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", "https://app.example/cb")];
    let response = post_basic(&server, "/oauth2/token", &client.client_id, &client.client_secret, &form).await;
    assert_oauth_error(response, 400, "invalid_grant").await;
}

#[tokio::test]
async fn par_deny_answers_access_denied_and_spends_the_request_uri() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let request_uri = pushed_uri(&server, &client, &[]).await;
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let query = authorize_path(&client.client_id, &request_uri, "")["/oauth2/authorize?".len()..].to_owned();
    let url = agent.authorize(&query, "deny").await;
    let params = response_params(&url);
    assert_eq!((params["error"].as_str(), params["state"].as_str()), ("access_denied", "pushed-state"));
    assert_error_page(agent.get(&format!("/oauth2/authorize?{query}")).await, "invalid_request_uri").await;
}

#[tokio::test]
async fn par_prompt_login_is_satisfied_by_the_login_it_asks_for() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let request_uri = pushed_uri(&server, &client, &[("prompt", "login")]).await;
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    // Signed in before the request: prompt=login sends the user to log in again…
    let response = agent.get(&authorize_path(&client.client_id, &request_uri, "")).await;
    assert_eq!(response.status(), 302);
    let login = location(&response);
    assert!(login.starts_with("/login?"), "{login}");
    let page = agent.get(&login).await.text().await.unwrap();
    let (csrf, return_to) = (hidden(&page, "csrf_token"), hidden(&page, "return_to"));
    let response = agent
        .post("/login", &[("email", &fixture.owner_email), ("password", OWNER_PASSWORD), ("csrf_token", &csrf), ("return_to", &return_to)])
        .await;
    assert_eq!(response.status(), 303);
    // …and after that login the stored prompt=login does not ask again.
    let response = agent.get(&location(&response)).await;
    assert_eq!(response.status(), 200, "consent, not another login");
}

#[tokio::test]
async fn par_errors_at_the_push_endpoint() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let challenge = challenge(VERIFIER);
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut form: Vec<(&str, &str)> = push_form(extra);
        form.push(("code_challenge", challenge.as_str()));
        form
    };
    // §2.1: request_uri must not be pushed.
    let request_uri = format!("{PREFIX}abc");
    let mut form = with(&[]);
    form.push(("request_uri", &request_uri));
    assert_oauth_error(push(&server, &client, &form).await, 400, "invalid_request").await;
    // The authorization endpoint's own rules (§2.3).
    let bad_redirect = [("redirect_uri", "https://evil.example/cb")];
    let mut form = with(&[]);
    form.retain(|(k, _)| *k != "redirect_uri");
    form.extend_from_slice(&bad_redirect);
    assert_oauth_error(push(&server, &client, &form).await, 400, "invalid_request").await;
    let mut form = with(&[]);
    form.retain(|(k, _)| *k != "response_type");
    form.push(("response_type", "foo"));
    assert_oauth_error(push(&server, &client, &form).await, 400, "unsupported_response_type").await;
    let mut form = with(&[]);
    form.retain(|(k, _)| *k != "response_type");
    form.push(("response_type", "token"));
    assert_oauth_error(push(&server, &client, &form).await, 400, "unauthorized_client").await;
    let mut form = with(&[]);
    form.retain(|(k, _)| *k != "scope");
    form.push(("scope", "billing"));
    assert_oauth_error(push(&server, &client, &form).await, 400, "invalid_scope").await;
    let mut form = with(&[]);
    form.retain(|(k, _)| *k != "code_challenge_method");
    form.push(("code_challenge_method", "plain"));
    assert_oauth_error(push(&server, &client, &form).await, 400, "invalid_request").await;
    // The body's client_id must be the authenticated client's.
    let mut form = with(&[]);
    form.push(("client_id", &fixture.client_id));
    assert_oauth_error(push(&server, &client, &form).await, 400, "invalid_request").await;
    // Client authentication as at the token endpoint.
    let response = post_basic(&server, "/oauth2/par", &client.client_id, "wrong", &with(&[])).await;
    let headers = assert_oauth_error(response, 401, "invalid_client").await;
    assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    let mut form = with(&[]);
    form.push(("client_id", &client.client_id));
    assert_oauth_error(post_form(&server, "/oauth2/par", &form).await, 401, "invalid_client").await;
    // Only POST.
    assert_eq!(http().get(server.url("/oauth2/par")).send().await.unwrap().status(), 405);

    // A public client pushes with its client_id alone, and must use PKCE.
    let (_, spa) = add_client(&server, &fixture, "spa", PUBLIC_SPA);
    let spa_form = |pkce: bool| {
        let mut form =
            vec![("client_id", spa.client_id.clone()), ("response_type", "code".into()), ("redirect_uri", "http://127.0.0.1/cb".into())];
        if pkce {
            form.push(("code_challenge", challenge.clone()));
            form.push(("code_challenge_method", "S256".into()));
        }
        form
    };
    let response = http().post(server.url("/oauth2/par")).form(&spa_form(true)).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let response = http().post(server.url("/oauth2/par")).form(&spa_form(false)).send().await.unwrap();
    assert_oauth_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn par_request_uri_of_another_client_unknown_or_malformed_shows_a_page() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let other = web_client(&server, &fixture, &[]);
    let request_uri = pushed_uri(&server, &client, &[]).await;
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    // Another client's request_uri: refused, and no redirect anywhere.
    assert_error_page(agent.get(&authorize_path(&other.client_id, &request_uri, "")).await, "invalid_request_uri").await;
    // Unknown, foreign and empty references; a request_uri without client_id.
    for uri in [format!("{PREFIX}nosuchrequest"), "https://evil.example/request".into(), PREFIX.into()] {
        assert_error_page(agent.get(&authorize_path(&client.client_id, &uri, "")).await, "invalid_request_uri").await;
    }
    let query = serde_urlencoded::to_string([("request_uri", request_uri.as_str())]).unwrap();
    assert_error_page(agent.get(&format!("/oauth2/authorize?{query}")).await, "invalid_request").await;
    // None of that spent it: its own client still uses it.
    let response = agent.get(&authorize_path(&client.client_id, &request_uri, "")).await;
    assert_eq!(response.status(), 200, "the consent page");
}

#[tokio::test]
async fn par_request_uri_expires_unused() {
    let options = ServerOptions { serve: vec!["--pushed-request-lifetime".into(), "1".into()], ..ServerOptions::default() };
    let (server, fixture) = start_with(options);
    let client = web_client(&server, &fixture, &[]);
    let challenge = challenge(VERIFIER);
    let mut form = push_form(&[]);
    form.push(("code_challenge", &challenge));
    let body: Value = push(&server, &client, &form).await.json().await.unwrap();
    assert_eq!(body["expires_in"], 1);
    let request_uri = body["request_uri"].as_str().unwrap();
    // The lifetime is whole seconds counted from the push's second: 2 s later it has surely ended.
    server.advance_clock(2).unwrap();
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    assert_error_page(agent.get(&authorize_path(&client.client_id, request_uri, "")).await, "invalid_request_uri").await;
}

#[tokio::test]
async fn par_required_per_client_refuses_plain_requests() {
    let (server, fixture) = start();
    let strict = web_client(&server, &fixture, &["--require-par"]);
    let lenient = web_client(&server, &fixture, &[]);
    let shown = server.cli.json(&["client", "show", &strict.client_id]).unwrap();
    assert_eq!(shown["require_pushed_authorization_requests"], true);
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let url = agent.authorize(&code_query(&strict, "&scope=read"), "allow").await;
    let params = response_params(&url);
    assert!(url.starts_with("https://app.example/cb?"), "{url}");
    assert_eq!((params["error"].as_str(), params["state"].as_str()), ("invalid_request", "xyz"));
    assert!(!params.contains_key("code"));
    // The same client through PAR, and another client without the requirement, go on.
    let request_uri = pushed_uri(&server, &strict, &[]).await;
    assert_eq!(agent.get(&authorize_path(&strict.client_id, &request_uri, "")).await.status(), 200);
    assert!(response_params(&agent.authorize(&code_query(&lenient, "&scope=read"), "allow").await).contains_key("code"));
    let discovery: Value = http().get(server.url("/.well-known/oauth-authorization-server")).send().await.unwrap().json().await.unwrap();
    assert_eq!(discovery["require_pushed_authorization_requests"], false);
    assert_eq!(discovery["pushed_authorization_request_endpoint"], server.url("/oauth2/par"));
}

#[tokio::test]
async fn par_required_globally_refuses_plain_requests_and_says_so_in_discovery() {
    let options =
        ServerOptions { serve: vec!["--require-pushed-authorization-requests".into(), "true".into()], ..ServerOptions::default() };
    let (server, fixture) = start_with(options);
    for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
        let discovery: Value = http().get(server.url(path)).send().await.unwrap().json().await.unwrap();
        assert_eq!(discovery["require_pushed_authorization_requests"], true, "{path}");
        assert_eq!(discovery["pushed_authorization_request_endpoint"], server.url("/oauth2/par"), "{path}");
    }
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let params = response_params(&agent.authorize(&code_query(&client, "&scope=read"), "allow").await);
    assert_eq!(params["error"], "invalid_request");
    let request_uri = pushed_uri(&server, &client, &[]).await;
    let url = agent.authorize(&authorize_path(&client.client_id, &request_uri, "")["/oauth2/authorize?".len()..], "allow").await;
    assert!(response_params(&url).contains_key("code"), "{url}");
}

#[tokio::test]
async fn par_required_is_a_portal_and_admin_api_setting() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let (_, admin) = add_client(&server, &fixture, "admin-script", &["--scope", "tessera:clients"]);
    let token = client_credentials_token(&server, &admin.client_id, &admin.client_secret).await;
    let path = server.url(&format!("/admin/v1/clients/{}", client.client_id));
    let response = http()
        .patch(&path)
        .bearer_auth(&token)
        .json(&serde_json::json!({"require_pushed_authorization_requests": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let view: Value = http().get(&path).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(view["require_pushed_authorization_requests"], true);
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let page = agent.get(&format!("/settings/api-clients/{}/edit", client.client_id)).await.text().await.unwrap();
    assert!(page.contains("name=\"require_pushed_authorization_requests\" value=\"true\" checked"), "{page}");
    let params = response_params(&agent.authorize(&code_query(&client, "&scope=read"), "allow").await);
    assert_eq!(params["error"], "invalid_request");
}

/// The interop scripts' directory, installed by `scripts/test` (`npm ci`).
#[tokio::test]
async fn interop_openid_client_par_and_code_flow() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let issuer = server.url("").trim_end_matches('/').to_owned();
    let mut script =
        InteropScript::start("par_code_flow.mjs", &[&issuer, &client.client_id, &client.client_secret, "https://app.example/cb"]);
    let first = script.read_json("pushing the request");
    let authorization_url = first["authorization_url"].as_str().unwrap();
    let query = authorization_url.split_once('?').unwrap().1;
    let params = response_params(authorization_url);
    assert!(params["request_uri"].starts_with(PREFIX), "openid-client pushed: {authorization_url}");
    // The user's part, in our browser stand-in: sign in, Allow, and the callback goes back.
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let callback = agent.authorize(query, "allow").await;
    script.answer(&callback);
    let result = script.read_json("the code flow");
    script.finish();
    assert_eq!(result["sub"], fixture.owner_id.as_str());
    assert_eq!(result["scope"], "openid read");
    assert!(is_active(&server, &client, result["access_token"].as_str().unwrap()).await);
}

#[tokio::test]
async fn par_required_client_in_the_token_generator_pushes_its_request() {
    let (server, fixture) = start();
    let callback = server.url("/tools/access-token/callback");
    let (_, client) = add_client(
        &server,
        &fixture,
        "strict web app",
        &["--grant", "authorization_code", "--redirect-uri", &callback, "--scope", "read", "--require-par"],
    );
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let html = agent.get(&format!("/tools/access-token?client_id={}", client.client_id)).await.text().await.unwrap();
    let response =
        agent.submit("/tools/access-token", &html, &["csrf_token"], &[("client_id", &client.client_id), ("scope", "read")]).await;
    assert_eq!(response.status(), 303);
    let authorize = location(&response);
    let query = authorize.split_once('?').unwrap().1.to_owned();
    assert!(response_params(&authorize)["request_uri"].starts_with(PREFIX), "the generator pushed: {authorize}");
    let landed = agent.authorize(&query, "allow").await;
    assert!(landed.starts_with(&callback), "{landed}");
    let response = agent.get(&landed).await;
    assert_eq!(response.status(), 303);
    let response = agent.follow(response).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("aria-label=\"Access token\""));
}
