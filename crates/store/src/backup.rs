//! `tessera backup`: a consistent copy of a SQLite store, and of its replay file, taken while
//! servers keep writing to it.
//!
//! Each file is copied with `VACUUM INTO`, which reads the database in one read transaction: the
//! copy is the state of one commit, whatever commits while it runs (in WAL mode readers and
//! writers do not wait for each other), and it is a single file with no `-wal` beside it.
//! A copy is written under a temporary name, synced, and then linked to its final name, which
//! fails if that name exists: a backup never overwrites a file, and a crash leaves no
//! half-written file under the name of a backup.

use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

use crate::StoreError;
use crate::sqlite_replay::replay_path;

/// Why a backup was not made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{} exists already: a backup never overwrites a file", .0.display())]
    Exists(PathBuf),
    #[error("there is no SQLite store at {}", .0.display())]
    NoStore(PathBuf),
    #[error(
        "the store is PostgreSQL: back it up with PostgreSQL's own tools, pg_dump (or pg_basebackup with WAL archiving), \
         and keep the master key apart from it (docs/deployment.md, \"Backups and restores\")"
    )]
    Postgres,
    #[error("cannot write {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The files a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFiles {
    /// The copy of the store.
    pub store: PathBuf,
    /// The copy of the replay file, named as the store's own replay file would be beside it
    /// (`backup.db` → `backup-replay.db`); `None` when the store has no replay file.
    pub replay: Option<PathBuf>,
}

/// The replay file that belongs beside a store file (or a backup of one): `tessera.db` →
/// `tessera-replay.db`.
pub fn replay_file(store: &Path) -> PathBuf {
    replay_path(store)
}

/// Copies the SQLite store named by `url` to `to`, and its replay file to `to`'s replay
/// sibling ([`replay_file`]). Refuses when either target exists. Needs no master key: the copy
/// holds the store as it is, sealed secrets included, and is as useless without the key.
pub async fn backup(url: &str, to: &Path) -> Result<BackupFiles, BackupError> {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return Err(BackupError::Postgres);
    }
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))?
        .create_if_missing(false)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(5));
    let source = options.get_filename().to_path_buf();
    if source == Path::new(":memory:") || !source.is_file() {
        return Err(BackupError::NoStore(source));
    }
    let replay_source = replay_path(&source);
    let replay_target = replay_path(to);
    for target in [to, replay_target.as_path()] {
        if target.symlink_metadata().is_ok() {
            return Err(BackupError::Exists(target.to_path_buf()));
        }
    }
    copy(&options, to).await?;
    if !replay_source.is_file() {
        return Ok(BackupFiles { store: to.to_path_buf(), replay: None });
    }
    let replay_options = options.clone().filename(&replay_source);
    if let Err(e) = copy(&replay_options, &replay_target).await {
        // Half a backup is no backup: take the store's copy back.
        let _ = std::fs::remove_file(to);
        return Err(e);
    }
    Ok(BackupFiles { store: to.to_path_buf(), replay: Some(replay_target) })
}

/// `VACUUM INTO` a temporary file beside `to` (mode 0600: the copy holds password hashes and
/// sealed secrets), synced, then linked to `to`.
async fn copy(source: &SqliteConnectOptions, to: &Path) -> Result<(), BackupError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source: std::io::Error| BackupError::Io { path, source }
    };
    let name = to.file_name().ok_or_else(|| io(to)(std::io::Error::new(ErrorKind::InvalidInput, "not a file name")))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".{}.partial", std::process::id()));
    let temporary = to.with_file_name(temporary_name);
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temporary).map_err(io(&temporary))?;
    let result = vacuum_into(source, &temporary).await.and_then(|()| {
        std::fs::File::open(&temporary).and_then(|f| f.sync_all()).map_err(io(&temporary))?;
        std::fs::hard_link(&temporary, to).map_err(|e| match e.kind() {
            ErrorKind::AlreadyExists => BackupError::Exists(to.to_path_buf()),
            _ => io(to)(e),
        })?;
        let dir = to.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
    });
    let _ = std::fs::remove_file(&temporary);
    result
}

async fn vacuum_into(source: &SqliteConnectOptions, to: &Path) -> Result<(), BackupError> {
    let target = to.to_str().ok_or_else(|| BackupError::Io {
        path: to.to_path_buf(),
        source: std::io::Error::new(ErrorKind::InvalidInput, "the path is not UTF-8"),
    })?;
    let mut connection = sqlx::SqliteConnection::connect_with(source).await.map_err(StoreError::from)?;
    let done = sqlx::query("VACUUM INTO $1").bind(target).execute(&mut connection).await.map_err(StoreError::from);
    let _ = connection.close().await;
    done?;
    Ok(())
}
