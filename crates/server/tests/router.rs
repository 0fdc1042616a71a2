#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Router-level tests: the real router over a real service and SQLite store, driven in-process
//! with `oneshot` (no socket, no process). They pin down routing, the extractors' refusals and
//! the error table's answers, each kind once; the end-to-end suite covers the flows over HTTP.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;
use tessera_server::config::{Config, ConfigLayer, GlobalLayer, ServeLayer};
use tessera_server::http::extract::ProxyPolicy;
use tessera_server::metrics::Metrics;
use tessera_server::{AppState, build_app};
use tower::ServiceExt;

/// A router over a fresh store in a directory of its own (removed on drop).
struct App {
    router: Router,
    service: std::sync::Arc<tessera_service::Tessera>,
    directory: std::path::PathBuf,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

async fn app() -> App {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let directory = std::env::temp_dir().join(format!("tessera-router-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    let layer = ConfigLayer {
        global: GlobalLayer { data_dir: Some(directory.clone()), ..GlobalLayer::default() },
        serve: ServeLayer { issuer: Some("https://id.example.test".into()), ..ServeLayer::default() },
    };
    let config = Config::resolve(layer).unwrap();
    let service = tessera_server::startup::open_service(&config, true).await.unwrap();
    let state = AppState::new(tessera_server::AppParts {
        brand: Box::leak(Box::default()),
        service: service.clone(),
        metrics: std::sync::Arc::new(Metrics::default()),
        proxy: std::sync::Arc::new(ProxyPolicy { behind_proxy: false, trusted: Vec::new() }),
        aliases: std::sync::Arc::new(Vec::new()),
        request_timeout: std::time::Duration::from_secs(30),
        unapproved_status: StatusCode::BAD_REQUEST,
        metrics_apart: false,
    });
    App { router: build_app(state), service, directory }
}

/// What the router answered: status, headers and body.
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(&name).map_or("", |v| v.to_str().unwrap())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn send(app: &App, request: Request<Body>) -> Answer {
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    Answer { status, headers, body: String::from_utf8(bytes.to_vec()).unwrap() }
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn form(path: &str, body: &str) -> Request<Body> {
    Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(body.to_owned())).unwrap()
}

/// A confidential client-credentials client of a fresh organization with one catalogue scope;
/// answers its `Authorization: Basic` value.
async fn a_confidential_client(app: &App) -> String {
    use base64::Engine;
    use tessera_service::admin::{Actor, NewClient, NewUser};
    let operator = Actor::cli();
    app.service.create_org(&operator, "acme").await.unwrap();
    app.service.create_scope(&operator, "acme", "invoices:read", false).await.unwrap();
    let owner = NewUser {
        password_hash: None,
        org: "acme".into(),
        email: "owner@acme.test".into(),
        role: tessera_core::model::Role::Owner,
        service: false,
        authorize_applications: true,
        password: Some("a long password 1".into()),
    };
    app.service.create_user(&operator, owner).await.unwrap();
    let new = NewClient {
        org: "acme".into(),
        owner_email: "owner@acme.test".into(),
        name: "deployer".into(),
        grants: vec!["client_credentials".into()],
        ..NewClient::default()
    };
    let client = app.service.create_client(&operator, new).await.unwrap();
    let pair = format!("{}:{}", client.client_id, client.client_secret.unwrap());
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

/// A form post to the token endpoint with a client's Basic credentials.
fn token_request(basic: &str, body: &str) -> Request<Body> {
    Request::post("/oauth2/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// An OAuth error answer: the status, the JSON members and the no-store headers (RFC 6749 §5.2).
fn assert_oauth_error(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.json()["error"], code, "{}", answer.body);
    assert!(answer.json()["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{}", answer.body);
    assert_eq!(answer.header(header::CACHE_CONTROL), "no-store");
}

/// An admin-API problem (RFC 7807) with its media type.
fn assert_problem(answer: &Answer, status: StatusCode) -> Value {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.header(header::CONTENT_TYPE), "application/problem+json");
    let problem = answer.json();
    assert_eq!(problem["status"], status.as_u16());
    assert_eq!(problem["type"], "about:blank");
    problem
}

#[tokio::test]
async fn health_and_discovery_answer_and_unknown_paths_are_404() {
    let app = app().await;
    assert_eq!(send(&app, get("/healthz")).await.status, StatusCode::OK);
    let discovery = send(&app, get("/.well-known/openid-configuration")).await;
    assert_eq!(discovery.status, StatusCode::OK);
    let document = discovery.json();
    assert_eq!(document["issuer"], "https://id.example.test");
    assert_eq!(document["token_endpoint"], "https://id.example.test/oauth2/token");
    assert_eq!(send(&app, get("/.well-known/oauth-authorization-server")).await.json(), document, "one document, two names");
    assert_eq!(send(&app, get("/no/such/path")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_token_endpoint_refuses_what_it_cannot_read_with_oauth_errors() {
    let app = app().await;
    // The client is authenticated first: a form without one is 401 whatever else it lacks.
    let nobody = send(&app, form("/oauth2/token", "scope=x")).await;
    assert_oauth_error(&nobody, StatusCode::UNAUTHORIZED, "invalid_client");
    let bad_utf8 = send(&app, form("/oauth2/token", "grant_type=%FF")).await;
    assert_oauth_error(&bad_utf8, StatusCode::BAD_REQUEST, "invalid_request");
    let twice = send(&app, form("/oauth2/token", "grant_type=client_credentials&grant_type=client_credentials")).await;
    assert_oauth_error(&twice, StatusCode::BAD_REQUEST, "invalid_request");
    let json = Request::post("/oauth2/token").header(header::CONTENT_TYPE, "application/json").body(Body::from("{}")).unwrap();
    assert_eq!(send(&app, json).await.status.as_u16() / 100, 4, "not a form: a client error");
    let get = send(&app, get("/oauth2/token")).await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_client_that_tried_basic_gets_401_and_a_basic_challenge_others_do_not() {
    let app = app().await;
    let basic = Request::post("/oauth2/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, "Basic bm8tc3VjaC1jbGllbnQ6c2VjcmV0")
        .body(Body::from("grant_type=client_credentials"))
        .unwrap();
    let answer = send(&app, basic).await;
    assert_oauth_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(answer.header(header::WWW_AUTHENTICATE).starts_with("Basic"), "{:?}", answer.headers);
    let posted = send(&app, form("/oauth2/token", "grant_type=client_credentials&client_id=no-such-client&client_secret=s")).await;
    assert_oauth_error(&posted, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(posted.header(header::WWW_AUTHENTICATE), "", "no Basic challenge for a client that did not try Basic");
}

#[tokio::test]
async fn a_protected_resource_without_a_token_answers_a_bare_bearer_challenge() {
    let app = app().await;
    let answer = send(&app, get("/oauth2/userinfo")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.header(header::WWW_AUTHENTICATE).starts_with("Bearer"), "{:?}", answer.headers);
    assert!(!answer.header(header::WWW_AUTHENTICATE).contains("error="), "no token: no error code (RFC 6750 §3.1)");
    let bad = Request::get("/oauth2/userinfo").header(header::AUTHORIZATION, "Bearer not-a-token").body(Body::empty()).unwrap();
    let answer = send(&app, bad).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(answer.header(header::WWW_AUTHENTICATE).contains("error=\"invalid_token\""), "{:?}", answer.headers);
}

#[tokio::test]
async fn the_admin_api_answers_problems_for_every_refusal() {
    let app = app().await;
    let missing = assert_problem(&send(&app, get("/admin/v1/clients")).await, StatusCode::UNAUTHORIZED);
    assert_eq!(missing["error"], "invalid_token");
    assert_problem(&send(&app, get("/admin/v1/no-such-thing")).await, StatusCode::NOT_FOUND);
    let wrong_method = Request::builder().method(Method::PUT).uri("/admin/v1/clients").body(Body::empty()).unwrap();
    assert_problem(&send(&app, wrong_method).await, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn pages_answer_html_and_a_page_error_is_a_page() {
    let app = app().await;
    let login = send(&app, get("/login")).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.header(header::CONTENT_TYPE).starts_with("text/html"));
    assert!(login.body.contains("<form") && login.body.contains("csrf_token"), "{}", login.body);
    // A setup link that is not the live one: the page of its own, 404.
    let setup = send(&app, get("/setup/not-the-token")).await;
    assert_eq!(setup.status, StatusCode::NOT_FOUND);
    assert!(setup.header(header::CONTENT_TYPE).starts_with("text/html"));
    // A form post without the CSRF token: refused as a page, never as JSON.
    let refused = send(&app, form("/login", "email=a%40b.test&password=x")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.header(header::CONTENT_TYPE).starts_with("text/html"));
}

// ---------------------------------------------------------------------------------------------
// Snapshots (`tests/snapshots/`): what clients read, field by field. A change shows as a diff to
// review and accept (`cargo insta review`, or INSTA_UPDATE=always), never silently.

#[tokio::test]
async fn snapshot_of_the_discovery_document() {
    let app = app().await;
    insta::assert_json_snapshot!("discovery", send(&app, get("/.well-known/openid-configuration")).await.json());
}

#[tokio::test]
async fn snapshots_of_error_bodies() {
    let app = app().await;
    insta::assert_json_snapshot!("token_no_client", send(&app, form("/oauth2/token", "scope=x")).await.json());
    insta::assert_json_snapshot!("token_invalid_request", send(&app, form("/oauth2/token", "grant_type=%FF")).await.json());
    let basic = a_confidential_client(&app).await;
    insta::assert_json_snapshot!("token_unsupported_grant", send(&app, token_request(&basic, "grant_type=password")).await.json());
    insta::assert_json_snapshot!("token_no_grant", send(&app, token_request(&basic, "scope=invoices:read")).await.json());
    insta::assert_json_snapshot!("admin_problem_unauthorized", send(&app, get("/admin/v1/clients")).await.json());
    insta::assert_json_snapshot!("admin_problem_not_found", send(&app, get("/admin/v1/no-such-thing")).await.json());
}

/// The claims of a client-credentials access token and its JOSE header, with what differs from
/// run to run (times, ids, the key id) replaced by what it is.
#[tokio::test]
async fn snapshot_of_an_access_tokens_claims() {
    use base64::Engine;
    let app = app().await;
    let basic = a_confidential_client(&app).await;
    let mut answer = send(&app, token_request(&basic, "grant_type=client_credentials")).await.json();
    let token = answer["access_token"].as_str().unwrap_or_else(|| panic!("{answer}")).to_owned();
    answer["access_token"] = "[jwt]".into();
    insta::assert_json_snapshot!("client_credentials_response", answer);
    let part = |i: usize| -> Value {
        let segment = token.split('.').nth(i).unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
    };
    let mut header = part(0);
    header["kid"] = "[kid]".into();
    let mut claims = part(1);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600, "the default lifetime");
    for (name, stands_for) in [
        ("iat", "[now]"),
        ("exp", "[now + 3600]"),
        ("jti", "[random]"),
        ("sub", "[run-as user id]"),
        ("client_id", "[client id]"),
        ("org_id", "[org id]"),
    ] {
        assert!(claims.get(name).is_some(), "{name} in {claims}");
        claims[name] = stands_for.into();
    }
    insta::assert_json_snapshot!("access_token_header", header);
    insta::assert_json_snapshot!("access_token_claims", claims);
}

#[tokio::test]
async fn snapshot_of_the_admin_api_document() {
    let app = app().await;
    insta::assert_json_snapshot!("admin_openapi", send(&app, get("/admin/v1/openapi.json")).await.json());
}
