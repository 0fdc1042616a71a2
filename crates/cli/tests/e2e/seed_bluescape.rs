//! The Bluescape seed (`seeds/001`, "User Authentication"), step by step, against
//! `tessera serve --profile bluescape`, with our host in place of `api.apps.us.bluescape.com`
//! and `identity-api.apps.us.bluescape.com`.

use serde_json::{Value, json};

use crate::agent::*;
use crate::common::*;

const CALLBACK: &str = "https://my-bluescape-app.io/oauth/callback";
const CALLBACK_ENCODED: &str = "https%3A%2F%2Fmy-bluescape-app.io%2Foauth%2Fcallback";

fn bluescape() -> (Server, Fixture) {
    start_with(ServerOptions { serve: vec!["--profile".into(), "bluescape".into()], ..ServerOptions::default() })
}

/// "My Bluescape App": whitelisted domain and redirect URI the same (Appendix 1).
fn my_app(server: &Server, fixture: &Fixture, grants: &[&str], extra: &[&str]) -> Fixture {
    let mut flags = vec!["--redirect-uri", CALLBACK, "--allowed-origin", "https://my-bluescape-app.io", "--scope", "read"];
    for grant in grants {
        flags.extend(["--grant", grant]);
    }
    flags.extend_from_slice(extra);
    add_client(server, fixture, "My Bluescape App", &flags).1
}

/// Steps 1–3 of the browser flow: `/authorize?…`, the login page, the Allow button. Returns
/// the URL the browser is sent back to.
async fn authorize_in_browser(agent: &mut Agent<'_>, fixture: &Fixture, query: &str) -> String {
    let first = agent.get(&format!("/authorize?{query}")).await;
    assert_eq!(first.status(), 302, "not signed in: to the login page");
    assert!(location(&first).starts_with("/login"), "{}", location(&first));
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let response = agent.get(&format!("/authorize?{query}")).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("Allow"), "{page}");
    let response = agent.submit("/oauth2/authorize/decision", &page, &["csrf_token", "request"], &[("decision", "allow")]).await;
    assert_eq!(response.status(), 303);
    location(&response)
}

/// The seed's curl lines: `POST /api/v1/oauth2/token` with a JSON body.
async fn token_json(server: &Server, body: Value) -> reqwest::Response {
    http().post(server.url("/api/v1/oauth2/token")).header("content-type", "application/json").json(&body).send().await.unwrap()
}

async fn session_user(server: &Server, token: &str) -> reqwest::Response {
    http().get(server.url("/session/user")).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn step_2_1_access_token_generated_manually_arrives_in_the_fragment() {
    let (server, fixture) = bluescape();
    let app = my_app(&server, &fixture, &["implicit"], &[]);
    let mut agent = Agent::new(&server);
    let query = format!("response_type=token&client_id={}&redirect_uri={CALLBACK_ENCODED}", app.client_id);
    let url = authorize_in_browser(&mut agent, &fixture, &query).await;
    // <redirect_uri>#access_token=<access_token>&token_type=Bearer
    assert!(url.starts_with(&format!("{CALLBACK}#access_token=")), "{url}");
    let params = response_params(&url);
    assert_eq!(params["token_type"], "Bearer");
    let (_, claims) = jwt_parts(&params["access_token"]);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 14 * 86_400, "access tokens expire after 2 weeks");
    assert_eq!(claims["sub"], fixture.owner_id.as_str(), "the token acts for the authorizing user");
    // Step 4: "Using the Access Token".
    let response = session_user(&server, &params["access_token"]).await;
    assert_eq!(response.status(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["email"], fixture.owner_email.as_str());
}

#[tokio::test]
async fn full_example_an_authorization_url_without_response_type_gets_a_token() {
    let (server, fixture) = bluescape();
    let app = my_app(&server, &fixture, &["implicit"], &[]);
    let mut agent = Agent::new(&server);
    let url = authorize_in_browser(&mut agent, &fixture, &format!("client_id={}&redirect_uri={CALLBACK_ENCODED}", app.client_id)).await;
    assert!(url.starts_with(&format!("{CALLBACK}#access_token=")), "{url}");
}

#[tokio::test]
async fn step_2_2_access_code_then_tokens_then_refresh_with_json_bodies() {
    let (server, fixture) = bluescape();
    let app = my_app(&server, &fixture, &["authorization_code", "refresh_token"], &[]);
    let mut agent = Agent::new(&server);
    // 2.2.1 Generate Access Code.
    let query = format!("response_type=code&client_id={}&redirect_uri={CALLBACK_ENCODED}", app.client_id);
    let url = authorize_in_browser(&mut agent, &fixture, &query).await;
    assert!(url.starts_with(&format!("{CALLBACK}?code=")), "{url}");
    let code = response_params(&url)["code"].clone();

    // 2.2.2 Generate Access Token and first Refresh Token using Access Code.
    let response = token_json(
        &server,
        json!({ "grant_type": "authorization_code", "code": code, "client_id": app.client_id, "client_secret": app.client_secret, "redirect_uri": CALLBACK }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let first: Value = response.json().await.unwrap();
    for key in ["access_token", "refresh_token", "expires_at", "token_type"] {
        assert!(!first[key].is_null(), "{key} missing in {first}");
    }
    assert_eq!(first["token_type"], "Bearer");
    let (_, claims) = jwt_parts(first["access_token"].as_str().unwrap());
    assert_eq!(first["expires_at"], claims["exp"], "expires_at is the access token's expiry, in epoch seconds");
    assert_eq!(session_user(&server, first["access_token"].as_str().unwrap()).await.status(), 200);

    // "As the Refresh Tokens do not expire"
    let refresh_info = introspect(&server, &fixture, first["refresh_token"].as_str().unwrap()).await;
    assert_eq!((refresh_info["active"].as_bool(), refresh_info.get("exp")), (Some(true), None), "{refresh_info}");

    // 2.2.3 Generate Access Token using Refresh Token (redirect_uri comes along, as in the seed).
    let response = token_json(
        &server,
        json!({ "grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": app.client_id, "client_secret": app.client_secret, "redirect_uri": CALLBACK }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"], "a new refresh token to use the next time");
    assert!(second["expires_at"].as_i64().unwrap() >= first["expires_at"].as_i64().unwrap());
    // "Use the newest available Refresh Token": the previous one is spent (and using it again
    // ends the family).
    let reused = token_json(
        &server,
        json!({ "grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": app.client_id, "client_secret": app.client_secret }),
    )
    .await;
    assert_oauth_error(reused, 400, "invalid_grant").await;
}

#[tokio::test]
async fn troubleshooting_405_until_an_org_admin_whitelists_the_application() {
    let (server, fixture) = bluescape();
    let app = my_app(&server, &fixture, &["authorization_code", "refresh_token"], &["--requires-org-approval"]);
    let admin = "admin@acme.test";
    add_user(&server, &fixture, admin, "admin", "admin pw 1 long", &[]);

    // An ordinary authorization: the code exchange answers 405 Not Allowed.
    let mut agent = Agent::new(&server);
    let query = format!("response_type=code&client_id={}&redirect_uri={CALLBACK_ENCODED}", app.client_id);
    let code = response_params(&authorize_in_browser(&mut agent, &fixture, &query).await)["code"].clone();
    let body = json!({ "grant_type": "authorization_code", "code": code, "client_id": app.client_id, "client_secret": app.client_secret, "redirect_uri": CALLBACK });
    let response = token_json(&server, body).await;
    assert_eq!(response.headers()["allow"], "POST");
    assert_oauth_error(response, 405, "unauthorized_client").await;

    // Appendix 3: an ADMIN of the organization opens
    // /authorize?response_type=code&client_id=…&redirect_uri=…&org_id=N&scope=org, logs in,
    // authorizes the application, and gets back an Access Code.
    let mut admin_agent = Agent::new(&server);
    assert_eq!(admin_agent.login(admin, "admin pw 1 long").await.status(), 303);
    let query =
        format!("response_type=code&client_id={}&redirect_uri={CALLBACK_ENCODED}&org_id={}&scope=org", app.client_id, fixture.org_id);
    let page = admin_agent.get(&format!("/authorize?{query}")).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("Approve") && page.contains("read"), "{page}");
    let response = admin_agent.submit("/oauth2/authorize/approve", &page, &["csrf_token", "request"], &[]).await;
    assert_eq!(response.status(), 303);
    let url = location(&response);
    let params = response_params(&url);
    assert!(url.starts_with(&format!("{CALLBACK}?code=")), "{url}");
    // "You will get back an Access Code you can use to generate the Access Token and Refresh Token."
    let body = json!({ "grant_type": "authorization_code", "code": params["code"], "client_id": app.client_id, "client_secret": app.client_secret, "redirect_uri": CALLBACK });
    let response = token_json(&server, body).await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    assert!(tokens["refresh_token"].is_string(), "{tokens}");

    // Now whitelisted: the owner's next authorization works too.
    let url = agent.authorize(&format!("response_type=code&client_id={}&redirect_uri={CALLBACK_ENCODED}", app.client_id), "allow").await;
    let code = response_params(&url)["code"].clone();
    let body = json!({ "grant_type": "authorization_code", "code": code, "client_id": app.client_id, "client_secret": app.client_secret, "redirect_uri": CALLBACK });
    assert_eq!(token_json(&server, body).await.status(), 200);
    // A member may not whitelist.
    let member = "member@acme.test";
    add_user(&server, &fixture, member, "member", "member pw 1 long", &[]);
    let mut member_agent = Agent::new(&server);
    assert_eq!(member_agent.login(member, "member pw 1 long").await.status(), 303);
    let query =
        format!("response_type=code&client_id={}&redirect_uri={CALLBACK_ENCODED}&org_id={}&scope=org", app.client_id, fixture.org_id);
    let refused = member_agent.get(&format!("/authorize?{query}")).await;
    assert_eq!(response_params(&location(&refused))["error"], "access_denied");
}

#[tokio::test]
async fn troubleshooting_401_once_the_access_token_has_expired() {
    let (server, fixture) = bluescape();
    let app = my_app(&server, &fixture, &["implicit"], &[]);
    let mut agent = Agent::new(&server);
    let query = format!("response_type=token&client_id={}&redirect_uri={CALLBACK_ENCODED}", app.client_id);
    let token = response_params(&authorize_in_browser(&mut agent, &fixture, &query).await)["access_token"].clone();
    // The same token two weeks and two minutes on, signed with the server's own key.
    let (header, mut claims) = jwt_parts(&token);
    let iat = claims["iat"].as_i64().unwrap();
    (claims["iat"], claims["exp"]) = (json!(iat - 14 * 86_400 - 120), json!(iat - 120));
    let forge = tessera_testkit::forge::Forge::current(&server.cli).await.unwrap();
    let expired = forge.sign(&header, &claims).unwrap();
    let response = session_user(&server, &expired).await;
    assert_eq!(response.status(), 401, "401 Unauthorized");
    assert_eq!(session_user(&server, &token).await.status(), 200);
}

#[tokio::test]
async fn appendix_1_and_2_regenerate_voids_the_previous_secret() {
    let (server, fixture) = bluescape();
    let app = my_app(&server, &fixture, &["authorization_code", "refresh_token"], &[]);
    let regenerated = server.cli.json(&["client", "regenerate-secret", &app.client_id]).unwrap();
    let body = |secret: &str| json!({ "grant_type": "refresh_token", "refresh_token": "x".repeat(43), "client_id": app.client_id, "client_secret": secret });
    assert_oauth_error(token_json(&server, body(&app.client_secret)).await, 401, "invalid_client").await;
    let response = token_json(&server, body(regenerated["client_secret"].as_str().unwrap())).await;
    assert_oauth_error(response, 400, "invalid_grant").await;
}
