//! Resource indicators (RFC 8707): a client registers the resources it may ask tokens for;
//! `resource` (repeatable) on authorization requests (plain and pushed) and on token requests of
//! every grant sets the access token's `aud`; a token request narrows, never widens, what the
//! authorization named; everything else is `invalid_target`. The guard's side (a token for
//! another resource is refused) is in `examples/api/tests/e2e.rs`.

use serde_json::{Value, json};

use crate::agent::*;
use crate::common::*;

const API: &str = "https://api.example.com/v1";
const BILLING: &str = "https://billing.example.com";
const REPORTS: &str = "urn:example:reports";
const RESOURCE_FLAGS: &[&str] = &["--resource", API, "--resource", BILLING, "--resource", REPORTS];

fn issuer(server: &Server) -> String {
    server.url("").trim_end_matches('/').to_owned()
}

/// A client-credentials client registered for the three resources.
fn service_client(server: &Server, fixture: &Fixture) -> Fixture {
    let mut flags = vec!["--grant", "client_credentials", "--scope", "read"];
    flags.extend_from_slice(RESOURCE_FLAGS);
    add_client(server, fixture, "Resource Script", &flags).1
}

async fn client_token(server: &Server, client: &Fixture, form: &[(&str, &str)]) -> reqwest::Response {
    let mut body = vec![("grant_type", "client_credentials")];
    body.extend_from_slice(form);
    post_basic(server, "/oauth2/token", &client.client_id, &client.client_secret, &body).await
}

async fn aud_of(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let body: Value = response.json().await.unwrap();
    jwt_parts(body["access_token"].as_str().unwrap()).1["aud"].clone()
}

async fn ok_json(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    response.json().await.unwrap()
}

#[tokio::test]
async fn client_credentials_with_one_and_two_resources_sets_aud_and_introspection_reports_it() {
    let (server, fixture) = start();
    let client = service_client(&server, &fixture);
    // No resource: today's default audience.
    assert_eq!(aud_of(client_token(&server, &client, &[]).await).await, json!(issuer(&server)));
    // One resource: `aud` is that string.
    let body = ok_json(client_token(&server, &client, &[("resource", API)]).await).await;
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(jwt_parts(token).1["aud"], json!(API));
    let introspected = introspect(&server, &client, token).await;
    assert_eq!((introspected["active"].as_bool(), introspected["aud"].clone()), (Some(true), json!(API)));
    // Two resources: an array, in request order; a repeated one counts once.
    let response = client_token(&server, &client, &[("resource", BILLING), ("resource", API), ("resource", BILLING)]).await;
    let body = ok_json(response).await;
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(jwt_parts(token).1["aud"], json!([BILLING, API]));
    assert_eq!(introspect(&server, &client, token).await["aud"], json!([BILLING, API]));
    // A JSON body names several resources as an array.
    let response = http()
        .post(server.url("/oauth2/token"))
        .basic_auth(&client.client_id, Some(&client.client_secret))
        .json(&json!({"grant_type": "client_credentials", "resource": [API, REPORTS]}))
        .send()
        .await
        .unwrap();
    assert_eq!(aud_of(response).await, json!([API, REPORTS]));
    assert!(is_active(&server, &client, token).await);
}

#[tokio::test]
async fn client_credentials_invalid_target_for_unregistered_relative_or_fragment_resources() {
    let (server, fixture) = start();
    let client = service_client(&server, &fixture);
    for form in [
        vec![("resource", "https://other.example.com")],
        vec![("resource", API), ("resource", "https://other.example.com")],
        vec![("resource", "/v1")],
        vec![("resource", "api.example.com/v1")],
        vec![("resource", "https://api.example.com/v1#frag")],
    ] {
        assert_oauth_error(client_token(&server, &client, &form).await, 400, "invalid_target").await;
    }
    // The fixture's client registered no resources at all: any resource is invalid_target.
    assert_oauth_error(client_token(&server, &fixture, &[("resource", API)]).await, 400, "invalid_target").await;
    // Another parameter may still not be repeated.
    let response = client_token(&server, &client, &[("scope", "read"), ("scope", "read")]).await;
    assert_oauth_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn registration_validates_resources_and_update_replaces_them() {
    let (server, fixture) = start();
    for bad in ["/relative", "https://api.example.com/#x", "not a uri"] {
        let args = ["client", "create", "--org", &fixture.org_name, "--owner", &fixture.owner_email, "--name", "x", "--resource", bad];
        let output = server.cli.run(&args).unwrap();
        assert!(!output.success, "{bad} was accepted");
        assert!(output.stderr.contains("resource"), "{}", output.stderr);
    }
    let client = service_client(&server, &fixture);
    let shown = server.cli.json(&["client", "show", &client.client_id]).unwrap();
    assert_eq!(shown["resources"], json!([API, BILLING, REPORTS]));
    let token = ok_json(client_token(&server, &client, &[("resource", BILLING)]).await).await["access_token"].as_str().unwrap().to_owned();
    assert!(is_active(&server, &client, &token).await);

    // Narrowing the registration stops tokens for a resource no longer registered.
    let updated = server.cli.json(&["client", "update", &client.client_id, "--resource", API]).unwrap();
    assert_eq!(updated["resources"], json!([API]));
    assert!(!is_active(&server, &client, &token).await, "a token for a resource taken away stays active");
    assert_oauth_error(client_token(&server, &client, &[("resource", BILLING)]).await, 400, "invalid_target").await;
    assert_eq!(aud_of(client_token(&server, &client, &[("resource", API)]).await).await, json!(API));
    let output = server.cli.run(&["client", "update", &client.client_id, "--resource", "urn:x#y"]).unwrap();
    assert!(!output.success);
    let cleared = server.cli.json(&["client", "update", &client.client_id, "--clear-resources"]).unwrap();
    assert_eq!(cleared["resources"], json!([]));
    assert_oauth_error(client_token(&server, &client, &[("resource", API)]).await, 400, "invalid_target").await;
}

/// A confidential web client with the refresh grant, registered for the three resources.
fn resource_web_client(server: &Server, fixture: &Fixture) -> Fixture {
    let mut flags = vec!["--grant", "refresh_token"];
    flags.extend_from_slice(RESOURCE_FLAGS);
    web_client(server, fixture, &flags)
}

fn encoded(resources: &[&str]) -> String {
    resources.iter().map(|r| format!("&resource={}", urlencode(r))).collect()
}

fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)]).unwrap()["v=".len()..].to_owned()
}

#[tokio::test]
async fn code_flow_resources_narrow_at_redemption_and_refresh_never_widen() {
    let (server, fixture) = start();
    let client = resource_web_client(&server, &fixture);
    let mut agent = Agent::new(&server);
    let two = encoded(&[API, BILLING]);

    // Redeemed without resource: the token is for both authorized resources.
    let code = owner_code(&mut agent, &fixture, &client, &format!("&scope=read{two}")).await;
    let tokens = redeem_ok(&server, &client, &code).await;
    assert_eq!(jwt_parts(tokens["access_token"].as_str().unwrap()).1["aud"], json!([API, BILLING]));

    // Redeemed for one of them: narrowed.
    let code = owner_code(&mut agent, &fixture, &client, &format!("&scope=read{two}")).await;
    let response = redeem(&server, &client, &code, &[("resource", API)]).await;
    let tokens = ok_json(response).await;
    assert_eq!(jwt_parts(tokens["access_token"].as_str().unwrap()).1["aud"], json!(API));
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();

    // Refresh: narrowing to the other authorized resource is fine…
    let tokens = ok_json(refresh(&server, &client, &refresh_token, &[("resource", BILLING)]).await).await;
    assert_eq!(jwt_parts(tokens["access_token"].as_str().unwrap()).1["aud"], json!(BILLING));
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    // …widening to a registered resource the authorization did not name is not, and the
    // refused request leaves the refresh token usable.
    for form in [vec![("resource", REPORTS)], vec![("resource", API), ("resource", REPORTS)], vec![("resource", "/relative")]] {
        assert_oauth_error(refresh(&server, &client, &refresh_token, &form).await, 400, "invalid_target").await;
    }
    let tokens = ok_json(refresh(&server, &client, &refresh_token, &[]).await).await;
    assert_eq!(jwt_parts(tokens["access_token"].as_str().unwrap()).1["aud"], json!([API, BILLING]), "no resource: the authorization's");

    // Widening at redemption: invalid_target, and the code is spent.
    let code = owner_code(&mut agent, &fixture, &client, &format!("&scope=read{}", encoded(&[API]))).await;
    assert_oauth_error(redeem(&server, &client, &code, &[("resource", BILLING)]).await, 400, "invalid_target").await;
    assert_oauth_error(redeem(&server, &client, &code, &[]).await, 400, "invalid_grant").await;

    // An authorization that named no resource: the token request chooses among the registered.
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    let tokens = ok_json(redeem(&server, &client, &code, &[("resource", REPORTS)]).await).await;
    assert_eq!(jwt_parts(tokens["access_token"].as_str().unwrap()).1["aud"], json!(REPORTS));
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    assert_oauth_error(redeem(&server, &client, &code, &[("resource", "https://other.example")]).await, 400, "invalid_target").await;
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    let tokens = redeem_ok(&server, &client, &code).await;
    assert_eq!(jwt_parts(tokens["access_token"].as_str().unwrap()).1["aud"], json!(issuer(&server)));
}

#[tokio::test]
async fn authorize_with_a_bad_resource_redirects_invalid_target_with_state_and_iss() {
    let (server, fixture) = start();
    let client = resource_web_client(&server, &fixture);
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    for resources in
        [vec!["https://other.example.com"], vec![API, "https://other.example.com"], vec!["/v1"], vec!["https://api.example.com/v1#f"]]
    {
        let response =
            agent.get(&format!("/oauth2/authorize?{}", code_query(&client, &format!("&scope=read{}", encoded(&resources))))).await;
        assert_eq!(response.status(), 302, "{resources:?}");
        let url = location(&response);
        assert!(url.starts_with("https://app.example/cb?"), "{url}");
        let params = response_params(&url);
        assert_eq!(params["error"], "invalid_target", "{resources:?}");
        assert_eq!(params["state"], "xyz");
        assert_eq!(params["iss"], issuer(&server));
        assert!(!params.contains_key("code"));
    }
}

#[tokio::test]
async fn pushed_requests_carry_resources_and_refuse_bad_ones() {
    let (server, fixture) = start();
    let client = resource_web_client(&server, &fixture);
    let request_uri = crate::par::pushed_uri(&server, &client, &[("resource", API), ("resource", REPORTS)]).await;
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let path = crate::par::authorize_path(&client.client_id, &request_uri, "");
    let url = agent.authorize(&path["/oauth2/authorize?".len()..], "allow").await;
    let code = response_params(&url).get("code").cloned().unwrap_or_else(|| panic!("no code in {url}"));
    let tokens = ok_json(redeem(&server, &client, &code, &[("code_verifier", VERIFIER)]).await).await;
    assert_eq!(jwt_parts(tokens["access_token"].as_str().unwrap()).1["aud"], json!([API, REPORTS]));
    // The push endpoint answers a bad resource itself, as JSON.
    for bad in ["https://other.example.com", "relative/path", "https://api.example.com/v1#top"] {
        let challenge = challenge(VERIFIER);
        let mut form = crate::par::push_form(&[("resource", bad)]);
        form.push(("code_challenge", &challenge));
        assert_oauth_error(crate::par::push(&server, &client, &form).await, 400, "invalid_target").await;
    }
}

#[tokio::test]
async fn device_code_token_request_chooses_resources_and_refresh_keeps_within_them() {
    let (server, fixture) = start();
    let mut flags = vec!["--public", "--grant", "device_code", "--grant", "refresh_token", "--scope", "read"];
    flags.extend_from_slice(RESOURCE_FLAGS);
    let (_, client) = add_client(&server, &fixture, "Resource TV", &flags);
    let started = crate::device::start_device(&server, &client, "read").await;
    let device_code = started["device_code"].as_str().unwrap();
    let user_code = started["user_code"].as_str().unwrap();
    let mut agent = crate::device::signed_in(&server, &fixture).await;
    assert_eq!(crate::device::decide(&mut agent, user_code, "allow").await.status(), 200);
    let poll = |resources: Vec<(&'static str, &'static str)>| {
        let mut form = vec![("grant_type", crate::device::GRANT), ("device_code", device_code), ("client_id", &client.client_id)];
        form.extend(resources);
        let server = &server;
        async move { post_form(server, "/oauth2/token", &form).await }
    };
    // A bad resource is refused without spending the approved device code.
    assert_oauth_error(poll(vec![("resource", "https://other.example.com")]).await, 400, "invalid_target").await;
    let tokens = ok_json(poll(vec![("resource", API), ("resource", BILLING)]).await).await;
    assert_eq!(jwt_parts(tokens["access_token"].as_str().unwrap()).1["aud"], json!([API, BILLING]));
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    let refresh_with = |resource: &'static str| {
        let form =
            [("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", &client.client_id), ("resource", resource)];
        let server = &server;
        async move { post_form(server, "/oauth2/token", &form).await }
    };
    assert_oauth_error(refresh_with(REPORTS).await, 400, "invalid_target").await;
    assert_eq!(aud_of(refresh_with(BILLING).await).await, json!(BILLING));
}

/// Node's `openid-client` (pinned in `interop/node/package-lock.json`) sends `resource` twice in
/// a client-credentials request and reads the server's `invalid_target` as an error response.
#[tokio::test]
async fn interop_openid_client_sends_resources() {
    let (server, fixture) = start();
    let client = service_client(&server, &fixture);
    let mut script =
        InteropScript::start("resource_indicators.mjs", &[&issuer(&server), &client.client_id, &client.client_secret, API, REPORTS]);
    let issued = script.read_json("the token with two resources");
    assert_eq!(jwt_parts(issued["access_token"].as_str().unwrap()).1["aud"], json!([API, REPORTS]), "{issued}");
    assert_eq!(issued["scope"], "read");
    let refused = script.read_json("the refused resource");
    script.finish();
    assert_eq!((refused["error"].as_str(), refused["status"].as_u64()), (Some("invalid_target"), Some(400)), "{refused}");
}

/// The admin API's `resources` field (create and `PATCH`), and the admin API refusing a token
/// for another resource: it is this server's own resource.
#[tokio::test]
async fn admin_api_sets_resources_and_refuses_tokens_for_other_resources() {
    let (server, fixture) = start();
    let flags = ["--scope", "tessera:clients", "--resource", API];
    let (_, admin) = add_client(&server, &fixture, "Admin script", &flags);
    let token_for = |resource: Option<&'static str>| {
        let admin = admin.clone();
        let server = &server;
        async move {
            let form: Vec<(&str, &str)> = resource.map(|r| ("resource", r)).into_iter().collect();
            ok_json(client_token(server, &admin, &form).await).await["access_token"].as_str().unwrap().to_owned()
        }
    };
    let me = |token: String| {
        let url = server.url("/admin/v1/me");
        async move { http().get(url).bearer_auth(token).send().await.unwrap().status() }
    };
    assert_eq!(me(token_for(Some(API)).await).await, 401, "a token for another resource");
    let token = token_for(None).await;
    assert_eq!(me(token.clone()).await, 200);

    let body = json!({"name": "Reports job", "grants": ["client_credentials"], "scopes": ["read"], "resources": [REPORTS]});
    let response = http().post(server.url("/admin/v1/clients")).bearer_auth(&token).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["resources"], json!([REPORTS]));
    let path = server.url(&format!("/admin/v1/clients/{}", created["client_id"].as_str().unwrap()));
    let response = http().patch(&path).bearer_auth(&token).json(&json!({"resources": [API, BILLING]})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["resources"], json!([API, BILLING]));
    for bad in [json!({"resources": ["relative"]}), json!({"resources": ["https://a.example#f"]}), json!({"resources": [API, API]})] {
        let response = http().patch(&path).bearer_auth(&token).json(&bad).send().await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
    }
    let bad = json!({"name": "x", "grants": ["client_credentials"], "resources": ["/relative"]});
    let response = http().post(server.url("/admin/v1/clients")).bearer_auth(&token).json(&bad).send().await.unwrap();
    assert_eq!(response.status(), 400);
}
