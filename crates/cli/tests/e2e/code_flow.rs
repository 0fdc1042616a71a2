//! The authorization-code flow over HTTP: consent, codes, PKCE, redirect-URI rules, state and
//! issuer, ID tokens and userinfo (SECURITY.md §1–§4).

use serde_json::Value;

use crate::agent::*;
use crate::common::*;

#[tokio::test]
async fn code_flow_consent_userinfo_and_second_visit_skips_consent() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    let code = owner_code(&mut agent, &fixture, &client, "&scope=openid+email+read&nonce=n-1").await;
    let tokens = redeem_ok(&server, &client, &code).await;
    assert_eq!(tokens["scope"], "email openid read");
    assert!(tokens.get("refresh_token").is_none(), "no offline_access and no refresh_token grant: no refresh token");
    let access = tokens["access_token"].as_str().unwrap();
    let (_, claims) = jwt_parts(access);
    assert_eq!(claims["sub"], fixture.owner_id.as_str());
    assert_eq!(claims["client_id"], client.client_id.as_str());
    let (header, id) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "ES256");
    assert_eq!(id["aud"], client.client_id.as_str());
    assert_eq!(id["azp"], client.client_id.as_str());
    assert_eq!(id["nonce"], "n-1", "S03");
    assert_eq!(id["sub"], fixture.owner_id.as_str());
    assert_eq!(id["iss"], claims["iss"], "S06: one issuer everywhere");
    assert!(id["auth_time"].as_i64().unwrap() <= id["iat"].as_i64().unwrap());
    assert_eq!(id["at_hash"].as_str().unwrap().len(), 22, "left half of SHA-256, base64url");

    let info = userinfo(&server, access).await;
    assert_eq!(info.headers()["cache-control"], "no-store");
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["sub"], fixture.owner_id.as_str());
    assert_eq!(info["email"], fixture.owner_email.as_str());
    let who: Value = http().get(server.url("/session/user")).bearer_auth(access).send().await.unwrap().json().await.unwrap();
    assert_eq!((who["id"].as_str(), who["role"].as_str()), (Some(fixture.owner_id.as_str()), Some("owner")));

    // Consent is remembered for this client and scope set: no page the second time.
    let response = agent.get(&format!("/oauth2/authorize?{}", code_query(&client, "&scope=openid+read"))).await;
    assert_eq!(response.status(), 302);
    assert!(response_params(&location(&response)).contains_key("code"));
    // A wider scope set asks again.
    let response = agent.get(&format!("/oauth2/authorize?{}", code_query(&client, "&scope=openid+read+write"))).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn deny_returns_access_denied_with_state_and_iss() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let url = agent.authorize(&code_query(&client, "&scope=read"), "deny").await;
    let params = response_params(&url);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], server.url("").trim_end_matches('/'));
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn r01_r02_r09_bad_client_or_redirect_uri_shows_a_page_and_never_redirects() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let id = &client.client_id;
    for query in [
        format!("response_type=code&client_id={id}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb"),
        format!("response_type=code&client_id={id}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fx%3D1"),
        format!("response_type=code&client_id={id}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%2F"),
        "response_type=code&client_id=nosuchclient&redirect_uri=https%3A%2F%2Fapp.example%2Fcb".to_owned(),
        format!("response_type=code&client_id={id}&redirect_uri=https%3A%2F%2Fapp.example%40evil%2Fcb%3Cscript%3E"),
    ] {
        let response = agent.get(&format!("/oauth2/authorize?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        assert!(response.headers().get("location").is_none(), "{query}");
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        let page = response.text().await.unwrap();
        assert!(!page.contains("<script>"), "echoes are escaped");
    }
}

#[tokio::test]
async fn r08_c08_p01_p02_p03_p04_p05_errors_after_validation_are_redirected_with_state_and_iss() {
    let (server, fixture) = start();
    let web = web_client(&server, &fixture, &[]);
    let (_, spa) = add_client(&server, &fixture, "spa", PUBLIC_SPA);
    let mut agent = Agent::new(&server);
    let issuer = server.url("").trim_end_matches('/').to_owned();
    let check = |url: String, error: &str| {
        let params = response_params(&url);
        assert_eq!(params.get("error").map(String::as_str), Some(error), "{url}");
        assert_eq!(params["iss"], issuer, "{url}");
    };
    check(
        agent.authorize(&code_query(&web, "").replace("response_type=code", "response_type=foo"), "allow").await,
        "unsupported_response_type",
    );
    // The confidential client has no implicit grant (A17) and the fixture's script client no code grant (C08).
    check(
        agent.authorize(&code_query(&web, "").replace("response_type=code", "response_type=token"), "allow").await,
        "unauthorized_client",
    );
    let spa_query = |extra: &str| format!("response_type=code&client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb{extra}", spa.client_id);
    check(agent.authorize(&spa_query(""), "allow").await, "invalid_request");
    let c = challenge(VERIFIER);
    check(agent.authorize(&spa_query(&format!("&code_challenge={c}&code_challenge_method=plain")), "allow").await, "invalid_request");
    // P03: a challenge without a method means plain.
    check(agent.authorize(&spa_query(&format!("&code_challenge={c}")), "allow").await, "invalid_request");
    // P04: an unknown method.
    check(agent.authorize(&spa_query(&format!("&code_challenge={c}&code_challenge_method=S512")), "allow").await, "invalid_request");
    // P05: the right method, but not 43 base64url characters.
    check(agent.authorize(&spa_query("&code_challenge=abc&code_challenge_method=S256"), "allow").await, "invalid_request");
    let not_base64url = format!("{}+/", &c[..41]);
    let query = spa_query(&format!(
        "&{}",
        serde_urlencoded::to_string([("code_challenge", not_base64url.as_str()), ("code_challenge_method", "S256")]).unwrap()
    ));
    check(agent.authorize(&query, "allow").await, "invalid_request");
    // prompt=none without a session (S05 on a login error, too).
    check(agent.authorize(&code_query(&web, "&prompt=none"), "allow").await, "login_required");
}

#[tokio::test]
async fn r03_r04_query_mismatches_and_near_copies_of_the_redirect_uri_are_refused() {
    let (server, fixture) = start();
    let registered = "https://app.example/cb?a=1";
    let (_, client) =
        add_client(&server, &fixture, "Exact", &["--grant", "authorization_code", "--redirect-uri", registered, "--scope", "read"]);
    let mut agent = Agent::new(&server);
    agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let query = |redirect_uri: &str| {
        format!(
            "response_type=code&client_id={}&state=s&scope=read&code_challenge={}&code_challenge_method=S256&{}",
            client.client_id,
            challenge(VERIFIER),
            serde_urlencoded::to_string([("redirect_uri", redirect_uri)]).unwrap()
        )
    };
    for near in [
        "https://app.example/cb?a=2", // R03
        "https://app.example/cb?a=1&b=2",
        "https://app.example/cb?",
        "https://app.example/cb",
        "https://app.example/cb/?a=1", // R04: trailing /
        "https://APP.example/cb?a=1",  // changed case
        "https://app.example/CB?a=1",
        "https://app.example:443/cb?a=1", // added default port
        "https://app.example/x/../cb?a=1",
        "https://app.example%2Fcb?a=1",
        "https://app.example/cb%3Fa=1",
        "https://app.example//cb?a=1",
        "https://app.example/cb?a=1#frag",
        "https://app.example/cb?a=%31",
        "http://app.example/cb?a=1",
    ] {
        let response = agent.get(&format!("/oauth2/authorize?{}", query(near))).await;
        assert_eq!(response.status(), 400, "{near}");
        assert!(response.headers().get("location").is_none(), "{near}: no redirect");
    }
    // The exact string works, and its own query is kept beside the code.
    let url = agent.authorize(&query(registered), "allow").await;
    assert!(url.starts_with("https://app.example/cb?a=1&"), "{url}");
    assert!(response_params(&url).contains_key("code"));
}

#[tokio::test]
async fn r05_userinfo_tricks_and_lookalike_hosts_are_refused_and_echoed_escaped() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    // The registered URI is https://app.example/cb; each of these names another host or hides one.
    for lookalike in [
        "https://app.example@evil.example/cb",
        "https://app.example.evil.example/cb",
        "https://evil.example/app.example/cb",
        "https://app.example\\@evil.example/cb",
        "https://evil.example#@app.example/cb",
        "https://app.example@evil.example/cb<script>alert(1)</script>",
    ] {
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", client.client_id.as_str()),
            ("redirect_uri", lookalike),
            ("state", "s"),
        ])
        .unwrap();
        let response = agent.get(&format!("/oauth2/authorize?{query}")).await;
        assert_eq!(response.status(), 400, "{lookalike}");
        assert!(response.headers().get("location").is_none(), "{lookalike}: no redirect");
        let page = response.text().await.unwrap();
        assert!(!page.contains("<script>"), "{lookalike}: any echo is HTML-escaped");
        assert!(!page.contains("href=\"https://evil.example"), "{lookalike}: no link to the attacker");
    }
}

#[tokio::test]
async fn r07_without_redirect_uri_two_registered_uris_give_a_page_and_one_is_used() {
    let (server, fixture) = start();
    let (_, two) = add_client(
        &server,
        &fixture,
        "Two URIs",
        &[
            "--grant",
            "authorization_code",
            "--redirect-uri",
            "https://app.example/cb",
            "--redirect-uri",
            "https://app.example/other",
            "--scope",
            "read",
        ],
    );
    let one = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let without_uri = |client: &Fixture, scope: &str| {
        format!(
            "response_type=code&client_id={}&state=s&scope={scope}&code_challenge={}&code_challenge_method=S256",
            client.client_id,
            challenge(VERIFIER)
        )
    };

    let response = agent.get(&format!("/oauth2/authorize?{}", without_uri(&two, "read"))).await;
    assert_eq!(response.status(), 400, "two registered URIs and none named: which one is unknowable");
    assert!(response.headers().get("location").is_none());

    // One registered URI: a plain OAuth request may omit it and is answered there; the token
    // request then need not repeat it.
    let url = agent.authorize(&without_uri(&one, "read"), "allow").await;
    assert!(url.starts_with("https://app.example/cb?"), "{url}");
    let code = response_params(&url)["code"].clone();
    let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("code_verifier", VERIFIER)];
    let response = post_basic(&server, "/oauth2/token", &one.client_id, &one.client_secret, &form).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);

    // OpenID Connect requires redirect_uri on every request.
    let response = agent.get(&format!("/oauth2/authorize?{}", without_uri(&one, "openid+read"))).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn q02_unregistered_scopes_are_dropped_and_when_none_is_left_the_answer_is_invalid_scope() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read+payroll").await;
    let tokens = redeem_ok(&server, &client, &code).await;
    assert_eq!(tokens["scope"], "read", "the unregistered scope is dropped and the response says what was granted");
    assert_eq!(jwt_parts(tokens["access_token"].as_str().unwrap()).1["scope"], "read");

    let url = agent.authorize(&code_query(&client, "&scope=payroll+billing"), "allow").await;
    let params = response_params(&url);
    assert!(url.starts_with("https://app.example/cb?"), "{url}");
    assert_eq!(params.get("error").map(String::as_str), Some("invalid_scope"), "{url}");
    assert_eq!(params.get("state").map(String::as_str), Some("xyz"));
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn l02_authorization_responses_and_api_answers_send_no_referrer() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let response = agent.get(&format!("/oauth2/authorize?{}", code_query(&client, "&scope=read"))).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    // No third-party subresources on our pages: the CSP allows our origin only.
    for attribute in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(!page.contains(attribute), "{attribute} in the consent page");
    }
    let response = agent.submit("/oauth2/authorize/decision", &page, &["csrf_token", "request"], &[("decision", "allow")]).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).contains("code="));
    assert_eq!(response.headers()["referrer-policy"], "no-referrer", "the redirect carrying the code");
    // The remembered-consent path: a 302 straight to the client with the code.
    let response = agent.get(&format!("/oauth2/authorize?{}", code_query(&client, "&scope=read"))).await;
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    let code = response_params(&location(&response))["code"].clone();
    // Token answers too; and no URL Tessera builds carries a token or code except the
    // authorization response itself (the token endpoint answers in the body).
    let response = redeem(&server, &client, &code, &[]).await;
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    assert!(response.headers().get("location").is_none());
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn s01_state_comes_back_byte_for_byte() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let state = format!("a&b#c%d é/{}", "x".repeat(1000));
    let query = code_query(&client, &format!("&scope=read&{}", serde_urlencoded::to_string([("state", &state)]).unwrap()))
        .replace("&state=xyz", "");
    let params = response_params(&agent.authorize(&query, "allow").await);
    assert_eq!(params["state"], state);
    assert!(params.contains_key("code"));
    // S02: no state at all still works.
    let query = code_query(&client, "&scope=read").replace("&state=xyz", "");
    assert!(response_params(&agent.authorize(&query, "allow").await).contains_key("code"));
}

#[tokio::test]
async fn public_client_pkce_flow_and_p06_p07_p08_p09() {
    let (server, fixture) = start();
    let (_, spa) = add_client(&server, &fixture, "spa", PUBLIC_SPA);
    // A legacy confidential client, registered to leave PKCE out (P10).
    let (_, web) = add_client(
        &server,
        &fixture,
        "web",
        &["--grant", "authorization_code", "--redirect-uri", "http://127.0.0.1/cb", "--pkce", "optional"],
    );
    let mut agent = Agent::new(&server);
    agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let code_for = |client: &Fixture, pkce: bool| {
        let mut q = format!("response_type=code&client_id={}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&scope=read", client.client_id);
        if pkce {
            q.push_str(&format!("&code_challenge={}&code_challenge_method=S256", challenge(VERIFIER)));
        }
        q
    };
    let token_form = |client: &Fixture, code: String, verifier: Option<&str>| {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", "http://127.0.0.1/cb".to_owned()),
            ("client_id", client.client_id.clone()),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v.to_owned()));
        }
        form
    };
    let code = async |agent: &mut Agent<'_>, client: &Fixture, pkce: bool| {
        response_params(&agent.authorize(&code_for(client, pkce), "allow").await)["code"].clone()
    };
    // The public client authenticates with its id alone ("none") plus PKCE.
    let c = code(&mut agent, &spa, true).await;
    let response = http().post(server.url("/oauth2/token")).form(&token_form(&spa, c, Some(VERIFIER))).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // P06: wrong verifier, and the code is used up.
    let c = code(&mut agent, &spa, true).await;
    let wrong = "x".repeat(43);
    let response = http().post(server.url("/oauth2/token")).form(&token_form(&spa, c.clone(), Some(&wrong))).send().await.unwrap();
    assert_oauth_error(response, 400, "invalid_grant").await;
    let response = http().post(server.url("/oauth2/token")).form(&token_form(&spa, c, Some(VERIFIER))).send().await.unwrap();
    assert_oauth_error(response, 400, "invalid_grant").await;
    // P07: challenge sent, no verifier.
    let c = code(&mut agent, &spa, true).await;
    let response = http().post(server.url("/oauth2/token")).form(&token_form(&spa, c, None)).send().await.unwrap();
    assert_oauth_error(response, 400, "invalid_grant").await;
    // P09: malformed verifiers.
    for bad in ["a".repeat(42), "a".repeat(129), format!("{}+", "a".repeat(42))] {
        let c = code(&mut agent, &spa, true).await;
        let response = http().post(server.url("/oauth2/token")).form(&token_form(&spa, c, Some(&bad))).send().await.unwrap();
        assert_oauth_error(response, 400, "invalid_grant").await;
    }
    // P08/P10: a confidential client registered with --pkce optional may skip PKCE, but a
    // verifier without a challenge is refused.
    let c = code(&mut agent, &web, false).await;
    let response = post_basic(
        &server,
        "/oauth2/token",
        &web.client_id,
        &web.client_secret,
        &[("grant_type", "authorization_code"), ("code", &c), ("redirect_uri", "http://127.0.0.1/cb"), ("code_verifier", VERIFIER)],
    )
    .await;
    assert_oauth_error(response, 400, "invalid_grant").await;
    let c = code(&mut agent, &web, false).await;
    let response = post_basic(
        &server,
        "/oauth2/token",
        &web.client_id,
        &web.client_secret,
        &[("grant_type", "authorization_code"), ("code", &c), ("redirect_uri", "http://127.0.0.1/cb")],
    )
    .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn c01_c02_a_reused_code_fails_and_revokes_everything_issued_from_it() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &["--grant", "refresh_token"]);
    let mut agent = Agent::new(&server);
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    // C02: two parallel redemptions, exactly one wins.
    let (a, b) = tokio::join!(redeem(&server, &client, &code, &[]), redeem(&server, &client, &code, &[]));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400]);
    let winner: Value = if a.status() == 200 { a.json().await.unwrap() } else { b.json().await.unwrap() };
    // The loser's attempt was a reuse: the winner's tokens are revoked (C01), refresh included.
    let access = winner["access_token"].as_str().unwrap();
    let refresh_token = winner["refresh_token"].as_str().unwrap();
    assert!(!is_active(&server, &client, access).await);
    assert_eq!(userinfo(&server, access).await.status(), 401);
    assert_oauth_error(refresh(&server, &client, refresh_token, &[]).await, 400, "invalid_grant").await;

    // C01 sequentially, a second later.
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    let first = redeem_ok(&server, &client, &code).await;
    assert!(is_active(&server, &client, first["access_token"].as_str().unwrap()).await);
    server.advance_clock(1).unwrap();
    assert_oauth_error(redeem(&server, &client, &code, &[]).await, 400, "invalid_grant").await;
    assert!(!is_active(&server, &client, first["access_token"].as_str().unwrap()).await);
}

#[tokio::test]
async fn c03_c05_c07_r10_codes_bound_to_client_redirect_and_user() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let other = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    // C03: another client's credentials; the code is consumed.
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    assert_oauth_error(redeem(&server, &other, &code, &[]).await, 400, "invalid_grant").await;
    assert_oauth_error(redeem(&server, &client, &code, &[]).await, 400, "invalid_grant").await;
    // C05: random, truncated, changed, empty.
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    let mut changed = code.clone().into_bytes();
    changed[5] = if changed[5] == b'A' { b'B' } else { b'A' };
    for bad in ["nonsense".to_owned(), code[..code.len() - 1].to_owned(), String::from_utf8(changed).unwrap()] {
        assert_oauth_error(redeem(&server, &client, &bad, &[]).await, 400, "invalid_grant").await;
    }
    assert_oauth_error(redeem(&server, &client, "", &[]).await, 400, "invalid_request").await;
    // R10: the request named a redirect_uri, the token request must repeat it exactly.
    let response = post_basic(
        &server,
        "/oauth2/token",
        &client.client_id,
        &client.client_secret,
        &[("grant_type", "authorization_code"), ("code", &code)],
    )
    .await;
    assert_oauth_error(response, 400, "invalid_grant").await;
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    let response = post_basic(
        &server,
        "/oauth2/token",
        &client.client_id,
        &client.client_secret,
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", "https://app.example/cb2")],
    )
    .await;
    assert_oauth_error(response, 400, "invalid_grant").await;
    // C07: the user is disabled between consent and redemption.
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    fixture.add_co_owner(&server.cli).unwrap();
    server.cli.json(&["user", "disable", &fixture.owner_email]).unwrap();
    assert_oauth_error(redeem(&server, &client, &code, &[]).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn c06_codes_and_refresh_tokens_are_long_random_and_unique() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &["--grant", "refresh_token"]);
    let mut agent = Agent::new(&server);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
        let tokens = redeem_ok(&server, &client, &code).await;
        let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
        for value in [code, refresh_token] {
            assert!(value.len() >= 43, "at least 256 bits in base64url: {value}");
            assert!(seen.insert(value), "no duplicates");
        }
    }
}

#[tokio::test]
async fn r12_cors_echoes_only_the_clients_registered_origin() {
    let (server, fixture) = start();
    let (_, spa) = add_client(
        &server,
        &fixture,
        "spa",
        &[
            "--public",
            "--grant",
            "authorization_code",
            "--redirect-uri",
            "https://spa.example/cb",
            "--allowed-origin",
            "https://spa.example",
        ],
    );
    let mut agent = Agent::new(&server);
    agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
    let query = format!(
        "response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fspa.example%2Fcb&scope=openid%20read&code_challenge={}&code_challenge_method=S256",
        spa.client_id,
        challenge(VERIFIER)
    );
    let code = response_params(&agent.authorize(&query, "allow").await)["code"].clone();
    let exchange = |origin: &'static str, code: String| {
        let form = [
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", "https://spa.example/cb".to_owned()),
            ("client_id", spa.client_id.clone()),
            ("code_verifier", VERIFIER.to_owned()),
        ];
        http().post(server.url("/oauth2/token")).header("origin", origin).form(&form).send()
    };
    let response = exchange("https://spa.example", code).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "https://spa.example");
    assert!(response.headers().get("access-control-allow-credentials").is_none());
    let spa_token = response.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    // Userinfo: readable by the origin the token's client registered, and by no other.
    let userinfo =
        |origin: &'static str, token: String| http().get(server.url("/oauth2/userinfo")).bearer_auth(token).header("origin", origin).send();
    let response = userinfo("https://spa.example", spa_token.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "https://spa.example");
    let response = userinfo("https://evil.example", spa_token).await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none());
    let script_token = access_token(&server, &fixture).await;
    let response = userinfo("https://spa.example", script_token).await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none(), "another client's token");
    // Another origin: no CORS header at all, and never `*`.
    let response = exchange("https://evil.example", "whatever".into()).await.unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none());
    // The origin is the spa's, not the script client's: its responses stay unreadable there.
    let response = http()
        .post(server.url("/oauth2/token"))
        .basic_auth(&fixture.client_id, Some(&fixture.client_secret))
        .header("origin", "https://spa.example")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("access-control-allow-origin").is_none());
    // Preflight.
    let preflight = |origin: &'static str| {
        http()
            .request(reqwest::Method::OPTIONS, server.url("/oauth2/token"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let allowed = preflight("https://spa.example").await.unwrap();
    assert_eq!(allowed.status(), 204);
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://spa.example");
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());
    let userinfo_preflight = http()
        .request(reqwest::Method::OPTIONS, server.url("/oauth2/userinfo"))
        .header("origin", "https://spa.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo_preflight.headers()["access-control-allow-origin"], "https://spa.example");
}
