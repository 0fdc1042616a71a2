//! The operator's view (SPEC §14): the access log, request ids, the metrics listener and its
//! counters, and traces exported over OTLP/HTTP to a receiver that decodes them with the official
//! OpenTelemetry protobuf definitions.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::agent::Agent;
use crate::common::*;

/// The JSON lines of the server's log (its stderr), once at least `min_access` access lines
/// are there: the log is written by a thread of its own, a moment after the answer.
fn log_lines(server: &Server, min_access: usize) -> Vec<Value> {
    let mut lines = Vec::new();
    let complete = eventually(Duration::from_secs(10), || {
        lines = server.log().lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect();
        access_lines(&lines).len() >= min_access
    });
    assert!(complete, "fewer than {min_access} access lines in:\n{}", server.log());
    lines
}

fn access_lines(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|line| line["target"] == "tessera::access").collect()
}

/// The access line of the request with this id.
fn access_line<'a>(lines: &'a [Value], request_id: &str) -> &'a Value {
    let found = access_lines(lines).into_iter().find(|line| line["span"]["request_id"] == request_id);
    found.unwrap_or_else(|| panic!("no access line for request {request_id}"))
}

fn request_id(response: &reqwest::Response) -> String {
    response.headers().get("x-request-id").expect("every answer has an X-Request-Id").to_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_json_access_log_has_a_line_per_request_and_no_secret() {
    // stderr is a file here, so JSON is the default; said anyway, as an operator would.
    let (server, fixture) = start_with(ServerOptions { serve: vec!["--log-format".into(), "json".into()], ..Default::default() });
    let password = "access log member password 7";
    add_user(&server, &fixture, "member@acme-log.test", "member", password, &[]);
    let mut ids = Vec::new();

    // A token by client credentials: the line names the client.
    let response =
        post_basic(&server, "/oauth2/token", &fixture.client_id, &fixture.client_secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(response.status(), 200);
    ids.push(("POST", "/oauth2/token".to_owned(), 200, Some(fixture.client_id.clone()), request_id(&response)));
    let token: Value = response.json().await.unwrap();
    let access_token = token["access_token"].as_str().unwrap().to_owned();
    // Introspection, with the token in the body.
    let response = post_basic(&server, "/oauth2/introspect", &fixture.client_id, &fixture.client_secret, &[("token", &access_token)]).await;
    ids.push(("POST", "/oauth2/introspect".to_owned(), 200, Some(fixture.client_id.clone()), request_id(&response)));
    // The session API, with a password in the body.
    let response =
        http().post(server.url("/sessions")).json(&json!({ "email": "member@acme-log.test", "password": password })).send().await.unwrap();
    assert_eq!(response.status(), 201);
    ids.push(("POST", "/sessions".to_owned(), 201, None, request_id(&response)));
    let session: Value = response.json().await.unwrap();
    // A query string with a code in it: the path is logged without it.
    let response = http().get(server.url("/oauth2/authorize?client_id=x&code=query-code-secret-123&state=s")).send().await.unwrap();
    ids.push(("GET", "/oauth2/authorize".to_owned(), response.status().as_u16(), None, request_id(&response)));
    // A link whose path is its secret: logged by its route's pattern.
    let link_token = "reset-link-token-secret-456";
    let response = http().get(server.url(&format!("/password/reset/{link_token}"))).send().await.unwrap();
    ids.push(("GET", "/password/reset/{token}".to_owned(), response.status().as_u16(), None, request_id(&response)));
    // A wrong client secret.
    let wrong_secret = "wrong-client-secret-789";
    let response = post_basic(&server, "/oauth2/token", &fixture.client_id, wrong_secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(response.status(), 401);
    ids.push(("POST", "/oauth2/token".to_owned(), 401, None, request_id(&response)));
    // No such path.
    let response = http().get(server.url("/no/such/path")).send().await.unwrap();
    ids.push(("GET", "/no/such/path".to_owned(), 404, None, request_id(&response)));

    let lines = log_lines(&server, ids.len());
    assert_eq!(access_lines(&lines).len(), ids.len(), "one line per request, no more");
    for (method, path, status, client_id, id) in &ids {
        let line = access_line(&lines, id);
        assert_eq!(line["level"], "INFO", "{line}");
        assert!(line["timestamp"].as_str().is_some_and(|t| t.len() >= 20), "{line}");
        assert_eq!(line["span"]["method"], *method, "{line}");
        assert_eq!(line["span"]["path"], path.as_str(), "{line}");
        assert_eq!(line["span"]["peer"], "127.0.0.1", "{line}");
        assert_eq!(line["status"], *status, "{line}");
        assert!(line["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
        assert!(line["bytes"].as_u64().is_some(), "{line}");
        match client_id {
            Some(client_id) => assert_eq!(line["span"]["client_id"], client_id.as_str(), "{line}"),
            None => assert!(line["span"].get("client_id").is_none(), "no client was authenticated: {line}"),
        }
    }
    let log = server.log();
    let secrets = [
        fixture.client_secret.as_str(),
        access_token.as_str(),
        password,
        session["accessToken"].as_str().unwrap(),
        session["refreshToken"].as_str().unwrap(),
        "query-code-secret-123",
        link_token,
        wrong_secret,
        "owner password 1",
    ];
    for secret in secrets {
        assert!(!log.contains(secret), "{secret:?} is in the log:\n{log}");
    }
}

#[tokio::test]
async fn the_text_log_carries_the_request_id_on_every_line_of_the_request() {
    let (server, fixture) = start_with(ServerOptions { serve: vec!["--log-format".into(), "text".into()], ..Default::default() });
    let response =
        post_basic(&server, "/oauth2/token", &fixture.client_id, &fixture.client_secret, &[("grant_type", "client_credentials")]).await;
    let id = request_id(&response);
    let complete = eventually(Duration::from_secs(10), || server.log().lines().any(|l| l.contains(&id) && l.contains("tessera::access")));
    assert!(complete, "{}", server.log());
    let log = server.log();
    let line = log.lines().find(|l| l.contains(&id) && l.contains("tessera::access")).unwrap();
    assert!(
        line.contains("INFO") && line.contains("method=POST") && line.contains("path=/oauth2/token") && line.contains("status=200"),
        "{line}"
    );
    assert!(
        line.contains(&format!("client_id=\"{}\"", fixture.client_id)) || line.contains(&format!("client_id={}", fixture.client_id)),
        "{line}"
    );
    assert!(serde_json::from_str::<Value>(line).is_err(), "text, not JSON");
}

#[tokio::test]
async fn request_ids_are_made_or_taken_from_a_trusted_proxy_and_shown_in_a_5xx_answer() {
    // Not behind a proxy: a client's id is replaced.
    let (server, fixture) = start();
    let response = http().get(server.url("/healthz")).header("x-request-id", "client-chosen-id").send().await.unwrap();
    let made = request_id(&response);
    assert_ne!(made, "client-chosen-id");
    assert_eq!(made.len(), 32, "{made}");
    assert!(made.bytes().all(|b| b.is_ascii_hexdigit()), "{made}");
    let again = request_id(&http().get(server.url("/healthz")).send().await.unwrap());
    assert_ne!(made, again, "each request its own id");

    // A 5xx answer names its request: asking for a reset link with email off is 503.
    let mut agent = Agent::new(&server);
    let login = agent.get("/login").await.text().await.unwrap();
    let response = agent.submit("/password/forgot", &login, &["csrf_token"], &[("email", &fixture.owner_email)]).await;
    assert_eq!(response.status(), 503);
    let id = request_id(&response);
    let page = response.text().await.unwrap();
    assert!(page.contains(&id), "the 503 page names request {id}: {page}");

    // Behind a trusted proxy (this test is the proxy, on 127.0.0.1): its id is kept, in the
    // answer and in the log; one that is not a plain token is replaced.
    let options = ServerOptions {
        serve: vec!["--behind-proxy".into(), "--trusted-proxy".into(), "127.0.0.1".into(), "--log-format".into(), "json".into()],
        ..Default::default()
    };
    let (proxied, _) = start_with(options);
    let response = http().get(proxied.url("/healthz")).header("x-request-id", "lb-4f2a-0001").send().await.unwrap();
    assert_eq!(request_id(&response), "lb-4f2a-0001");
    let response = http().get(proxied.url("/healthz")).header("x-request-id", "two words").send().await.unwrap();
    assert_ne!(request_id(&response), "two words");
    let lines = log_lines(&proxied, 2);
    assert_eq!(access_line(&lines, "lb-4f2a-0001")["status"], 200);
}

/// A server with `--metrics-listen` on a port of its own, and that port's address.
fn start_with_metrics_apart(extra_serve: &[&str]) -> (Server, Fixture, String) {
    let mut serve = vec!["--metrics-listen".to_owned(), "127.0.0.1:0".to_owned()];
    serve.extend(extra_serve.iter().map(|s| (*s).to_owned()));
    let (server, fixture) = start_with(ServerOptions { serve, ..Default::default() });
    let mut address = None;
    assert!(
        eventually(Duration::from_secs(10), || {
            address = server.stdout().lines().find_map(|l| l.strip_prefix("metrics on ").map(str::to_owned));
            address.is_some()
        }),
        "the server says where its metrics are: {}",
        server.stdout()
    );
    (server, fixture, address.unwrap())
}

async fn metric(url: &str, name: &str) -> f64 {
    let text = http().get(url).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')).map(|v| v.parse().unwrap()))
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

#[tokio::test]
async fn metrics_are_served_apart_and_count_every_token_and_failed_sign_in() {
    let (server, fixture, metrics) = start_with_metrics_apart(&["--login-failure-limit", "2"]);
    let response = http().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 404, "not on the main listener any more");
    let response = http().get(&metrics).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(metric(&metrics, "tessera_tokens_issued_total").await, 0.0);

    // One token by client credentials.
    token(&server, &fixture, None).await;
    assert_eq!(metric(&metrics, "tessera_tokens_issued_total").await, 1.0);
    // One by the session API.
    let password = "metrics member password 3";
    add_user(&server, &fixture, "member@acme-metrics.test", "member", password, &[]);
    let body = json!({ "email": "member@acme-metrics.test", "password": password });
    assert_eq!(http().post(server.url("/sessions")).json(&body).send().await.unwrap().status(), 201);
    assert_eq!(metric(&metrics, "tessera_tokens_issued_total").await, 2.0);
    // One by the portal's token generator.
    let mut agent = Agent::new(&server);
    assert_eq!(agent.login(&fixture.owner_email, "owner password 1").await.status(), 303);
    let html = agent.get(&format!("/tools/access-token?client_id={}", fixture.client_id)).await.text().await.unwrap();
    let response =
        agent.submit("/tools/access-token", &html, &["csrf_token"], &[("client_id", &fixture.client_id), ("scope", "read")]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(metric(&metrics, "tessera_tokens_issued_total").await, 3.0);

    // Two wrong passwords: two failures and the account's lock-out.
    assert_eq!(metric(&metrics, "tessera_login_failures_total").await, 0.0);
    for _ in 0..2 {
        let body = json!({ "email": "member@acme-metrics.test", "password": "not the password at all" });
        http().post(server.url("/sessions")).json(&body).send().await.unwrap();
    }
    assert_eq!(metric(&metrics, "tessera_login_failures_total").await, 2.0);
    assert_eq!(metric(&metrics, "tessera_login_lockouts_total{scope=\"account\"}").await, 1.0);
    assert_eq!(metric(&metrics, "tessera_login_lockouts_total{scope=\"address\"}").await, 0.0);
    // A wrong client secret.
    post_basic(&server, "/oauth2/token", &fixture.client_id, "wrong", &[("grant_type", "client_credentials")]).await;
    assert_eq!(metric(&metrics, "tessera_client_auth_failures_total").await, 1.0);

    // Latency histograms per route, summed over the worker threads.
    let count = metric(&metrics, "tessera_http_request_duration_seconds_count{route=\"/oauth2/token\"}").await;
    assert_eq!(count, 2.0);
    let ok = metric(&metrics, "tessera_http_requests_total{route=\"/oauth2/token\",status=\"200\"}").await;
    assert_eq!(ok, 1.0);
    let slowest = metric(&metrics, "tessera_http_request_duration_seconds_bucket{route=\"/oauth2/token\",le=\"+Inf\"}").await;
    assert_eq!(slowest, count);
    assert_eq!(metric(&metrics, "tessera_change_feed_up").await, 1.0);
    assert_eq!(metric(&metrics, "tessera_log_lines_dropped_total").await, 0.0);
    // The metrics listener serves nothing else.
    let other = metrics.replace("/metrics", "/oauth2/jwks");
    assert_eq!(http().get(&other).send().await.unwrap().status(), 404);

    // The Grafana dashboard of docs/ asks only for metrics the server has.
    let exposition = http().get(&metrics).send().await.unwrap().text().await.unwrap();
    let dashboard = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/grafana-dashboard.json")).unwrap();
    let dashboard: Value = serde_json::from_str(&dashboard).unwrap();
    let mut asked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for name in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| w.starts_with("tessera_")) {
                assert!(exposition.lines().any(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} "))), "{name}");
                asked += 1;
            }
        }
    }
    assert!(asked >= 10, "the dashboard queries the metrics ({asked})");
}

/// The test OTLP receiver (`interop/python/otlp_receiver.py`), stopped with the test.
struct OtlpReceiver {
    child: Child,
    port: u16,
}

impl OtlpReceiver {
    fn start() -> Self {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/python/otlp_receiver.py");
        let mut child =
            Command::new("python3").arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("the receiver did not start: {line:?}")).parse();
        OtlpReceiver { child, port: port.unwrap() }
    }

    async fn spans(&self) -> Vec<Value> {
        let body = http().get(format!("http://127.0.0.1:{}/spans", self.port)).send().await.unwrap().json::<Vec<Value>>().await;
        body.unwrap()
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn traces_reach_an_otlp_collector_with_child_spans() {
    let receiver = OtlpReceiver::start();
    let endpoint = format!("http://127.0.0.1:{}", receiver.port);
    let (mut server, fixture) = start_with(ServerOptions { serve: vec!["--otlp-endpoint".into(), endpoint], ..Default::default() });
    let password = "traces member password 5";
    add_user(&server, &fixture, "member@acme-traces.test", "member", password, &[]);
    let response =
        post_basic(&server, "/oauth2/token", &fixture.client_id, &fixture.client_secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(response.status(), 200);
    let body = json!({ "email": "member@acme-traces.test", "password": password });
    assert_eq!(http().post(server.url("/sessions")).json(&body).send().await.unwrap().status(), 201);
    // Stopping sends the last batch.
    assert!(server.terminate(Duration::from_secs(20)).unwrap(), "{}", server.log());
    let spans = receiver.spans().await;
    let named = |name: &str| spans.iter().filter(|s| s["name"] == name).collect::<Vec<_>>();
    let children = |parent: &Value| {
        spans.iter().filter(|s| s["parent_span_id"] == parent["span_id"] && s["trace_id"] == parent["trace_id"]).collect::<Vec<_>>()
    };
    let summary = spans.iter().map(|s| s["name"].as_str().unwrap_or_default()).collect::<Vec<_>>();

    let token = named("POST /oauth2/token");
    assert_eq!(token.len(), 1, "one span for the token request: {summary:?}");
    let token = token[0];
    assert_eq!(token["kind"], 2, "a server span: {token}");
    assert_eq!(token["parent_span_id"], "", "the root of its trace: {token}");
    assert_eq!(token["service_name"], "tessera");
    assert_eq!(token["attributes"]["http.response.status_code"], 200, "{token}");
    assert_eq!(token["attributes"]["path"], "/oauth2/token", "{token}");
    assert_eq!(token["attributes"]["client_id"], fixture.client_id.as_str(), "{token}");
    assert!(children(token).iter().any(|s| s["name"] == "sign"), "signing is a child of the request: {summary:?}");

    let session = named("POST /sessions");
    assert_eq!(session.len(), 1, "{summary:?}");
    let below = children(session[0]);
    assert!(below.iter().any(|s| s["name"] == "password.verify"), "password hashing: {summary:?}");
    assert!(below.iter().any(|s| s["name"].as_str().unwrap().starts_with("store.")), "store calls: {summary:?}");
    assert!(below.iter().any(|s| s["name"] == "sign"), "{summary:?}");
    // Nothing secret in any attribute.
    let exported = serde_json::to_string(&spans).unwrap();
    for secret in [fixture.client_secret.as_str(), password] {
        assert!(!exported.contains(secret), "{secret:?} was exported");
    }
}
