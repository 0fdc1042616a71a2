//! Revocations in memory (SPEC §17): each node holds the revoked token ids and grant ids, fed by
//! the change feed, so introspection asks the store nothing when nothing changed. A node loads
//! every live revocation when it starts; past `--revocation-memory` it forgets them and asks
//! the store on each check instead, so a revoked token is refused either way. (Revocations from
//! the endpoint, the CLI in another process and another node: `revocation.rs`, `multi_node.rs`;
//! of a grant: `refresh_flow.rs`, `code_flow.rs`.)

use crate::common::*;

/// `tessera_revocations_in_memory` and `tessera_revocation_memory_complete` of `server`.
async fn revocation_memory(server: &Server) -> (u64, u64) {
    let text = http().get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let gauge = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("{name} missing from /metrics"))
            .parse::<u64>()
            .unwrap()
    };
    (gauge("tessera_revocations_in_memory"), gauge("tessera_revocation_memory_complete"))
}

/// The server stopped and started again on the same store and address (so the issuer stays
/// the same). The stopped one must outlive the new one: it owns the data directory.
fn restart(server: &mut Server, serve: &[String]) -> Server {
    assert!(server.terminate(std::time::Duration::from_secs(20)).unwrap(), "the server stops");
    Server::start_in(server.cli.clone(), serve).expect("the server starts again on the same store")
}

fn on_a_port_of_its_own(extra: &[&str]) -> Vec<String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut serve = vec!["--listen".to_owned(), format!("127.0.0.1:{port}")];
    serve.extend(extra.iter().map(|flag| (*flag).to_owned()));
    serve
}

#[tokio::test]
async fn a_node_that_starts_knows_every_revocation_made_before() {
    let serve = on_a_port_of_its_own(&[]);
    let (mut server, fixture) = start_with(ServerOptions { serve: serve.clone(), ..ServerOptions::default() });
    let revoked = access_token(&server, &fixture).await;
    let kept = access_token(&server, &fixture).await;
    assert_eq!(revoke(&server, &fixture, &revoked, &[]).await.status(), 200);
    assert!(!is_active(&server, &fixture, &revoked).await);
    assert_eq!(revocation_memory(&server).await, (1, 1), "the revocation is held in memory");

    let server = restart(&mut server, &serve);
    assert!(!is_active(&server, &fixture, &revoked).await, "loaded from the store at start");
    assert!(is_active(&server, &fixture, &kept).await);
    assert_eq!(revocation_memory(&server).await, (1, 1));
}

#[tokio::test]
async fn past_its_bound_the_memory_gives_way_to_the_store_and_every_revoked_token_stays_refused() {
    let serve = on_a_port_of_its_own(&["--revocation-memory", "2"]);
    let (mut server, fixture) = start_with(ServerOptions { serve: serve.clone(), ..ServerOptions::default() });
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(access_token(&server, &fixture).await);
    }
    // Two revocations fit.
    assert_eq!(revoke(&server, &fixture, &tokens[0], &[]).await.status(), 200);
    let cli = server.cli.run_with_stdin(&["token", "revoke", "-"], &format!("{}\n", tokens[1])).unwrap();
    assert!(cli.success, "{}", cli.stderr);
    assert!(!is_active(&server, &fixture, &tokens[1]).await, "revoked by another process: seen on the next request");
    assert_eq!(revocation_memory(&server).await, (2, 1));
    // The third does not: the node stops trusting its memory and asks the store.
    assert_eq!(revoke(&server, &fixture, &tokens[2], &[]).await.status(), 200);
    for revoked in &tokens[..3] {
        assert!(!is_active(&server, &fixture, revoked).await, "a revoked token is refused with the memory full");
    }
    assert!(is_active(&server, &fixture, &tokens[3]).await, "and a live one still passes");
    assert_eq!(revocation_memory(&server).await, (0, 0), "the metrics say the memory gave way");

    // A node starting with more live revocations than its bound asks the store from the start.
    let mut server = restart(&mut server, &serve);
    for revoked in &tokens[..3] {
        assert!(!is_active(&server, &fixture, revoked).await);
    }
    assert!(is_active(&server, &fixture, &tokens[3]).await);
    assert_eq!(revocation_memory(&server).await, (0, 0));
    // With room for them, the same store fits in memory again.
    let server = restart(&mut server, &on_a_port_of_its_own_same(&serve, &["--revocation-memory", "10"]));
    for revoked in &tokens[..3] {
        assert!(!is_active(&server, &fixture, revoked).await);
    }
    assert_eq!(revocation_memory(&server).await, (3, 1));
}

/// `serve`'s address with other flags.
fn on_a_port_of_its_own_same(serve: &[String], extra: &[&str]) -> Vec<String> {
    let mut args = serve[..2].to_vec();
    args.extend(extra.iter().map(|flag| (*flag).to_owned()));
    args
}

/// Introspection remembers tokens whose signature it verified (`tessera_jose::verified`); only
/// the signature is remembered, so revocation, a client turned OFF and expiry still apply to a
/// token presented many times.
#[tokio::test]
async fn a_token_introspected_many_times_is_refused_at_once_when_revoked_or_its_client_turned_off() {
    let (server, fixture) = start();
    let revoked = access_token(&server, &fixture).await;
    let of_client = access_token(&server, &fixture).await;
    for _ in 0..3 {
        assert!(is_active(&server, &fixture, &revoked).await);
        assert!(is_active(&server, &fixture, &of_client).await);
    }
    assert_eq!(revoke(&server, &fixture, &revoked, &[]).await.status(), 200);
    assert!(!is_active(&server, &fixture, &revoked).await, "revoked: refused on the next request");
    assert!(is_active(&server, &fixture, &of_client).await);

    // The client that owns the token is turned OFF from another process; a second client of the
    // organization introspects.
    let (_, other) = add_client(&server, &fixture, "introspector", &[]);
    assert!(is_active(&server, &other, &of_client).await);
    let off = server.cli.run(&["client", "disable", &fixture.client_id]).unwrap();
    assert!(off.success, "{}", off.stderr);
    assert!(!is_active(&server, &other, &of_client).await, "its client is OFF: refused on the next request");
    let on = server.cli.run(&["client", "enable", &fixture.client_id]).unwrap();
    assert!(on.success, "{}", on.stderr);
    assert!(is_active(&server, &other, &of_client).await, "and back when it is ON again");
}
