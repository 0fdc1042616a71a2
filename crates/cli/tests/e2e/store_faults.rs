//! The store failing under the server (SECURITY.md §12, §14: L03, X05, X18): answers stay fast,
//! clean 503s that name nothing internal, `/healthz` stays up, and the server recovers by
//! itself once the store is back.

use std::time::Duration;

use serde_json::Value;
use sqlx::Connection as _;
use tessera_testkit::{PgCluster, TestDatabase};

use crate::agent::*;
use crate::common::*;
use crate::jwt_validation::eventually_async;

/// What an error body must never contain (L03): SQL, driver names, paths, versions.
const INTERNALS: &[&str] = &[
    "select",
    "insert",
    "update ",
    "sqlx",
    "sqlite",
    "postgres",
    "database",
    "/tmp",
    "tessera-data",
    "error returned",
    "connection refused",
    "0.1.0",
];

fn assert_clean(what: &str, status: u16, body: &str) {
    assert!(matches!(status, 500 | 503), "{what}: {status} {body}");
    let lower = body.to_ascii_lowercase();
    for word in INTERNALS {
        assert!(!lower.contains(word), "{what}: {word:?} in {body}");
    }
    if let Ok(json) = serde_json::from_str::<Value>(body) {
        let error = json["error"].as_str().unwrap_or_default();
        assert!(
            matches!(error, "server_error" | "temporarily_unavailable" | "Service Unavailable" | "Internal Server Error"),
            "{what}: {body}"
        );
    }
}

async fn status_and_body(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn x05_l03_postgresql_stopped_gives_clean_503s_and_the_node_recovers() {
    let cluster = PgCluster::start().expect("a private PostgreSQL (Debian's postgresql-15)");
    let database = TestDatabase::create_on(&cluster.server()).unwrap();
    let global = vec!["--database-url".to_owned(), database.url.clone()];
    let (server, fixture) = start_with(ServerOptions { global, ..Default::default() });
    let client = web_client(&server, &fixture, &["--grant", "refresh_token"]);
    let mut agent = Agent::new(&server);
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    let tokens = redeem_ok(&server, &client, &code).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();

    cluster.stop().unwrap();
    let ready = || async { http().get(server.url("/readyz")).send().await.map(|r| r.status().as_u16()).unwrap_or(0) };
    assert!(eventually_async(Duration::from_secs(30), || async { ready().await == 503 }).await, "/readyz fails");
    assert_eq!(http().get(server.url("/healthz")).send().await.unwrap().status(), 200, "the process is up");
    // Every request that needs the store gets a clean error, not a hang or a leak.
    let (status, body) = status_and_body(revoke(&server, &client, &access, &[]).await).await;
    assert_clean("revoke", status, &body);
    let (status, body) = status_and_body(refresh(&server, &client, tokens["refresh_token"].as_str().unwrap(), &[]).await).await;
    assert_clean("refresh", status, &body);
    let sessions = http()
        .post(server.url("/sessions"))
        .json(&serde_json::json!({"email": fixture.owner_email, "password": OWNER_PASSWORD}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_body(sessions).await;
    assert_clean("POST /sessions", status, &body);
    let (status, body) = status_and_body(Agent::new(&server).get("/login").await).await;
    assert!(status == 200 || matches!(status, 500 | 503), "login page: {status}");
    if status != 200 {
        assert_clean("login page", status, &body);
    }

    cluster.start_again().unwrap();
    assert!(eventually_async(Duration::from_secs(60), || async { ready().await == 200 }).await, "recovers without a restart");
    assert!(
        eventually_async(Duration::from_secs(30), || async { revoke(&server, &client, &access, &[]).await.status() == 200 }).await,
        "writes work again"
    );
    assert!(!is_active(&server, &client, &access).await);
}

/// Holds the store's write lock from outside the server until dropped (rolled back).
enum Locker {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Locker {
    async fn hold(server: &Server) -> Locker {
        match server.cli.global.iter().position(|a| a == "--database-url").map(|i| server.cli.global[i + 1].clone()) {
            Some(url) => {
                let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
                sqlx::Executor::execute(&mut connection, "BEGIN").await.unwrap();
                sqlx::Executor::execute(&mut connection, "LOCK TABLE revoked_tokens, refresh_tokens, grants IN EXCLUSIVE MODE")
                    .await
                    .unwrap();
                Locker::Postgres(connection)
            }
            None => {
                let path = server.cli.data_dir.join("tessera.db");
                let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
                sqlx::Executor::execute(&mut connection, "BEGIN IMMEDIATE").await.unwrap();
                Locker::Sqlite(connection)
            }
        }
    }

    async fn release(self) {
        match self {
            Locker::Sqlite(mut c) => drop(sqlx::Executor::execute(&mut c, "ROLLBACK").await.unwrap()),
            Locker::Postgres(mut c) => drop(sqlx::Executor::execute(&mut c, "ROLLBACK").await.unwrap()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn x18_a_long_transaction_elsewhere_yields_bounded_503s_and_no_deadlock() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &["--grant", "refresh_token"]);
    let mut agent = Agent::new(&server);
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(owner_code(&mut agent, &fixture, &client, "&scope=read").await);
    }
    let mut access_tokens = Vec::new();
    for _ in 0..12 {
        access_tokens.push(access_token(&server, &fixture).await);
    }

    let locker = Locker::hold(&server).await;
    // More writers than the pool has connections, redemptions and revocations mixed: every one
    // ends (no deadlock, no hang) with a clean 503.
    let mut tasks = Vec::new();
    for token in access_tokens.clone() {
        let (base, fixture) = (server.base.clone(), fixture.clone());
        tasks.push(tokio::spawn(async move {
            let response = http()
                .post(format!("{base}/oauth2/revoke"))
                .basic_auth(&fixture.client_id, Some(&fixture.client_secret))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }));
    }
    for code in &codes[..2] {
        let (base, client, code) = (server.base.clone(), client.clone(), code.clone());
        tasks.push(tokio::spawn(async move {
            let response = http()
                .post(format!("{base}/oauth2/token"))
                .basic_auth(&client.client_id, Some(&client.client_secret))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", "https://app.example/cb"),
                    ("code_verifier", crate::agent::VERIFIER),
                ])
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }));
    }
    // Meanwhile the hot path needs no write and keeps working, and the process is up.
    assert_eq!(token(&server, &fixture, None).await["token_type"], "Bearer");
    assert_eq!(http().get(server.url("/healthz")).send().await.unwrap().status(), 200);
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 503, "{body}");
        assert_clean("a write behind a long transaction", status, &body);
    }
    locker.release().await;

    // Afterwards: writes work, a revoked token stays revoked, a code still redeems once.
    assert_eq!(revoke(&server, &fixture, &access_tokens[0], &[]).await.status(), 200);
    assert!(!is_active(&server, &fixture, &access_tokens[0]).await);
    let tokens = redeem_ok(&server, &client, &codes[2]).await;
    assert!(is_active(&server, &client, tokens["access_token"].as_str().unwrap()).await);
}
