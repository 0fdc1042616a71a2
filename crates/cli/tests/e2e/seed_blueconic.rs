//! The BlueConic seed (`seeds/002`, "Using the Client Credentials Flow"), step by step, against
//! `tessera serve --profile blueconic`, with our host in place of `www.{your-tenant-name}`.

use serde_json::Value;

use crate::common::*;

fn blueconic() -> (Server, Fixture) {
    let (server, fixture) = start_with(ServerOptions { serve: vec!["--profile".into(), "blueconic".into()], ..ServerOptions::default() });
    // The fixture's own client (the tests' introspection caller) starts OFF like every other.
    server.cli.json(&["client", "enable", &fixture.client_id]).unwrap();
    (server, fixture)
}

/// Step 1: register the application: scopes, allowed IP addresses, a run-as user who holds
/// the "Authorize applications" permission; "Save your settings and remember also to change the
/// status of the application to ON": it starts OFF under this profile.
async fn register(server: &Server, fixture: &Fixture, allowed_ip: &str) -> (String, String, String) {
    let run_as = format!("runner{}@acme.test", allowed_ip.len());
    let user = add_user(server, fixture, &run_as, "member", "runner pw 1 long", &["--permission", "authorize_applications"]);
    let flags = ["--scope", "read", "--run-as", &run_as, "--allowed-ip", allowed_ip];
    let (created, _) = add_client(server, fixture, "My app", &flags);
    let (id, secret) = (created["client_id"].as_str().unwrap().to_owned(), created["client_secret"].as_str().unwrap().to_owned());
    assert_eq!(created["status"], "off", "a new application starts OFF");
    // "If the application status is OFF, the client authentication will fail later on".
    if allowed_ip == "127.0.0.1/32" {
        assert_oauth_error(request_token(server, &id, &secret).await, 401, "invalid_client").await;
    }
    server.cli.json(&["client", "enable", &id]).unwrap();
    (id, secret, user["id"].as_str().unwrap().to_owned())
}

/// Step 2's curl: `--data-urlencode` of grant_type, client_id and client_secret.
async fn request_token(server: &Server, id: &str, secret: &str) -> reqwest::Response {
    post_form(server, "/rest/v2/oauth/token", &[("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)]).await
}

/// Step 4's curl: token, token_type_hint, client_id, client_secret in the body.
async fn revoke_token(server: &Server, token: &str, id: &str, secret: &str) -> reqwest::Response {
    let form = [("token", token), ("token_type_hint", "access_token"), ("client_id", id), ("client_secret", secret)];
    post_form(server, "/rest/v2/oauth/revoke", &form).await
}

async fn introspect_as(server: &Server, fixture: &Fixture, token: &str) -> bool {
    is_active(server, fixture, token).await
}

#[tokio::test]
async fn step_2_request_an_access_token_with_the_credentials_in_the_body() {
    let (server, fixture) = blueconic();
    let (id, secret, run_as_id) = register(&server, &fixture, "127.0.0.1/32").await;
    let response = request_token(&server, &id, &secret).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600, "short-lived: it will expire in 1 hour");
    let access_token = body["access_token"].as_str().unwrap();
    let (_, claims) = jwt_parts(access_token);
    assert_eq!(claims["sub"], run_as_id.as_str(), "the application runs on the run-as user's behalf");
    assert_eq!(claims["scope"], "read", "the scopes registered with the application");
    // Step 3: call the public API with the token.
    let response = http().get(server.url("/session/user")).bearer_auth(access_token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(introspect_as(&server, &fixture, access_token).await);
}

#[tokio::test]
async fn step_4_revoke_an_access_token() {
    let (server, fixture) = blueconic();
    let (id, secret, _) = register(&server, &fixture, "127.0.0.1/32").await;
    let body: Value = request_token(&server, &id, &secret).await.json().await.unwrap();
    let access_token = body["access_token"].as_str().unwrap();
    assert_eq!(revoke_token(&server, access_token, &id, &secret).await.status(), 200);
    assert!(!introspect_as(&server, &fixture, access_token).await);
    let response = http().get(server.url("/session/user")).bearer_auth(access_token).send().await.unwrap();
    assert_eq!(response.status(), 401);
    // "the application will have to perform the token request again"
    assert_eq!(request_token(&server, &id, &secret).await.status(), 200);
}

#[tokio::test]
async fn status_off_fails_client_authentication_and_stops_existing_tokens() {
    let (server, fixture) = blueconic();
    let (id, secret, _) = register(&server, &fixture, "127.0.0.1/32").await;
    let body: Value = request_token(&server, &id, &secret).await.json().await.unwrap();
    let access_token = body["access_token"].as_str().unwrap();
    server.cli.json(&["client", "disable", &id]).unwrap();
    assert_oauth_error(request_token(&server, &id, &secret).await, 401, "invalid_client").await;
    assert!(!introspect_as(&server, &fixture, access_token).await);
    server.cli.json(&["client", "enable", &id]).unwrap();
    assert_eq!(request_token(&server, &id, &secret).await.status(), 200);
}

#[tokio::test]
async fn only_the_allowed_ip_addresses_may_use_the_application() {
    let (server, fixture) = blueconic();
    let (id, secret, _) = register(&server, &fixture, "192.0.2.0/24").await;
    assert_oauth_error(request_token(&server, &id, &secret).await, 401, "invalid_client").await;
}

#[tokio::test]
async fn only_users_with_authorize_applications_can_be_the_run_as_user() {
    let (server, fixture) = blueconic();
    add_user(&server, &fixture, "plain@acme.test", "member", "plain pw 1 long", &[]);
    let refused = server
        .cli
        .run(&[
            "client",
            "create",
            "--org",
            &fixture.org_name,
            "--owner",
            &fixture.owner_email,
            "--name",
            "x",
            "--run-as",
            "plain@acme.test",
        ])
        .unwrap();
    assert!(!refused.success, "{refused:?}");
}
