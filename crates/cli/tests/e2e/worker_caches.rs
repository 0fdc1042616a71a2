//! The caches each HTTP worker keeps of its own (SPEC §17, `tessera_service::cache`): a change
//! made by the CLI in another process reaches every worker on its very next request, for every
//! kind of cached object (a client, its secret, a user, a scope catalogue, the signing keys),
//! and a client dropped from a full cache is loaded again, correctly, when next used.
//!
//! Connections go to the workers in turn, so `2 × WORKERS` requests, each on a connection of its
//! own, reach every worker at least once.

use serde_json::Value;

use crate::common::*;

const WORKERS: usize = 3;

/// A client that opens a new connection for every request.
fn one_connection_per_request() -> reqwest::Client {
    reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap()
}

/// Status and body of a client-credentials token request, on every worker.
async fn on_every_worker(server: &Server, id: &str, secret: &str) -> Vec<(u16, Value)> {
    let mut answers = Vec::new();
    for _ in 0..2 * WORKERS {
        let response = one_connection_per_request()
            .post(server.url("/oauth2/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        answers.push((status, response.json().await.unwrap_or(Value::Null)));
    }
    answers
}

fn assert_all(answers: &[(u16, Value)], what: &str, check: impl Fn(u16, &Value) -> bool) {
    for (n, (status, body)) in answers.iter().enumerate() {
        assert!(check(*status, body), "{what}: answer {n} was {status} {body}");
    }
}

fn scope_of(body: &Value) -> Vec<&str> {
    let mut scopes: Vec<&str> = body["scope"].as_str().unwrap_or_default().split(' ').collect();
    scopes.sort_unstable();
    scopes
}

#[tokio::test]
async fn a_change_from_another_process_reaches_every_worker_on_its_next_request() {
    let workers = WORKERS.to_string();
    let (server, fixture) = start_with(ServerOptions { serve: vec!["--http-workers".into(), workers], ..ServerOptions::default() });
    let cli = &server.cli;
    let org = fixture.org_name.as_str();
    cli.json(&[
        "user",
        "create",
        "--org",
        org,
        "--email",
        "runner@x.test",
        "--role",
        "member",
        "--service",
        "--permission",
        "authorize_applications",
    ])
    .unwrap();
    let (_, client) = add_client(&server, &fixture, "svc", &["--scope", "read", "--scope", "admin", "--run-as", "runner@x.test"]);
    let (id, mut secret) = (client.client_id.clone(), client.client_secret.clone());

    // Every worker caches the client, its users, the catalogue and the keys.
    let warm = on_every_worker(&server, &id, &secret).await;
    assert_all(&warm, "warm", |status, body| status == 200 && scope_of(body) == ["read"]);

    // The catalogue: `admin` stops being restricted, so the member run-as user may hold it.
    cli.json(&["scope", "update", "--org", org, "admin", "--restricted", "false"]).unwrap();
    let answers = on_every_worker(&server, &id, &secret).await;
    assert_all(&answers, "after the catalogue changed", |status, body| status == 200 && scope_of(body) == ["admin", "read"]);

    // The run-as user.
    cli.json(&["user", "disable", "runner@x.test"]).unwrap();
    let answers = on_every_worker(&server, &id, &secret).await;
    assert_all(&answers, "after the run-as user was disabled", |status, _| status != 200);
    cli.json(&["user", "enable", "runner@x.test"]).unwrap();
    let answers = on_every_worker(&server, &id, &secret).await;
    assert_all(&answers, "after the run-as user was enabled", |status, _| status == 200);

    // The client.
    cli.json(&["client", "disable", &id]).unwrap();
    let answers = on_every_worker(&server, &id, &secret).await;
    assert_all(&answers, "after the client was disabled", |status, body| status == 401 && body["error"] == "invalid_client");
    cli.json(&["client", "enable", &id]).unwrap();
    let answers = on_every_worker(&server, &id, &secret).await;
    assert_all(&answers, "after the client was enabled", |status, _| status == 200);

    // Its secret.
    let old = secret.clone();
    secret = cli.json(&["client", "regenerate-secret", &id]).unwrap()["client_secret"].as_str().unwrap().to_owned();
    let answers = on_every_worker(&server, &id, &old).await;
    assert_all(&answers, "the replaced secret", |status, _| status == 401);
    let answers = on_every_worker(&server, &id, &secret).await;
    assert_all(&answers, "the new secret", |status, _| status == 200);

    // The signing keys: every worker signs with the key that is current now.
    let rotated = cli.json(&["keys", "rotate"]).unwrap();
    let current = rotated.as_array().unwrap().iter().find(|key| key["state"] == "current").expect("a current key")["kid"].clone();
    let answers = on_every_worker(&server, &id, &secret).await;
    assert_all(&answers, "after the keys were rotated", |status, body| {
        status == 200 && jwt_parts(body["access_token"].as_str().unwrap_or_default()).0["kid"] == current
    });
}

/// `tessera_cache_entries` of `server`.
async fn cache_entries(server: &Server) -> u64 {
    let text = http().get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines().find_map(|line| line.strip_prefix("tessera_cache_entries ")).expect("tessera_cache_entries").parse().unwrap()
}

#[tokio::test]
async fn a_client_dropped_from_a_full_cache_is_loaded_again_correctly() {
    let (server, fixture) = start_with(ServerOptions {
        serve: vec!["--cache-entries".into(), "4".into(), "--http-workers".into(), "1".into()],
        ..ServerOptions::default()
    });
    let clients: Vec<Fixture> = (0..8).map(|n| add_client(&server, &fixture, &format!("client {n}"), &["--scope", "read"]).1).collect();
    for round in 0..3 {
        for client in &clients {
            let token = client_credentials_token(&server, &client.client_id, &client.client_secret).await;
            let (_, claims) = jwt_parts(&token);
            assert_eq!(claims["client_id"], client.client_id.as_str(), "round {round}: the token names its own client");
        }
        assert!(cache_entries(&server).await <= 4, "the node's cache keeps to --cache-entries");
    }
    // A change empties the worker's own view too: every client now comes from the node's cache
    // or the store, and the changed one with its change.
    let changed = &clients[0];
    let secret =
        server.cli.json(&["client", "regenerate-secret", &changed.client_id]).unwrap()["client_secret"].as_str().unwrap().to_owned();
    let refused =
        post_basic(&server, "/oauth2/token", &changed.client_id, &changed.client_secret, &[("grant_type", "client_credentials")]).await;
    assert_oauth_error(refused, 401, "invalid_client").await;
    client_credentials_token(&server, &changed.client_id, &secret).await;
    for client in &clients[1..] {
        let token = client_credentials_token(&server, &client.client_id, &client.client_secret).await;
        assert_eq!(jwt_parts(&token).1["client_id"], client.client_id.as_str());
    }
}
