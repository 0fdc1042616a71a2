//! Concurrent changes against live traffic (SECURITY.md §14: X04, X09): a change made by the CLI
//! in another process while the server serves holds from the moment the command returns.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;
use crate::jwt_validation::eventually_async;

const CC: (&str, &str) = ("grant_type", "client_credentials");

/// These tests send many wrong secrets on purpose; the failure limiter (A19) is not under test.
fn without_lockout() -> ServerOptions {
    ServerOptions { serve: vec!["--client-auth-failure-limit".into(), "1000000".into()], ..Default::default() }
}

async fn token_status(client: &reqwest::Client, url: &str, id: &str, secret: &str) -> u16 {
    client.post(url).basic_auth(id, Some(secret)).form(&[CC]).send().await.expect("request").status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn x04_regenerate_under_concurrent_token_requests_voids_the_old_secret_at_once() {
    const TASKS: usize = 8;
    /// Requests each task sends once the regeneration has returned.
    const AFTER: usize = 40;
    let (server, fixture) = start_with(without_lockout());
    let url = server.url("/oauth2/token");
    let regenerated_at: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let successes = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (url, id, secret) = (url.clone(), fixture.client_id.clone(), fixture.client_secret.clone());
        let (regenerated_at, successes) = (regenerated_at.clone(), successes.clone());
        tasks.push(tokio::spawn(async move {
            let client = http();
            let mut seen = Vec::new();
            let mut after = 0;
            while after < AFTER && Instant::now() < deadline {
                let started = Instant::now();
                let status = token_status(&client, &url, &id, &secret).await;
                if status == 200 {
                    successes.fetch_add(1, Ordering::SeqCst);
                }
                if regenerated_at.get().is_some_and(|done| started > *done) {
                    after += 1;
                }
                seen.push((started, status));
            }
            seen
        }));
    }
    // The old secret is in use by every task before the regeneration starts.
    let warm = successes.clone();
    let warmed = eventually_async(Duration::from_secs(20), move || {
        let warm = warm.clone();
        async move { warm.load(Ordering::SeqCst) >= 2 * TASKS }
    })
    .await;
    assert!(warmed, "the old secret worked before the regeneration");

    let (cli, id) = (server.cli.clone(), fixture.client_id.clone());
    let output = tokio::task::spawn_blocking(move || cli.run(&["client", "regenerate-secret", &id])).await.unwrap().unwrap();
    let done = Instant::now();
    regenerated_at.set(done).unwrap();
    assert!(output.success, "regenerate-secret failed: {}", output.stderr);
    let new_secret = output.json().unwrap()["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, fixture.client_secret);

    let mut seen = Vec::new();
    for task in tasks {
        seen.extend(task.await.unwrap());
    }
    let unexpected: Vec<_> = seen.iter().filter(|(_, status)| *status != 200 && *status != 401).collect();
    assert!(unexpected.is_empty(), "every request is either accepted or refused as invalid_client: {unexpected:?}");
    assert!(seen.iter().any(|(started, status)| *started < done && *status == 200));
    let after: Vec<u16> = seen.iter().filter(|(started, _)| *started > done).map(|(_, status)| *status).collect();
    assert!(after.len() >= TASKS * AFTER, "only {} requests after the regeneration returned", after.len());
    let accepted = after.iter().filter(|s| **s == 200).count();
    assert_eq!(accepted, 0, "the old secret succeeded {accepted} times out of {} after regenerate-secret returned", after.len());

    let client = http();
    for _ in 0..20 {
        assert_eq!(token_status(&client, &url, &fixture.client_id, &new_secret).await, 200, "the new secret works");
        assert_eq!(token_status(&client, &url, &fixture.client_id, &fixture.client_secret).await, 401, "the old one stays void");
    }
}

#[tokio::test]
async fn x09_parallel_toggles_and_regenerations_end_in_the_last_acknowledged_state() {
    const COMMANDS: usize = 20;
    let (server, fixture) = start_with(without_lockout());
    let id = fixture.client_id.clone();
    let barrier = Barrier::new(COMMANDS);
    let results: Vec<(&str, tessera_testkit::CliOutput)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..COMMANDS)
            .map(|i| {
                let action = ["disable", "regenerate-secret", "enable"][i % 3];
                let (cli, id, barrier) = (&server.cli, &id, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    (action, cli.run(&["client", action, id]).unwrap())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let failures: Vec<String> =
        results.iter().filter(|(_, output)| !output.success).map(|(action, output)| format!("{action}: {}", output.stderr)).collect();
    let succeeded = |action: &str| results.iter().filter(|(a, output)| *a == action && output.success).count();
    assert!(succeeded("regenerate-secret") >= 1, "no regeneration succeeded: {failures:?}");
    assert!(succeeded("disable") + succeeded("enable") >= 1, "no toggle succeeded: {failures:?}");

    // One audit entry per acknowledged command, in commit order.
    let audit = server.cli.json(&["audit", "list", "--limit", "1000"]).unwrap();
    let entries: Vec<&Value> = audit.as_array().unwrap().iter().filter(|e| e["target"] == id.as_str()).collect();
    let ids: Vec<i64> = audit.as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "the audit log is newest first, one id each: {ids:?}");
    let logged = |action: &str| entries.iter().filter(|e| e["action"] == action).count();
    for (command, action) in
        [("disable", "client_disabled"), ("enable", "client_enabled"), ("regenerate-secret", "client_secret_regenerated")]
    {
        assert_eq!(logged(action), succeeded(command), "{action} entries vs successful `client {command}` (failures: {failures:?})");
    }

    // The final status is the last acknowledged toggle's.
    let last_toggle = entries.iter().find(|e| e["action"] == "client_disabled" || e["action"] == "client_enabled").unwrap();
    let expected = if last_toggle["action"] == "client_disabled" { "off" } else { "on" };
    let shown = server.cli.json(&["client", "show", &id]).unwrap();
    assert_eq!(shown["status"], expected, "client show vs the last toggle in the audit log");

    // The server behaves as `client show` says, and exactly one secret ever printed works.
    let mut secrets = vec![fixture.client_secret.clone()];
    for (action, output) in &results {
        if *action == "regenerate-secret" && output.success {
            secrets.push(output.json().unwrap()["client_secret"].as_str().unwrap().to_owned());
        }
    }
    let client = http();
    let url = server.url("/oauth2/token");
    let mut statuses = Vec::new();
    for secret in &secrets {
        statuses.push(token_status(&client, &url, &id, secret).await);
    }
    if expected == "off" {
        assert!(statuses.iter().all(|s| *s == 401), "an OFF client authenticates with nothing: {statuses:?}");
        server.cli.json(&["client", "enable", &id]).unwrap();
        statuses.clear();
        for secret in &secrets {
            statuses.push(token_status(&client, &url, &id, secret).await);
        }
    }
    assert!(statuses.iter().all(|s| *s == 200 || *s == 401), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "exactly one of {} secrets works: {statuses:?}", secrets.len());
    assert_eq!(statuses[0], 401, "the original secret was replaced");
}
