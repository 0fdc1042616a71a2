//! Discovery documents and the JWKS (RFC 8414, OIDC Discovery, RFC 7517).

use serde_json::Value;

use crate::common::*;

#[tokio::test]
async fn s06_one_issuer_everywhere() {
    let (server, fixture) = start();
    let oidc: Value = http().get(server.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    let oauth: Value = http().get(server.url("/.well-known/oauth-authorization-server")).send().await.unwrap().json().await.unwrap();
    assert_eq!(oidc, oauth);
    assert_eq!(oidc["issuer"], server.base.as_str());
    assert!(!server.base.ends_with('/'));
    let (_, claims) = jwt_parts(&access_token(&server, &fixture).await);
    assert_eq!(claims["iss"], oidc["issuer"]);
    assert_eq!(oidc["token_endpoint"], server.url("/oauth2/token").as_str());
    assert_eq!(oidc["jwks_uri"], server.url("/oauth2/jwks").as_str());
    assert_eq!(oidc["revocation_endpoint"], server.url("/oauth2/revoke").as_str());
    assert_eq!(oidc["introspection_endpoint"], server.url("/oauth2/introspect").as_str());
}

#[tokio::test]
async fn l05_only_public_key_members_and_supported_values() {
    let (server, _) = start();
    let jwks: Value = http().get(server.url("/oauth2/jwks")).send().await.unwrap().json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "current and next keys are published: {jwks}");
    for key in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "private member {private} in {key}");
        }
        assert_eq!(key["use"], "sig");
        assert_eq!(key["kty"], "EC");
    }
    let metadata: Value = http().get(server.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        metadata["grant_types_supported"],
        serde_json::json!([
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "implicit",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ])
    );
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]),
        "'none' here is the public-client authentication method, not an algorithm"
    );
    assert!(metadata["id_token_signing_alg_values_supported"].as_array().unwrap().contains(&Value::from("RS256")));
    for algs in ["id_token_signing_alg_values_supported", "access_token_signing_alg_values_supported"] {
        assert!(!metadata[algs].as_array().unwrap().contains(&Value::from("none")), "{algs}");
    }
    // PKCE is S256 only (P02) and every authorization response carries iss (S05).
    assert_eq!(metadata["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(metadata["authorization_response_iss_parameter_supported"], true);
    assert_eq!(metadata["response_types_supported"], serde_json::json!(["code", "token", "id_token token"]));
    for (field, path) in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("userinfo_endpoint", "/oauth2/userinfo"),
        ("end_session_endpoint", "/oauth2/logout"),
    ] {
        assert_eq!(metadata[field], server.url(path).as_str(), "{field}");
    }
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let (server, fixture) = start();
    assert_eq!(http().get(server.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(http().get(server.url("/readyz")).send().await.unwrap().status(), 200);
    access_token(&server, &fixture).await;
    let metrics = http().get(server.url("/metrics")).send().await.unwrap();
    assert!(metrics.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = metrics.text().await.unwrap();
    assert!(text.contains("tessera_tokens_issued_total 1"), "{text}");
    assert!(text.contains("tessera_http_requests_total{route=\"/oauth2/token\",status=\"200\"} 1"), "{text}");
    assert!(!text.contains(&fixture.client_id), "metrics carry aggregates only");
}

#[tokio::test]
async fn l04_no_version_banner_or_debug_route() {
    let (server, _) = start();
    let response = http().get(server.url("/debug")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.headers().get("server").is_none());
    assert!(response.headers().get("x-powered-by").is_none());
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
}
