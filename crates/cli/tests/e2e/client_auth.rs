//! Client authentication, secrets, status and IP allow-lists (SECURITY.md §5).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::common::*;

const CC: (&str, &str) = ("grant_type", "client_credentials");

#[tokio::test]
async fn a01_basic_with_a_wrong_secret_gets_401_and_a_basic_challenge() {
    let (server, fixture) = start();
    let response = post_basic(&server, "/oauth2/token", &fixture.client_id, "wrong-secret", &[CC]).await;
    let headers = assert_oauth_error(response, 401, "invalid_client").await;
    assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Basic realm="));
}

#[tokio::test]
async fn a02_wrong_secret_in_form_or_json_body() {
    let (server, fixture) = start();
    let form = post_form(&server, "/oauth2/token", &[CC, ("client_id", &fixture.client_id), ("client_secret", "nope")]).await;
    let headers = assert_oauth_error(form, 401, "invalid_client").await;
    assert!(headers.get("www-authenticate").is_none(), "no Basic challenge when Basic was not tried");
    let body = json!({ "grant_type": "client_credentials", "client_id": fixture.client_id, "client_secret": "nope" });
    let response = http().post(server.url("/oauth2/token")).json(&body).send().await.unwrap();
    assert_oauth_error(response, 401, "invalid_client").await;
}

#[tokio::test]
async fn a03_unknown_client_and_wrong_secret_look_the_same() {
    let (server, fixture) = start();
    let unknown = post_basic(&server, "/oauth2/token", "UnknownClient123", "whatever", &[CC]).await;
    let (s1, h1) = (unknown.status(), unknown.headers().clone());
    let b1: Value = unknown.json().await.unwrap();
    let wrong = post_basic(&server, "/oauth2/token", &fixture.client_id, "whatever", &[CC]).await;
    let (s2, h2) = (wrong.status(), wrong.headers().clone());
    let b2: Value = wrong.json().await.unwrap();
    assert_eq!((s1, &b1), (s2, &b2));
    assert_eq!(h1.get("www-authenticate"), h2.get("www-authenticate"));
}

#[tokio::test]
async fn a05_credentials_in_header_and_body_is_invalid_request() {
    let (server, fixture) = start();
    let response = post_basic(
        &server,
        "/oauth2/token",
        &fixture.client_id,
        &fixture.client_secret,
        &[CC, ("client_id", &fixture.client_id), ("client_secret", &fixture.client_secret)],
    )
    .await;
    assert_oauth_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn a06_client_secret_in_the_url_query_is_refused_and_not_logged() {
    let (server, fixture) = start();
    let url = format!("{}?client_secret={}", server.url("/oauth2/token"), fixture.client_secret);
    let response = http().post(url).form(&[CC, ("client_id", fixture.client_id.as_str())]).send().await.unwrap();
    assert_oauth_error(response, 400, "invalid_request").await;
    assert!(!server.log().contains(&fixture.client_secret));
}

#[tokio::test]
async fn a07_broken_basic_headers_get_401_never_500() {
    let (server, _) = start();
    for value in [
        "Basic %%%notbase64",
        &format!("Basic {}", STANDARD.encode("no-colon")),
        &format!("Basic {}", STANDARD.encode("abc:")),
        "Basic ",
        &format!("Basic {}", STANDARD.encode([0xff, 0xfe, b':', b'x'])),
    ] {
        let response = http().post(server.url("/oauth2/token")).header("authorization", value).form(&[CC]).send().await.unwrap();
        assert_oauth_error(response, 401, "invalid_client").await;
    }
}

#[tokio::test]
async fn a08_form_urlencoded_basic_credentials_are_decoded() {
    let (server, fixture) = start();
    // Encode every character of the id and secret as %XX, as RFC 6749 §2.3.1 allows.
    let encode = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let value = format!("Basic {}", STANDARD.encode(format!("{}:{}", encode(&fixture.client_id), encode(&fixture.client_secret))));
    let response = http().post(server.url("/oauth2/token")).header("authorization", value).form(&[CC]).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a09_confidential_client_without_secret_and_public_client_with_one() {
    let (server, fixture) = start();
    let response = post_form(&server, "/oauth2/token", &[CC, ("client_id", &fixture.client_id)]).await;
    assert_oauth_error(response, 401, "invalid_client").await;
    let public = add_client(&server, &fixture, "spa", PUBLIC_SPA).0;
    let response = post_basic(&server, "/oauth2/token", public["client_id"].as_str().unwrap(), "a-secret", &[CC]).await;
    assert_oauth_error(response, 401, "invalid_client").await;
}

#[tokio::test]
async fn a10_regenerated_secret_voids_the_old_one_on_the_very_next_request() {
    let (server, fixture) = start();
    access_token(&server, &fixture).await; // warm the server's cache with the old secret
    let regenerated = server.cli.json(&["client", "regenerate-secret", &fixture.client_id]).unwrap();
    let new_secret = regenerated["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, fixture.client_secret);
    let old = post_basic(&server, "/oauth2/token", &fixture.client_id, &fixture.client_secret, &[CC]).await;
    assert_oauth_error(old, 401, "invalid_client").await;
    let new = post_basic(&server, "/oauth2/token", &fixture.client_id, new_secret, &[CC]).await;
    assert_eq!(new.status(), 200);
}

/// SPEC §13: a secret rolled with a grace period works beside the new one until the grace ends
/// (the test clock is moved, not slept on), then only the new one does; `client show` says until when.
#[tokio::test]
async fn a_secret_rolled_with_a_grace_works_beside_the_new_one_until_then() {
    let (server, fixture) = start();
    access_token(&server, &fixture).await; // warm the server's cache with the old secret
    let rolled = server.cli.json(&["client", "regenerate-secret", &fixture.client_id, "--grace", "3600"]).unwrap();
    let new_secret = rolled["client_secret"].as_str().unwrap();
    let until = rolled["previous_secret_expires_at"].as_i64().expect("until when the old one works");
    let shown = server.cli.json(&["client", "show", &fixture.client_id]).unwrap();
    assert_eq!(shown["previous_secret_expires_at"].as_i64(), Some(until));
    let token_with = |secret: String| {
        let (server, id) = (&server, fixture.client_id.clone());
        async move { post_basic(server, "/oauth2/token", &id, &secret, &[CC]).await.status().as_u16() }
    };
    assert_eq!(token_with(fixture.client_secret.clone()).await, 200, "the old secret during the grace");
    assert_eq!(token_with(new_secret.to_owned()).await, 200);
    let issued_at = jwt_parts(&access_token(&server, &fixture).await).1["iat"].as_i64().unwrap();
    assert!((3590..=3600).contains(&(until - issued_at)), "an hour from the roll: {until} vs {issued_at}");

    server.advance_clock(3601).unwrap();
    let old = post_basic(&server, "/oauth2/token", &fixture.client_id, &fixture.client_secret, &[CC]).await;
    assert_oauth_error(old, 401, "invalid_client").await;
    assert_eq!(token_with(new_secret.to_owned()).await, 200, "the new one after it");

    // A roll without a grace ends the old secret at once, and any grace still running.
    let graced = server.cli.json(&["client", "regenerate-secret", &fixture.client_id, "--grace", "600"]).unwrap();
    let at_once = server.cli.json(&["client", "regenerate-secret", &fixture.client_id]).unwrap();
    assert!(at_once.get("previous_secret_expires_at").is_none(), "{at_once}");
    for secret in [new_secret, graced["client_secret"].as_str().unwrap()] {
        assert_eq!(token_with(secret.to_owned()).await, 401);
    }
    assert_eq!(token_with(at_once["client_secret"].as_str().unwrap().to_owned()).await, 200);
    let refused = server.cli.json(&["client", "regenerate-secret", &fixture.client_id, "--grace", "2592001"]).unwrap_err();
    assert!(refused.to_string().contains("30 days"), "{refused}");
}

#[tokio::test]
async fn a12_client_off_refuses_authentication_and_silences_tokens_until_on_again() {
    let (server, fixture) = start();
    let token = access_token(&server, &fixture).await;
    assert!(is_active(&server, &fixture, &token).await);
    let off = server.cli.json(&["client", "disable", &fixture.client_id]).unwrap();
    assert_eq!(off["status"], "off");
    let refused = post_basic(&server, "/oauth2/token", &fixture.client_id, &fixture.client_secret, &[CC]).await;
    assert_oauth_error(refused, 401, "invalid_client").await;
    // The client itself can no longer introspect or revoke; another client of the org sees the token inactive.
    let other = add_client(&server, &fixture, "observer", &[]).0;
    let observer = Fixture {
        client_id: other["client_id"].as_str().unwrap().into(),
        client_secret: other["client_secret"].as_str().unwrap().into(),
        ..fixture.clone()
    };
    assert!(!is_active(&server, &observer, &token).await);
    let revoke = post_basic(&server, "/oauth2/revoke", &fixture.client_id, &fixture.client_secret, &[("token", &token)]).await;
    assert_oauth_error(revoke, 401, "invalid_client").await;
    server.cli.json(&["client", "enable", &fixture.client_id]).unwrap();
    assert!(is_active(&server, &observer, &token).await, "ON again restores unexpired, unrevoked tokens");
    assert_eq!(post_basic(&server, "/oauth2/token", &fixture.client_id, &fixture.client_secret, &[CC]).await.status(), 200);
}

#[tokio::test]
async fn a13_ip_allow_list_refuses_other_addresses_and_audits() {
    let (server, fixture) = start();
    let client = add_client(&server, &fixture, "ip", &["--allowed-ip", "10.0.0.0/8"]).0;
    let (id, secret) = (client["client_id"].as_str().unwrap(), client["client_secret"].as_str().unwrap());
    let response = post_basic(&server, "/oauth2/token", id, secret, &[CC]).await;
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "error": "invalid_client", "error_description": "client authentication failed" }), "no hint of the rule");
    assert!(headers.contains_key("www-authenticate"));
    let allowed = add_client(&server, &fixture, "ip2", &["--allowed-ip", "127.0.0.0/8"]).0;
    let response =
        post_basic(&server, "/oauth2/token", allowed["client_id"].as_str().unwrap(), allowed["client_secret"].as_str().unwrap(), &[CC])
            .await;
    assert_eq!(response.status(), 200);
    let audit = audit_entries(&server, "client_auth_failed");
    assert!(audit.iter().any(|(target, detail)| target == id && detail.contains("address_not_allowed")), "{audit:?}");
}

#[tokio::test]
async fn a14_forwarded_for_is_ignored_unless_the_proxy_is_trusted() {
    let (server, fixture) = start();
    let client = add_client(&server, &fixture, "ip", &["--allowed-ip", "10.0.0.0/8"]).0;
    let (id, secret) = (client["client_id"].as_str().unwrap().to_owned(), client["client_secret"].as_str().unwrap().to_owned());
    let spoofed = http()
        .post(server.url("/oauth2/token"))
        .basic_auth(&id, Some(&secret))
        .header("x-forwarded-for", "10.1.2.3")
        .form(&[CC])
        .send()
        .await
        .unwrap();
    assert_oauth_error(spoofed, 401, "invalid_client").await;
    drop(server);

    let options =
        ServerOptions { serve: vec!["--behind-proxy".into(), "--trusted-proxy".into(), "127.0.0.1".into()], ..Default::default() };
    let (server, fixture) = start_with(options);
    let client = add_client(&server, &fixture, "ip", &["--allowed-ip", "10.0.0.0/8"]).0;
    let (id, secret) = (client["client_id"].as_str().unwrap(), client["client_secret"].as_str().unwrap());
    let proxied = http()
        .post(server.url("/oauth2/token"))
        .basic_auth(id, Some(secret))
        .header("x-forwarded-for", "10.1.2.3")
        .form(&[CC])
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 200);
}

#[tokio::test]
async fn a19_repeated_wrong_secrets_lock_the_client_id_until_the_window_ends() {
    let options = ServerOptions {
        serve: vec!["--client-auth-failure-limit".into(), "20".into(), "--client-auth-failure-window".into(), "2".into()],
        ..Default::default()
    };
    let (server, fixture) = start_with(options);
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(post_basic(&server, "/oauth2/token", &fixture.client_id, "wrong", &[CC]).await.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 20, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 20, "{statuses:?}");
    let locked = post_basic(&server, "/oauth2/token", &fixture.client_id, &fixture.client_secret, &[CC]).await;
    assert_eq!(locked.status(), 429, "the right secret waits too while locked");
    let retry_after: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after));
    let unlocked = eventually(std::time::Duration::from_secs(5), || {
        let status = std::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-u",
                &format!("{}:{}", fixture.client_id, fixture.client_secret),
                "-d",
                "grant_type=client_credentials",
                &server.url("/oauth2/token"),
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        status == "200"
    });
    assert!(unlocked, "the right secret works after the window");
    let audit = audit_entries(&server, "client_auth_locked");
    assert_eq!(audit.len(), 1, "{audit:?}");
}

/// Audit entries of one action, through the CLI: (target, detail as JSON text).
pub fn audit_entries(server: &Server, action: &str) -> Vec<(String, String)> {
    let entries = server.cli.json(&["audit", "list", "--limit", "1000"]).expect("audit list");
    entries
        .as_array()
        .expect("array")
        .iter()
        .filter(|e| e["action"] == action)
        .map(|e| (e["target"].as_str().unwrap_or_default().to_owned(), e["detail"].to_string()))
        .collect()
}
