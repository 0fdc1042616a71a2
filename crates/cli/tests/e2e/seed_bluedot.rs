//! The Bluedot seed (`seeds/003`, "How to authenticate with Config API"), step by step, against
//! `tessera serve --profile bluedot`; and the brute-force protection of its session API.

use serde_json::{Value, json};

use crate::agent::{Agent, OWNER_PASSWORD};
use crate::common::*;

fn options(extra: &[&str]) -> ServerOptions {
    let mut serve = vec!["--profile".to_owned(), "bluedot".to_owned()];
    serve.extend(extra.iter().map(|s| (*s).to_owned()));
    ServerOptions { serve, ..ServerOptions::default() }
}

/// Step 1: "Make a POST request to the /sessions with your credentials".
async fn post_sessions(server: &Server, email: &str, password: &str) -> reqwest::Response {
    http().post(server.url("/sessions")).json(&json!({ "email": email, "password": password })).send().await.unwrap()
}

async fn new_session(server: &Server, email: &str, password: &str) -> Value {
    let response = post_sessions(server, email, password).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

fn text<'a>(body: &'a Value, key: &str) -> &'a str {
    body[key].as_str().unwrap_or_else(|| panic!("no {key} in {body}"))
}

/// Step 3: "Subsequent requests to the API can be made by passing in Bearer <accessToken>";
/// `GET /session/user` stands in for the seed's `/prod1/projects`.
async fn call_api(server: &Server, access_token: &str) -> reqwest::Response {
    http().get(server.url("/session/user")).bearer_auth(access_token).send().await.unwrap()
}

/// Asserts the session API's error shape: `{statusCode, error, message}`.
async fn assert_session_error(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["statusCode"], status, "{body}");
    assert!(body["error"].is_string() && body["message"].is_string(), "{body}");
    body
}

#[tokio::test]
async fn step_1_and_2_post_sessions_answers_201_with_the_four_fields() {
    let (server, fixture) = start_with(options(&[]));
    let response = post_sessions(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["accessToken", "idToken", "refreshToken", "statusCode"]);
    assert_eq!(body["statusCode"], 201);

    let (header, access) = jwt_parts(text(&body, "accessToken"));
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(access["sub"], fixture.owner_id.as_str());
    assert_eq!(access["org_id"], fixture.org_id.as_str());
    assert_eq!(access["client_id"], format!("session-api-{}", fixture.org_id));
    let (_, id) = jwt_parts(text(&body, "idToken"));
    assert_eq!((id["sub"].as_str(), id["email"].as_str()), (Some(fixture.owner_id.as_str()), Some(fixture.owner_email.as_str())));
}

#[tokio::test]
async fn step_3_the_access_token_is_a_bearer_token_for_the_api() {
    let (server, fixture) = start_with(options(&[]));
    let session = new_session(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let response = call_api(&server, text(&session, "accessToken")).await;
    assert_eq!(response.status(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["sub"], fixture.owner_id.as_str());
    // "requests without a valid Bearer token will fail"
    assert_eq!(http().get(server.url("/session/user")).send().await.unwrap().status(), 401);
    assert_eq!(call_api(&server, "not-a-token").await.status(), 401);
}

#[tokio::test]
async fn expiry_access_token_lives_1_hour_and_refresh_token_60_days() {
    let (server, fixture) = start_with(options(&[]));
    let session = new_session(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let (_, access) = jwt_parts(text(&session, "accessToken"));
    assert_eq!(access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(), 3600, "active for 1 hour");
    let refresh = introspect(&server, &fixture, text(&session, "refreshToken")).await;
    assert_eq!(refresh["active"], true, "{refresh}");
    assert_eq!(refresh["exp"].as_i64().unwrap() - refresh["iat"].as_i64().unwrap(), 60 * 86_400, "active for 60 days");
}

#[tokio::test]
async fn best_practice_1_an_expired_token_fails_and_reauthenticating_works() {
    let (server, fixture) = start_with(options(&[]));
    let session = new_session(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    // The same token, as it will be an hour and two minutes later: signed by the server's own key.
    let (header, mut claims) = jwt_parts(text(&session, "accessToken"));
    let now = claims["iat"].as_i64().unwrap();
    (claims["iat"], claims["exp"]) = (json!(now - 3720), json!(now - 120));
    let forge = tessera_testkit::forge::Forge::current(&server.cli).await.unwrap();
    let expired = forge.sign(&header, &claims).unwrap();
    let response = call_api(&server, &expired).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    // "catch the failure, reauthenticate to get a new access token and try again"
    let again = new_session(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    assert_eq!(call_api(&server, text(&again, "accessToken")).await.status(), 200);
}

#[tokio::test]
async fn best_practice_2_the_refresh_token_renews_and_rotates() {
    let (server, fixture) = start_with(options(&[]));
    let session = new_session(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let refresh = |token: String| {
        let server = &server;
        async move { http().post(server.url("/sessions/refresh")).json(&json!({ "refreshToken": token })).send().await.unwrap() }
    };
    let response = refresh(text(&session, "refreshToken").to_owned()).await;
    assert_eq!(response.status(), 201);
    let renewed: Value = response.json().await.unwrap();
    assert_eq!(renewed["statusCode"], 201);
    assert_ne!(renewed["refreshToken"], session["refreshToken"], "rotated");
    assert_eq!(call_api(&server, text(&renewed, "accessToken")).await.status(), 200);

    // The rotated-out token again: reuse. The whole session ends.
    assert_session_error(refresh(text(&session, "refreshToken").to_owned()).await, 401).await;
    assert_session_error(refresh(text(&renewed, "refreshToken").to_owned()).await, 401).await;
    assert_eq!(call_api(&server, text(&renewed, "accessToken")).await.status(), 401);
    assert_session_error(refresh("made-up-token-0123456789abcdefghijklmnopqrstu".into()).await, 401).await;
}

#[tokio::test]
async fn delete_sessions_ends_the_session_and_its_tokens() {
    let (server, fixture) = start_with(options(&[]));
    let session = new_session(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let other = new_session(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let response = http().delete(server.url("/sessions")).bearer_auth(text(&session, "accessToken")).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(call_api(&server, text(&session, "accessToken")).await.status(), 401);
    let refreshed =
        http().post(server.url("/sessions/refresh")).json(&json!({ "refreshToken": session["refreshToken"] })).send().await.unwrap();
    assert_session_error(refreshed, 401).await;
    assert_eq!(call_api(&server, text(&other, "accessToken")).await.status(), 200, "another session goes on");

    // Without a token, or with one that is not a session's: 401 in the session shape.
    assert_session_error(http().delete(server.url("/sessions")).send().await.unwrap(), 401).await;
    let client_token = access_token(&server, &fixture).await;
    assert_session_error(http().delete(server.url("/sessions")).bearer_auth(&client_token).send().await.unwrap(), 401).await;
    assert!(is_active(&server, &fixture, &client_token).await, "a client's token is not a session to end");
    let audit = server.cli.json(&["audit", "list", "--org", &fixture.org_name]).unwrap().to_string();
    assert!(audit.contains("session_created") && audit.contains("session_ended"), "{audit}");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_401() {
    let (server, fixture) = start_with(options(&[]));
    let wrong = assert_session_error(post_sessions(&server, &fixture.owner_email, "Secret_Password_123").await, 401).await;
    let unknown = assert_session_error(post_sessions(&server, "nobody@acme.test", "Secret_Password_123").await, 401).await;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["error"], "Unauthorized");
    // Malformed bodies: 400 in the same shape, never a 500.
    let missing = http().post(server.url("/sessions")).json(&json!({ "email": fixture.owner_email })).send().await.unwrap();
    assert_session_error(missing, 400).await;
    let not_json = http().post(server.url("/sessions")).header("content-type", "application/json").body("{").send().await.unwrap();
    assert_session_error(not_json, 400).await;
    let in_url = http().post(server.url("/sessions?password=x")).json(&json!({})).send().await.unwrap();
    assert_session_error(in_url, 400).await;
    // A service user cannot sign in.
    server.cli.json(&["user", "create", "--org", &fixture.org_name, "--email", "svc@acme.test", "--role", "member", "--service"]).unwrap();
    assert_session_error(post_sessions(&server, "svc@acme.test", "any password").await, 401).await;
}

#[tokio::test]
async fn brute_force_locks_the_account_holds_back_the_right_password_and_expires() {
    let (server, fixture) = start_with(options(&["--login-lock-seconds", "2"]));
    let member = "member@acme.test";
    add_user(&server, &fixture, member, "member", "member pw 1 long", &[]);
    for _ in 0..5 {
        assert_session_error(post_sessions(&server, &fixture.owner_email, "wrong").await, 401).await;
    }
    let locked = post_sessions(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    let retry_after: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let body = assert_session_error(locked, 429).await;
    assert_eq!(body["error"], "Too Many Requests");
    // The login page shares the counters.
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 429);
    // Another account is not affected.
    assert_eq!(post_sessions(&server, member, "member pw 1 long").await.status(), 201);
    // The lock-out ends by itself once its Retry-After has passed.
    server.advance_clock(retry_after + 1).unwrap();
    assert_eq!(post_sessions(&server, &fixture.owner_email, OWNER_PASSWORD).await.status(), 201, "the lock-out expired");
    let audit = server.cli.json(&["audit", "list", "--org", &fixture.org_name]).unwrap().to_string();
    assert!(audit.contains("login_failed") && audit.contains("login_locked"), "{audit}");
}

#[tokio::test]
async fn failures_on_the_login_page_count_for_the_session_api() {
    let (server, fixture) = start_with(options(&[]));
    let mut agent = Agent::new(&server);
    for _ in 0..5 {
        agent.login(&fixture.owner_email, "wrong").await;
    }
    assert_session_error(post_sessions(&server, &fixture.owner_email, OWNER_PASSWORD).await, 429).await;
}

#[tokio::test]
async fn the_session_api_can_be_turned_off_and_its_client_too() {
    let (server, fixture) = start_with(options(&["--session-api", "false"]));
    assert_eq!(post_sessions(&server, &fixture.owner_email, OWNER_PASSWORD).await.status(), 404);

    let (server, fixture) = start_with(options(&[]));
    new_session(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    server.cli.json(&["client", "disable", &format!("session-api-{}", fixture.org_id)]).unwrap();
    assert_session_error(post_sessions(&server, &fixture.owner_email, OWNER_PASSWORD).await, 403).await;
}

#[tokio::test]
async fn the_session_api_works_under_the_default_profile_too() {
    let (server, fixture) = start();
    let session = new_session(&server, &fixture.owner_email, OWNER_PASSWORD).await;
    assert_eq!(call_api(&server, text(&session, "accessToken")).await.status(), 200);
}
