//! The Blue Canvas seed (`seeds/000`, "Generating API Credentials"), step by step, against
//! `tessera serve --profile bluecanvas`, with our host in place of the Blue Canvas domain.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::agent::*;
use crate::common::*;

fn bluecanvas() -> (Server, Fixture) {
    start_with(ServerOptions { serve: vec!["--profile".into(), "bluecanvas".into()], ..ServerOptions::default() })
}

/// `POST /apis/oauth2/v1/token HTTP/1.1` with `Authorization: Basic {base64encode(id:secret)}`
/// and nothing else, exactly as the seed shows it.
async fn seed_token_request(server: &Server, id: &str, secret: &str) -> reqwest::Response {
    let basic = STANDARD.encode(format!("{id}:{secret}"));
    http().post(server.url("/apis/oauth2/v1/token")).header("authorization", format!("Basic {basic}")).send().await.unwrap()
}

#[tokio::test]
async fn oauth_2_client_credentials_with_http_basic_answers_the_seed_fields() {
    let (server, fixture) = bluecanvas();
    let response = seed_token_request(&server, &fixture.client_id, &fixture.client_secret).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 31_536_000);
    assert_eq!(body["tenant_id"], fixture.org_id.as_str());
    let endpoints = body["endpoints"].as_object().unwrap_or_else(|| panic!("endpoints in {body}"));
    assert_eq!(endpoints["token"], server.url("/apis/oauth2/v1/token"));
    assert_eq!(endpoints["authorize"], server.url("/apis/oauth2/v1/authorize"));
    let access_token = body["access_token"].as_str().unwrap();
    let (_, claims) = jwt_parts(access_token);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 31_536_000);
    // "All api calls require an Access Token using the Bearer token method."
    let response = http().get(server.url("/session/user")).header("authorization", format!("Bearer {access_token}")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // A wrong secret: 401 with the Basic challenge.
    let response = seed_token_request(&server, &fixture.client_id, "wrong-secret").await;
    assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    assert_oauth_error(response, 401, "invalid_client").await;
}

#[tokio::test]
async fn credentials_inherit_the_identity_and_role_of_their_user() {
    let (server, fixture) = bluecanvas();
    // Account Owners: full API access.
    let (_, owner_claims) = jwt_parts(&access_token(&server, &fixture).await);
    assert_eq!(owner_claims["sub"], fixture.owner_id.as_str());
    assert_eq!(owner_claims["scope"], "admin read write");
    // All Users: limited API access (no restricted scopes).
    let member = "member@acme.test";
    add_user(&server, &fixture, member, "member", "pw member 1 long", &[]);
    let created = server
        .cli
        .json(&["client", "create", "--org", &fixture.org_name, "--owner", member, "--name", "mine", "--scope", "read", "--scope", "write"])
        .unwrap();
    let response = seed_token_request(&server, created["client_id"].as_str().unwrap(), created["client_secret"].as_str().unwrap()).await;
    let body: Value = response.json().await.unwrap();
    let (_, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(claims["scope"], "read write");
    // A separate service user for fine-grained access control.
    server
        .cli
        .json(&[
            "user",
            "create",
            "--org",
            &fixture.org_name,
            "--email",
            "ci@acme.test",
            "--role",
            "member",
            "--service",
            "--permission",
            "authorize_applications",
        ])
        .unwrap();
    let created = server
        .cli
        .json(&[
            "client",
            "create",
            "--org",
            &fixture.org_name,
            "--owner",
            &fixture.owner_email,
            "--name",
            "ci",
            "--run-as",
            "ci@acme.test",
            "--scope",
            "read",
        ])
        .unwrap();
    let response = seed_token_request(&server, created["client_id"].as_str().unwrap(), created["client_secret"].as_str().unwrap()).await;
    let body: Value = response.json().await.unwrap();
    let (_, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_ne!(claims["sub"], fixture.owner_id.as_str());
    assert_eq!(claims["scope"], "read");
}

#[tokio::test]
async fn the_authorization_code_flow_at_apis_oauth2_v1_authorize() {
    let (server, fixture) = bluecanvas();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let page = agent.get(&format!("/apis/oauth2/v1/authorize?{}&scope=read", code_query(&client, ""))).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let response = agent.submit("/oauth2/authorize/decision", &page, &["csrf_token", "request"], &[("decision", "allow")]).await;
    let code = response_params(&location(&response))["code"].clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "https://app.example/cb"),
        ("code_verifier", VERIFIER),
    ];
    let response = post_basic(&server, "/apis/oauth2/v1/token", &client.client_id, &client.client_secret, &form).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!((body["tenant_id"].as_str(), body["expires_in"].as_i64()), (Some(fixture.org_id.as_str()), Some(31_536_000)));
}
