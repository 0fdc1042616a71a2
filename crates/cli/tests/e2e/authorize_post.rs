//! The authorization endpoint beyond `GET`: a request sent as a form body with `POST` (OIDC
//! Core §3.1.2.1) is answered exactly like the query, on the canonical path and on a profile's
//! alias; and parameters that are not UTF-8 (`%FF`, raw bytes) are `invalid_request`, never
//! rewritten to U+FFFD (SPEC §12).

use serde_json::Value;

use crate::agent::*;
use crate::common::*;

/// The pairs of a code request by `client` with PKCE and `state`.
fn code_request(client: &Fixture) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code"),
        ("redirect_uri", "https://app.example/cb"),
        ("scope", "openid read"),
        ("state", "posted-state"),
        ("nonce", "posted-nonce"),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .chain([("client_id", client.client_id.clone()), ("code_challenge", challenge(VERIFIER))])
    .collect()
}

fn borrowed<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn post_authorize_with_a_form_body_runs_the_whole_code_flow_like_get() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let request = code_request(&client);
    let mut agent = Agent::new(&server);
    // Without a session cookie (a browser leaves the SameSite=Lax cookie out of a cross-site
    // POST): on as the same GET, which then sends the signed-out user to the login page.
    let response = agent.post("/oauth2/authorize", &borrowed(&request)).await;
    assert_eq!(response.status(), 303);
    let as_get = location(&response);
    assert_eq!(as_get, format!("/oauth2/authorize?{}", serde_urlencoded::to_string(&request).unwrap()));
    let response = agent.get(&as_get).await;
    assert_eq!(response.status(), 302);
    let login = location(&response);
    assert!(login.starts_with("/login?"), "{login}");
    let page = agent.get(&login).await.text().await.unwrap();
    let (csrf, return_to) = (hidden(&page, "csrf_token"), hidden(&page, "return_to"));
    assert!(return_to.starts_with("/oauth2/authorize?") && return_to.contains("posted-state"), "{return_to}");
    let response = agent
        .post("/login", &[("email", &fixture.owner_email), ("password", OWNER_PASSWORD), ("csrf_token", &csrf), ("return_to", &return_to)])
        .await;
    assert_eq!(response.status(), 303);
    // Signed in, the POST shows the consent page; Allow sends the code with state and iss.
    let response = agent.post("/oauth2/authorize", &borrowed(&request)).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    assert!(page.contains("Allow"), "{page}");
    let response = agent.submit("/oauth2/authorize/decision", &page, &["csrf_token", "request"], &[("decision", "allow")]).await;
    assert_eq!(response.status(), 303);
    let url = location(&response);
    assert!(url.starts_with("https://app.example/cb?"), "{url}");
    let params = response_params(&url);
    assert_eq!(params["state"], "posted-state");
    assert_eq!(params["iss"], server.url("").trim_end_matches('/'));
    let tokens = redeem_ok(&server, &client, &params["code"]).await;
    assert_eq!(tokens["scope"], "openid read");
    assert_eq!(jwt_parts(tokens["id_token"].as_str().unwrap()).1["nonce"], "posted-nonce");
    // Consent is remembered: the next POST answers the client at once, with a 303.
    let response = agent.post("/oauth2/authorize", &borrowed(&request)).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    let params = response_params(&location(&response));
    assert_eq!(params["state"], "posted-state");
    redeem_ok(&server, &client, &params["code"]).await;
}

#[tokio::test]
async fn post_authorize_errors_are_those_of_get() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    // An unregistered redirect URI: a page, never a redirect.
    let mut request = code_request(&client);
    request.retain(|(k, _)| *k != "redirect_uri");
    request.push(("redirect_uri", "https://evil.example/cb".into()));
    let response = agent.post("/oauth2/authorize", &borrowed(&request)).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    // Once the client and redirect URI are good, errors go back to the client.
    let mut request = code_request(&client);
    request.retain(|(k, _)| !k.starts_with("code_challenge"));
    let response = agent.post("/oauth2/authorize", &borrowed(&request)).await;
    assert_eq!(response.status(), 303);
    let params = response_params(&location(&response));
    assert_eq!((params["error"].as_str(), params["state"].as_str()), ("invalid_request", "posted-state"));
    // A repeated parameter and a JSON body: pages.
    let mut request = code_request(&client);
    request.push(("state", "again".into()));
    let response = agent.post("/oauth2/authorize", &borrowed(&request)).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    let json: Value =
        code_request(&client).into_iter().map(|(k, v)| (k.to_owned(), Value::String(v))).collect::<serde_json::Map<_, _>>().into();
    let response = http().post(server.url("/oauth2/authorize")).json(&json).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn post_authorize_works_on_a_profile_alias() {
    let (server, fixture) = start_with(ServerOptions { serve: vec!["--profile".into(), "bluecanvas".into()], ..ServerOptions::default() });
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    let response = agent.post("/apis/oauth2/v1/authorize", &borrowed(&code_request(&client))).await;
    assert_eq!(response.status(), 303, "without a cookie: on as a GET of the same path");
    assert!(location(&response).starts_with("/apis/oauth2/v1/authorize?response_type=code&"), "{}", location(&response));
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let response = agent.post("/apis/oauth2/v1/authorize", &borrowed(&code_request(&client))).await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    let response = agent.submit("/oauth2/authorize/decision", &page, &["csrf_token", "request"], &[("decision", "allow")]).await;
    let params = response_params(&location(&response));
    assert_eq!(params["state"], "posted-state");
    redeem_ok(&server, &client, &params["code"]).await;
}

/// Sends `body` as the raw query of a GET and as the raw form body of a POST.
async fn both_ways(server: &Server, agent: &Agent<'_>, body: &[u8]) -> [reqwest::Response; 2] {
    let cookie = agent.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    // The query goes out byte for byte: a URL cannot hold raw non-ASCII bytes, so those only in the body.
    let query = String::from_utf8(body.to_vec()).unwrap_or_else(|_| "state=%FF".into());
    let get = http().get(format!("{}?{query}", server.url("/oauth2/authorize"))).header("cookie", &cookie).send().await.unwrap();
    let post = http()
        .post(server.url("/oauth2/authorize"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    [get, post]
}

#[tokio::test]
async fn authorize_parameters_that_are_not_utf8_are_invalid_request_never_replaced() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let good = serde_urlencoded::to_string(code_request(&client)).unwrap();
    for bad in [
        format!("{good}&login_hint=%FF").into_bytes(),
        good.replace("posted-state", "posted-%FF").into_bytes(),
        good.replace("scope=openid+read", "scope=openid+r%C3ad").into_bytes(),
        format!("{good}&%FF=x").into_bytes(),
        [good.replace("posted-state", "posted-").as_bytes(), b"\xff\xfe"].concat(),
    ] {
        for response in both_ways(&server, &agent, &bad).await {
            assert_eq!(response.status(), 400, "{}", String::from_utf8_lossy(&bad));
            assert!(response.headers().get("location").is_none(), "not passed on to the client");
            let page = response.text().await.unwrap();
            assert!(page.contains("UTF-8") && !page.contains('\u{fffd}'), "{page}");
        }
    }
    // Also without a session cookie: refused before it could go on as a GET.
    let response = http()
        .post(server.url("/oauth2/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("{good}&state=%FF"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    // The same request in UTF-8 goes through (consented once, it answers at once), with a
    // non-ASCII state returned as sent.
    agent.authorize(&good, "allow").await;
    let state = good.replace("posted-state", "posted-%C3%A9t%C3%A9");
    for response in both_ways(&server, &agent, state.as_bytes()).await {
        assert!(response.status().is_redirection(), "{}", response.status());
        assert_eq!(response_params(&location(&response))["state"], "posted-\u{e9}t\u{e9}");
    }
    // The token endpoint reads forms the same way.
    let form = b"grant_type=client_credentials&scope=%FF".to_vec();
    let response = http()
        .post(server.url("/oauth2/token"))
        .basic_auth(&fixture.client_id, Some(&fixture.client_secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, 400, "invalid_request").await;
}
