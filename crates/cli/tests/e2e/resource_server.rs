//! Tessera's own protected resources (RFC 6750): `/oauth2/userinfo` and `/session/user` answer
//! missing, malformed, expired and under-scoped tokens with the right status and challenge
//! (SECURITY.md §9, V09, V10, V14, V15). The guard's side of the same cases is tested in
//! `crates/guard` (unit) and `examples/api/tests/e2e.rs` (against this server).

use serde_json::{Value, json};

use crate::agent::*;
use crate::common::*;

fn challenge(response: &reqwest::Response) -> String {
    response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

async fn get_with(server: &Server, path: &str, authorization: Option<&str>) -> reqwest::Response {
    let mut request = http().get(server.url(path));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn v09_no_authorization_gets_a_plain_bearer_challenge_with_a_realm() {
    let (server, _fixture) = start();
    for path in ["/oauth2/userinfo", "/session/user"] {
        let response = get_with(&server, path, None).await;
        assert_eq!(response.status(), 401, "{path}");
        let challenge = challenge(&response);
        assert!(challenge.starts_with("Bearer realm=\""), "{path}: {challenge}");
        assert!(!challenge.contains("error="), "{path}: no error attribute without credentials: {challenge}");
    }
}

#[tokio::test]
async fn v10_malformed_bearer_is_400_and_other_schemes_get_a_plain_challenge() {
    let (server, fixture) = start();
    for path in ["/oauth2/userinfo", "/session/user"] {
        for malformed in ["Bearer", "Bearer ", "Bearer a b", "Bearer a,b", "Bearer \"quoted\""] {
            let response = get_with(&server, path, Some(malformed)).await;
            assert_eq!(response.status(), 400, "{path} {malformed:?}");
            assert!(challenge(&response).contains("error=\"invalid_request\""), "{path} {malformed:?}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "invalid_request");
        }
        let basic = format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{}:{}", fixture.client_id, fixture.client_secret))
        );
        for other in [basic.as_str(), "Digest username=\"x\"", "Negotiate abc"] {
            let response = get_with(&server, path, Some(other)).await;
            assert_eq!(response.status(), 401, "{path} {other:?}");
            let challenge = challenge(&response);
            assert!(challenge.starts_with("Bearer realm=") && !challenge.contains("error="), "{path} {other:?}: {challenge}");
        }
    }
}

#[tokio::test]
async fn v14_an_expired_access_token_gets_invalid_token() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    let code = owner_code(&mut agent, &fixture, &client, "&scope=openid+read").await;
    let access = redeem_ok(&server, &client, &code).await["access_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo(&server, &access).await.status(), 200);
    // The same token an hour and two minutes on (past the 60 s leeway), signed with the server's key.
    let (header, mut claims) = jwt_parts(&access);
    let iat = claims["iat"].as_i64().unwrap();
    (claims["iat"], claims["exp"]) = (json!(iat - 3600 - 120), json!(iat - 120));
    let forge = tessera_testkit::forge::Forge::current(&server.cli).await.unwrap();
    let expired = forge.sign(&header, &claims).unwrap();
    for path in ["/oauth2/userinfo", "/session/user"] {
        let response = get_with(&server, path, Some(&format!("Bearer {expired}"))).await;
        assert_eq!(response.status(), 401, "{path}");
        assert!(challenge(&response).contains("error=\"invalid_token\""), "{path}");
    }
}

#[tokio::test]
async fn v15_a_token_without_the_needed_scope_gets_insufficient_scope() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &[]);
    let mut agent = Agent::new(&server);
    // userinfo needs `openid`; this token holds `read` only.
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    let access = redeem_ok(&server, &client, &code).await["access_token"].as_str().unwrap().to_owned();
    let response = userinfo(&server, &access).await;
    assert_eq!(response.status(), 403);
    assert!(challenge(&response).contains("error=\"insufficient_scope\", scope=\"openid\""), "{}", challenge(&response));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope");
}

/// A token of the fixture's owner holding `openid`, for userinfo.
async fn openid_token(server: &Server, fixture: &Fixture) -> String {
    let client = web_client(server, fixture, &[]);
    let mut agent = Agent::new(server);
    let code = owner_code(&mut agent, fixture, &client, "&scope=openid+read").await;
    redeem_ok(server, &client, &code).await["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn v11_v12_v13_the_token_comes_in_the_authorization_header_only_with_any_scheme_case() {
    let (server, fixture) = start();
    let token = openid_token(&server, &fixture).await;
    // V13: the scheme is case-insensitive.
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = get_with(&server, "/oauth2/userinfo", Some(&format!("{scheme} {token}"))).await;
        assert_eq!(response.status(), 200, "{scheme}");
    }
    // V11: in the header and also in the query or the body: 400 invalid_request.
    let both_query = http().get(server.url(&format!("/oauth2/userinfo?access_token={token}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(both_query.status(), 400);
    assert!(challenge(&both_query).contains("error=\"invalid_request\""));
    let both_body =
        http().post(server.url("/oauth2/userinfo")).bearer_auth(&token).form(&[("access_token", token.as_str())]).send().await.unwrap();
    assert_eq!(both_body.status(), 400);
    // V12: only in the query: not accepted (a plain challenge), and the value never reaches a log.
    let query_only = http().get(server.url(&format!("/oauth2/userinfo?access_token={token}"))).send().await.unwrap();
    assert_eq!(query_only.status(), 401);
    assert!(!challenge(&query_only).contains("error="), "{}", challenge(&query_only));
    let signature = token.rsplit('.').next().unwrap();
    assert!(!server.log().contains(signature), "the token from the URL was logged");
}
