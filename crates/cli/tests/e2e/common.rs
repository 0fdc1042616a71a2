//! Helpers shared by the end-to-end tests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
pub use tessera_testkit::{Fixture, Server, ServerOptions, eventually};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tessera")
}

/// A server with default settings and one fixture organization.
pub fn start() -> (Server, Fixture) {
    start_with(ServerOptions::default())
}

/// A server whose issuer is `http://localhost:PORT` (listening on 127.0.0.1:PORT), and that
/// origin: WebAuthn has no relying party on an IP address, so passkeys need a name. Requests go
/// to `server.url(…)` as usual; a form post must say this origin (`Agent::origin`).
pub fn start_on_localhost() -> (Server, Fixture, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let origin = format!("http://localhost:{port}");
    let serve = vec!["--listen".to_owned(), format!("127.0.0.1:{port}"), "--issuer".to_owned(), origin.clone()];
    let (server, fixture) = start_with(ServerOptions { serve, ..ServerOptions::default() });
    (server, fixture, origin)
}

pub fn start_with(options: ServerOptions) -> (Server, Fixture) {
    let server = Server::start_with(bin(), options).expect("server starts");
    let fixture = Fixture::create(&server.cli).expect("fixture");
    (server, fixture)
}

/// A client that follows no redirect. Once a TLS test has made the test CA
/// (`transport::test_ca`), it trusts that CA too, so the helpers work on https servers.
pub fn http() -> reqwest::Client {
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(ca) = crate::transport::TEST_CA.get() {
        builder = builder.add_root_certificate(ca.certificate());
    }
    builder.build().expect("client")
}

/// `POST path` with HTTP Basic credentials and a form body.
pub async fn post_basic(server: &Server, path: &str, id: &str, secret: &str, form: &[(&str, &str)]) -> reqwest::Response {
    http().post(server.url(path)).basic_auth(id, Some(secret)).form(form).send().await.expect("request")
}

/// `POST path` with a form body and no Authorization header.
pub async fn post_form(server: &Server, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    http().post(server.url(path)).form(form).send().await.expect("request")
}

/// A client-credentials token for the fixture's client.
pub async fn token(server: &Server, fixture: &Fixture, scope: Option<&str>) -> Value {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let response = post_basic(server, "/oauth2/token", &fixture.client_id, &fixture.client_secret, &form).await;
    assert_eq!(response.status(), 200, "token request failed");
    response.json().await.expect("json")
}

/// A client-credentials access token of the client `id` with `secret`.
pub async fn client_credentials_token(server: &Server, id: &str, secret: &str) -> String {
    let response = post_basic(server, "/oauth2/token", id, secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(response.status(), 200, "token request failed");
    response.json::<Value>().await.expect("json")["access_token"].as_str().expect("access_token").to_owned()
}

pub async fn access_token(server: &Server, fixture: &Fixture) -> String {
    token(server, fixture, None).await["access_token"].as_str().expect("access_token").to_owned()
}

/// Revokes `token` as the fixture's client, with extra form fields (e.g. a `token_type_hint`).
pub async fn revoke(server: &Server, fixture: &Fixture, token: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![("token", token)];
    form.extend_from_slice(extra);
    post_basic(server, "/oauth2/revoke", &fixture.client_id, &fixture.client_secret, &form).await
}

/// Introspects `token` as the fixture's client.
pub async fn introspect(server: &Server, fixture: &Fixture, token: &str) -> Value {
    let response = post_basic(server, "/oauth2/introspect", &fixture.client_id, &fixture.client_secret, &[("token", token)]).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

pub async fn is_active(server: &Server, fixture: &Fixture, token: &str) -> bool {
    introspect(server, fixture, token).await["active"] == Value::Bool(true)
}

/// Returns once the wall clock's whole second has moved on: a token signed after that has a later
/// `iat` than anything signed before the call (a lowered role's cutoff is the second after it).
pub fn wait_for_the_next_second() {
    let seconds = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let start = seconds();
    assert!(eventually(std::time::Duration::from_secs(3), || seconds() > start), "the clock did not move");
}

/// The decoded header and claims of a JWT (no verification).
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut decode = || -> Value {
        let part = parts.next().expect("jwt part");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
    };
    let header = decode();
    let claims = decode();
    (header, claims)
}

/// Asserts an RFC 6749 §5.2 error: status, code, and the no-store headers.
pub async fn assert_oauth_error(response: reqwest::Response, status: u16, code: &str) -> reqwest::header::HeaderMap {
    let headers = response.headers().clone();
    let actual_status = response.status().as_u16();
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!((actual_status, body["error"].as_str()), (status, Some(code)), "body: {body}");
    assert_eq!(headers.get("cache-control").map(|v| v.to_str().unwrap_or("")), Some("no-store"));
    headers
}

/// The `client create` flags of a public browser client.
pub const PUBLIC_SPA: &[&str] = &["--public", "--grant", "authorization_code", "--redirect-uri", "http://127.0.0.1/cb"];

/// Registers another client in the fixture's organization, owned by the fixture's owner, with
/// further `client create` flags. Returns the CLI's JSON and the client as a `Fixture`.
pub fn add_client(server: &Server, fixture: &Fixture, name: &str, flags: &[&str]) -> (Value, Fixture) {
    let mut args = vec!["client", "create", "--org", &fixture.org_name, "--owner", &fixture.owner_email, "--name", name];
    args.extend_from_slice(flags);
    let created = server.cli.json(&args).expect("client create");
    let client = Fixture {
        client_id: created["client_id"].as_str().expect("client_id").to_owned(),
        client_secret: created["client_secret"].as_str().unwrap_or_default().to_owned(),
        ..fixture.clone()
    };
    (created, client)
}

/// Creates a user with a password in the fixture's organization (`extra`: more `user create`
/// flags, e.g. a permission); returns the CLI's JSON.
pub fn add_user(server: &Server, fixture: &Fixture, email: &str, role: &str, password: &str, extra: &[&str]) -> Value {
    let mut args = vec!["user", "create", "--org", &fixture.org_name, "--email", email, "--role", role, "--password-stdin"];
    args.extend_from_slice(extra);
    server.cli.json_with_stdin(&args, &format!("{password}\n")).expect("user create")
}

/// `interop/node`, where the third-party Node libraries of the interoperability tests are
/// installed (`npm ci`, which `scripts/test` does).
pub fn interop_dir() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/node");
    assert!(dir.join("node_modules/openid-client").is_dir(), "run `npm ci` in interop/node first (scripts/test does)");
    dir
}

/// A script of `interop/node` run by node. It talks in lines: one JSON object on stdout per
/// step, and, where a user must act, it reads the answer (a callback URL) from stdin.
pub struct InteropScript {
    child: std::process::Child,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl InteropScript {
    pub fn start(script: &str, args: &[&str]) -> Self {
        use std::process::Stdio;
        let mut child = std::process::Command::new("node")
            .current_dir(interop_dir())
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node runs");
        let stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        Self { child, stdout }
    }

    /// The script's next line, as JSON. A script that fails prints none: the panic shows its
    /// error output instead.
    pub fn read_json(&mut self, step: &str) -> Value {
        use std::io::{BufRead as _, Read as _};
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("the script's stdout");
        if let Ok(value) = serde_json::from_str(&line) {
            return value;
        }
        let _ = self.child.kill();
        let mut stderr = String::new();
        let _ = self.child.stderr.take().map(|mut e| e.read_to_string(&mut stderr));
        panic!("the interop script failed at {step}: {line}{stderr}");
    }

    /// Sends the script one line on stdin.
    pub fn answer(&mut self, line: &str) {
        use std::io::Write as _;
        writeln!(self.child.stdin.as_mut().expect("stdin"), "{line}").expect("the script reads stdin");
    }

    /// Closes stdin and waits for the script to end; panics unless it succeeded.
    pub fn finish(mut self) {
        drop(self.child.stdin.take());
        let output = self.child.wait_with_output().expect("the script ends");
        assert!(output.status.success(), "the interop script failed: {}", String::from_utf8_lossy(&output.stderr));
    }
}

/// The `--database-url` a CLI names, if any (PostgreSQL runs); `None`: SQLite in its data dir.
pub fn database_url(cli: &tessera_testkit::Cli) -> Option<String> {
    cli.global.iter().position(|a| a == "--database-url").map(|i| cli.global[i + 1].clone())
}

/// The first column of every row `sql` answers on the store `cli` works on, as text.
pub async fn store_texts(cli: &tessera_testkit::Cli, sql: &str) -> Vec<String> {
    use sqlx::Connection as _;
    let url = database_url(cli).unwrap_or_else(|| format!("sqlite://{}", cli.data_dir.join("tessera.db").display()));
    if url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(&url).await.expect("connect to the store");
        sqlx::query_scalar(sql).fetch_all(&mut connection).await.expect("SQL on the store")
    } else {
        let mut connection = sqlx::PgConnection::connect(&url).await.expect("connect to the store");
        sqlx::query_scalar(sql).fetch_all(&mut connection).await.expect("SQL on the store")
    }
}

/// Runs `sql` (any number of statements) on the store `cli` works on, from outside Tessera.
pub async fn store_sql(cli: &tessera_testkit::Cli, sql: &str) {
    try_store_sql(cli, sql).await.expect("SQL on the store");
}

/// [`store_sql`], answering the store's refusal instead of failing the test.
pub async fn try_store_sql(cli: &tessera_testkit::Cli, sql: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    let url = database_url(cli).unwrap_or_else(|| format!("sqlite://{}", cli.data_dir.join("tessera.db").display()));
    if url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(&url).await?;
        sqlx::raw_sql(sql).execute(&mut connection).await?;
        connection.close().await
    } else {
        let mut connection = sqlx::PgConnection::connect(&url).await?;
        sqlx::raw_sql(sql).execute(&mut connection).await?;
        connection.close().await
    }
}
