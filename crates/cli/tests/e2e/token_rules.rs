//! Rules that must hold on every path that issues or honours a token, not only on the main one
//! (the second outside review): organization approval on the implicit answer and on token
//! exchange, and registration access tokens that die with a secret rotation and while the client
//! is OFF. Each test reproduces the reported finding.

use serde_json::{Value, json};

use crate::agent::*;
use crate::common::*;

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Finding 1: a client that needs organization approval got `#access_token=…` from the implicit
/// flow for a user of an organization that never approved it.
#[tokio::test]
async fn the_implicit_answer_needs_the_organizations_approval() {
    let (server, vendor) = start();
    let customer = Fixture::create(&server.cli).unwrap();
    let flags = ["--grant", "implicit", "--redirect-uri", "https://app.example/cb", "--scope", "openid", "--requires-org-approval"];
    let app = add_client(&server, &vendor, "implicit app", &flags).1;
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&customer.owner_email, OWNER_PASSWORD).await.status(), 303);
    let query = format!("response_type=token&client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s&scope=openid", app.client_id);
    let url = agent.authorize(&query, "allow").await;
    let answer = response_params(&url);
    assert!(!answer.contains_key("access_token"), "no token without the approval: {url}");
    assert_eq!(answer["error"], "unauthorized_client", "{url}");

    // Once the customer organization approves it, the implicit answer carries a token.
    server.cli.json(&["client", "approve", &app.client_id, "--org", &customer.org_name]).unwrap();
    let url = agent.authorize(&query, "allow").await;
    assert!(response_params(&url).contains_key("access_token"), "{url}");
}

/// Finding 2: a client with `token_exchange` that needs organization approval, never approved,
/// exchanged a member's token for one acting as that member.
#[tokio::test]
async fn token_exchange_needs_the_organizations_approval() {
    let (server, fixture) = start();
    let flags = ["--grant", "token_exchange", "--scope", "read", "--requires-org-approval"];
    let service = add_client(&server, &fixture, "exchanger", &flags).1;
    let app = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    let code =
        owner_code(&mut agent, &fixture, &app, &format!("&scope=read&code_challenge={}&code_challenge_method=S256", challenge(VERIFIER)))
            .await;
    let tokens = redeem_ok_with(&server, &app, &code).await;
    let subject = tokens["access_token"].as_str().unwrap();
    let form = [("grant_type", EXCHANGE), ("subject_token", subject), ("subject_token_type", ACCESS_TOKEN)];
    let refused = post_basic(&server, "/oauth2/token", &service.client_id, &service.client_secret, &form).await;
    assert_oauth_error(refused, 400, "unauthorized_client").await;

    server.cli.json(&["client", "approve", &service.client_id, "--org", &fixture.org_name]).unwrap();
    let exchanged = post_basic(&server, "/oauth2/token", &service.client_id, &service.client_secret, &form).await;
    assert_eq!(exchanged.status(), 200);
}

/// Redeems a code that was asked for with PKCE over [`VERIFIER`].
async fn redeem_ok_with(server: &Server, client: &Fixture, code: &str) -> Value {
    let response = redeem(server, client, code, &[("code_verifier", VERIFIER)]).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    response.json().await.unwrap()
}

/// Finding 3: after `client regenerate-secret` the old registration access token still read the
/// registration, new secret included; after `client disable` it still read and updated it.
#[tokio::test]
async fn a_registration_access_token_dies_with_the_secret_and_sleeps_while_the_client_is_off() {
    let (server, fixture) =
        start_with(ServerOptions { serve: vec!["--registration-endpoint".into(), "true".into()], ..ServerOptions::default() });
    let made =
        server.cli.json(&["client", "registration-token", "create", "--org", &fixture.org_name, "--owner", &fixture.owner_email]).unwrap();
    let initial = made["initial_access_token"].as_str().unwrap();
    let body = json!({ "client_name": "Robot", "grant_types": ["client_credentials"], "scope": "read" });
    let registered: Value =
        http().post(server.url("/oauth2/register")).bearer_auth(initial).json(&body).send().await.unwrap().json().await.unwrap();
    let (id, token) = (registered["client_id"].as_str().unwrap(), registered["registration_access_token"].as_str().unwrap());
    let uri = server.url(&format!("/oauth2/register/{id}"));
    let read = || async { http().get(&uri).bearer_auth(token).send().await.unwrap() };
    assert_eq!(read().await.status(), 200);

    // OFF: the registration cannot be read or changed with it; ON again: it can.
    server.cli.json(&["client", "disable", id]).unwrap();
    assert_eq!(read().await.status(), 401);
    let update = json!({ "client_id": id, "client_name": "Robot 2", "grant_types": ["client_credentials"] });
    assert_eq!(http().put(&uri).bearer_auth(token).json(&update).send().await.unwrap().status(), 401);
    server.cli.json(&["client", "enable", id]).unwrap();
    assert_eq!(read().await.status(), 200);

    // A new secret retires the token: the new secret is never shown to the old token's holder.
    let rotated = server.cli.json(&["client", "regenerate-secret", id]).unwrap();
    let new_secret = rotated["client_secret"].as_str().unwrap();
    let response = read().await;
    assert_eq!(response.status(), 401);
    assert!(!response.text().await.unwrap().contains(new_secret));
}
