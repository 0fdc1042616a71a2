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
    const NEWEST: i64 = 17;
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
