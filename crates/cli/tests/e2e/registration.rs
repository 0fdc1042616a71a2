//! Dynamic client registration (RFC 7591) and management (RFC 7592): off by default, initial
//! access tokens (missing, wrong, spent), the §3.2.2 metadata errors, read/update/delete with
//! the right, a wrong and another client's registration access token, and a registered client
//! getting a token and belonging to its owner.

use serde_json::{Value, json};

use crate::agent::*;
use crate::common::*;

fn start_registration() -> (Server, Fixture) {
    start_with(ServerOptions { serve: vec!["--registration-endpoint".into(), "true".into()], ..ServerOptions::default() })
}

pub(crate) fn initial_token(server: &Server, fixture: &Fixture, extra: &[&str]) -> String {
    let mut args = vec!["client", "registration-token", "create", "--org", &fixture.org_name, "--owner", &fixture.owner_email];
    args.extend_from_slice(extra);
    let made = server.cli.json(&args).expect("registration-token create");
    made["initial_access_token"].as_str().expect("token").to_owned()
}

pub(crate) async fn register(server: &Server, token: Option<&str>, body: &Value) -> reqwest::Response {
    let mut request = http().post(server.url("/oauth2/register")).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request")
}

fn cc_client() -> Value {
    json!({"client_name": "Robot", "grant_types": ["client_credentials"], "scope": "read", "software_statement_unknown": "ignored"})
}

#[tokio::test]
async fn registration_is_off_by_default() {
    let (server, _fixture) = start();
    let response = register(&server, Some("x"), &cc_client()).await;
    assert_eq!(response.status(), 404);
    let discovery: Value = http().get(server.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert!(discovery.get("registration_endpoint").is_none(), "{discovery}");
}

#[tokio::test]
async fn initial_access_token_is_required_and_spent() {
    let (server, fixture) = start_registration();
    let discovery: Value = http().get(server.url("/.well-known/oauth-authorization-server")).send().await.unwrap().json().await.unwrap();
    assert_eq!(discovery["registration_endpoint"], json!(server.url("/oauth2/register")));
    let missing = register(&server, None, &cc_client()).await;
    assert_eq!(missing.status(), 401);
    assert!(missing.headers().get("www-authenticate").is_some_and(|v| v.to_str().unwrap().starts_with("Bearer")));
    assert_oauth_error(register(&server, Some("wrong-token"), &cc_client()).await, 401, "invalid_token").await;
    let token = initial_token(&server, &fixture, &["--uses", "1"]);
    let response = register(&server, Some(&token), &cc_client()).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let registered: Value = response.json().await.unwrap();
    for field in ["client_id", "client_secret", "client_id_issued_at", "registration_access_token", "registration_client_uri"] {
        assert!(registered.get(field).is_some(), "{field} in {registered}");
    }
    assert_eq!(registered["client_secret_expires_at"], 0);
    assert_eq!(registered["grant_types"], json!(["client_credentials"]));
    assert_eq!(registered["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(registered["scope"], "read");
    assert!(registered.get("software_statement_unknown").is_none());
    // Spent after its one use.
    assert_oauth_error(register(&server, Some(&token), &cc_client()).await, 401, "invalid_token").await;
    // A token that would be born expired is refused.
    let made = server.cli.json(&[
        "client",
        "registration-token",
        "create",
        "--org",
        &fixture.org_name,
        "--owner",
        &fixture.owner_email,
        "--expires-in",
        "0",
    ]);
    assert!(made.is_err(), "--expires-in 0 is refused");

    // The registered client gets a token and belongs to the token's owner and organization.
    let id = registered["client_id"].as_str().unwrap();
    let secret = registered["client_secret"].as_str().unwrap();
    let issued = post_basic(&server, "/oauth2/token", id, secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(issued.status(), 200);
    let shown = server.cli.json(&["client", "show", id]).expect("client show");
    assert_eq!(shown["owner"], json!(fixture.owner_email));
    assert_eq!(shown["org_id"], json!(fixture.org_id));
    let audit = server.cli.json(&["audit", "list", "--org", &fixture.org_name]).expect("audit list").to_string();
    assert!(audit.contains("registration_token_created") && audit.contains("dynamic_registration"), "{audit}");
}

#[tokio::test]
async fn metadata_errors() {
    let (server, fixture) = start_registration();
    let token = initial_token(&server, &fixture, &[]);
    let cases = [
        (json!({"redirect_uris": ["https://app.example/cb#frag"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris": ["http://app.example/cb"]}), "invalid_redirect_uri"),
        (json!({"grant_types": ["authorization_code"]}), "invalid_redirect_uri"),
        (json!({"grant_types": ["password"]}), "invalid_client_metadata"),
        (json!({"grant_types": ["client_credentials"], "response_types": ["code"]}), "invalid_client_metadata"),
        (json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "tls_client_auth"}), "invalid_client_metadata"),
        (json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}), "invalid_client_metadata"),
        (json!({"grant_types": ["client_credentials"], "scope": "nonexistent"}), "invalid_client_metadata"),
        (json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "private_key_jwt"}), "invalid_client_metadata"),
        (json!({"grant_types": ["client_credentials"], "jwks": {"keys": []}}), "invalid_client_metadata"),
        (json!({"redirect_uris": "https://app.example/cb"}), "invalid_client_metadata"),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
    ];
    for (body, code) in cases {
        let response = register(&server, Some(&token), &body).await;
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], code, "{body}: {error}");
    }
    // A public code-flow client with a loopback redirect URI is fine.
    let body = json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none", "grant_types": ["authorization_code"], "response_types": ["code"]});
    let response = register(&server, Some(&token), &body).await;
    assert_eq!(response.status(), 201);
    let registered: Value = response.json().await.unwrap();
    assert!(registered.get("client_secret").is_none() && registered.get("client_secret_expires_at").is_none(), "{registered}");
    assert_eq!(registered["response_types"], json!(["code"]));
}

#[tokio::test]
async fn manage_with_the_registration_access_token() {
    let (server, fixture) = start_registration();
    let token = initial_token(&server, &fixture, &[]);
    let a: Value = register(&server, Some(&token), &cc_client()).await.json().await.unwrap();
    let b: Value = register(&server, Some(&token), &cc_client()).await.json().await.unwrap();
    let uri = a["registration_client_uri"].as_str().unwrap().to_owned();
    let a_token = a["registration_access_token"].as_str().unwrap();
    let b_token = b["registration_access_token"].as_str().unwrap();

    let read = http().get(&uri).bearer_auth(a_token).send().await.unwrap();
    assert_eq!(read.status(), 200);
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["client_id"], a["client_id"]);
    assert_eq!(read["client_secret"], a["client_secret"]);
    for wrong in ["wrong", b_token, &token] {
        assert_oauth_error(http().get(&uri).bearer_auth(wrong).send().await.unwrap(), 401, "invalid_token").await;
        assert_oauth_error(http().delete(&uri).bearer_auth(wrong).send().await.unwrap(), 401, "invalid_token").await;
    }
    assert_eq!(http().get(&uri).send().await.unwrap().status(), 401);
    // A client made with the CLI has no registration to manage.
    let cli_uri = server.url(&format!("/oauth2/register/{}", fixture.client_id));
    assert_oauth_error(http().get(&cli_uri).bearer_auth(a_token).send().await.unwrap(), 401, "invalid_token").await;

    // PUT replaces the name; id and secret stay.
    let update = json!({"client_id": a["client_id"], "client_name": "Renamed", "grant_types": ["client_credentials"]});
    let updated = http().put(&uri).bearer_auth(a_token).json(&update).send().await.unwrap();
    assert_eq!(updated.status(), 200);
    let updated: Value = updated.json().await.unwrap();
    assert_eq!(updated["client_name"], "Renamed");
    assert_eq!(updated["client_secret"], a["client_secret"]);
    let bad = [
        (json!({"client_name": "x"}), "invalid_request"),
        (json!({"client_id": b["client_id"]}), "invalid_request"),
        (json!({"client_id": a["client_id"], "client_secret": "wrong"}), "invalid_request"),
        (
            json!({"client_id": a["client_id"], "grant_types": ["authorization_code"], "redirect_uris": ["https://a.example/cb"]}),
            "invalid_client_metadata",
        ),
        (json!({"client_id": a["client_id"], "redirect_uris": ["javascript:alert(1)"]}), "invalid_redirect_uri"),
    ];
    for (body, code) in bad {
        assert_oauth_error(http().put(&uri).bearer_auth(a_token).json(&body).send().await.unwrap(), 400, code).await;
    }

    // DELETE: 204, the client and its tokens are gone, the registration token with it.
    let secret = a["client_secret"].as_str().unwrap();
    let id = a["client_id"].as_str().unwrap();
    let issued: Value =
        post_basic(&server, "/oauth2/token", id, secret, &[("grant_type", "client_credentials")]).await.json().await.unwrap();
    let access = issued["access_token"].as_str().unwrap();
    assert!(is_active(&server, &fixture, access).await);
    assert_eq!(http().delete(&uri).bearer_auth(a_token).send().await.unwrap().status(), 204);
    assert!(!is_active(&server, &fixture, access).await);
    assert_oauth_error(http().get(&uri).bearer_auth(a_token).send().await.unwrap(), 401, "invalid_token").await;
    assert_eq!(post_basic(&server, "/oauth2/token", id, secret, &[("grant_type", "client_credentials")]).await.status(), 401);
}

#[tokio::test]
async fn a_registered_client_is_in_its_owners_portal() {
    let (server, fixture) = start_registration();
    let token = initial_token(&server, &fixture, &[]);
    let response = register(
        &server,
        Some(&token),
        &json!({"client_name": "Registered Robot", "grant_types": ["client_credentials"], "scope": "read"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let registered: Value = response.json().await.unwrap();
    let id = registered["client_id"].as_str().unwrap();
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, OWNER_PASSWORD).await.status(), 303);
    let list = agent.get("/settings/api-clients").await;
    assert_eq!(list.status(), 200);
    let page = list.text().await.unwrap();
    assert!(page.contains("Registered Robot") && page.contains(id), "the owner's portal lists it");
    let detail = agent.get(&format!("/settings/api-clients/{id}")).await;
    assert_eq!(detail.status(), 200, "and its page opens for the owner");
}

#[tokio::test]
async fn interop_openid_client_registers_and_gets_a_token() {
    let (server, fixture) = start_registration();
    let token = initial_token(&server, &fixture, &[]);
    let issuer = server.url("").trim_end_matches('/').to_owned();
    let mut script = InteropScript::start("registration.mjs", &[&issuer, &token]);
    let result = script.read_json("registering");
    script.finish();
    let id = result["client_id"].as_str().unwrap();
    assert_eq!(result["scope"], "read");
    assert_eq!(result["registration_client_uri"], json!(server.url(&format!("/oauth2/register/{id}"))));
    let claims = jwt_parts(result["access_token"].as_str().unwrap()).1;
    assert_eq!(claims["client_id"], id);
    assert_eq!(claims["sub"], fixture.owner_id.as_str(), "the client runs as the initial access token's owner");
    let shown = server.cli.json(&["client", "show", id]).expect("client show");
    assert_eq!(shown["token_endpoint_auth_method"], "client_secret_post");
}
