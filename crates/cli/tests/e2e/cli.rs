//! The command line (SPEC §2, §10): JSON output, errors, keys, the master key, configuration
//! precedence and start-up rules.

use std::time::Duration;

use serde_json::{Value, json};
use tessera_testkit::{Cli, TempDir};

use crate::common::*;

fn fresh_cli(dir: &TempDir) -> Cli {
    dir.cli(bin()).unwrap()
}

#[test]
fn json_output_shapes() {
    let dir = TempDir::new("cli").unwrap();
    let cli = fresh_cli(&dir);
    let org = cli.json(&["org", "create", "--name", "acme"]).unwrap();
    assert_eq!(org.as_object().unwrap().keys().collect::<Vec<_>>(), ["id", "name"]);
    assert_eq!(cli.json(&["scope", "create", "--org", "acme", "read"]).unwrap(), json!({ "name": "read", "restricted": false }));
    assert_eq!(
        cli.json(&["scope", "create", "--org", org["id"].as_str().unwrap(), "openid"]).unwrap(),
        json!({ "name": "openid", "restricted": false }),
        "built-in scope: no-op"
    );
    let user = cli
        .json_with_stdin(
            &["user", "create", "--org", "acme", "--email", "o@acme.test", "--role", "owner", "--password-stdin"],
            "pass word 123\n",
        )
        .unwrap();
    for key in ["id", "email", "org_id", "role"] {
        assert!(user.get(key).is_some(), "{key} in {user}");
    }
    assert_eq!(user["org_id"], org["id"]);
    let created = cli.json(&["client", "create", "--org", "acme", "--owner", "o@acme.test", "--name", "c1"]).unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    assert_eq!(secret.len(), 43, "256-bit secret, base64url");
    assert!(secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    let id = created["client_id"].as_str().unwrap();
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    assert_eq!(created["scopes"], json!(["read"]), "default: every scope the owner may grant");
    // --json may stand anywhere after `tessera`.
    let output = std::process::Command::new(bin())
        .args(["client", "show", id, "--data-dir"])
        .arg(&cli.data_dir)
        .arg("--json")
        .args(&cli.global)
        .output()
        .unwrap();
    let shown: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(shown.get("client_secret").is_none());
    for key in ["client_id", "name", "owner", "grants", "scopes", "redirect_uris", "status"] {
        assert!(shown.get(key).is_some(), "{key} in {shown}");
    }
    assert_eq!(shown["status"], "on");
    let list = cli.json(&["client", "list"]).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0], shown);
    assert_eq!(cli.json(&["client", "delete", id]).unwrap(), json!({}));
    assert_eq!(cli.json(&["client", "list", "--org", "acme"]).unwrap(), json!([]));
}

#[test]
fn errors_go_to_stderr_with_a_non_zero_exit() {
    let dir = TempDir::new("cli").unwrap();
    let cli = fresh_cli(&dir);
    cli.json(&["org", "create", "--name", "acme"]).unwrap();
    for args in [
        vec!["org", "create", "--name", "acme"],
        vec!["user", "create", "--org", "nope", "--email", "a@b.test", "--role", "owner"],
        vec!["user", "create", "--org", "acme", "--email", "a@b.test", "--role", "king"],
        vec!["user", "create", "--org", "acme", "--email", "not-an-email", "--role", "owner"],
        vec!["client", "show", "nosuchclient"],
        vec!["client", "create", "--org", "acme", "--owner", "ghost@x.test", "--name", "c"],
        vec!["scope", "create", "--org", "acme", "bad\"scope"],
    ] {
        let output = cli.run(&args).unwrap();
        assert!(!output.success, "{args:?} should fail");
        assert!(output.stdout.trim().is_empty(), "{args:?} printed {:?}", output.stdout);
        let error = output.error().unwrap();
        assert!(error["error"].is_string() && error["message"].is_string(), "{args:?}: {}", output.stderr);
    }
    let output = cli
        .run_with_stdin(
            &["user", "create", "--org", "acme", "--email", "s@b.test", "--role", "member", "--service", "--password-stdin"],
            "a password 123\n",
        )
        .unwrap();
    assert!(!output.success, "a service user has no password");
    cli.json_with_stdin(
        &["user", "create", "--org", "acme", "--email", "dup@b.test", "--role", "member", "--password-stdin"],
        "a password 123\n",
    )
    .unwrap();
    let dup = cli
        .run_with_stdin(
            &["user", "create", "--org", "acme", "--email", "DUP@b.test", "--role", "member", "--password-stdin"],
            "a password 123\n",
        )
        .unwrap();
    assert!(!dup.success && dup.stderr.contains("DUP@b.test is a member of acme already"), "{}", dup.stderr);
}

#[test]
fn r06_unsafe_redirect_uris_are_refused_at_registration() {
    let dir = TempDir::new("cli").unwrap();
    let cli = fresh_cli(&dir);
    cli.json(&["org", "create", "--name", "acme"]).unwrap();
    cli.json(&["user", "create", "--org", "acme", "--email", "o@acme.test", "--role", "owner"]).unwrap();
    let register = |uri: &str| {
        let args = [
            "client",
            "create",
            "--org",
            "acme",
            "--owner",
            "o@acme.test",
            "--name",
            "web",
            "--grant",
            "authorization_code",
            "--redirect-uri",
            uri,
        ];
        cli.run(&args).unwrap()
    };
    for uri in ["https://app.example/cb#frag", "javascript:alert(1)", "data:text/html,hi", "http://app.example/cb"] {
        assert!(!register(uri).success, "{uri} must be refused");
    }
    for uri in ["http://127.0.0.1:9000/cb", "http://[::1]/cb", "http://localhost/cb", "https://app.example/cb"] {
        let output = register(uri);
        assert!(output.success, "{uri} must be accepted: {}", output.stderr);
        output.json().unwrap();
    }
}

#[tokio::test]
async fn x14_keys_rotate_under_a_running_server() {
    let (server, fixture) = start();
    let before = access_token(&server, &fixture).await;
    let (old_header, _) = jwt_parts(&before);
    let keys = server.cli.json(&["keys", "list"]).unwrap();
    let next_kid = keys.as_array().unwrap().iter().find(|k| k["state"] == "next").unwrap()["kid"].clone();
    let rotated = server.cli.json(&["keys", "rotate"]).unwrap();
    let states: Vec<(Value, Value)> = rotated.as_array().unwrap().iter().map(|k| (k["kid"].clone(), k["state"].clone())).collect();
    assert!(states.contains(&(next_kid.clone(), json!("current"))), "the published next key signs now: {states:?}");
    assert!(states.contains(&(old_header["kid"].clone(), json!("retired"))));
    let after = access_token(&server, &fixture).await;
    let (new_header, _) = jwt_parts(&after);
    assert_eq!(new_header["kid"], next_kid, "new tokens use the new key on the next request");
    assert!(is_active(&server, &fixture, &before).await, "old-kid tokens stay valid until they expire");
    let jwks: Value = http().get(server.url("/oauth2/jwks")).send().await.unwrap().json().await.unwrap();
    let kids: Vec<&Value> = jwks["keys"].as_array().unwrap().iter().map(|k| &k["kid"]).collect();
    assert!(kids.contains(&&old_header["kid"]) && kids.contains(&&new_header["kid"]) && kids.len() == 3, "{kids:?}");
}

#[test]
fn x17_missing_or_wrong_master_key_refuses_to_start() {
    let dir = TempDir::new("cli").unwrap();
    let cli = fresh_cli(&dir);
    cli.json(&["org", "create", "--name", "acme"]).unwrap();
    let key_file = cli.data_dir.join("master.key");
    let key = std::fs::read_to_string(&key_file).unwrap();
    std::fs::remove_file(&key_file).unwrap();
    let output = cli.run(&["org", "list"]).unwrap();
    assert!(!output.success);
    assert!(output.stderr.contains("master key is missing"), "{}", output.stderr);
    assert!(!key_file.exists(), "no new key is made silently");
    let wrong = Cli { env: vec![("TESSERA_MASTER_KEY".into(), "A".repeat(43))], ..cli.clone() };
    let output = wrong.run(&["org", "list"]).unwrap();
    assert!(!output.success);
    assert!(output.stderr.contains("does not match"), "{}", output.stderr);
    let right = Cli { env: vec![("TESSERA_MASTER_KEY".into(), key.trim().into())], ..cli.clone() };
    assert_eq!(right.json(&["org", "list"]).unwrap()[0]["name"], "acme");
    std::fs::write(cli.data_dir.join("bad.toml"), "listen = 5\n").unwrap();
    let output = cli.run(&["--config", cli.data_dir.join("bad.toml").to_str().unwrap(), "org", "list"]).unwrap();
    assert!(!output.success && output.stderr.contains("invalid config file"), "{}", output.stderr);
}

#[test]
fn b13_plain_http_on_a_non_loopback_address_is_refused() {
    let dir = TempDir::new("cli").unwrap();
    let cli = fresh_cli(&dir);
    let output = cli.run(&["serve", "--listen", "192.0.2.10:8080"]).unwrap();
    assert!(!output.success);
    assert!(output.stderr.contains("TLS"), "{}", output.stderr);
}

#[tokio::test]
async fn configuration_precedence_is_flag_then_env_then_file() {
    let dir = TempDir::new("cli").unwrap();
    let config = dir.path().join("tessera.toml");
    std::fs::write(&config, "access_token_ttl = 120\nmax_access_token_ttl = 1000\n").unwrap();
    let config = config.to_str().unwrap().to_owned();
    let expires_in = |serve: Vec<String>, env: Vec<(String, String)>| {
        let global = vec!["--config".to_owned(), config.clone()];
        let options = ServerOptions { global, serve, env };
        async move {
            let (server, fixture) = start_with(options);
            token(&server, &fixture, None).await["expires_in"].as_u64().unwrap()
        }
    };
    let env = vec![("TESSERA_ACCESS_TOKEN_TTL".to_owned(), "60".to_owned())];
    assert_eq!(expires_in(vec![], vec![]).await, 120);
    assert_eq!(expires_in(vec![], env.clone()).await, 60);
    let with_flag = vec!["--access-token-ttl".to_owned(), "30".to_owned()];
    assert_eq!(expires_in(with_flag, env).await, 30);
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly_and_keys_survive_a_restart() {
    let (mut server, fixture) = start();
    let token = access_token(&server, &fixture).await;
    assert!(server.terminate(Duration::from_secs(10)).unwrap(), "exit status 0 after SIGTERM");
    let keys_before = server.cli.json(&["keys", "list"]).unwrap();
    let restarted = Server::start_in(server.cli.clone(), &[]).unwrap();
    assert_eq!(restarted.cli.json(&["keys", "list"]).unwrap(), keys_before, "same signing keys after a restart");
    let (header, _) = jwt_parts(&token);
    let jwks: Value = http().get(restarted.url("/oauth2/jwks")).send().await.unwrap().json().await.unwrap();
    assert!(jwks["keys"].as_array().unwrap().iter().any(|k| k["kid"] == header["kid"]));
    let after = access_token(&restarted, &fixture).await;
    assert_eq!(jwt_parts(&after).0["kid"], header["kid"], "the same key still signs");
}

#[tokio::test]
async fn keys_rotate_from_the_cli_keeps_the_servers_algorithm() {
    let (server, fixture) = start_with(ServerOptions { serve: vec!["--signing-alg".into(), "EdDSA".into()], ..Default::default() });
    // The CLI runs without --signing-alg, a flag of `serve` only (its default would be ES256).
    assert!(!server.cli.global.iter().any(|flag| flag == "--signing-alg"));
    let rotated = server.cli.json(&["keys", "rotate"]).unwrap();
    assert!(rotated.as_array().unwrap().iter().all(|k| k["alg"] == "EdDSA"), "{rotated}");
    let token = access_token(&server, &fixture).await;
    assert_eq!(jwt_parts(&token).0["alg"], "EdDSA");
}

#[test]
fn migrate_applies_the_schema_and_no_migrate_refuses_a_store_behind_the_binary() {
    let dir = TempDir::new("cli").unwrap();
    let cli = fresh_cli(&dir);
    let refused = cli.run(&["--no-migrate", "org", "list"]).unwrap();
    assert!(!refused.success && refused.stderr.contains("tessera migrate"), "{}", refused.stderr);
    assert_eq!(cli.json(&["migrate"]).unwrap(), json!({}));
    assert!(!cli.data_dir.join("master.key").exists(), "migrating needs no master key and makes none");
    assert_eq!(cli.json(&["--no-migrate", "org", "list"]).unwrap(), json!([]));
    assert_eq!(cli.json(&["migrate"]).unwrap(), json!({}), "migrating twice is a no-op");
}

#[test]
fn members_scopes_and_approvals_are_managed_from_the_cli_too() {
    let dir = TempDir::new("cli-admin").unwrap();
    let cli = fresh_cli(&dir);
    cli.json(&["org", "create", "--name", "acme"]).unwrap();
    cli.json(&["scope", "create", "--org", "acme", "reports"]).unwrap();
    let user = cli.json(&["user", "create", "--org", "acme", "--email", "m@acme.test", "--role", "member"]).unwrap();
    let updated = cli.json(&["user", "update", "m@acme.test", "--role", "admin", "--authorize-applications", "true"]).unwrap();
    assert_eq!(updated["role"], "admin");
    assert_eq!(updated["authorize_applications"], true);
    let users = cli.json(&["user", "list", "--org", "acme"]).unwrap();
    assert_eq!(users[0]["id"], user["id"]);
    assert_eq!(users[0]["role"], "admin");
    assert!(cli.json(&["user", "update", "m@acme.test", "--role", "king"]).is_err(), "an unknown role is refused");

    let scope = cli.json(&["scope", "update", "--org", "acme", "reports", "--restricted", "true"]).unwrap();
    assert_eq!(scope, json!({ "name": "reports", "restricted": true }));
    assert!(cli.json(&["scope", "update", "--org", "acme", "missing", "--restricted", "true"]).is_err(), "an unknown scope");

    let client = cli.json(&["client", "create", "--org", "acme", "--owner", "m@acme.test", "--name", "app"]).unwrap();
    let id = client["client_id"].as_str().unwrap();
    assert_eq!(cli.json(&["client", "approvals", "--org", "acme"]).unwrap(), json!([]));
    cli.json(&["client", "approve", id, "--org", "acme"]).unwrap();
    let approvals = cli.json(&["client", "approvals", "--org", "acme"]).unwrap();
    assert_eq!(approvals[0]["client_id"], id);
    assert_eq!(approvals[0]["approved_by"], "cli");
    let actions: Vec<String> = cli
        .json(&["audit", "list", "--org", "acme"])
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(actions.contains(&"user_updated".to_owned()) && actions.contains(&"scope_updated".to_owned()), "{actions:?}");
}

/// Empties the store of `cli` from outside, as a lost store looks: SQLite's files deleted, or
/// PostgreSQL's schema dropped and made again.
async fn lose_the_store(cli: &Cli) {
    if database_url(cli).is_some() {
        store_sql(cli, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;").await;
    } else {
        for file in ["tessera.db", "tessera.db-wal", "tessera.db-shm"] {
            let _ = std::fs::remove_file(cli.data_dir.join(file));
        }
    }
}

#[tokio::test]
async fn a_master_key_beside_an_empty_store_refuses_to_start_and_says_why() {
    let (mut server, fixture) = start();
    assert!(server.terminate(Duration::from_secs(10)).unwrap());
    let cli = server.cli.clone();
    lose_the_store(&cli).await;
    let refused = Server::start_in(cli.clone(), &[]).map(|_| ()).expect_err("a server on an empty store beside a master key");
    let message = format!("{refused:#}");
    for words in ["the store is empty", "master.key", "Restore the store", "move"] {
        assert!(message.contains(words), "{words:?} in {message}");
    }
    // The CLI opens the store the same way, and refuses too, before anything is written.
    let output = cli.run(&["org", "create", "--name", "fresh"]).unwrap();
    assert!(!output.success && output.stderr.contains("the store is empty"), "{}", output.stderr);
    let status = cli.json(&["migrate", "--status"]).unwrap();
    assert!(status["migrations"].as_array().unwrap().iter().all(|m| m["state"] == "applied"), "only the schema: {status}");
    assert!(cli.json(&["org", "list"]).is_err());

    // Moving the key away is the way to start afresh, deliberately.
    std::fs::rename(cli.data_dir.join("master.key"), cli.data_dir.join("master.key.old")).unwrap();
    let fresh = Server::start_in(cli.clone(), &[]).unwrap();
    let orgs = fresh.cli.json(&["org", "list"]).unwrap();
    assert!(orgs.as_array().unwrap().iter().all(|o| o["name"] != fixture.org_name.as_str()), "a new, empty store: {orgs}");
    assert!(cli.data_dir.join("master.key").exists(), "with a new key");
}

#[test]
fn a_first_start_that_crashes_between_key_and_keys_starts_again() {
    for point in ["master-key-claimed", "before-signing-keys"] {
        let dir = TempDir::new("cli").unwrap();
        let cli = fresh_cli(&dir);
        let crashing = Cli { env: vec![("TESSERA_FAILPOINT".into(), point.into())], ..cli.clone() };
        let output = crashing.run(&["org", "list"]).unwrap();
        assert!(!output.success, "{point}: the crash point is reached on a first start");
        let key_file = cli.data_dir.join("master.key");
        assert_eq!(key_file.exists(), point == "before-signing-keys", "{point}");
        let server = Server::start_in(cli.clone(), &[]).unwrap_or_else(|e| panic!("{point}: the next start works: {e:#}"));
        let keys = server.cli.json(&["keys", "list"]).unwrap();
        assert_eq!(keys.as_array().unwrap().len(), 2, "{point}: a current and a next key: {keys}");
        assert!(key_file.exists());
    }
}
