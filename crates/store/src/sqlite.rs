//! The embedded SQLite backend: WAL mode, foreign keys on, `synchronous=FULL` so that a commit
//! survives `kill -9`, versioned migrations embedded in the binary. The statements are in
//! `sql.rs`; this file holds what only SQLite does.
//!
//! The change stamp is the header of SQLite's WAL index, which every commit of any process
//! rewrites ([`ShmWatcher`]); spent one-time ids go to a file of their own (`sqlite_replay`).

use std::cell::RefCell;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite, Transaction};

use crate::migration::Dialect;
use crate::sql::{Backend, Serialised, Spent, SqlStore};
use crate::sqlite_replay::{IdKind, ReplayLog};
use crate::{ChangeStamp, Result, StoreError};

/// The SQLite store.
pub type SqliteStore = SqlStore<SqliteBackend>;

/// What only the SQLite store has.
pub struct SqliteBackend {
    shm: Option<ShmWatcher>,
    /// A connection outside the pool that is never used and never closed. An open connection
    /// holds SQLite's shared lock on the WAL index, so while this process lives no other
    /// process can delete and recreate the `-shm` file under the handle `shm` reads (which
    /// would freeze the change stamp). Pool connections can be recycled; this one is not.
    _keep_wal_index: std::sync::Mutex<sqlx::SqliteConnection>,
    /// Spent assertion and proof ids, in a file of their own (`sqlite_replay`).
    replay: ReplayLog,
    /// The database file (`None`: in memory), beside which migrations take their lock file.
    path: Option<PathBuf>,
}

impl SqlStore<SqliteBackend> {
    /// Opens (creating if missing) the database at `url` (`sqlite://PATH`).
    pub async fn open(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let path = options.get_filename().to_path_buf();
        let in_memory = path.as_os_str() == ":memory:";
        let replay = ReplayLog::open((!in_memory).then_some(path.as_path())).await?;
        let keep = sqlx::ConnectOptions::connect(&options).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        let db_path = (!in_memory).then(|| path.clone());
        let shm = (!in_memory).then(|| {
            let mut shm = path.into_os_string();
            shm.push("-shm");
            ShmWatcher { id: NEXT_WATCHER.fetch_add(1, Ordering::Relaxed), path: PathBuf::from(shm) }
        });
        Ok(SqlStore { pool, backend: SqliteBackend { shm, _keep_wal_index: std::sync::Mutex::new(keep), replay, path: db_path } })
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    type Db = Sqlite;
    const DIALECT: Dialect = Dialect::Sqlite;
    const MIGRATIONS_RECORDED: &'static str =
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')";
    // The column is `COLLATE NOCASE`, so its unique index serves the lookup.
    const EMAIL_IS: &'static str = "p.email = $1";
    const INVITED_EMAIL_IS_4: &'static str = "email = $4";
    const ORIGIN_REGISTERED: &'static str =
        "SELECT 1 FROM clients WHERE status = 'on' AND EXISTS (SELECT 1 FROM json_each(clients.allowed_origins) WHERE value = $1) LIMIT 1";
    // Every foreign key, checked once the migrations ran without them (`migration_pool`).
    const MIGRATIONS_BROKE_A_RULE: Option<&'static str> = Some("PRAGMA foreign_key_check");

    /// A migration that rebuilds a table (the only way SQLite drops a UNIQUE column,
    /// sqlite.org/lang_altertable.html) needs foreign keys off, which no transaction can switch:
    /// so migrations run on one connection of their own without them, and every foreign key is
    /// checked once they are done (`MIGRATIONS_BROKE_A_RULE`).
    async fn migration_pool(&self, pool: &Pool<Sqlite>) -> Result<Option<Pool<Sqlite>>> {
        let options = (*pool.connect_options()).clone().foreign_keys(false);
        Ok(Some(SqlitePoolOptions::new().max_connections(1).connect_with(options).await?))
    }

    /// sqlx takes no lock for SQLite's migrations: two processes opening a new store at once
    /// (`tessera serve &` and a CLI command right after) would both run them and one would
    /// fail. An exclusive lock on `DB.migrate-lock` makes the second wait, then find them done.
    async fn migration_lock(&self) -> Result<Option<std::fs::File>> {
        let Some(db) = &self.path else { return Ok(None) };
        let mut name = db.clone().into_os_string();
        name.push(".migrate-lock");
        let lock = PathBuf::from(name);
        let file = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock)?;
            file.lock()?;
            Ok(file)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("cannot lock the store for its migrations: {e}")))?
        .map_err(|e| StoreError::Unavailable(format!("cannot lock the store for its migrations: {e}")))?;
        Ok(Some(file))
    }

    async fn begin_serialised<'p>(&self, pool: &'p Pool<Sqlite>, _kind: Serialised<'_>) -> Result<Transaction<'p, Sqlite>> {
        // IMMEDIATE takes the write lock up front: a concurrent writer waits (busy timeout)
        // instead of failing when this transaction, having read, starts to write.
        Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn begin_snapshot<'p>(&self, pool: &'p Pool<Sqlite>) -> Result<Transaction<'p, Sqlite>> {
        // A deferred transaction reads one snapshot of the WAL.
        Ok(pool.begin().await?)
    }

    async fn before_feed_rows(&self, _tx: &mut Transaction<'_, Sqlite>) -> Result<()> {
        // One writer at a time: feed rows commit in `seq` order by themselves.
        Ok(())
    }

    fn committed(&self, _fed: bool) {
        // Every commit moves the WAL index header, which is the stamp.
    }

    fn change_stamp(&self) -> Option<ChangeStamp> {
        self.shm.as_ref()?.read()
    }

    async fn spend(&self, _pool: &Pool<Sqlite>, kind: Spent, key: &str, jti: &str, expires_at: i64) -> Result<bool> {
        let kind = match kind {
            Spent::DpopProof => IdKind::DpopProof,
            Spent::ClientAssertion => IdKind::ClientAssertion,
        };
        self.replay.spend(kind, key, jti, expires_at).await
    }

    async fn purge_spent(&self, _tx: &mut Transaction<'_, Sqlite>, before: i64) -> Result<()> {
        self.replay.purge(before).await
    }
}

/// Reads the header of SQLite's WAL index (the `-shm` file; https://sqlite.org/walformat.html).
/// SQLite rewrites it on every commit, from any process: its change counter and frame count
/// move (and the salts, when the WAL restarts). Reading 48 bytes from the page cache costs a
/// microsecond, which lets the token endpoint see another process's commit on the very next
/// request without a query.
struct ShmWatcher {
    /// Tells this store's per-thread handles from another's.
    id: u64,
    path: PathBuf,
}

static NEXT_WATCHER: AtomicU64 = AtomicU64::new(1);

/// How many stores' handles a thread keeps (a process serves one store; tests open more).
const HANDLES_PER_THREAD: usize = 8;

thread_local! {
    /// Each thread reads the header through a file handle of its own: a read through a handle
    /// that threads share counts a reference on that one handle in the kernel, a memory line
    /// every core would write on every request.
    static SHM_HANDLES: RefCell<Vec<(u64, File)>> = const { RefCell::new(Vec::new()) };
}

impl ShmWatcher {
    fn read(&self) -> Option<ChangeStamp> {
        SHM_HANDLES.with(|handles| {
            let mut handles = handles.borrow_mut();
            let index = match handles.iter().position(|(id, _)| *id == self.id) {
                Some(index) => index,
                None => {
                    // No handle on this thread yet (none until SQLite made the file: no stamp).
                    let file = File::open(&self.path).ok()?;
                    if handles.len() >= HANDLES_PER_THREAD {
                        handles.remove(0);
                    }
                    handles.push((self.id, file));
                    handles.len() - 1
                }
            };
            let mut header = [0u8; 48];
            handles[index].1.read_exact_at(&mut header, 0).ok()?;
            Some(header)
        })
    }
}
