//! `tessera backup` (SPEC §12, data safety): a consistent copy of a SQLite store and its replay
//! file, taken while a server serves and while other processes write, restored beside its
//! master key into a working server; never written over an existing file; a PostgreSQL store
//! is sent to `pg_dump`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::Connection as _;
use tessera_testkit::{Cli, TempDir};

use crate::common::*;

/// A CLI on a SQLite store in `dir`, whichever store the suite runs on: backups are SQLite's.
fn sqlite_cli(dir: &TempDir) -> Cli {
    Cli { bin: PathBuf::from(bin()), data_dir: dir.path().join("data"), global: Vec::new(), env: Vec::new() }
}

/// The replay file that goes with a store or backup file: `b.db` → `b-replay.db`.
fn replay_of(file: &Path) -> PathBuf {
    let stem = file.file_stem().unwrap().to_string_lossy();
    let ext = file.extension().unwrap().to_string_lossy();
    file.with_file_name(format!("{stem}-replay.{ext}"))
}

/// The client ids in a backup file, read directly, after SQLite's own consistency check.
async fn clients_in(file: &Path) -> Vec<String> {
    let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", file.display())).await.unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut connection).await.unwrap();
    assert_eq!(check, "ok", "{}", file.display());
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM clients").fetch_all(&mut connection).await.unwrap();
    connection.close().await.unwrap();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backups_taken_while_the_server_writes_are_consistent_and_restore_to_a_working_server() {
    let dir = TempDir::new("backup").unwrap();
    let server = Server::start_in(sqlite_cli(&dir), &[]).unwrap();
    let fixture = Fixture::create(&server.cli).unwrap();

    // Another process creates clients one after another, each committed before the next.
    let stop = Arc::new(AtomicBool::new(false));
    let created: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let creator = {
        let (cli, stop, created, org, owner) =
            (server.cli.clone(), stop.clone(), created.clone(), fixture.org_name.clone(), fixture.owner_email.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let name = format!("c{n}");
                let client = cli.json(&["client", "create", "--org", &org, "--owner", &owner, "--name", &name]).unwrap();
                let pair = (client["client_id"].as_str().unwrap().to_owned(), client["client_secret"].as_str().unwrap().to_owned());
                created.lock().unwrap().push(pair);
                n += 1;
            }
        })
    };
    assert!(eventually(Duration::from_secs(30), || created.lock().unwrap().len() >= 3), "clients are being created");

    let backups = dir.path().join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let mut taken = Vec::new();
    for round in 0..3 {
        let before = created.lock().unwrap().len();
        let target = backups.join(format!("tessera-{round}.db"));
        let backup = {
            let (cli, target) = (server.cli.clone(), target.clone());
            tokio::task::spawn_blocking(move || cli.json(&["backup", "--to", target.to_str().unwrap()]))
        };
        // The server writes too while the backup runs: each token it issues is revoked at once.
        let mut revoked = 0;
        while !backup.is_finished() || revoked < 2 {
            let token = access_token(&server, &fixture).await;
            assert_eq!(revoke(&server, &fixture, &token, &[]).await.status(), 200);
            revoked += 1;
        }
        let report = backup.await.unwrap().unwrap();
        assert_eq!(report["store"], target.display().to_string(), "{report}");
        assert_eq!(report["replay"], replay_of(&target).display().to_string(), "the replay file goes beside it: {report}");
        assert_eq!(report["master_key_included"], false);
        assert_eq!(report["master_key"], server.cli.data_dir.join("master.key").display().to_string());
        for file in [target.clone(), replay_of(&target)] {
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600, "{}", file.display());
        }
        taken.push((target, before));
        let after = created.lock().unwrap().len();
        assert!(eventually(Duration::from_secs(30), || created.lock().unwrap().len() >= after + 2), "writes go on after a backup");
    }
    stop.store(true, Ordering::SeqCst);
    creator.join().unwrap();
    let created = created.lock().unwrap().clone();

    // Each copy is the state of one commit: the clients made one after another are a prefix of
    // that sequence, at least as long as what was committed when the backup started.
    let order: Vec<&String> = created.iter().map(|(id, _)| id).collect();
    for (file, before) in &taken {
        let ids = clients_in(file).await;
        let made: Vec<&String> = order.iter().copied().filter(|id| ids.contains(id)).collect();
        assert_eq!(ids.len(), made.len() + 1, "the fixture's client and clients of the loop only");
        assert!(made.len() >= *before, "{}: everything committed before the backup is in it", file.display());
        assert_eq!(made, order[..made.len()], "{}: a prefix of the clients made, with no gap", file.display());
    }

    // Restore the last copy beside the master key in a new data directory: a server on it has
    // the data, and the secrets it holds (sealed under that key) work.
    let (file, _) = taken.last().unwrap();
    let restored_dir = TempDir::new("restored").unwrap();
    let restored_cli = sqlite_cli(&restored_dir);
    std::fs::create_dir_all(&restored_cli.data_dir).unwrap();
    std::fs::copy(file, restored_cli.data_dir.join("tessera.db")).unwrap();
    std::fs::copy(replay_of(file), restored_cli.data_dir.join("tessera-replay.db")).unwrap();
    std::fs::copy(server.cli.data_dir.join("master.key"), restored_cli.data_dir.join("master.key")).unwrap();
    let restored = Server::start_in(restored_cli, &[]).unwrap();
    let in_copy = clients_in(file).await;
    let listed: Vec<String> = restored
        .cli
        .json(&["client", "list"])
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed.len(), in_copy.len());
    assert!(in_copy.len() > 1);
    assert!(!access_token(&restored, &fixture).await.is_empty(), "the fixture's client works on the restored store");
    for (id, secret) in &created {
        let status = post_basic(&restored, "/oauth2/token", id, secret, &[("grant_type", "client_credentials")]).await.status();
        let expected = if in_copy.contains(id) { 200 } else { 401 };
        assert_eq!(status, expected, "client {id}: restored clients work, later ones do not exist");
    }
}

#[test]
fn backup_never_writes_over_a_file_and_says_what_it_wrote() {
    let dir = TempDir::new("backup").unwrap();
    let cli = sqlite_cli(&dir);
    cli.json(&["org", "create", "--name", "acme"]).unwrap();
    let target = dir.path().join("b.db");
    let refused = |cli: &Cli| {
        let output = cli.run(&["backup", "--to", target.to_str().unwrap()]).unwrap();
        assert!(!output.success && output.stdout.trim().is_empty(), "{output:?}");
        output.stderr
    };

    std::fs::write(&target, "precious").unwrap();
    let stderr = refused(&cli);
    assert!(stderr.contains("exists already") && stderr.contains("b.db"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious", "untouched");
    assert!(!replay_of(&target).exists(), "nothing half-written");

    std::fs::remove_file(&target).unwrap();
    std::fs::write(replay_of(&target), "precious").unwrap();
    let stderr = refused(&cli);
    assert!(stderr.contains("exists already") && stderr.contains("b-replay.db"), "{stderr}");
    assert!(!target.exists(), "nothing half-written");
    std::fs::remove_file(replay_of(&target)).unwrap();

    // For people: what was written where, and that the master key is not in it.
    let output = std::process::Command::new(bin())
        .arg("--data-dir")
        .arg(&cli.data_dir)
        .args(["backup", "--to", target.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains(&format!("copied the store to {}", target.display())), "{text}");
    assert!(text.contains(&format!("copied the replay file to {}", replay_of(&target).display())), "{text}");
    assert!(text.contains("the master key is not in the backup") && text.contains("master.key"), "{text}");
    assert!(refused(&cli).contains("exists already"), "a second backup to the same name is refused");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 3, "data, b.db, b-replay.db and no temporary file: {leftovers:?}");
}

#[test]
fn backup_of_a_postgresql_store_points_to_pg_dump() {
    let dir = TempDir::new("backup").unwrap();
    // Refused before any connection: the address need not exist.
    let cli = Cli { global: vec!["--database-url".into(), "postgres://postgres@127.0.0.1:1/tessera".into()], ..sqlite_cli(&dir) };
    let target = dir.path().join("b.db");
    let output = cli.run(&["backup", "--to", target.to_str().unwrap()]).unwrap();
    assert!(!output.success, "{output:?}");
    assert!(output.stderr.contains("pg_dump") && output.stderr.contains("master key"), "{}", output.stderr);
    assert!(!target.exists());
}
