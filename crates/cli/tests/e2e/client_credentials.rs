//! The client-credentials grant: token shape, identity, scopes, lifetimes (SPEC §4–§5).

use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn token_is_an_rfc9068_jwt_acting_as_the_owner() {
    let (server, fixture) = start();
    let response =
        post_basic(&server, "/oauth2/token", &fixture.client_id, &fixture.client_secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "admin read write");
    assert!(body.get("refresh_token").is_none(), "client credentials never get a refresh token");
    let (header, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].is_string());
    assert_eq!(claims["iss"], server.base.as_str());
    assert_eq!(claims["aud"], server.base.as_str());
    assert_eq!(claims["sub"], fixture.owner_id.as_str());
    assert_eq!(claims["client_id"], fixture.client_id.as_str());
    assert_eq!(claims["org_id"], fixture.org_id.as_str());
    assert_eq!(claims["scope"], "admin read write");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
    assert!(claims["jti"].as_str().unwrap().len() >= 22);
}

#[tokio::test]
async fn client_secret_post_in_form_and_json_bodies() {
    let (server, fixture) = start();
    let form = post_form(
        &server,
        "/oauth2/token",
        &[("grant_type", "client_credentials"), ("client_id", &fixture.client_id), ("client_secret", &fixture.client_secret)],
    )
    .await;
    assert_eq!(form.status(), 200);
    let body = json!({ "grant_type": "client_credentials", "client_id": fixture.client_id, "client_secret": fixture.client_secret, "scope": "read" });
    let response = http().post(server.url("/oauth2/token")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["scope"], "read");
}

#[tokio::test]
async fn q01_unregistered_scopes_are_refused_and_a_mix_is_intersected() {
    let (server, fixture) = start();
    let only_unknown = post_basic(
        &server,
        "/oauth2/token",
        &fixture.client_id,
        &fixture.client_secret,
        &[("grant_type", "client_credentials"), ("scope", "billing other")],
    )
    .await;
    assert_oauth_error(only_unknown, 400, "invalid_scope").await;
    let mix = token(&server, &fixture, Some("billing read")).await;
    assert_eq!(mix["scope"], "read");
}

#[tokio::test]
async fn q03_scope_with_quote_backslash_or_control_is_invalid_scope() {
    let (server, fixture) = start();
    for scope in ["re\"ad", "re\\ad", "read\u{1}", "read\twrite"] {
        let response = post_basic(
            &server,
            "/oauth2/token",
            &fixture.client_id,
            &fixture.client_secret,
            &[("grant_type", "client_credentials"), ("scope", scope)],
        )
        .await;
        assert_oauth_error(response, 400, "invalid_scope").await;
    }
}

#[tokio::test]
async fn q08_reordered_or_repeated_scopes_are_the_same_set() {
    let (server, fixture) = start();
    let a = token(&server, &fixture, Some("write read write")).await;
    let b = token(&server, &fixture, Some("read write")).await;
    assert_eq!(a["scope"], "read write");
    assert_eq!(a["scope"], b["scope"]);
}

#[tokio::test]
async fn member_run_as_user_gets_unrestricted_scopes_only() {
    let (server, fixture) = start();
    let cli = &server.cli;
    cli.json(&[
        "user",
        "create",
        "--org",
        &fixture.org_name,
        "--email",
        "member@x.test",
        "--role",
        "member",
        "--service",
        "--permission",
        "authorize_applications",
    ])
    .unwrap();
    let client = add_client(&server, &fixture, "svc", &["--scope", "read", "--scope", "admin", "--run-as", "member@x.test"]).0;
    let (id, secret) = (client["client_id"].as_str().unwrap(), client["client_secret"].as_str().unwrap());
    let response = post_basic(&server, "/oauth2/token", id, secret, &[("grant_type", "client_credentials")]).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "read", "the member run-as user may not hold the restricted scope");
    let (_, claims) = jwt_parts(body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], client["run_as_id"]);
    let only_admin = post_basic(&server, "/oauth2/token", id, secret, &[("grant_type", "client_credentials"), ("scope", "admin")]).await;
    assert_oauth_error(only_admin, 400, "invalid_scope").await;
}

#[tokio::test]
async fn a18_run_as_user_needs_authorize_applications() {
    let (server, fixture) = start();
    let cli = &server.cli;
    cli.json(&["user", "create", "--org", &fixture.org_name, "--email", "plain@x.test", "--role", "admin", "--service"]).unwrap();
    let refused = cli
        .run(&[
            "client",
            "create",
            "--org",
            &fixture.org_name,
            "--owner",
            &fixture.owner_email,
            "--name",
            "svc",
            "--run-as",
            "plain@x.test",
        ])
        .unwrap();
    assert!(!refused.success);
    assert!(refused.stderr.contains("authorize_applications"), "{}", refused.stderr);
}

#[tokio::test]
async fn per_client_lifetime_is_capped_by_configuration() {
    let (server, fixture) = start_with(ServerOptions { serve: vec!["--max-access-token-ttl".into(), "7200".into()], ..Default::default() });
    let cli = &server.cli;
    for (ttl, expected) in [("1", 1), ("600", 600), ("99999", 7200)] {
        let client = add_client(&server, &fixture, "ttl", &["--access-token-ttl", ttl]).0;
        let response = post_basic(
            &server,
            "/oauth2/token",
            client["client_id"].as_str().unwrap(),
            client["client_secret"].as_str().unwrap(),
            &[("grant_type", "client_credentials")],
        )
        .await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["expires_in"], expected, "ttl {ttl}");
    }
    let zero = cli
        .run(&["client", "create", "--org", &fixture.org_name, "--owner", &fixture.owner_email, "--name", "ttl", "--access-token-ttl", "0"])
        .unwrap();
    assert!(!zero.success);
}

#[tokio::test]
async fn eddsa_and_rs256_are_selectable() {
    for alg in ["EdDSA", "RS256"] {
        let (server, fixture) = start_with(ServerOptions { serve: vec!["--signing-alg".into(), alg.into()], ..Default::default() });
        let token = access_token(&server, &fixture).await;
        let (header, _) = jwt_parts(&token);
        assert_eq!(header["alg"], alg);
        assert!(is_active(&server, &fixture, &token).await);
        let jwks: Value = http().get(server.url("/oauth2/jwks")).send().await.unwrap().json().await.unwrap();
        assert!(jwks["keys"].as_array().unwrap().iter().any(|k| k["kid"] == header["kid"] && k["alg"] == alg));
    }
}

#[tokio::test]
async fn a15_public_client_and_client_without_the_grant() {
    let (server, fixture) = start();
    let public = add_client(&server, &fixture, "spa", PUBLIC_SPA).0;
    assert!(public.get("client_secret").is_none());
    let response =
        post_form(&server, "/oauth2/token", &[("grant_type", "client_credentials"), ("client_id", public["client_id"].as_str().unwrap())])
            .await;
    assert_oauth_error(response, 401, "invalid_client").await;
    let code_only = add_client(&server, &fixture, "web", &["--grant", "authorization_code", "--redirect-uri", "https://app.example/cb"]).1;
    let response =
        post_basic(&server, "/oauth2/token", &code_only.client_id, &code_only.client_secret, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(response, 400, "unauthorized_client").await;
}

#[tokio::test]
async fn a16_unsupported_grant_types() {
    let (server, fixture) = start();
    for grant in ["foo", "password", "urn:ietf:params:oauth:grant-type:jwt-bearer"] {
        let response = post_basic(&server, "/oauth2/token", &fixture.client_id, &fixture.client_secret, &[("grant_type", grant)]).await;
        assert_oauth_error(response, 400, "unsupported_grant_type").await;
    }
    let missing = post_basic(&server, "/oauth2/token", &fixture.client_id, &fixture.client_secret, &[]).await;
    assert_oauth_error(missing, 400, "invalid_request").await;
}
