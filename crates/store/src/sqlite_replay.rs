//! Single-use ids on SQLite: the `jti`s of client assertions (RFC 7523) and DPoP proofs
//! (RFC 9449), kept in a database file of their own next to the store (`tessera-replay.db` beside
//! `tessera.db`) and written by one writer thread that commits them in groups.
//!
//! Why not the main file: every commit there moves the WAL index's change counter, which is how
//! every node learns that clients, keys or revocations may have changed (`ShmWatcher`). A write
//! per assertion or proof would make every following request of every client re-read the change
//! feed. Why one writer: each commit is durable (`synchronous=FULL`, an fsync), so one commit per
//! id would cap these requests at the disk's sync rate; the writer takes every id waiting at
//! that moment into one transaction, so 32 concurrent requests cost one fsync, not 32. Two
//! processes on one data directory share the file and agree through SQLite's write lock, as they
//! do on the main file.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use crate::{Result, StoreError};

/// The most ids one transaction takes: bounds how long the first of them waits.
const MAX_BATCH: usize = 256;

/// Requests waiting for the writer; beyond this, callers wait for room (back-pressure).
const QUEUE_DEPTH: usize = 4096;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS spent_ids (
    kind       INTEGER NOT NULL,
    scope      TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (kind, scope, jti)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS spent_ids_expiry ON spent_ids(expires_at);
";

/// What an id is single-use within: a client's assertions, or one DPoP key's proofs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IdKind {
    ClientAssertion = 1,
    DpopProof = 2,
}

enum Job {
    Spend { kind: IdKind, scope: String, jti: String, expires_at: i64, done: oneshot::Sender<Result<bool>> },
    Purge { before: i64, done: oneshot::Sender<Result<()>> },
}

/// The handle the store keeps; the writer thread stops when it is dropped.
pub(crate) struct ReplayLog {
    jobs: mpsc::Sender<Job>,
}

impl ReplayLog {
    /// Opens (creating if missing) the replay file that belongs to the store at `store_path`;
    /// `None` keeps the ids in memory (a `:memory:` store).
    pub(crate) async fn open(store_path: Option<&Path>) -> Result<Self> {
        let url = match store_path {
            Some(path) => format!("sqlite://{}", replay_path(path).display()),
            None => "sqlite::memory:".to_owned(),
        };
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5));
        let mut conn = sqlx::ConnectOptions::connect(&options).await.map_err(StoreError::from)?;
        sqlx::raw_sql(SCHEMA).execute(&mut conn).await.map_err(StoreError::from)?;
        let (jobs, queue) = mpsc::channel(QUEUE_DEPTH);
        // A thread with a runtime of its own: the writer must outlive whichever runtime opened
        // the store, and must not take turns with request handlers on theirs.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unavailable(format!("replay writer: {e}")))?;
        std::thread::Builder::new()
            .name("tessera-replay".into())
            .spawn(move || runtime.block_on(write_loop(conn, queue)))
            .map_err(|e| StoreError::Unavailable(format!("replay writer: {e}")))?;
        Ok(Self { jobs })
    }

    /// Records the id; `false` when it was recorded before and has not expired.
    pub(crate) async fn spend(&self, kind: IdKind, scope: &str, jti: &str, expires_at: i64) -> Result<bool> {
        let (done, answer) = oneshot::channel();
        let job = Job::Spend { kind, scope: scope.to_owned(), jti: jti.to_owned(), expires_at, done };
        self.jobs.send(job).await.map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }

    /// Forgets the ids that expired before `before`.
    pub(crate) async fn purge(&self, before: i64) -> Result<()> {
        let (done, answer) = oneshot::channel();
        self.jobs.send(Job::Purge { before, done }).await.map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }
}

/// `tessera.db` → `tessera-replay.db`, in the same directory.
pub(crate) fn replay_path(store_path: &Path) -> std::path::PathBuf {
    let stem = store_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match store_path.extension() {
        Some(ext) => format!("{stem}-replay.{}", ext.to_string_lossy()),
        None => format!("{stem}-replay"),
    };
    store_path.with_file_name(name)
}

fn writer_gone() -> StoreError {
    StoreError::Unavailable("the replay-id writer has stopped".into())
}

async fn write_loop(mut conn: SqliteConnection, mut queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut spends = Vec::with_capacity(batch.len());
        for job in batch.drain(..) {
            match job {
                Job::Spend { kind, scope, jti, expires_at, done } => spends.push((kind, scope, jti, expires_at, done)),
                Job::Purge { before, done } => {
                    let purged = sqlx::query("DELETE FROM spent_ids WHERE expires_at < $1").bind(before).execute(&mut conn).await;
                    let _ = done.send(purged.map(drop).map_err(StoreError::from));
                }
            }
        }
        if spends.is_empty() {
            continue;
        }
        match spend_all(&mut conn, &spends).await {
            Ok(fresh) => {
                for ((.., done), fresh) in spends.into_iter().zip(fresh) {
                    let _ = done.send(Ok(fresh));
                }
            }
            Err(e) => {
                // Nothing of the group was recorded: every caller refuses its request (a
                // clean 503), none is let through unrecorded.
                for (.., done) in spends {
                    let _ = done.send(Err(StoreError::Unavailable(e.to_string())));
                }
            }
        }
    }
}

type Spend = (IdKind, String, String, i64, oneshot::Sender<Result<bool>>);

/// One transaction for the whole group; for each id, whether it was new. An id twice in one
/// group is new only the first time (the second insert sees the first).
async fn spend_all(conn: &mut SqliteConnection, spends: &[Spend]) -> std::result::Result<Vec<bool>, StoreError> {
    let mut tx = conn.begin().await.map_err(StoreError::from)?;
    let mut fresh = Vec::with_capacity(spends.len());
    for (kind, scope, jti, expires_at, _) in spends {
        let inserted = sqlx::query("INSERT INTO spent_ids (kind, scope, jti, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(*kind as i64)
            .bind(scope)
            .bind(jti)
            .bind(*expires_at)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?
            .rows_affected();
        fresh.push(inserted == 1);
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(fresh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replay_file_sits_beside_the_store() {
        assert_eq!(replay_path(Path::new("/var/lib/tessera/tessera.db")), Path::new("/var/lib/tessera/tessera-replay.db"));
        assert_eq!(replay_path(Path::new("data/store")), Path::new("data/store-replay"));
    }

    #[tokio::test]
    async fn an_id_is_spent_once_per_kind_and_scope_and_purged_after_expiry() {
        let dir = std::env::temp_dir().join(format!("tessera-replay-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = ReplayLog::open(Some(&dir.join("t.db"))).await.unwrap();
        assert!(log.spend(IdKind::DpopProof, "key", "a", 100).await.unwrap());
        assert!(!log.spend(IdKind::DpopProof, "key", "a", 100).await.unwrap());
        assert!(log.spend(IdKind::DpopProof, "other key", "a", 100).await.unwrap());
        assert!(log.spend(IdKind::ClientAssertion, "key", "a", 100).await.unwrap());
        // Concurrent spends of one id: exactly one wins, whichever groups they land in.
        let log = std::sync::Arc::new(log);
        let racers: Vec<_> = (0..64)
            .map(|_| {
                let log = log.clone();
                tokio::spawn(async move { log.spend(IdKind::ClientAssertion, "c", "raced", 100).await.unwrap() })
            })
            .collect();
        let mut winners = 0;
        for racer in racers {
            winners += usize::from(racer.await.unwrap());
        }
        assert_eq!(winners, 1);
        log.purge(101).await.unwrap();
        assert!(log.spend(IdKind::DpopProof, "key", "a", 200).await.unwrap(), "an expired id is forgotten");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
