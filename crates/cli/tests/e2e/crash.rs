//! Crashes and shutdowns (SECURITY.md §14: X01, X06): a write the server or the CLI acknowledged
//! survives a `kill -9` of the server, and SIGTERM drains in-flight requests and keeps the keys.
//!
//! X02 (a crash between consuming a code and storing its tokens) is reached through crash points
//! compiled into the test builds of the binary only (`tessera-service`'s `failpoints` feature,
//! `TESSERA_FAILPOINT`). X03 needs none: retiring RT1 and storing RT2 are one transaction
//! (`Store::rotate_refresh_token`), so no crash can fall between them.
//!
//! Every server here runs with one fixed issuer, so that a token issued before a restart (which
//! binds a new port) still names the issuer of the restarted server. The issuer is only a string
//! in tokens and need not be reachable.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tessera_testkit::Cli;

use crate::common::*;
use crate::jwt_validation::eventually_async;

const ISSUER: &str = "http://127.0.0.1:1";
const CC: (&str, &str) = ("grant_type", "client_credentials");

fn serve_args() -> Vec<String> {
    vec!["--issuer".into(), ISSUER.into()]
}

fn fixed_issuer() -> ServerOptions {
    ServerOptions { serve: serve_args(), ..Default::default() }
}

fn restart(server: &Server) -> Server {
    Server::start_in(server.cli.clone(), &serve_args()).expect("the server restarts on the same store")
}

/// A number in `low..high` taken from the clock, so each run kills at another moment.
fn clock_pick(low: usize, high: usize) -> usize {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos() as usize;
    low + nanos % (high - low)
}

async fn token_status(client: &reqwest::Client, server: &Server, id: &str, secret: &str) -> u16 {
    client.post(server.url("/oauth2/token")).basic_auth(id, Some(secret)).form(&[CC]).send().await.expect("request").status().as_u16()
}

/// Sends SIGKILL to the server when the `at`-th acknowledged write has been counted, from
/// whichever worker acknowledged it, while the other workers are in the middle of theirs.
struct Killer {
    pid: u32,
    at: usize,
    acknowledged: AtomicUsize,
    fired: AtomicBool,
}

impl Killer {
    fn acknowledge(&self) {
        if self.acknowledged.fetch_add(1, Ordering::SeqCst) + 1 == self.at {
            // Set first: a connection error seen from now on is the kill, not a fault.
            self.fired.store(true, Ordering::SeqCst);
            let status = Command::new("kill").arg("-9").arg(self.pid.to_string()).status().expect("kill runs");
            assert!(status.success(), "kill -9 {} failed", self.pid);
        }
    }

    fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

/// What one HTTP worker got acknowledged: tokens whose revocation answered 200.
#[derive(Default)]
struct Revocations {
    acknowledged: Vec<String>,
    problems: Vec<String>,
}

/// Issues a token and revokes it, `max` times at most; stops at the first connection error
/// (expected once the server is killed, a fault before).
async fn revoke_burst(base: String, fixture: Fixture, killer: Arc<Killer>, max: usize) -> Revocations {
    let client = http();
    let post = |path: &str| client.post(format!("{base}{path}")).basic_auth(&fixture.client_id, Some(&fixture.client_secret));
    let mut out = Revocations::default();
    let lost = |out: &mut Revocations, what: &str, e: reqwest::Error| {
        if !killer.fired() {
            out.problems.push(format!("{what} failed before the kill: {e}"));
        }
    };
    for _ in 0..max {
        if killer.fired() {
            break;
        }
        let response = match post("/oauth2/token").form(&[CC]).send().await {
            Ok(response) => response,
            Err(e) => {
                lost(&mut out, "token request", e);
                break;
            }
        };
        let status = response.status().as_u16();
        let body = match response.text().await {
            Ok(body) => body,
            Err(e) => {
                lost(&mut out, "token response body", e);
                break;
            }
        };
        if status != 200 {
            out.problems.push(format!("token request answered {status}: {body}"));
            break;
        }
        let token: Value = serde_json::from_str(&body).expect("token response is JSON");
        let token = token["access_token"].as_str().expect("access_token").to_owned();
        match post("/oauth2/revoke").form(&[("token", token.as_str())]).send().await {
            Ok(response) if response.status() == 200 => {
                out.acknowledged.push(token);
                killer.acknowledge();
            }
            Ok(response) => {
                let status = response.status();
                out.problems.push(format!("revocation answered {status}: {}", response.text().await.unwrap_or_default()));
                break;
            }
            Err(e) => {
                lost(&mut out, "revocation", e);
                break;
            }
        }
    }
    out
}

/// What the CLI workers got acknowledged (exit status 0).
#[derive(Default)]
struct CliWrites {
    /// Clients created and left ON: (id, secret).
    created_on: Vec<(String, String)>,
    /// Clients created, then disabled: (id, secret).
    disabled: Vec<(String, String)>,
    /// Secrets printed by `regenerate-secret`, in order.
    regenerated: Vec<String>,
    failures: Vec<String>,
}

/// One CLI worker: runs commands until `stop` or `max` commands. No clock bounds it: how long a
/// cycle takes depends on the machine and the store, what it checks must not.
struct CliBurst {
    cli: Cli,
    org: String,
    owner: String,
    killer: Arc<Killer>,
    stop: Arc<AtomicBool>,
    max: usize,
    label: String,
}

impl CliBurst {
    fn go_on(&self, commands: usize) -> bool {
        commands < self.max && !self.stop.load(Ordering::SeqCst)
    }

    /// Runs one command: its JSON output if it exited 0 (an acknowledged write). Every command
    /// must succeed: the store is shared with a server that may be dead or alive, never corrupt.
    fn write(&self, args: &[&str], out: &mut CliWrites) -> Option<Value> {
        let output = self.cli.run(args).expect("the CLI runs");
        if !output.success {
            out.failures.push(format!("{args:?}: {}", output.stderr.trim()));
            return None;
        }
        let value = output.json().expect("JSON output");
        self.killer.acknowledge();
        Some(value)
    }

    /// Creates clients; every other one is disabled right after.
    fn creates_and_disables(&self) -> CliWrites {
        let mut out = CliWrites::default();
        let mut commands = 0;
        while self.go_on(commands) {
            let name = format!("{}-{commands}", self.label);
            commands += 1;
            let create = [
                "client",
                "create",
                "--org",
                &self.org,
                "--owner",
                &self.owner,
                "--name",
                &name,
                "--grant",
                "client_credentials",
                "--scope",
                "read",
            ];
            let Some(created) = self.write(&create, &mut out) else { continue };
            let client = (text(&created, "client_id"), text(&created, "client_secret"));
            let disable = (out.created_on.len() + out.disabled.len()) % 2 == 0 && self.go_on(commands);
            if disable {
                commands += 1;
            }
            if disable && self.write(&["client", "disable", &client.0], &mut out).is_some() {
                out.disabled.push(client);
            } else {
                // Never disabled, or the disable was not acknowledged (then a failure is recorded).
                out.created_on.push(client);
            }
        }
        out
    }

    /// Regenerates the secret of `client` again and again.
    fn regenerations(&self, client: &str) -> CliWrites {
        let mut out = CliWrites::default();
        let mut commands = 0;
        while self.go_on(commands) {
            commands += 1;
            if let Some(value) = self.write(&["client", "regenerate-secret", client], &mut out) {
                out.regenerated.push(text(&value, "client_secret"));
            }
        }
        out
    }
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_else(|| panic!("{key} missing in {value}")).to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn x01_kill_9_loses_no_acknowledged_write() {
    const CYCLES: usize = 10;
    const HTTP_WORKERS: usize = 2;
    /// Token + revocation pairs per HTTP worker and cycle: together they always reach the kill.
    const HTTP_MAX: usize = 20;
    /// Commands per CLI worker and cycle.
    const CLI_MAX: usize = 20;
    let (first, fixture) = start_with(fixed_issuer());
    let regenerated = first
        .cli
        .json(&[
            "client",
            "create",
            "--org",
            &fixture.org_name,
            "--owner",
            &fixture.owner_email,
            "--name",
            "regen",
            "--grant",
            "client_credentials",
            "--scope",
            "read",
        ])
        .unwrap();
    let regenerated_client = text(&regenerated, "client_id");
    let mut secrets = vec![text(&regenerated, "client_secret")];
    let mut created_on: Vec<(String, String)> = Vec::new();
    let mut disabled: Vec<(String, String)> = Vec::new();
    let mut revoked: Vec<String> = Vec::new();
    let mut controls: Vec<String> = Vec::new();
    // The first server owns the data directory: it stays (dead) in here until the end.
    let mut servers = vec![first];
    let client = http();

    for cycle in 0..CYCLES {
        let server = servers.last().unwrap();
        // Never revoked: must still be active after every restart (so "inactive" below means revoked).
        let control = access_token(server, &fixture).await;
        let killer =
            Arc::new(Killer { pid: server.pid(), at: clock_pick(8, 40), acknowledged: AtomicUsize::new(0), fired: AtomicBool::new(false) });
        let stop = Arc::new(AtomicBool::new(false));
        let burst = |label: &str| CliBurst {
            cli: server.cli.clone(),
            org: fixture.org_name.clone(),
            owner: fixture.owner_email.clone(),
            killer: killer.clone(),
            stop: stop.clone(),
            max: CLI_MAX,
            label: format!("crash-{cycle}-{label}"),
        };
        let creator = {
            let burst = burst("c");
            std::thread::spawn(move || burst.creates_and_disables())
        };
        let regenerator = {
            let (burst, id) = (burst("r"), regenerated_client.clone());
            std::thread::spawn(move || burst.regenerations(&id))
        };
        let http_workers: Vec<_> =
            (0..HTTP_WORKERS).map(|_| tokio::spawn(revoke_burst(server.base.clone(), fixture.clone(), killer.clone(), HTTP_MAX))).collect();
        let mut acknowledged = Vec::new();
        let mut problems = Vec::new();
        for worker in http_workers {
            let out = worker.await.expect("HTTP worker");
            acknowledged.extend(out.acknowledged);
            problems.extend(out.problems);
        }
        let fired = killer.clone();
        eventually_async(Duration::from_secs(5), move || {
            let fired = fired.clone();
            async move { fired.fired() }
        })
        .await;
        stop.store(true, Ordering::SeqCst);
        let (writes, regenerations) =
            tokio::task::spawn_blocking(move || (creator.join().expect("CLI worker"), regenerator.join().expect("CLI worker")))
                .await
                .unwrap();
        let failures: Vec<&String> = writes.failures.iter().chain(&regenerations.failures).collect();
        assert!(problems.is_empty(), "cycle {cycle}: unexpected HTTP outcomes before the kill: {problems:?}");
        assert!(failures.is_empty(), "cycle {cycle}: CLI writes failed: {failures:?}");
        assert!(
            killer.fired(),
            "cycle {cycle}: only {} writes were acknowledged, the kill was due after {}",
            killer.acknowledged.load(Ordering::SeqCst),
            killer.at
        );

        let server = restart(servers.last().unwrap());
        let context = format!(
            "cycle {cycle}: killed after {} acknowledged writes ({} revocations, {} creates, {} regenerations, {} disables this cycle)",
            killer.at,
            acknowledged.len(),
            writes.created_on.len() + writes.disabled.len(),
            regenerations.regenerated.len(),
            writes.disabled.len()
        );
        controls.push(control);
        for control in &controls {
            assert!(is_active(&server, &fixture, control).await, "{context}: a token never revoked is active after the restart");
        }
        for token in &acknowledged {
            assert!(!is_active(&server, &fixture, token).await, "{context}: a revocation answered 200 was lost");
        }
        revoked.extend(acknowledged);

        // Every acknowledged create is there, every acknowledged disable still holds.
        created_on.extend(writes.created_on.iter().cloned());
        disabled.extend(writes.disabled.iter().cloned());
        let list = server.cli.json(&["client", "list"]).unwrap();
        let status = |id: &str| list.as_array().unwrap().iter().find(|c| c["client_id"] == id).map(|c| c["status"].clone());
        for (id, _) in &created_on {
            assert_eq!(status(id), Some("on".into()), "{context}: acknowledged `client create` {id}");
        }
        for (id, _) in &disabled {
            assert_eq!(status(id), Some("off".into()), "{context}: acknowledged `client disable` {id}");
        }
        if let Some((id, secret)) = writes.created_on.last() {
            assert_eq!(token_status(&client, &server, id, secret).await, 200, "{context}: the secret of created client {id}");
        }
        if let Some((id, secret)) = writes.disabled.last() {
            assert_eq!(token_status(&client, &server, id, secret).await, 401, "{context}: disabled client {id} authenticated");
        }

        // The last acknowledged secret works; the one before it does not.
        secrets.extend(regenerations.regenerated);
        let last = secrets.last().unwrap();
        assert_eq!(token_status(&client, &server, &regenerated_client, last).await, 200, "{context}: the last acknowledged secret");
        if let [.., previous, _] = secrets.as_slice() {
            assert_eq!(token_status(&client, &server, &regenerated_client, previous).await, 401, "{context}: the secret it replaced");
        }
        servers.push(server);
    }

    // No revoked token ever came back, whatever the later crashes.
    let server = servers.last().unwrap();
    for token in &revoked {
        assert!(!is_active(server, &fixture, token).await, "a token revoked in an earlier cycle is active again");
    }
    // The checks above ran on every kind of write.
    let counts = (revoked.len(), created_on.len(), disabled.len(), secrets.len() - 1);
    assert!(counts.0 > 0 && counts.1 > 0 && counts.2 > 0 && counts.3 > 0, "(revocations, creates, disables, regenerations): {counts:?}");
    // The dead servers first, the one owning the data directory last.
    while let Some(server) = servers.pop() {
        // The crashed server's directory (the store) lives until here.
        drop(server);
    }
}

/// What one load worker saw.
#[derive(Default)]
struct Load {
    /// Tokens answered 200 and not revoked.
    issued: Vec<String>,
    /// Tokens whose revocation answered 200.
    revoked: Vec<String>,
    unavailable: usize,
    connection_errors: usize,
    /// Responses that were neither a 200 nor a clean 503, or whose body broke off.
    problems: Vec<String>,
}

/// A response is a 200 with a body that `check` accepts, or a clean 503
/// `temporarily_unavailable`; anything else, or a body cut short, is a problem.
async fn classify(response: reqwest::Response, what: &str, load: &mut Load, check: impl FnOnce(&str) -> bool) -> bool {
    let status = response.status().as_u16();
    let body = match response.text().await {
        Ok(body) => body,
        Err(e) => {
            load.problems.push(format!("{what}: the {status} response body broke off: {e}"));
            return false;
        }
    };
    match status {
        200 if check(&body) => true,
        503 if serde_json::from_str::<Value>(&body).is_ok_and(|b| b["error"] == "temporarily_unavailable") => {
            load.unavailable += 1;
            false
        }
        _ => {
            load.problems.push(format!("{what}: {status} {body:?}"));
            false
        }
    }
}

/// Token requests until the first connection error (the listener closed) or `max`;
/// every fifth token issued is revoked at once.
async fn token_load(
    base: String,
    fixture: Fixture,
    kid: Value,
    terminating: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
    max: usize,
) -> Load {
    let client = http();
    let post = |path: &str| client.post(format!("{base}{path}")).basic_auth(&fixture.client_id, Some(&fixture.client_secret));
    let mut load = Load::default();
    let failed = |load: &mut Load, e: reqwest::Error| {
        if !terminating.load(Ordering::SeqCst) {
            load.problems.push(format!("connection error before SIGTERM: {e}"));
        }
        load.connection_errors += 1;
    };
    for n in 0..max {
        let response = match post("/oauth2/token").form(&[CC]).send().await {
            Ok(response) => response,
            Err(e) => {
                failed(&mut load, e);
                break;
            }
        };
        answered.fetch_add(1, Ordering::SeqCst);
        let mut token = None;
        let valid = |body: &str| {
            let Ok(body) = serde_json::from_str::<Value>(body) else { return false };
            let Some(access) = body["access_token"].as_str() else { return false };
            token = Some(access.to_owned());
            body["token_type"] == "Bearer" && access.split('.').count() == 3 && jwt_parts(access).0["kid"] == kid
        };
        if !classify(response, "token", &mut load, valid).await {
            continue;
        }
        let token = token.expect("a 200 carries a token");
        if n % 5 != 0 {
            load.issued.push(token);
            continue;
        }
        match post("/oauth2/revoke").form(&[("token", token.as_str())]).send().await {
            // A revocation not acknowledged may or may not have happened: its token is checked for neither.
            Ok(response) => {
                if classify(response, "revocation", &mut load, str::is_empty).await {
                    load.revoked.push(token);
                }
            }
            Err(e) => {
                failed(&mut load, e);
                break;
            }
        }
    }
    load
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn x06_sigterm_under_load_drains_and_keeps_keys() {
    const TASKS: usize = 8;
    /// Requests per task at most: far more than are sent before the server has stopped.
    const MAX: usize = 3000;
    let (mut server, fixture) = start_with(fixed_issuer());
    let keys_before = server.cli.json(&["keys", "list"]).unwrap();
    let kid = keys_before.as_array().unwrap().iter().find(|k| k["state"] == "current").expect("a current key")["kid"].clone();
    let early = access_token(&server, &fixture).await;

    let terminating = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let load = token_load(server.base.clone(), fixture.clone(), kid.clone(), terminating.clone(), answered.clone(), MAX);
            tokio::spawn(load)
        })
        .collect();
    let warm = answered.clone();
    let warmed = eventually_async(Duration::from_secs(20), move || {
        let warm = warm.clone();
        async move { warm.load(Ordering::SeqCst) >= 10 * TASKS }
    })
    .await;
    assert!(warmed, "the load is running before SIGTERM");

    terminating.store(true, Ordering::SeqCst);
    let answered_at_sigterm = answered.load(Ordering::SeqCst);
    let (server_back, exited_cleanly) = tokio::task::spawn_blocking(move || {
        let clean = server.terminate(Duration::from_secs(15)).unwrap();
        (server, clean)
    })
    .await
    .unwrap();
    server = server_back;
    let mut loads = Vec::new();
    for task in tasks {
        loads.push(task.await.expect("load task"));
    }
    let answered_total = answered.load(Ordering::SeqCst);
    let problems: Vec<&String> = loads.iter().flat_map(|l| &l.problems).collect();
    let connection_errors: usize = loads.iter().map(|l| l.connection_errors).sum();
    let unavailable: usize = loads.iter().map(|l| l.unavailable).sum();
    let summary = format!(
        "{answered_total} requests answered ({answered_at_sigterm} before SIGTERM), {unavailable} clean 503, \
         {connection_errors} connection errors after the listener closed"
    );
    assert!(exited_cleanly, "the server did not exit with status 0 after SIGTERM ({summary}); log:\n{}", server.log());
    assert!(problems.is_empty(), "{summary}; responses neither 200 nor a clean 503: {problems:?}");
    assert_eq!(connection_errors, TASKS, "{summary}: every task ran until the listener closed, none ran out of requests");

    let restarted = restart(&server);
    assert_eq!(restarted.cli.json(&["keys", "list"]).unwrap(), keys_before, "same signing keys after SIGTERM and a restart");
    assert!(is_active(&restarted, &fixture, &early).await, "a token issued before the load is active after the restart");
    let issued: Vec<&String> = loads.iter().flat_map(|l| &l.issued).collect();
    let revoked: Vec<&String> = loads.iter().flat_map(|l| &l.revoked).collect();
    assert!(!issued.is_empty() && !revoked.is_empty(), "{summary}: {} issued, {} revoked", issued.len(), revoked.len());
    for token in issued {
        assert!(is_active(&restarted, &fixture, token).await, "{summary}: a token issued under load is inactive after the restart");
    }
    for token in revoked {
        assert!(!is_active(&restarted, &fixture, token).await, "{summary}: a revocation answered 200 was lost");
    }
    let after = access_token(&restarted, &fixture).await;
    assert_eq!(jwt_parts(&after).0["kid"], kid, "the same key still signs");
}

#[tokio::test]
async fn x02_a_crash_between_consuming_a_code_and_storing_its_tokens_leaves_no_redeemable_code() {
    for point in ["code-consumed", "code-tokens-stored"] {
        let options = ServerOptions { env: vec![("TESSERA_FAILPOINT".into(), point.into())], ..fixed_issuer() };
        let (server, fixture) = start_with(options);
        let client = crate::agent::web_client(&server, &fixture, &["--grant", "refresh_token"]);
        let mut agent = crate::agent::Agent::new(&server);
        // The pages check a form's Origin against the (fixed) issuer.
        agent.origin = Some(ISSUER.into());
        let code = crate::agent::owner_code(&mut agent, &fixture, &client, "&scope=read").await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "https://app.example/cb"),
            ("code_verifier", crate::agent::VERIFIER),
        ];
        let crashed =
            http().post(server.url("/oauth2/token")).basic_auth(&client.client_id, Some(&client.client_secret)).form(&form).send().await;
        assert!(crashed.is_err(), "{point}: the server must have crashed instead of answering {:?}", crashed.map(|r| r.status()));
        let restarted = Server::start_in(Cli { env: Vec::new(), ..server.cli.clone() }, &serve_args()).expect("restart");
        // The code is used: a second redemption is a reuse, refused, and it revokes whatever the
        // first one stored (the refresh token the client never received).
        let again = post_basic(&restarted, "/oauth2/token", &client.client_id, &client.client_secret, &form).await;
        assert_oauth_error(again, 400, "invalid_grant").await;
        // A fresh authorization works as usual on the restarted server.
        let mut agent = crate::agent::Agent::new(&restarted);
        agent.origin = Some(ISSUER.into());
        let code = crate::agent::owner_code(&mut agent, &fixture, &client, "&scope=read").await;
        let tokens = crate::agent::redeem_ok(&restarted, &client, &code).await;
        assert!(is_active(&restarted, &client, tokens["access_token"].as_str().unwrap()).await, "{point}");
        // The crashed server's directory (the store) lives until here.
        drop(server);
    }
}
