//! Revocation (RFC 7009) and introspection (RFC 7662) (SECURITY.md §9), and the rule that a
//! token stops working at once when its user is disabled.

use serde_json::{Value, json};

use crate::common::*;

/// A second confidential client of the same organization.
fn second_client(server: &Server, fixture: &Fixture, org: Option<&str>) -> Fixture {
    let org = org.unwrap_or(&fixture.org_name);
    let owner = if org == fixture.org_name { fixture.owner_email.clone() } else { format!("owner@{org}.test") };
    let client = server.cli.json(&["client", "create", "--org", org, "--owner", &owner, "--name", "other"]).unwrap();
    Fixture {
        client_id: client["client_id"].as_str().unwrap().into(),
        client_secret: client["client_secret"].as_str().unwrap().into(),
        ..fixture.clone()
    }
}

#[tokio::test]
async fn introspection_of_an_active_token_has_the_required_members() {
    let (server, fixture) = start();
    let token = access_token(&server, &fixture).await;
    let response = post_basic(&server, "/oauth2/introspect", &fixture.client_id, &fixture.client_secret, &[("token", &token)]).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    for member in ["active", "scope", "client_id", "sub", "exp", "iat", "iss", "token_type"] {
        assert!(body.get(member).is_some(), "{member} missing: {body}");
    }
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], fixture.owner_id.as_str());
    assert_eq!(body["iss"], server.base.as_str());
}

#[tokio::test]
async fn v01_revoked_access_token_stops_working() {
    let (server, fixture) = start();
    let token = access_token(&server, &fixture).await;
    let response = revoke(&server, &fixture, &token, &[("token_type_hint", "access_token")]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "");
    assert_eq!(introspect(&server, &fixture, &token).await, json!({ "active": false }));
}

#[tokio::test]
async fn v03_unknown_garbage_or_already_revoked_tokens_get_the_same_200() {
    let (server, fixture) = start();
    let token = access_token(&server, &fixture).await;
    for candidate in [token.as_str(), token.as_str(), "garbage", "a.b.c", &"x".repeat(5000)] {
        let response = revoke(&server, &fixture, candidate, &[]).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "");
    }
    let missing = post_basic(&server, "/oauth2/revoke", &fixture.client_id, &fixture.client_secret, &[]).await;
    assert_oauth_error(missing, 400, "invalid_request").await;
}

#[tokio::test]
async fn v04_a_wrong_or_unknown_hint_still_revokes() {
    let (server, fixture) = start();
    for hint in ["refresh_token", "something_else"] {
        let token = access_token(&server, &fixture).await;
        let response = revoke(&server, &fixture, &token, &[("token_type_hint", hint)]).await;
        assert_eq!(response.status(), 200);
        assert!(!is_active(&server, &fixture, &token).await, "hint {hint}");
    }
}

#[tokio::test]
async fn v05_a_client_cannot_revoke_another_clients_token() {
    let (server, fixture) = start();
    let other = second_client(&server, &fixture, None);
    let token = access_token(&server, &fixture).await;
    let response = post_basic(&server, "/oauth2/revoke", &other.client_id, &other.client_secret, &[("token", &token)]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "");
    assert!(is_active(&server, &fixture, &token).await);
}

#[tokio::test]
async fn v06_revoke_and_introspect_need_client_authentication() {
    let (server, fixture) = start();
    let token = access_token(&server, &fixture).await;
    for path in ["/oauth2/revoke", "/oauth2/introspect"] {
        assert_oauth_error(post_form(&server, path, &[("token", &token)]).await, 401, "invalid_client").await;
        let headers =
            assert_oauth_error(post_basic(&server, path, &fixture.client_id, "wrong", &[("token", &token)]).await, 401, "invalid_client")
                .await;
        assert!(headers.contains_key("www-authenticate"));
    }
    let public = add_client(&server, &fixture, "spa", PUBLIC_SPA).0;
    let response =
        post_form(&server, "/oauth2/introspect", &[("token", &token), ("client_id", public["client_id"].as_str().unwrap())]).await;
    assert_oauth_error(response, 401, "invalid_client").await;
}

#[tokio::test]
async fn v07_inactive_tokens_answer_active_false_and_nothing_else() {
    let (server, fixture) = start();
    // Another organization's token.
    server.cli.json(&["org", "create", "--name", "globex"]).unwrap();
    server.cli.json(&["scope", "create", "--org", "globex", "read"]).unwrap();
    server
        .cli
        .json_with_stdin(
            &["user", "create", "--org", "globex", "--email", "owner@globex.test", "--role", "owner", "--password-stdin"],
            "owner password 2\n",
        )
        .unwrap();
    let globex = second_client(&server, &fixture, Some("globex"));
    let foreign = access_token(&server, &globex).await;
    let revoked = access_token(&server, &fixture).await;
    revoke(&server, &fixture, &revoked, &[]).await;
    let valid = access_token(&server, &fixture).await;
    let mut tampered = valid.clone();
    tampered.pop();
    tampered.push(if valid.ends_with('A') { 'B' } else { 'A' });
    for token in [foreign.as_str(), revoked.as_str(), "malformed", tampered.as_str(), ""] {
        let response = post_basic(&server, "/oauth2/introspect", &fixture.client_id, &fixture.client_secret, &[("token", token)]).await;
        if token.is_empty() {
            assert_oauth_error(response, 400, "invalid_request").await;
            continue;
        }
        assert_eq!(response.status(), 200);
        assert_eq!(response.json::<Value>().await.unwrap(), json!({ "active": false }), "token {token:.20}");
    }
    assert!(is_active(&server, &globex, &foreign).await, "its own organization still sees it");
}

#[tokio::test]
async fn v07_expired_tokens_are_inactive_past_the_leeway() {
    let options = ServerOptions { serve: vec!["--leeway".into(), "0".into()], ..Default::default() };
    let (server, fixture) = start_with(options);
    let client = add_client(&server, &fixture, "short", &["--access-token-ttl", "1"]).0;
    let short = Fixture {
        client_id: client["client_id"].as_str().unwrap().into(),
        client_secret: client["client_secret"].as_str().unwrap().into(),
        ..fixture.clone()
    };
    let token = access_token(&server, &short).await;
    let (_, claims) = jwt_parts(&token);
    let exp = claims["exp"].as_i64().unwrap();
    let expired = eventually(std::time::Duration::from_secs(5), || {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 > exp
    });
    assert!(expired);
    assert_eq!(introspect(&server, &fixture, &token).await, json!({ "active": false }));
}

#[tokio::test]
async fn v08_regenerated_secret_leaves_tokens_valid() {
    let (server, fixture) = start();
    let token = access_token(&server, &fixture).await;
    server.cli.json(&["client", "regenerate-secret", &fixture.client_id]).unwrap();
    let observer = second_client(&server, &fixture, None);
    assert!(is_active(&server, &observer, &token).await);
}

#[tokio::test]
async fn disabling_a_user_stops_their_tokens_at_once_and_enabling_restores_them() {
    let (server, fixture) = start();
    let token = access_token(&server, &fixture).await;
    let observer = second_client(&server, &fixture, None);
    fixture.add_co_owner(&server.cli).unwrap();
    server.cli.json(&["user", "disable", &fixture.owner_email]).unwrap();
    assert!(!is_active(&server, &observer, &token).await);
    let refused =
        post_basic(&server, "/oauth2/token", &fixture.client_id, &fixture.client_secret, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(refused, 400, "unauthorized_client").await;
    server.cli.json(&["user", "enable", &fixture.owner_email]).unwrap();
    assert!(is_active(&server, &observer, &token).await);
}

#[tokio::test]
async fn operator_revocation_from_the_cli_is_seen_by_the_server() {
    let (server, fixture) = start();
    let token = access_token(&server, &fixture).await;
    let output = server.cli.run_with_stdin(&["token", "revoke", "-"], &format!("{token}\n")).unwrap();
    assert!(output.success, "{}", output.stderr);
    assert!(!is_active(&server, &fixture, &token).await);
    let audit = crate::client_auth::audit_entries(&server, "token_revoked");
    assert_eq!(audit.len(), 1);
    assert!(!audit[0].1.contains(&token), "the audit log holds the jti, not the token");
}
