//! Refresh tokens: rotation, reuse detection, scope narrowing, lifetimes, org approval and the
//! race on one token (SECURITY.md §6).

use serde_json::Value;

use crate::agent::*;
use crate::common::*;

/// A web client with the refresh grant, and the owner's first token response for it.
async fn first_tokens(server: &Server, fixture: &Fixture, extra: &[&str], scope: &str) -> (Fixture, Value) {
    let mut flags = vec!["--grant", "refresh_token"];
    flags.extend_from_slice(extra);
    let client = web_client(server, fixture, &flags);
    let mut agent = Agent::new(server);
    let code = owner_code(&mut agent, fixture, &client, &format!("&scope={scope}")).await;
    (client.clone(), redeem_ok(server, &client, &code).await)
}

fn field<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name].as_str().unwrap_or_else(|| panic!("no {name} in {value}"))
}

#[tokio::test]
async fn rotation_and_f01_reuse_revokes_the_family() {
    let (server, fixture) = start();
    let (client, first) = first_tokens(&server, &fixture, &[], "read+write").await;
    let rt1 = field(&first, "refresh_token");
    let response = refresh(&server, &client, rt1, &[]).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let second: Value = response.json().await.unwrap();
    let rt2 = field(&second, "refresh_token");
    assert_ne!(rt1, rt2, "rotated");
    let access2 = field(&second, "access_token");
    assert!(is_active(&server, &client, access2).await);
    let introspected = introspect(&server, &client, rt2).await;
    assert_eq!((introspected["active"].as_bool(), introspected["token_type"].as_str()), (Some(true), Some("refresh_token")));
    assert!(introspected["exp"].as_i64().is_some(), "a refresh token's exp is the family's expiry");
    // RT1 again: refused, and RT2 with its access tokens stop working (F01, F10).
    assert_oauth_error(refresh(&server, &client, rt1, &[]).await, 400, "invalid_grant").await;
    assert_oauth_error(refresh(&server, &client, rt2, &[]).await, 400, "invalid_grant").await;
    assert!(!is_active(&server, &client, access2).await);
    assert!(!is_active(&server, &client, field(&first, "access_token")).await);
    assert_eq!(introspect(&server, &client, rt2).await["active"], false);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_have_exactly_one_winner() {
    let (server, fixture) = start();
    let (client, first) = first_tokens(&server, &fixture, &[], "read").await;
    let rt = field(&first, "refresh_token");
    let (a, b) = tokio::join!(refresh(&server, &client, rt, &[]), refresh(&server, &client, rt, &[]));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400], "exactly one winner");
}

#[tokio::test]
async fn f02_f03_f04_f06_f07_scope_and_ownership_rules() {
    let (server, fixture) = start();
    let (client, first) = first_tokens(&server, &fixture, &[], "read+write").await;
    let other = web_client(&server, &fixture, &["--grant", "refresh_token"]);
    let rt = field(&first, "refresh_token");
    // F02: another client's token, refused without harming it; audited.
    assert_oauth_error(refresh(&server, &other, rt, &[]).await, 400, "invalid_grant").await;
    let audit = server.cli.json(&["audit", "list", "--org", &fixture.org_name]).unwrap();
    assert!(audit.to_string().contains("refresh_token_misused"), "{audit}");
    // F03: wider than the grant.
    assert_oauth_error(refresh(&server, &client, rt, &[("scope", "read admin")]).await, 400, "invalid_scope").await;
    // F04: narrower: the access token narrows, the refresh token keeps the grant.
    let narrowed: Value = refresh(&server, &client, rt, &[("scope", "read")]).await.json().await.unwrap();
    assert_eq!(narrowed["scope"], "read");
    let wide: Value = refresh(&server, &client, field(&narrowed, "refresh_token"), &[]).await.json().await.unwrap();
    assert_eq!(wide["scope"], "read write");
    // F06: an access token is not a refresh token; F07: a refresh token is not a bearer token.
    assert_oauth_error(refresh(&server, &client, field(&wide, "access_token"), &[]).await, 400, "invalid_grant").await;
    let response = userinfo(&server, field(&wide, "refresh_token")).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
}

#[tokio::test]
async fn f05_family_lifetime_counts_from_the_grant() {
    let options = ServerOptions { serve: vec!["--refresh-token-ttl".into(), "3".into()], ..ServerOptions::default() };
    let (server, fixture) = start_with(options);
    let (client, first) = first_tokens(&server, &fixture, &[], "read").await;
    let second: Value = refresh(&server, &client, field(&first, "refresh_token"), &[]).await.json().await.unwrap();
    server.advance_clock(4).unwrap();
    assert_oauth_error(refresh(&server, &client, field(&second, "refresh_token"), &[]).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn f08_disabled_user_cannot_refresh_and_loses_sessions() {
    let (server, fixture) = start();
    let (client, first) = first_tokens(&server, &fixture, &[], "read").await;
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    assert_eq!(agent.get("/settings/api-clients").await.status(), 200);
    fixture.add_co_owner(&server.cli).unwrap();
    server.cli.json(&["user", "disable", &fixture.owner_email]).unwrap();
    assert_oauth_error(refresh(&server, &client, field(&first, "refresh_token"), &[]).await, 400, "invalid_grant").await;
    assert_eq!(agent.get("/settings/api-clients").await.status(), 302, "the browser session ended too");
}

#[tokio::test]
async fn offline_access_alone_yields_a_refresh_token_and_implicit_never_does() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read+offline_access").await;
    let tokens = redeem_ok(&server, &client, &code).await;
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    assert_eq!(refresh(&server, &client, field(&tokens, "refresh_token"), &[]).await.status(), 200);
}

#[tokio::test]
async fn f09_org_approval_gates_user_tokens_until_an_admin_approves() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &["--grant", "refresh_token", "--requires-org-approval"]);
    let mut agent = Agent::new(&server);
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    assert_oauth_error(redeem(&server, &client, &code, &[]).await, 400, "unauthorized_client").await;

    // The owner approves through the browser: scope=org&org_id=N, Approve.
    let query = format!(
        "response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=org&org_id={}&state=s&code_challenge={}&code_challenge_method=S256",
        client.client_id,
        fixture.org_id,
        challenge(VERIFIER)
    );
    let page = agent.get(&format!("/oauth2/authorize?{query}")).await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("Approve"), "{page}");
    let response = agent.submit("/oauth2/authorize/approve", &page, &["csrf_token", "request"], &[]).await;
    assert_eq!(response.status(), 303);
    let params = response_params(&location(&response));
    // The approving owner also authorized the client: a code comes back (the Bluescape seed).
    assert_eq!(params["state"], "s");
    let tokens = redeem_ok(&server, &client, &params["code"]).await;
    assert!(tokens["refresh_token"].is_string(), "{tokens}");

    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    let tokens = redeem_ok(&server, &client, &code).await;
    let audit = server.cli.json(&["audit", "list", "--org", &fixture.org_name]).unwrap();
    assert!(audit.to_string().contains("org_approved"), "{audit}");

    // Withdrawn: the family ends and new grants are refused again.
    server.cli.json(&["client", "unapprove", &client.client_id, "--org", &fixture.org_name]).unwrap();
    assert_oauth_error(refresh(&server, &client, field(&tokens, "refresh_token"), &[]).await, 400, "invalid_grant").await;
    // And the CLI approves, too.
    server.cli.json(&["client", "approve", &client.client_id, "--org", &fixture.org_name]).unwrap();
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    redeem_ok(&server, &client, &code).await;
}

#[tokio::test]
async fn v02_revoking_a_refresh_token_ends_its_authorization() {
    let (server, fixture) = start();
    let (client, first) = first_tokens(&server, &fixture, &[], "read").await;
    let response = revoke(&server, &client, field(&first, "refresh_token"), &[("token_type_hint", "refresh_token")]).await;
    assert_eq!(response.status(), 200);
    assert_oauth_error(refresh(&server, &client, field(&first, "refresh_token"), &[]).await, 400, "invalid_grant").await;
    assert!(!is_active(&server, &client, field(&first, "access_token")).await);
}

#[tokio::test]
async fn q07_a_demoted_owner_loses_the_restricted_scope_at_once_and_in_every_new_token() {
    let (server, fixture) = start();
    let (client, first) = first_tokens(&server, &fixture, &["--scope", "admin"], "read+admin").await;
    let user_token = field(&first, "access_token").to_owned();
    assert_eq!(jwt_parts(&user_token).1["scope"], "admin read");
    let script_token = access_token(&server, &fixture).await;
    assert!(jwt_parts(&script_token).1["scope"].as_str().unwrap().contains("admin"), "the script client runs as the owner");
    assert!(is_active(&server, &fixture, &user_token).await && is_active(&server, &fixture, &script_token).await);

    // The CLI demotes the owner to member (the admin pages and API do the same through one rule).
    fixture.add_co_owner(&server.cli).unwrap();
    let demoted = server.cli.json(&["user", "update", &fixture.owner_email, "--role", "member"]).unwrap();
    assert_eq!(demoted["role"], "member");

    assert!(!is_active(&server, &fixture, &user_token).await, "a token with a now-forbidden scope stops working");
    assert!(!is_active(&server, &fixture, &script_token).await, "the run-as user's client token too");
    // Tokens signed from the second after the change on work (`iat` counts whole seconds).
    wait_for_the_next_second();
    let refreshed: Value = refresh(&server, &client, field(&first, "refresh_token"), &[]).await.json().await.unwrap();
    assert_eq!(field(&refreshed, "scope"), "read", "the refresh carries only what a member may hold: {refreshed}");
    assert!(is_active(&server, &fixture, field(&refreshed, "access_token")).await);
    let fresh = token(&server, &fixture, None).await;
    assert_eq!(fresh["scope"], "read write", "a new client-credentials token: unrestricted scopes only");
}
