//! Malformed, oversized, duplicated and wrongly typed input (SECURITY.md §13): always a clear
//! 4xx in the RFC 6749 error format, never a 5xx.

use serde_json::Value;

use crate::common::*;

async fn post_raw(server: &Server, fixture: &Fixture, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    http()
        .post(server.url("/oauth2/token"))
        .basic_auth(&fixture.client_id, Some(&fixture.client_secret))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn m01_broken_json_arrays_and_wrong_types_are_invalid_request() {
    let (server, fixture) = start();
    for body in [
        &br#"{"grant_type":"#[..],
        b"[1,2,3]",
        br#"{"grant_type":"client_credentials","scope":5}"#,
        br#"{"grant_type":{"a":1}}"#,
        b"\xff\xfe\x00",
        b"",
        &b"[".repeat(10_000),
    ] {
        let response = post_raw(&server, &fixture, "application/json", body.to_vec()).await;
        assert_oauth_error(response, 400, "invalid_request").await;
    }
}

#[tokio::test]
async fn m03_repeated_parameters_are_invalid_request() {
    let (server, fixture) = start();
    for body in [
        "grant_type=client_credentials&grant_type=client_credentials",
        "grant_type=client_credentials&scope=read&scope=write",
        "grant_type=client_credentials&client_id=a&client_id=b",
    ] {
        let response = post_raw(&server, &fixture, "application/x-www-form-urlencoded", body.as_bytes().to_vec()).await;
        assert_oauth_error(response, 400, "invalid_request").await;
    }
}

#[tokio::test]
async fn bodies_over_64_kib_get_413_with_the_json_error() {
    let (server, fixture) = start();
    let body = format!("grant_type=client_credentials&pad={}", "a".repeat(70 * 1024));
    let response = post_raw(&server, &fixture, "application/x-www-form-urlencoded", body.into_bytes()).await;
    assert_oauth_error(response, 413, "invalid_request").await;
}

#[tokio::test]
async fn unknown_content_types_and_methods_get_clear_errors() {
    let (server, fixture) = start();
    let response = post_raw(&server, &fixture, "text/plain", b"grant_type=client_credentials".to_vec()).await;
    assert_oauth_error(response, 400, "invalid_request").await;
    let response = http().get(server.url("/oauth2/token")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    let response =
        http().post(server.url("/oauth2/token")).basic_auth(&fixture.client_id, Some(&fixture.client_secret)).send().await.unwrap();
    assert_oauth_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn too_many_or_too_long_parameters_are_refused() {
    let (server, fixture) = start();
    let many = (0..100).map(|i| format!("p{i}=x")).collect::<Vec<_>>().join("&");
    let response =
        post_raw(&server, &fixture, "application/x-www-form-urlencoded", format!("grant_type=client_credentials&{many}").into_bytes())
            .await;
    assert_oauth_error(response, 400, "invalid_request").await;
    let long = format!("grant_type=client_credentials&scope={}", "a".repeat(20_000));
    let response = post_raw(&server, &fixture, "application/x-www-form-urlencoded", long.into_bytes()).await;
    assert_oauth_error(response, 400, "invalid_request").await;
}
