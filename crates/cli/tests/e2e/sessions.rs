//! Browser sessions, login, logout, CSRF, framing and the implicit flow
//! (SECURITY.md §10–§11, R11, R13, A17, S04).

use crate::agent::*;
use crate::common::*;

#[tokio::test]
async fn r13_b08_login_redirects_with_303_and_always_makes_a_new_session_id() {
    let (server, fixture) = start();
    let mut agent = Agent::new(&server);
    // A session id planted by an attacker before login is not adopted.
    agent.cookies.insert("tessera_session".into(), "planted-by-attacker".into());
    let response = agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    assert_eq!(response.status(), 303, "never 307/308: the password is not re-posted");
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("tessera_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let first = agent.cookies["tessera_session"].clone();
    assert_ne!(first, "planted-by-attacker");
    // Logging in again replaces the id and kills the old one.
    agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let second = agent.cookies["tessera_session"].clone();
    assert_ne!(first, second);
    let mut old = Agent::new(&server);
    old.cookies.insert("tessera_session".into(), first);
    assert_eq!(old.get("/settings/api-clients").await.status(), 302, "the pre-login id is dead");
}

#[tokio::test]
async fn b01_b03_wrong_passwords_lock_the_account_and_unknown_emails_look_the_same() {
    let (server, fixture) = start();
    let mut agent = Agent::new(&server);
    let unknown = agent.login("nobody@nowhere.test", "whatever password").await;
    assert_eq!(unknown.status(), 401);
    let unknown_page = unknown.text().await.unwrap();
    let wrong = agent.login(&fixture.owner_email, "wrong password").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.unwrap().contains("Wrong email or password."));
    assert!(unknown_page.contains("Wrong email or password."));
    for _ in 0..3 {
        assert_eq!(agent.login(&fixture.owner_email, "wrong password").await.status(), 401);
    }
    // The fifth consecutive failure locks the account: even the right password is refused
    // until the lock ends.
    assert_eq!(agent.login(&fixture.owner_email, "wrong password").await.status(), 401);
    let locked = agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    assert_eq!(locked.status(), 429);
    let retry_after: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 0 && retry_after <= 900);
    let audit = server.cli.json(&["audit", "list"]).unwrap().to_string();
    assert!(audit.contains("login_failed") && audit.contains("login_locked"), "{audit}");
    assert!(!audit.contains("wrong password"), "no password in the audit log");
}

#[tokio::test]
async fn b01_lock_ends_after_the_configured_window() {
    let options = ServerOptions { serve: vec!["--login-lock-seconds".into(), "2".into()], ..ServerOptions::default() };
    let (server, fixture) = start_with(options);
    let mut agent = Agent::new(&server);
    for _ in 0..5 {
        agent.login(&fixture.owner_email, "wrong password").await;
    }
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 429);
    server.advance_clock(3).unwrap();
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
}

#[tokio::test]
async fn b05_consent_needs_the_sessions_csrf_token_and_our_origin() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let page = agent.get(&format!("/oauth2/authorize?{}", code_query(&client, "&scope=read"))).await.text().await.unwrap();
    let request = hidden(&page, "request");
    let csrf = hidden(&page, "csrf_token");
    let mut other = Agent::new(&server);
    other.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let other_page = other.get(&format!("/oauth2/authorize?{}", code_query(&client, "&scope=read"))).await.text().await.unwrap();
    let other_csrf = hidden(&other_page, "csrf_token");
    for token in ["", other_csrf.as_str()] {
        let response =
            agent.post("/oauth2/authorize/decision", &[("csrf_token", token), ("request", &request), ("decision", "allow")]).await;
        assert_eq!(response.status(), 403);
        assert!(response.headers().get("location").is_none());
    }
    agent.origin = Some("https://evil.example".into());
    let response = agent.post("/oauth2/authorize/decision", &[("csrf_token", &csrf), ("request", &request), ("decision", "allow")]).await;
    assert_eq!(response.status(), 403);
    // Nothing was remembered: the consent page shows again.
    agent.origin = Some(server.url("").trim_end_matches('/').to_owned());
    let again = agent.get(&format!("/oauth2/authorize?{}", code_query(&client, "&scope=read"))).await;
    assert_eq!(again.status(), 200);
    // The login form is protected the same way: its token is bound to the pre-login cookie
    // the form was served with, and the post must come from our origin.
    let mut fresh = Agent::new(&server);
    let login_page = fresh.get("/login").await.text().await.unwrap();
    let credentials = [("email", fixture.owner_email.as_str()), ("password", OWNER_PASSWORD)];
    let response = fresh.submit("/login", &login_page, &[], &[credentials[0], credentials[1], ("csrf_token", &other_csrf)]).await;
    assert_eq!(response.status(), 403, "another browser's token");
    fresh.origin = Some("https://evil.example".into());
    assert_eq!(fresh.submit("/login", &login_page, &["csrf_token"], &credentials).await.status(), 403, "a foreign origin");
    fresh.origin = agent.origin.clone();
    assert_eq!(fresh.submit("/login", &login_page, &["csrf_token"], &credentials).await.status(), 303, "the form as served works");
}

#[tokio::test]
async fn b07_pages_refuse_to_be_framed() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    let login = agent.get("/login").await;
    agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let consent = agent.get(&format!("/oauth2/authorize?{}", code_query(&client, "&scope=read"))).await;
    assert_eq!(consent.status(), 200);
    let portal = agent.get("/settings/api-clients").await;
    for response in [login, consent, portal] {
        let headers = response.headers();
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        assert_eq!(headers["cache-control"], "no-store");
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    }
}

#[tokio::test]
async fn b10_r11_logout_ends_the_session_and_redirects_only_where_registered() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let code = agent.authorize(&code_query(&client, "&scope=openid+read"), "allow").await;
    let tokens = redeem_ok(&server, &client, &response_params(&code)["code"]).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let old_cookie = agent.cookies["tessera_session"].clone();

    // R11: an unregistered post-logout URI ends on the signed-out page.
    let query = serde_urlencoded::to_string([("id_token_hint", id_token), ("post_logout_redirect_uri", "https://evil.example/")]).unwrap();
    let page = agent.get(&format!("/oauth2/logout?{query}")).await.text().await.unwrap();
    assert!(page.contains("Log out"), "the confirmation button says Log out");
    let response = agent.submit("/logout", &page, &["csrf_token", "post_logout_redirect_uri", "id_token_hint"], &[]).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("signed out"));

    // B10: the old cookie is dead server-side; prompt=none now says login_required.
    let mut replay = Agent::new(&server);
    replay.cookies.insert("tessera_session".into(), old_cookie);
    let response = replay.get(&format!("/oauth2/authorize?{}", code_query(&client, "&scope=read"))).await;
    assert!(location(&response).starts_with("/login"), "login page again");
    let url = replay.authorize(&code_query(&client, "&scope=read&prompt=none"), "allow").await;
    assert_eq!(response_params(&url)["error"], "login_required");

    // A registered URI is followed, with state.
    agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let query = serde_urlencoded::to_string([
        ("client_id", client.client_id.as_str()),
        ("post_logout_redirect_uri", "https://app.example/cb"),
        ("state", "bye"),
    ])
    .unwrap();
    let page = agent.get(&format!("/oauth2/logout?{query}")).await.text().await.unwrap();
    let response = agent.submit("/logout", &page, &["csrf_token", "client_id", "post_logout_redirect_uri", "state"], &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "https://app.example/cb?state=bye");
}

#[tokio::test]
async fn prompt_login_max_age_and_consent_required() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let url = agent.authorize(&code_query(&client, "&scope=read&prompt=none"), "allow").await;
    assert_eq!(response_params(&url)["error"], "consent_required");
    agent.authorize(&code_query(&client, "&scope=read"), "allow").await;
    let url = agent.authorize(&code_query(&client, "&scope=read&prompt=none"), "allow").await;
    assert!(response_params(&url).contains_key("code"), "signed in and consented: no interaction needed");
    // prompt=login sends the user to the login page, which returns without prompt=login.
    let response = agent.get(&format!("/oauth2/authorize?{}", code_query(&client, "&scope=read&prompt=login"))).await;
    let login_url = location(&response);
    assert!(login_url.starts_with("/login?return_to="), "{login_url}");
    let return_to = response_params(&login_url)["return_to"].clone();
    assert!(!return_to.contains("prompt"), "{return_to}");
    // max_age=0 a second later: login again.
    server.advance_clock(1).unwrap();
    let response = agent.get(&format!("/oauth2/authorize?{}", code_query(&client, "&scope=read&max_age=0"))).await;
    assert!(location(&response).starts_with("/login"));
}

#[tokio::test]
async fn a17_s04_implicit_flow_only_when_registered_and_never_a_refresh_token() {
    let (server, fixture) = start();
    let (_, spa) =
        add_client(&server, &fixture, "legacy", &["--grant", "implicit", "--redirect-uri", "https://app.example/cb", "--scope", "read"]);
    let mut agent = Agent::new(&server);
    agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let base = format!("client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=st", spa.client_id);
    let url = agent.authorize(&format!("response_type=token&{base}&scope=read"), "allow").await;
    assert!(url.starts_with("https://app.example/cb#"), "token in the fragment: {url}");
    let params = response_params(&url);
    assert_eq!((params["token_type"].as_str(), params["state"].as_str()), ("Bearer", "st"));
    assert!(!params.contains_key("refresh_token"));
    assert!(is_active(&server, &fixture, &params["access_token"]).await);
    // S04: id_token token needs a nonce; with one it carries an ID token.
    let url = agent.authorize(&format!("response_type=id_token+token&{base}&scope=openid+read"), "allow").await;
    assert_eq!(response_params(&url)["error"], "invalid_request");
    let url = agent.authorize(&format!("response_type=id_token+token&{base}&scope=openid+read&nonce=abc"), "allow").await;
    let params = response_params(&url);
    let (_, id) = jwt_parts(&params["id_token"]);
    assert_eq!(id["nonce"], "abc");
    // The code flow is not open to this client.
    let url = agent.authorize(&format!("response_type=code&{base}"), "allow").await;
    assert_eq!(response_params(&url)["error"], "unauthorized_client");
}

#[tokio::test]
async fn consent_can_be_withdrawn_and_its_tokens_stop() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &["--grant", "refresh_token"]);
    let mut agent = Agent::new(&server);
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    let tokens = redeem_ok(&server, &client, &code).await;
    let page = agent.get("/settings/connected-apps").await.text().await.unwrap();
    assert!(page.contains("Web App"), "{page}");
    assert_eq!(agent.submit("/settings/connected-apps/revoke", &page, &["csrf_token", "client_id"], &[]).await.status(), 303);
    assert!(!is_active(&server, &client, tokens["access_token"].as_str().unwrap()).await);
    assert_oauth_error(refresh(&server, &client, tokens["refresh_token"].as_str().unwrap(), &[]).await, 400, "invalid_grant").await;
    assert_eq!(agent.get(&format!("/oauth2/authorize?{}", code_query(&client, "&scope=read"))).await.status(), 200, "asked again");
}

#[tokio::test]
async fn b09_behind_https_the_session_cookie_is_host_prefixed_and_secure() {
    // Plain HTTP on loopback stands in for the TLS-terminating proxy; the public issuer is
    // https, which is what decides the cookie's form. (Native TLS is the hardening issue's.)
    let issuer = "https://id.example.test";
    let options = ServerOptions { serve: vec!["--issuer".into(), issuer.into()], ..ServerOptions::default() };
    let (server, fixture) = start_with(options);
    let mut agent = Agent::new(&server);
    agent.origin = Some(issuer.into());
    let page = agent.get("/login").await;
    let pre_login = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(pre_login.starts_with("__Host-tessera_csrf=") && pre_login.contains("; Secure"), "{pre_login}");
    let csrf = hidden(&page.text().await.unwrap(), "csrf_token");
    let response = agent
        .post("/login", &[("email", &fixture.owner_email), ("password", OWNER_PASSWORD), ("csrf_token", &csrf), ("return_to", "/")])
        .await;
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-tessera_session="), "{cookie}");
    for attribute in ["; Secure", "; HttpOnly", "; SameSite=Lax", "; Path=/", "; Max-Age=86400"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Domain="), "__Host- cookies carry no Domain");
    assert_eq!(agent.get("/settings/api-clients").await.status(), 200, "the __Host- cookie signs the browser in");
}
