//! Profiles (SPEC §7) in general: under each shipped profile the canonical endpoints keep
//! working and discovery lists the aliases a client should use; a bad profile stops the start
//! with an error that names the key.

use serde_json::Value;

use crate::common::*;

async fn discovery(server: &Server) -> Value {
    http().get(server.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap()
}

fn with_profile(profile: &str) -> (Server, Fixture) {
    let (server, fixture) = start_with(ServerOptions { serve: vec!["--profile".into(), profile.into()], ..ServerOptions::default() });
    let made = server.cli.json(&["client", "show", &fixture.client_id]).unwrap();
    // Only BlueConic's applications start OFF, to be turned ON when ready (its seed).
    assert_eq!(made["status"], if profile == "blueconic" { "off" } else { "on" }, "{profile}");
    server.cli.json(&["client", "enable", &fixture.client_id]).unwrap();
    (server, fixture)
}

#[tokio::test]
async fn every_profile_keeps_the_canonical_endpoints_and_publishes_its_aliases() {
    let expected = [
        ("bluecanvas", "/apis/oauth2/v1/token", "/apis/oauth2/v1/authorize", "/oauth2/revoke"),
        ("bluescape", "/api/v1/oauth2/token", "/authorize", "/oauth2/revoke"),
        ("blueconic", "/rest/v2/oauth/token", "/oauth2/authorize", "/rest/v2/oauth/revoke"),
        ("bluedot", "/oauth2/token", "/oauth2/authorize", "/oauth2/revoke"),
    ];
    for (profile, token_path, authorize_path, revoke_path) in expected {
        let (server, fixture) = with_profile(profile);
        let metadata = discovery(&server).await;
        assert_eq!(metadata["token_endpoint"], server.url(token_path), "{profile}");
        assert_eq!(metadata["authorization_endpoint"], server.url(authorize_path), "{profile}");
        assert_eq!(metadata["revocation_endpoint"], server.url(revoke_path), "{profile}");
        assert_eq!(metadata["issuer"], server.base.as_str());
        // The canonical paths still work, and so does the published one.
        for path in ["/oauth2/token", token_path] {
            let response =
                post_basic(&server, path, &fixture.client_id, &fixture.client_secret, &[("grant_type", "client_credentials")]).await;
            assert_eq!(response.status(), 200, "{profile} {path}");
        }
        let token = access_token(&server, &fixture).await;
        assert!(is_active(&server, &fixture, &token).await, "{profile}: introspection");
        assert_eq!(revoke(&server, &fixture, &token, &[]).await.status(), 200);
        assert!(!is_active(&server, &fixture, &token).await, "{profile}: canonical revocation");
        let jwks = http().get(server.url("/oauth2/jwks")).send().await.unwrap();
        assert_eq!(jwks.status(), 200);
    }
}

#[tokio::test]
async fn a_profile_file_works_like_a_built_in_one() {
    let dir = tessera_testkit::TempDir::new("profile").unwrap();
    let path = dir.path().join("mine.toml");
    std::fs::write(&path, "name = \"mine\"\n[paths]\ntoken = [\"/v2/token\", \"/v1/token\"]\n[lifetimes]\naccess_token = 120\n").unwrap();
    let (server, fixture) = with_profile(path.to_str().unwrap());
    assert_eq!(discovery(&server).await["token_endpoint"], server.url("/v2/token"));
    for path in ["/v1/token", "/v2/token"] {
        let response = post_basic(&server, path, &fixture.client_id, &fixture.client_secret, &[("grant_type", "client_credentials")]).await;
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["expires_in"], 120, "{path}");
    }
}

#[tokio::test]
async fn a_bad_profile_stops_the_start_with_the_key_named() {
    let dir = tessera_testkit::TempDir::new("profile").unwrap();
    for (text, key) in [
        ("name = \"x\"\n[paths]\ntokn = \"/t\"\n", "tokn"),
        ("name = \"x\"\n[paths]\ntoken = \"/oauth2/revoke\"\n", "paths.token"),
        ("name = \"x\"\n[statuses]\nunapproved_application = 200\n", "statuses.unapproved_application"),
    ] {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let options = ServerOptions { serve: vec!["--profile".into(), path.to_str().unwrap().into()], ..ServerOptions::default() };
        let error = Server::start_with(bin(), options).expect_err("a bad profile must stop the server");
        assert!(error.to_string().contains(key), "{key}: {error}");
    }
    let options = ServerOptions { serve: vec!["--profile".into(), "bluesky".into()], ..ServerOptions::default() };
    let error = Server::start_with(bin(), options).expect_err("an unknown profile");
    assert!(error.to_string().contains("bluescape"), "{error}");
}

#[tokio::test]
async fn the_profile_comes_from_the_environment_too() {
    let options = ServerOptions { env: vec![("TESSERA_PROFILE".into(), "blueconic".into())], ..ServerOptions::default() };
    let (server, _) = start_with(options);
    assert_eq!(discovery(&server).await["token_endpoint"], server.url("/rest/v2/oauth/token"));
}
