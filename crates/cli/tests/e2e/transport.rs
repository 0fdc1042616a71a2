//! Transport: native HTTPS (B13, B09), HSTS, `X-Forwarded-Proto` from trusted proxies only,
//! certificate reload without dropping connections, and the limits a slow or hostile client
//! meets (slowloris, oversized heads, strict `Content-Type`). Certificates are made with the
//! `openssl` command for each test run, for 127.0.0.1 only.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use tessera_testkit::TempDir;

use crate::agent::{Agent, OWNER_PASSWORD, hidden};
use crate::common::*;

/// A certificate authority of the tests' own, made with `openssl`.
pub struct TestCa {
    _dir: TempDir,
    cert: PathBuf,
    key: PathBuf,
    pem: Vec<u8>,
}

/// The CA every TLS test's server certificate comes from; `common::http()` trusts it.
pub static TEST_CA: OnceLock<TestCa> = OnceLock::new();

pub fn test_ca() -> &'static TestCa {
    TEST_CA.get_or_init(|| TestCa::new("tessera-test-ca"))
}

fn openssl(args: &[&str], dir: &Path) {
    let output = Command::new("openssl").args(args).current_dir(dir).output().expect("the openssl command");
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let dir = TempDir::new("ca").unwrap();
        let subject = format!("/CN={name}");
        openssl(
            &["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
                .into_iter()
                .chain(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", &subject])
                .collect::<Vec<_>>(),
            dir.path(),
        );
        let cert = dir.path().join("ca.pem");
        let pem = std::fs::read(&cert).unwrap();
        Self { key: dir.path().join("ca.key"), cert, pem, _dir: dir }
    }

    /// The CA's certificate as a PEM file (for `--smtp-ca-file`).
    pub fn pem_file(&self) -> &Path {
        &self.cert
    }

    pub fn certificate(&self) -> reqwest::Certificate {
        reqwest::Certificate::from_pem(&self.pem).unwrap()
    }

    /// A server certificate for 127.0.0.1 and its key, written as `name.pem` and `name.key` in `dir`.
    pub fn issue(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let (cert, key, csr, ext) = (format!("{name}.pem"), format!("{name}.key"), format!("{name}.csr"), format!("{name}.ext"));
        std::fs::write(
            dir.join(&ext),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                "/CN=127.0.0.1",
            ],
            dir,
        );
        let (ca_cert, ca_key) = (self.cert.display().to_string(), self.key.display().to_string());
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_cert,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-out",
                &cert,
                "-days",
                "2",
                "-extfile",
                &ext,
            ],
            dir,
        );
        (dir.join(cert), dir.join(key))
    }
}

/// A server over HTTPS with a certificate from the test CA, and the directory of its files.
fn start_tls(extra: &[&str]) -> (Server, Fixture, TempDir) {
    let files = TempDir::new("tls").unwrap();
    let (cert, key) = test_ca().issue(files.path(), "server");
    let mut serve = vec!["--tls-cert".to_owned(), cert.display().to_string(), "--tls-key".to_owned(), key.display().to_string()];
    serve.extend(extra.iter().map(|s| (*s).to_owned()));
    let (server, fixture) = start_with(ServerOptions { serve, ..ServerOptions::default() });
    (server, fixture, files)
}

/// A client trusting only `ca`, keeping one idle connection.
fn client_trusting(ca: &TestCa) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca.certificate())
        .pool_max_idle_per_host(1)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn hsts_max_age(response: &reqwest::Response) -> Option<u64> {
    let value = response.headers().get("strict-transport-security")?.to_str().ok()?;
    value.split(';').find_map(|part| part.trim().strip_prefix("max-age=")).and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn b13_tls_serves_https_with_hsts_and_an_https_issuer() {
    let (server, fixture, _files) = start_tls(&[]);
    assert!(server.base.starts_with("https://127.0.0.1:"), "{}", server.base);
    let discovery: Value = http().get(server.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(discovery["issuer"].as_str(), Some(server.base.trim_end_matches('/')));
    // Every response carries HSTS for at least a year: pages, API answers, errors.
    for path in ["/healthz", "/login", "/oauth2/jwks", "/no-such-path"] {
        let response = http().get(server.url(path)).send().await.unwrap();
        assert!(hsts_max_age(&response).is_some_and(|age| age >= 31_536_000), "HSTS on {path}: {:?}", response.headers());
    }
    let token = token(&server, &fixture, None).await;
    let (_, claims) = jwt_parts(token["access_token"].as_str().unwrap());
    assert_eq!(claims["iss"], discovery["issuer"]);
    let response = post_basic(&server, "/oauth2/token", &fixture.client_id, "wrong", &[("grant_type", "client_credentials")]).await;
    assert!(hsts_max_age(&response).is_some());
    assert_oauth_error(response, 401, "invalid_client").await;
}

#[tokio::test]
async fn b13_tls_1_2_and_1_3_are_accepted_and_older_versions_refused() {
    let (server, _fixture, _files) = start_tls(&[]);
    for version in [reqwest::tls::Version::TLS_1_2, reqwest::tls::Version::TLS_1_3] {
        let client = reqwest::Client::builder()
            .add_root_certificate(test_ca().certificate())
            .min_tls_version(version)
            .max_tls_version(version)
            .build()
            .unwrap();
        assert_eq!(client.get(server.url("/healthz")).send().await.unwrap().status(), 200, "{version:?}");
    }
    // TLS 1.0 and 1.1 offered by openssl (with its own minimum lowered): the server refuses.
    let address = server.base.trim_start_matches("https://").trim_end_matches('/').to_owned();
    for flag in ["-tls1", "-tls1_1"] {
        let output = Command::new("openssl")
            .args(["s_client", "-connect", &address, flag, "-cipher", "DEFAULT@SECLEVEL=0"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(!output.status.success(), "{flag} must fail: {text}");
        // rustls answers with a fatal alert (handshake_failure or protocol_version) before any certificate.
        assert!(text.contains("alert") && text.contains("Cipher is (NONE)"), "{flag}: {text}");
        assert!(!text.contains("BEGIN CERTIFICATE"), "no handshake completes with {flag}");
    }
}

#[tokio::test]
async fn b09_over_native_tls_the_session_cookie_is_host_prefixed_and_secure() {
    let (server, fixture, _files) = start_tls(&[]);
    let mut agent = Agent::with_http(&server, http());
    let page = agent.get("/login").await;
    let csrf = hidden(&page.text().await.unwrap(), "csrf_token");
    let response = agent
        .post("/login", &[("email", &fixture.owner_email), ("password", OWNER_PASSWORD), ("csrf_token", &csrf), ("return_to", "/")])
        .await;
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-tessera_session="), "{cookie}");
    for attribute in ["; Secure", "; HttpOnly", "; SameSite=Lax", "; Path=/", "; Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert_eq!(agent.get("/settings/api-clients").await.status(), 200);
}

#[tokio::test]
async fn tls_certificate_reloads_on_sighup_and_on_change_without_dropping_connections() {
    let (server, _fixture, files) = start_tls(&["--header-read-timeout", "120"]);
    let first = client_trusting(test_ca());
    assert_eq!(first.get(server.url("/healthz")).send().await.unwrap().status(), 200);
    // A certificate from another CA, put in place of the files, then SIGHUP.
    let other_ca = TestCa::new("tessera-other-ca");
    let (cert, key) = other_ca.issue(files.path(), "renewed");
    let (original_cert, original_key) =
        (std::fs::read(files.path().join("server.pem")).unwrap(), std::fs::read(files.path().join("server.key")).unwrap());
    std::fs::copy(&key, files.path().join("server.key")).unwrap();
    std::fs::copy(&cert, files.path().join("server.pem")).unwrap();
    Command::new("kill").args(["-HUP", &server.pid().to_string()]).status().unwrap();
    let second = client_trusting(&other_ca);
    let mut reloaded = false;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !reloaded && Instant::now() < deadline {
        reloaded = second.get(server.url("/healthz")).send().await.is_ok_and(|r| r.status() == 200);
        if !reloaded {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert!(reloaded, "new connections get the new certificate");
    // The connection made before the reload still works: a new one would fail, since this
    // client trusts only the first CA.
    assert_eq!(first.get(server.url("/healthz")).send().await.unwrap().status(), 200, "the old connection was kept");
    let fresh = client_trusting(test_ca());
    assert!(fresh.get(server.url("/healthz")).send().await.is_err(), "a new connection sees the new certificate");
    // Files changed back without a signal: picked up by the watcher.
    std::fs::write(files.path().join("server.key"), original_key).unwrap();
    std::fs::write(files.path().join("server.pem"), original_cert).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut back = false;
    while !back && Instant::now() < deadline {
        back = client_trusting(test_ca()).get(server.url("/healthz")).send().await.is_ok_and(|r| r.status() == 200);
        if !back {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    assert!(back, "a changed file is reloaded without a signal");
    // A broken file keeps the current certificate.
    std::fs::write(files.path().join("server.pem"), "not a certificate").unwrap();
    Command::new("kill").args(["-HUP", &server.pid().to_string()]).status().unwrap();
    assert_eq!(client_trusting(test_ca()).get(server.url("/healthz")).send().await.unwrap().status(), 200);
    assert!(server.log().contains("keeping the previous certificate") || server.log().contains("TLS"), "{}", server.log());
}

#[test]
fn b13_a_bad_certificate_or_key_stops_the_start_with_a_clear_message() {
    let files = TempDir::new("tls").unwrap();
    let (cert, key) = test_ca().issue(files.path(), "server");
    let (_, other_key) = test_ca().issue(files.path(), "other");
    let dir = TempDir::new("cli").unwrap();
    let cli = dir.cli(bin()).unwrap();
    let run = |cert: &Path, key: &Path| {
        cli.run(&["serve", "--listen", "127.0.0.1:0", "--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]).unwrap()
    };
    let mismatched = run(&cert, &other_key);
    assert!(!mismatched.success && mismatched.stderr.contains("does not belong"), "{}", mismatched.stderr);
    let missing = run(&files.path().join("nope.pem"), &key);
    assert!(!missing.success && missing.stderr.contains("nope.pem"), "{}", missing.stderr);
    let only_cert = cli.run(&["serve", "--listen", "127.0.0.1:0", "--tls-cert", cert.to_str().unwrap()]).unwrap();
    assert!(!only_cert.success, "{}", only_cert.stderr);
    let http_issuer = cli
        .run(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--issuer",
            "http://127.0.0.1:1",
        ])
        .unwrap();
    assert!(!http_issuer.success && http_issuer.stderr.contains("https"), "{}", http_issuer.stderr);
    let public_http_issuer = cli.run(&["serve", "--listen", "127.0.0.1:0", "--issuer", "http://id.example.com"]).unwrap();
    assert!(!public_http_issuer.success && public_http_issuer.stderr.contains("https"), "{}", public_http_issuer.stderr);
}

#[tokio::test]
async fn b13_a14_forwarded_proto_is_believed_only_from_a_trusted_proxy() {
    let trusted =
        ServerOptions { serve: vec!["--behind-proxy".into(), "--trusted-proxy".into(), "127.0.0.1".into()], ..ServerOptions::default() };
    let (server, _fixture) = start_with(trusted);
    let proxied = http().get(server.url("/healthz")).header("x-forwarded-proto", "https").send().await.unwrap();
    assert!(hsts_max_age(&proxied).is_some_and(|age| age >= 31_536_000), "{:?}", proxied.headers());
    let plain = http().get(server.url("/healthz")).header("x-forwarded-proto", "http").send().await.unwrap();
    assert!(hsts_max_age(&plain).is_none());
    let untrusted =
        ServerOptions { serve: vec!["--behind-proxy".into(), "--trusted-proxy".into(), "192.0.2.1".into()], ..ServerOptions::default() };
    let (server, _fixture) = start_with(untrusted);
    let forged = http().get(server.url("/healthz")).header("x-forwarded-proto", "https").send().await.unwrap();
    assert!(hsts_max_age(&forged).is_none(), "an untrusted peer's X-Forwarded-Proto is ignored");
    let (server, _fixture) = start();
    let direct = http().get(server.url("/healthz")).header("x-forwarded-proto", "https").send().await.unwrap();
    assert!(hsts_max_age(&direct).is_none(), "not behind a proxy: ignored");
}

/// Sends `bytes` on a fresh connection and reads until the server closes it (at most `limit`).
fn raw_exchange(server: &Server, bytes: &[u8], limit: Duration) -> (String, bool) {
    let address = server.base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(limit)).unwrap();
    // A server that refuses a large head may answer and close before the last byte is sent:
    // the write then fails with a broken pipe or a reset, and the answer is read all the same.
    if let Err(e) = stream.write_all(bytes) {
        assert!(matches!(e.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset), "{e}");
    }
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let closed = loop {
        match stream.read(&mut buffer) {
            Ok(0) => break true,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&received).into_owned(), closed)
}

#[tokio::test]
async fn slowloris_a_client_that_never_finishes_its_headers_is_disconnected() {
    let options = ServerOptions { serve: vec!["--header-read-timeout".into(), "1".into()], ..ServerOptions::default() };
    let (server, fixture) = start_with(options);
    let handle = {
        let server_base = server.base.clone();
        std::thread::spawn(move || {
            let address = server_base.trim_start_matches("http://").trim_end_matches('/').to_owned();
            let mut stream = TcpStream::connect(address).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").unwrap();
            let mut buffer = [0u8; 1024];
            // Closed by the server (EOF or reset), not by our 30 s read timeout.
            match stream.read(&mut buffer) {
                Ok(n) => n == 0 || String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 408"),
                Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
            }
        })
    };
    // Meanwhile the server answers everyone else.
    assert_eq!(token(&server, &fixture, None).await["token_type"], "Bearer");
    assert!(handle.join().unwrap(), "the slow client's connection was closed by the server");
    // An idle connection that never sends a byte is closed too.
    let (received, closed) = raw_exchange(&server, b"", Duration::from_secs(30));
    assert!(closed, "idle connection closed; got {received:?}");
}

#[tokio::test]
async fn a_body_trickled_slower_than_the_request_timeout_gets_408() {
    let options = ServerOptions { serve: vec!["--request-timeout".into(), "1".into()], ..ServerOptions::default() };
    let (server, _fixture) = start_with(options);
    let head = b"POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=";
    let (received, _) = raw_exchange(&server, head, Duration::from_secs(30));
    assert!(received.starts_with("HTTP/1.1 408"), "{received}");
    assert!(received.contains("invalid_request"), "{received}");
}

#[tokio::test]
async fn oversized_request_heads_get_431_and_the_server_stays_up() {
    let (server, fixture) = start();
    let big = format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n", "a".repeat(20 * 1024));
    let (received, _) = raw_exchange(&server, big.as_bytes(), Duration::from_secs(30));
    assert!(received.starts_with("HTTP/1.1 431"), "{received}");
    let many: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n{many}\r\n");
    let (received, _) = raw_exchange(&server, request.as_bytes(), Duration::from_secs(30));
    assert!(received.starts_with("HTTP/1.1 431"), "{received}");
    // J14: a 1 MB Bearer token is refused the same way, without reaching a handler.
    let huge = format!("GET /oauth2/userinfo HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\r\n", "a".repeat(1024 * 1024));
    let (received, _) = raw_exchange(&server, huge.as_bytes(), Duration::from_secs(30));
    assert!(received.is_empty() || received.starts_with("HTTP/1.1 431"), "{received}");
    assert_eq!(token(&server, &fixture, None).await["token_type"], "Bearer");
}

#[tokio::test]
async fn bodies_that_are_neither_form_nor_json_are_refused_everywhere() {
    let (server, _fixture) = start();
    for path in ["/login", "/oauth2/token", "/oauth2/revoke", "/oauth2/introspect", "/sessions", "/oauth2/authorize/decision", "/logout"] {
        for content_type in ["text/plain", "multipart/form-data; boundary=x", "application/xml"] {
            let response = http().post(server.url(path)).header("content-type", content_type).body("a=b").send().await.unwrap();
            assert_eq!(response.status(), 400, "{path} with {content_type}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "invalid_request", "{path}");
        }
    }
}
