//! Many nodes acting as one (SPEC §1): two real `tessera serve` processes on one PostgreSQL
//! database. A token issued on one node is revoked on the other; keys, client changes and
//! login lock-outs made through one node (or the CLI, a third process) hold on every node; of
//! two nodes racing on one code or refresh token exactly one wins; a `kill -9` of one node loses
//! nothing it acknowledged; a database restart fails `/readyz` and the node recovers by itself.
//!
//! These tests always run on PostgreSQL: each makes a database of its own on the server named
//! by `TESSERA_TEST_POSTGRES` (default 127.0.0.1:5432), whatever `TESSERA_TEST_DATABASE` says.
//!
//! How fresh another node's cache is: a change committed anywhere reaches every node through
//! PostgreSQL's LISTEN/NOTIFY as soon as it commits, and while a node's listening connection is
//! down the node reads the change feed on every request (docs/deployment.md). The deadline of
//! [`STALENESS`] is that documented bound, with room for a loaded test machine.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use tessera_testkit::{PgCluster, TestDatabase};

use crate::agent::*;
use crate::common::*;
use crate::jwt_validation::eventually_async;

/// Every node names the same issuer, as nodes behind one load balancer do.
const ISSUER: &str = "http://127.0.0.1:1";
/// How long a change may take to reach another node (documented: at once on notification,
/// and within about 6 s when a node's listening connection dies silently).
const STALENESS: Duration = Duration::from_secs(10);

/// Two nodes on one fresh PostgreSQL database, and a fixture made through the CLI. Fields drop
/// in order: the nodes stop before their database is dropped.
struct Nodes {
    a: Server,
    b: Server,
    fixture: Fixture,
    _database: TestDatabase,
}

fn serve_args() -> Vec<String> {
    vec!["--issuer".into(), ISSUER.into()]
}

/// Two nodes, each also given the `serve` flags `serve`.
fn two_nodes_with(serve: &[&str]) -> Nodes {
    let database = TestDatabase::create().expect("a PostgreSQL server for the multi-node tests (TESSERA_TEST_POSTGRES)");
    let flags = vec!["--database-url".to_owned(), database.url.clone()];
    let mut serve_flags = serve_args();
    serve_flags.extend(serve.iter().map(|s| (*s).to_owned()));
    let (a, fixture) = start_with(ServerOptions { global: flags, serve: serve_flags.clone(), ..Default::default() });
    let b = Server::start_node(&a.cli, &serve_flags).expect("the second node starts on the same database");
    Nodes { a, b, fixture, _database: database }
}

fn two_nodes() -> Nodes {
    two_nodes_with(&[])
}

async fn token_status(server: &Server, client: &Fixture) -> u16 {
    post_basic(server, "/oauth2/token", &client.client_id, &client.client_secret, &[("grant_type", "client_credentials")])
        .await
        .status()
        .as_u16()
}

async fn jwks_kids(server: &Server) -> Vec<String> {
    let jwks: Value = http().get(server.url("/oauth2/jwks")).send().await.unwrap().json().await.unwrap();
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

/// A browser on `server`: its pages post with the origin of the shared issuer, as a browser
/// behind the load balancer would.
fn browser(server: &Server) -> Agent<'_> {
    let mut agent = Agent::new(server);
    agent.origin = Some(ISSUER.to_owned());
    agent
}

fn kid(token: &str) -> String {
    jwt_parts(token).0["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_token_from_node_a_revoked_on_node_b_is_inactive_on_a_at_once() {
    let nodes = two_nodes();
    let (a, b, fixture) = (&nodes.a, &nodes.b, &nodes.fixture);
    let token = access_token(a, fixture).await;
    assert!(is_active(a, fixture, &token).await && is_active(b, fixture, &token).await, "each node accepts the other's tokens");
    assert_eq!(revoke(b, fixture, &token, &[]).await.status(), 200);
    // Revocations are not cached: the very next introspection on A sees it.
    assert!(!is_active(a, fixture, &token).await, "revoked on B, inactive on A at once");
    assert!(!is_active(b, fixture, &token).await);
}

#[tokio::test]
async fn a_client_disabled_or_a_secret_regenerated_elsewhere_takes_effect_on_every_node() {
    let nodes = two_nodes();
    let (a, b, fixture) = (&nodes.a, &nodes.b, &nodes.fixture);
    // Warm both nodes' caches with the client.
    assert_eq!((token_status(a, fixture).await, token_status(b, fixture).await), (200, 200));
    let token = access_token(a, fixture).await;

    // The CLI is a third process on the same database. It returns once every running node
    // has confirmed the change, so the very next request on either node applies it (SPEC §10).
    a.cli.json(&["client", "disable", &fixture.client_id]).unwrap();
    assert_eq!((token_status(a, fixture).await, token_status(b, fixture).await), (401, 401), "disabled everywhere");
    let (_, other) = add_client(a, fixture, "introspector", &["--grant", "client_credentials"]);
    assert!(!is_active(b, &other, &token).await, "its tokens stop working on B");
    b.cli.json(&["client", "enable", &fixture.client_id]).unwrap();
    assert_eq!((token_status(a, fixture).await, token_status(b, fixture).await), (200, 200), "enabled everywhere");

    let regenerated = b.cli.json(&["client", "regenerate-secret", &fixture.client_id]).unwrap();
    let fresh = Fixture { client_secret: regenerated["client_secret"].as_str().unwrap().to_owned(), ..fixture.clone() };
    for node in [a, b] {
        assert_eq!(token_status(node, fixture).await, 401, "the old secret is void on every node");
        assert_eq!(token_status(node, &fresh).await, 200, "the new secret works");
    }
}

#[tokio::test]
async fn keys_rotated_on_one_node_are_published_by_every_node_before_any_signs_with_them() {
    let nodes = two_nodes();
    let (a, b, fixture) = (&nodes.a, &nodes.b, &nodes.fixture);
    let signing = kid(&access_token(a, fixture).await);
    assert_eq!(signing, kid(&access_token(b, fixture).await), "one current key");
    let (kids_a, kids_b) = (jwks_kids(a).await, jwks_kids(b).await);
    assert_eq!(kids_a, kids_b);
    let next: Vec<&String> = kids_a.iter().filter(|k| **k != signing).collect();
    assert_eq!(next.len(), 1, "the next key is published ahead: {kids_a:?}");
    let next = next[0].clone();

    a.cli.json(&["keys", "rotate"]).unwrap();
    // Every token either node signs from now on carries a key both nodes publish; in the end
    // both sign with the key that was published as next.
    let checked = eventually_async(STALENESS, || async {
        let (token_a, token_b) = (access_token(a, fixture).await, access_token(b, fixture).await);
        let (published_a, published_b) = (jwks_kids(a).await, jwks_kids(b).await);
        for token in [&token_a, &token_b] {
            let kid = kid(token);
            assert!(published_a.contains(&kid) && published_b.contains(&kid), "{kid} signs but is not published everywhere");
            assert!(is_active(a, fixture, token).await && is_active(b, fixture, token).await);
        }
        kid(&token_a) == next && kid(&token_b) == next
    })
    .await;
    assert!(checked, "both nodes sign with the promoted key");
    let (kids_a, kids_b) = (jwks_kids(a).await, jwks_kids(b).await);
    assert_eq!(kids_a, kids_b, "both publish the same keys: retired, current and a new next");
    assert!(kids_a.contains(&signing) && kids_a.len() == 3, "{kids_a:?}");
}

#[tokio::test]
async fn two_nodes_racing_on_one_refresh_token_or_one_code_yield_exactly_one_winner() {
    let nodes = two_nodes();
    let (a, b, fixture) = (&nodes.a, &nodes.b, &nodes.fixture);
    let client = web_client(a, fixture, &["--grant", "refresh_token"]);
    let mut agent = browser(a);
    for round in 0..5 {
        let code = owner_code(&mut agent, fixture, &client, "&scope=read").await;
        let (on_a, on_b) = tokio::join!(redeem(a, &client, &code, &[]), redeem(b, &client, &code, &[]));
        let mut statuses = [on_a.status().as_u16(), on_b.status().as_u16()];
        let winner: Value = if statuses[0] == 200 { on_a.json().await.unwrap() } else { on_b.json().await.unwrap() };
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400], "round {round}: one code, one winner");
        // The loser counts as a reuse: everything issued from the code is revoked (C01).
        let access = winner["access_token"].as_str().unwrap();
        assert!(!is_active(a, &client, access).await && !is_active(b, &client, access).await, "round {round}");
    }
    for round in 0..5 {
        let code = owner_code(&mut agent, fixture, &client, "&scope=read").await;
        let first = redeem_ok(b, &client, &code).await;
        let rt = first["refresh_token"].as_str().unwrap();
        let (on_a, on_b) = tokio::join!(refresh(a, &client, rt, &[]), refresh(b, &client, rt, &[]));
        let mut statuses = [on_a.status().as_u16(), on_b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400], "round {round}: one refresh token, one winner");
    }
}

#[tokio::test]
async fn login_failures_are_counted_across_nodes() {
    let nodes = two_nodes_with(&["--login-failure-limit", "4"]);
    let (a, b, fixture) = (&nodes.a, &nodes.b, &nodes.fixture);
    let (mut on_a, mut on_b) = (browser(a), browser(b));
    let mut statuses = Vec::new();
    for i in 0..4 {
        let agent = if i % 2 == 0 { &mut on_a } else { &mut on_b };
        statuses.push(agent.login(&fixture.owner_email, "a wrong password").await.status().as_u16());
    }
    assert_eq!(statuses, [401; 4], "four failures, two on each node");
    for agent in [&mut on_a, &mut on_b] {
        let response = agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
        assert_eq!(response.status(), 429, "the account is locked on every node");
        assert!(response.headers().contains_key("retry-after"));
    }
}

#[tokio::test]
async fn client_authentication_failures_are_counted_across_nodes() {
    let nodes = two_nodes_with(&["--client-auth-failure-limit", "4"]);
    let (a, b, fixture) = (&nodes.a, &nodes.b, &nodes.fixture);
    let wrong = Fixture { client_secret: "not-the-secret".into(), ..fixture.clone() };
    let mut statuses = Vec::new();
    for node in [a, b, a, b] {
        statuses.push(token_status(node, &wrong).await);
    }
    assert_eq!(statuses, [401; 4], "four failures, two on each node");
    assert_eq!(token_status(b, fixture).await, 429, "the node that saw the fourth failure locks the client id");
    // Node A takes over the nodes' count at its next failure: the nodes together allow the
    // limit plus at most one failure per other node.
    assert_eq!(token_status(a, &wrong).await, 401);
    assert_eq!(token_status(a, fixture).await, 429, "locked on every node");
}

/// What one worker got acknowledged before the kill.
async fn revoke_until_killed(
    a: String,
    fixture: Fixture,
    killed: Arc<AtomicBool>,
    acknowledged: Arc<AtomicUsize>,
    kill_at: usize,
    pid: u32,
) -> Vec<String> {
    let client = http();
    let mut mine = Vec::new();
    while !killed.load(Ordering::SeqCst) {
        let post = |path: &str| client.post(format!("{a}{path}")).basic_auth(&fixture.client_id, Some(&fixture.client_secret));
        let Ok(response) = post("/oauth2/token").form(&[("grant_type", "client_credentials")]).send().await else { break };
        let Ok(body) = response.json::<Value>().await else { break };
        let token = body["access_token"].as_str().unwrap().to_owned();
        match post("/oauth2/revoke").form(&[("token", token.as_str())]).send().await {
            Ok(response) if response.status() == 200 => {
                mine.push(token);
                if acknowledged.fetch_add(1, Ordering::SeqCst) + 1 == kill_at {
                    killed.store(true, Ordering::SeqCst);
                    assert!(Command::new("kill").arg("-9").arg(pid.to_string()).status().unwrap().success());
                }
            }
            _ => break,
        }
    }
    mine
}

#[tokio::test]
async fn kill_9_of_one_node_in_a_burst_of_writes_loses_nothing_it_acknowledged() {
    let nodes = two_nodes_with(&["--client-auth-failure-limit", "0"]);
    let (a, b, fixture) = (&nodes.a, &nodes.b, &nodes.fixture);
    let (killed, acknowledged) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let workers: Vec<_> = (0..8)
        .map(|_| tokio::spawn(revoke_until_killed(a.base.clone(), fixture.clone(), killed.clone(), acknowledged.clone(), 60, a.pid())))
        .collect();
    let mut revoked = Vec::new();
    for worker in workers {
        revoked.extend(worker.await.unwrap());
    }
    assert!(killed.load(Ordering::SeqCst) && revoked.len() >= 60, "node A was killed after 60 acknowledged revocations");
    for token in &revoked {
        assert!(!is_active(b, fixture, token).await, "an acknowledged revocation survived the kill of the node that made it");
    }
}

#[tokio::test]
async fn connections_cut_under_a_node_are_re_established_and_changes_still_arrive() {
    let nodes = two_nodes();
    let (a, b, fixture) = (&nodes.a, &nodes.b, &nodes.fixture);
    assert_eq!((token_status(a, fixture).await, token_status(b, fixture).await), (200, 200));
    // Every session of both nodes is cut, the change-feed listeners included.
    let database = &nodes._database;
    database
        .execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        .unwrap();
    a.cli.json(&["client", "disable", &fixture.client_id]).unwrap();
    for node in [a, b] {
        assert!(eventually_async(STALENESS, || async { token_status(node, fixture).await == 401 }).await, "seen after reconnecting");
    }
}

#[tokio::test]
async fn a_database_restart_fails_readyz_and_the_node_recovers_by_itself() {
    let cluster = PgCluster::start().expect("a private PostgreSQL (Debian's postgresql-15)");
    let database = TestDatabase::create_on(&cluster.server()).unwrap();
    let global = vec!["--database-url".to_owned(), database.url.clone()];
    let (server, fixture) = start_with(ServerOptions { global, serve: serve_args(), ..Default::default() });
    let ready = || async { http().get(server.url("/readyz")).send().await.map(|r| r.status().as_u16()).unwrap_or(0) };
    assert_eq!(ready().await, 200);
    let before = access_token(&server, &fixture).await;

    cluster.stop().unwrap();
    assert!(eventually_async(STALENESS, || async { ready().await == 503 }).await, "/readyz fails while the database is down");
    assert_eq!(http().get(server.url("/healthz")).send().await.unwrap().status(), 200, "the process itself is up");

    cluster.start_again().unwrap();
    assert!(eventually_async(STALENESS * 3, || async { ready().await == 200 }).await, "/readyz recovers without a node restart");
    assert!(is_active(&server, &fixture, &before).await, "a token from before the restart is still active");
    assert_eq!(revoke(&server, &fixture, &before, &[]).await.status(), 200);
    assert!(!is_active(&server, &fixture, &before).await);
    // The change feed is followed again: a change from another process arrives.
    server.cli.json(&["client", "disable", &fixture.client_id]).unwrap();
    assert!(eventually_async(STALENESS, || async { token_status(&server, &fixture).await == 401 }).await);
}

/// A private_key_jwt assertion is single-use across nodes (RFC 7523 §3): its `jti` is consumed
/// by one atomic insert in the shared store, so a replay on the other node fails, and of two
/// nodes racing with one assertion exactly one issues a token.
#[tokio::test]
async fn a_client_assertion_used_on_one_node_is_refused_on_the_other_and_a_race_has_one_winner() {
    use crate::private_key_jwt::{claims, post_assertion, register_inline, sign};
    let nodes = two_nodes();
    let (key, _) = tessera_jose::SigningKey::generate(tessera_jose::Algorithm::ES256).unwrap();
    let client = register_inline(&nodes.a, &nodes.fixture, &key);
    let audience = format!("{ISSUER}/oauth2/token");
    let form = [("grant_type", "client_credentials")];
    let assertion = sign(&key, &claims(&client, &audience));
    assert_eq!(post_assertion(&nodes.a, "/oauth2/token", &assertion, &form).await.status(), 200);
    let replay = post_assertion(&nodes.b, "/oauth2/token", &assertion, &form).await;
    assert_oauth_error(replay, 401, "invalid_client").await;
    for round in 0..5 {
        let assertion = sign(&key, &claims(&client, &audience));
        let (on_a, on_b) = tokio::join!(
            post_assertion(&nodes.a, "/oauth2/token", &assertion, &form),
            post_assertion(&nodes.b, "/oauth2/token", &assertion, &form)
        );
        let mut statuses = [on_a.status().as_u16(), on_b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 401], "round {round}: exactly one node accepts the assertion");
    }
}

/// Two processes on one SQLite data directory (the embedded store's way to run a second process,
/// e.g. during a rolling restart): the spent ids of assertions and DPoP proofs live in the replay
/// file beside the store, and both processes must agree on them, races included.
#[tokio::test]
async fn two_processes_on_one_sqlite_file_accept_each_assertion_and_each_dpop_proof_once() {
    use crate::private_key_jwt::{claims, post_assertion, register_inline, sign, unique};
    use tessera_jose::dpop::sign_proof;
    // CI runs multi_node in the SQLite pass only (the PostgreSQL pass skips it); on PostgreSQL
    // this case is the test above, and the second process below would name another store.
    if tessera_testkit::postgres_selected() {
        return;
    }
    let (a, fixture) = start_with(ServerOptions { serve: serve_args(), ..Default::default() });
    let mut shared = a.cli.clone();
    shared.global.extend(["--database-url".to_owned(), format!("sqlite://{}", a.cli.data_dir.join("tessera.db").display())]);
    let b = Server::start_node(&shared, &serve_args()).expect("a second process on the same SQLite file");
    let audience = format!("{ISSUER}/oauth2/token");

    let (key, _) = tessera_jose::SigningKey::generate(tessera_jose::Algorithm::ES256).unwrap();
    let client = register_inline(&a, &fixture, &key);
    let form = [("grant_type", "client_credentials")];
    let dpop_token = |server: &Server, proof: String| {
        http()
            .post(server.url("/oauth2/token"))
            .basic_auth(&fixture.client_id, Some(&fixture.client_secret))
            .header("DPoP", proof)
            .form(&form)
            .send()
    };
    for round in 0..5 {
        let assertion = sign(&key, &claims(&client, &audience));
        let (on_a, on_b) =
            tokio::join!(post_assertion(&a, "/oauth2/token", &assertion, &form), post_assertion(&b, "/oauth2/token", &assertion, &form));
        let mut statuses = [on_a.status().as_u16(), on_b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 401], "round {round}: exactly one process accepts the assertion");

        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let proof = sign_proof(&key, &serde_json::json!({"htm": "POST", "htu": audience, "iat": now, "jti": unique("proof")})).unwrap();
        let (on_a, on_b) = tokio::join!(dpop_token(&a, proof.clone()), dpop_token(&b, proof));
        let mut statuses = [on_a.unwrap().status().as_u16(), on_b.unwrap().status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 400], "round {round}: exactly one process accepts the proof");
    }
    assert!(a.cli.data_dir.join("tessera-replay.db").exists(), "the spent ids are in the replay file beside the store");
}
