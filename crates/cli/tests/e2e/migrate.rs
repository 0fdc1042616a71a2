//! `tessera migrate --status` (SPEC §12): the applied and pending migrations of the configured
//! store, SQLite or PostgreSQL, without applying anything; and the rollback SQL each migration's
//! header gives really undoes it.

use serde_json::Value;
use tessera_testkit::TempDir;

use crate::common::*;

fn states(status: &Value) -> Vec<(i64, String)> {
    status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["version"].as_i64().unwrap(), m["state"].as_str().unwrap().to_owned()))
        .collect()
}

/// The versions of the binary's migrations on the store under test, in order: one history for
/// both backends, in which SQLite skips 4 (PostgreSQL's nodes) and PostgreSQL skips 10 (SQLite's
/// replay file). A new migration raises `NEWEST`.
fn versions() -> Vec<i64> {
    const NEWEST: i64 = 27;
    let skipped = if tessera_testkit::postgres_selected() { 10 } else { 4 };
    (1..=NEWEST).filter(|v| *v != skipped).collect()
}

/// `state` for every migration whose version is in `range`.
fn all(state: &str, range: std::ops::RangeInclusive<i64>) -> Vec<(i64, String)> {
    versions().into_iter().filter(|v| range.contains(v)).map(|v| (v, state.to_owned())).collect()
}

#[test]
fn migrate_status_lists_pending_migrations_of_a_fresh_store_and_applies_nothing() {
    let dir = TempDir::new("migrate").unwrap();
    let cli = dir.cli(bin()).unwrap();
    let postgres = database_url(&cli).is_some();
    let status = cli.json(&["migrate", "--status"]).unwrap();
    assert_eq!(status["backend"], if postgres { "postgres" } else { "sqlite" });
    assert_eq!(status["store_exists"], postgres, "a SQLite store that is not there is not made");
    assert_eq!(states(&status), all("pending", 1..=i64::MAX));
    assert_eq!(status["pending"], versions().len());
    assert!(!cli.data_dir.exists(), "--status writes nothing, not even the data directory");
    for m in status["migrations"].as_array().unwrap() {
        assert!(m["applied_at"].is_null(), "{m}");
        let rollback = m["rollback"].as_str().unwrap();
        assert!(rollback.starts_with("rollback: yes") || rollback.starts_with("rollback: no"), "{m}");
    }
    assert_eq!(cli.json(&["migrate", "--status"]).unwrap()["pending"], versions().len(), "still nothing applied");
}

#[test]
fn migrate_status_shows_when_each_migration_was_applied() {
    let dir = TempDir::new("migrate").unwrap();
    let cli = dir.cli(bin()).unwrap();
    assert_eq!(cli.json(&["migrate"]).unwrap(), serde_json::json!({}));
    let status = cli.json(&["migrate", "--status"]).unwrap();
    assert_eq!(status["store_exists"], true);
    assert_eq!(states(&status), all("applied", 1..=i64::MAX));
    assert_eq!(status["pending"], 0);
    for m in status["migrations"].as_array().unwrap() {
        let at = m["applied_at"].as_str().unwrap();
        assert!(at.len() == 20 && at.ends_with('Z') && &at[10..11] == "T", "UTC, to the second: {at}");
        assert!(!m["description"].as_str().unwrap().is_empty());
    }
    // For people: a table with a rollback line under each migration.
    let output = std::process::Command::new(bin())
        .arg("--data-dir")
        .arg(&cli.data_dir)
        .args(&cli.global)
        .args(["migrate", "--status"])
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("applied") && text.contains("rollback: yes") && text.contains(&format!("{} applied, 0 pending", versions().len())),
        "{text}"
    );
}

/// The undo SQL of a migration's rollback note: the first indented block after "To undo it".
fn undo_sql(rollback: &str) -> Option<String> {
    let after = &rollback[rollback.find("To undo it")?..];
    let sql: Vec<&str> = after.lines().skip_while(|l| !l.starts_with("    ")).take_while(|l| l.starts_with("    ")).collect();
    Some(sql.join("\n"))
}

#[tokio::test]
async fn the_rollback_sql_of_every_migration_undoes_it_and_migrate_applies_it_again() {
    let dir = TempDir::new("migrate").unwrap();
    let cli = dir.cli(bin()).unwrap();
    cli.json(&["org", "create", "--name", "acme"]).unwrap();
    let status = cli.json(&["migrate", "--status"]).unwrap();
    for m in status["migrations"].as_array().unwrap().iter().rev() {
        let version = m["version"].as_i64().unwrap();
        match undo_sql(m["rollback"].as_str().unwrap()) {
            Some(sql) => store_sql(&cli, &sql).await,
            None => assert_eq!(version, 1, "only the first schema cannot be rolled back"),
        }
        let after = cli.json(&["migrate", "--status"]).unwrap();
        let expected: Vec<(i64, String)> =
            all("applied", 1..=version - 1).into_iter().chain(all("pending", version.max(2)..=i64::MAX)).collect();
        if version > 1 {
            assert_eq!(states(&after), expected, "after undoing {version}");
        }
    }
    assert_eq!(cli.json(&["migrate"]).unwrap(), serde_json::json!({}));
    assert_eq!(states(&cli.json(&["migrate", "--status"]).unwrap()), all("applied", 1..=i64::MAX));
    assert_eq!(cli.json(&["org", "list"]).unwrap()[0]["name"], "acme", "the data of the first schema is still there");
}

/// Migration 18 splits each user into a person (email, password, second factors) and their
/// membership: a store of version 17 with an owner, their password, recovery codes and a client
/// keeps all of it, under the same ids; and the rollback SQL brings version 17's columns back.
#[tokio::test]
async fn people_are_split_from_their_memberships_without_losing_a_row() {
    let dir = TempDir::new("migrate").unwrap();
    let cli = dir.cli(bin()).unwrap();
    cli.json(&["org", "create", "--name", "acme"]).unwrap();
    let owner = cli
        .json_with_stdin(
            &["user", "create", "--org", "acme", "--email", "Owner@Acme.test", "--role", "owner", "--password-stdin"],
            "a long enough pass\n",
        )
        .unwrap();
    let id = owner["id"].as_str().unwrap().to_owned();
    cli.json(&["client", "create", "--org", "acme", "--owner", "owner@acme.test", "--name", "c1"]).unwrap();
    let hash = store_texts(&cli, "SELECT password_hash FROM people").await;
    assert_eq!(hash.len(), 1);
    let code_hash = if tessera_testkit::postgres_selected() { "'\\x0102'::bytea" } else { "X'0102'" };
    store_sql(&cli, &format!("INSERT INTO recovery_codes (person_id, code_hash, used_at) VALUES ('{id}', {code_hash}, NULL)")).await;

    // Back to version 17 with the migrations' own rollback SQL, the newest first (as each header
    // says): the columns of 17, every row.
    let status = cli.json(&["migrate", "--status"]).unwrap();
    let mut newer: Vec<&serde_json::Value> =
        status["migrations"].as_array().unwrap().iter().filter(|m| m["version"].as_i64() >= Some(18)).collect();
    newer.sort_by_key(|m| std::cmp::Reverse(m["version"].as_i64()));
    for migration in newer {
        let undo = undo_sql(migration["rollback"].as_str().unwrap()).unwrap_or_else(|| panic!("no undo SQL: {migration}"));
        store_sql(&cli, &undo).await;
    }
    assert_eq!(store_texts(&cli, "SELECT email FROM users").await, ["Owner@Acme.test"]);
    assert_eq!(store_texts(&cli, "SELECT password_hash FROM users").await, hash);
    assert_eq!(store_texts(&cli, "SELECT user_id FROM recovery_codes").await, vec![id.clone()]);

    // And forward again: one person under the user's id, the membership naming them.
    assert_eq!(cli.json(&["migrate"]).unwrap(), serde_json::json!({}));
    assert_eq!(store_texts(&cli, "SELECT id FROM people").await, vec![id.clone()]);
    assert_eq!(store_texts(&cli, "SELECT email FROM people").await, ["Owner@Acme.test"]);
    assert_eq!(store_texts(&cli, "SELECT password_hash FROM people").await, hash);
    assert_eq!(store_texts(&cli, "SELECT person_id FROM users").await, vec![id.clone()]);
    assert_eq!(store_texts(&cli, "SELECT person_id FROM recovery_codes").await, vec![id.clone()]);
    assert_eq!(store_texts(&cli, "SELECT owner_id FROM clients").await, vec![id.clone()], "the client still names its owner");
    let users = cli.json(&["user", "list", "--org", "acme"]).unwrap();
    assert_eq!(users[0]["email"], "Owner@Acme.test");
    assert_eq!(users[0]["role"], "owner");
    // The foreign keys hold after the rebuild: a membership of nobody is refused.
    let orphan = "INSERT INTO users (id, org_id, person_id, role, service, authorize_applications, disabled, created_at) \
                  SELECT 'u-x', org_id, 'nobody', 'member', false, false, false, 0 FROM users";
    assert!(try_store_sql(&cli, orphan).await.is_err(), "a membership needs its person");
}
