//! The PostgreSQL backend, for many nodes acting as one: the statements are in `sql.rs`; this
//! file holds what only PostgreSQL does (advisory locks, the change feed's announcements, the
//! nodes' table).
//!
//! The change stamp: every transaction that appends to the change feed also runs
//! `pg_notify('tessera_changes', …)`, which PostgreSQL delivers to every listening session when
//! (and only when) the transaction commits. Each store keeps one listening connection (see
//! [`FeedWatch`]); a notification bumps a counter, and the counter is the stamp. While the
//! listening connection is down, the stamp is `None`, so the service reads the feed on every
//! request instead of trusting a cache it cannot vouch for.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{Pool, Postgres, Transaction};

use crate::migration::Dialect;
use crate::sql::{Backend, Serialised, Spent, SqlStore};
use crate::{ChangeStamp, Result, StoreError};

/// The channel change-feed commits are announced on.
const CHANNEL: &str = "tessera_changes";
/// Advisory lock taken by every transaction before it appends to the change feed, so feed
/// rows become visible in `seq` order (an identity column alone hands out numbers at insert
/// time, not at commit time, and a reader could move its cursor past a row committed later).
const FEED_LOCK: i64 = 0x7465_7373_6572_6101;
/// Advisory lock serialising key rotations (SQLite: `BEGIN IMMEDIATE`).
const KEYS_LOCK: i64 = 0x7465_7373_6572_6102;
/// Advisory lock serialising the renumbering of recorded migrations (sqlx's own lock is taken
/// only once the migrator runs).
const MIGRATIONS_LOCK: i64 = 0x7465_7373_6572_6103;
/// Advisory lock serialising consent merges.
const CONSENT_LOCK: i32 = 0x7465_7301;
/// With a hash of the user and purpose: making a user's single-use links.
const ACCOUNT_TOKENS_LOCK: i32 = 0x7465_7302;
/// How often an idle listening connection proves it is alive, and how long it may take: a
/// connection that died silently is noticed within their sum, and until it is back the stamp
/// is `None` (every request reads the feed). The timeout is generous: on a node whose cores are
/// saturated a heartbeat can take seconds, and a false alarm costs a feed read per request.
const HEARTBEAT: Duration = Duration::from_secs(1);
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);
/// A node whose row was not refreshed for this long, or whose listening session is gone, is not
/// waited for by `Backend::settle` (it was stopped, killed or cut off; then it trusts no cache
/// until it is back).
const NODE_ALIVE_SECONDS: f64 = 5.0;
/// How long `Backend::settle` waits for nodes at most.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

/// The PostgreSQL store.
pub type PgStore = SqlStore<PgBackend>;

/// What only the PostgreSQL store has.
pub struct PgBackend {
    options: PgConnectOptions,
    watch: Arc<FeedWatch>,
    /// The listening task, once [`crate::Store::follow_changes`] started it.
    listener: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Whether this process committed a change-feed row (then `Backend::settle` waits).
    wrote_changes: AtomicBool,
}

impl Drop for PgBackend {
    fn drop(&mut self) {
        if let Ok(mut listener) = self.listener.lock()
            && let Some(task) = listener.take()
        {
            task.abort();
        }
    }
}

impl SqlStore<PgBackend> {
    /// Connects to the database at `url` (`postgres://…`). Fails when it cannot be reached;
    /// afterwards the pool reconnects by itself (a database restart needs no node restart).
    pub async fn open(url: &str) -> Result<Self> {
        // A statement that waits for a lock gives up after 5 s (503) instead of holding its pool
        // connection until the client gives up: long transactions elsewhere must not exhaust
        // the pool for everyone (X18).
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("bad PostgreSQL URL: {e}")))?
            .application_name("tessera")
            .options([("lock_timeout", "5s")]);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .idle_timeout(Duration::from_secs(600))
            .test_before_acquire(true)
            .connect_with(options.clone())
            .await?;
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let node = format!("{}-{nanos:x}", std::process::id());
        let watch = Arc::new(FeedWatch { generation: AtomicU64::new(0), listening: AtomicBool::new(false), node });
        let backend = PgBackend { options, watch, listener: std::sync::Mutex::new(None), wrote_changes: AtomicBool::new(false) };
        Ok(SqlStore { pool, backend })
    }
}

#[async_trait]
impl Backend for PgBackend {
    type Db = Postgres;
    const DIALECT: Dialect = Dialect::Postgres;
    const MIGRATIONS_RECORDED: &'static str = "SELECT to_regclass('_sqlx_migrations') IS NOT NULL";
    // The unique index is on lower(email).
    const EMAIL_IS: &'static str = "lower(p.email) = lower($1)";
    const INVITED_EMAIL_IS_4: &'static str = "lower(email) = lower($4)";
    const ORIGIN_REGISTERED: &'static str = "SELECT 1::BIGINT FROM clients WHERE status = 'on' AND allowed_origins::jsonb ? $1 LIMIT 1";

    async fn begin_serialised<'p>(&self, pool: &'p Pool<Postgres>, kind: Serialised<'_>) -> Result<Transaction<'p, Postgres>> {
        let mut tx = pool.begin().await?;
        match kind {
            Serialised::Keys => sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(KEYS_LOCK),
            Serialised::Migrations => sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATIONS_LOCK),
            Serialised::Consent { user, client } => {
                sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2 || ' ' || $3))").bind(CONSENT_LOCK).bind(user).bind(client)
            }
            Serialised::AccountTokens { user, purpose } => sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2 || ' ' || $3))")
                .bind(ACCOUNT_TOKENS_LOCK)
                .bind(user)
                .bind(purpose),
        }
        .execute(&mut *tx)
        .await?;
        Ok(tx)
    }

    async fn begin_snapshot<'p>(&self, pool: &'p Pool<Postgres>) -> Result<Transaction<'p, Postgres>> {
        let mut tx = pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *tx).await?;
        Ok(tx)
    }

    async fn before_feed_rows(&self, tx: &mut Transaction<'_, Postgres>) -> Result<()> {
        // Feed rows become visible in `seq` order, and the other nodes hear of them on commit.
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(FEED_LOCK).execute(&mut **tx).await?;
        sqlx::query("SELECT pg_notify($1, '')").bind(CHANNEL).execute(&mut **tx).await?;
        Ok(())
    }

    fn committed(&self, fed: bool) {
        // This process's own stamp moves at once; the other nodes hear through the notification.
        if fed {
            self.watch.bump();
            self.wrote_changes.store(true, Ordering::SeqCst);
        }
    }

    fn change_stamp(&self) -> Option<ChangeStamp> {
        self.watch.stamp()
    }

    fn follow_changes(&self) {
        if let Ok(mut listener) = self.listener.lock()
            && listener.is_none()
        {
            *listener = Some(tokio::spawn(self.watch.clone().run(self.options.clone())));
        }
    }

    async fn settle(&self, pool: &Pool<Postgres>) -> Result<()> {
        if !self.wrote_changes.load(Ordering::SeqCst) {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
        loop {
            let behind: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM nodes n WHERE n.alive_at > now() - make_interval(secs => $1) \
                 AND n.seen_seq < (SELECT coalesce(max(seq), 0) FROM changes) \
                 AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = n.backend_pid)",
            )
            .bind(NODE_ALIVE_SECONDS)
            .fetch_one(pool)
            .await?;
            if behind == 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(nodes = behind, "some running nodes have not confirmed this change yet; they apply it within seconds");
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    async fn spend(&self, pool: &Pool<Postgres>, kind: Spent, key: &str, jti: &str, expires_at: i64) -> Result<bool> {
        let statement = match kind {
            Spent::DpopProof => "INSERT INTO dpop_jtis (jkt, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT (jkt, jti) DO NOTHING",
            Spent::ClientAssertion => {
                "INSERT INTO client_assertion_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT (client_id, jti) DO NOTHING"
            }
        };
        let inserted = sqlx::query(statement).bind(key).bind(jti).bind(expires_at).execute(pool).await?.rows_affected();
        Ok(inserted == 1)
    }

    async fn purge_spent(&self, tx: &mut Transaction<'_, Postgres>, before: i64) -> Result<()> {
        sqlx::query("DELETE FROM dpop_jtis WHERE expires_at < $1").bind(before).execute(&mut **tx).await?;
        sqlx::query("DELETE FROM client_assertion_jtis WHERE expires_at < $1").bind(before).execute(&mut **tx).await?;
        sqlx::query("DELETE FROM nodes WHERE alive_at < now() - interval '1 day'").execute(&mut **tx).await?;
        Ok(())
    }
}

/// What the listening connection has heard: a counter bumped by every notification (and by
/// this process's own commits, so its own changes need not wait for the round trip), and
/// whether the connection is up.
#[derive(Debug)]
struct FeedWatch {
    generation: AtomicU64,
    listening: AtomicBool,
    /// This node's row in `nodes`.
    node: String,
}

impl FeedWatch {
    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn stamp(&self) -> Option<ChangeStamp> {
        if !self.listening.load(Ordering::SeqCst) {
            return None;
        }
        let mut stamp = [0u8; 48];
        stamp[..8].copy_from_slice(&self.generation.load(Ordering::SeqCst).to_le_bytes());
        Some(stamp)
    }

    /// Listens for feed commits for as long as the store lives, reconnecting after any failure.
    /// The counter is bumped once the listening connection is up, so the first sync after a
    /// (re)connection reads the feed and picks up whatever was committed while nobody listened.
    async fn run(self: Arc<Self>, options: PgConnectOptions) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.listen_once(&options).await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(e) => tracing::warn!(error = %e, "the change-feed listener lost its connection; reconnecting"),
            }
            self.listening.store(false, Ordering::SeqCst);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    async fn listen_once(&self, options: &PgConnectOptions) -> std::result::Result<(), sqlx::Error> {
        // A connection of its own, made on this task's runtime: requests never wait for it
        // and it never waits for them (nor for the runtime of an HTTP worker thread).
        let pool = PgPoolOptions::new().max_connections(1).min_connections(0).connect_lazy_with(options.clone());
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.eager_reconnect(false);
        listener.ignore_pool_close_event(true);
        // This session only writes the node's own row, which nothing needs after a crash: its
        // commits need not wait for a disk flush (measured: on a busy disk a flushed heartbeat
        // took seconds and tripped the timeout).
        sqlx::query("SET synchronous_commit = off").execute(&mut listener).await?;
        listener.listen(CHANNEL).await?;
        // The stamp comes back only after it moved past what was committed while nobody
        // listened: a cursor that recorded the old stamp must not match it again.
        bounded(self.acknowledge(&mut listener)).await?;
        self.listening.store(true, Ordering::SeqCst);
        tracing::debug!(node = %self.node, "listening for change-feed commits");
        loop {
            match tokio::time::timeout(HEARTBEAT, listener.try_recv()).await {
                Ok(Ok(Some(_))) => {
                    while listener.next_buffered().is_some() {}
                    bounded(self.acknowledge(&mut listener)).await?;
                }
                Ok(Ok(None)) => return Ok(()),
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    // Quiet for a while: prove the connection is alive (and this node, to
                    // processes waiting in `settle`).
                    let alive = sqlx::query("UPDATE nodes SET alive_at = now() WHERE id = $1").bind(&self.node).execute(&mut listener);
                    bounded(alive).await?;
                }
            }
        }
    }

    /// Moves the stamp past everything committed so far, and records that in `nodes`. The
    /// newest `seq` is read *before* the stamp moves: every request whose sync starts after the
    /// move reads the feed at least up to it, so the recorded `seen_seq` is a promise kept.
    async fn acknowledge(&self, listener: &mut PgListener) -> std::result::Result<(), sqlx::Error> {
        let seen: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM changes").fetch_one(&mut *listener).await?;
        self.bump();
        sqlx::query(
            "INSERT INTO nodes (id, seen_seq, alive_at, backend_pid) VALUES ($1, $2, now(), pg_backend_pid()) \
             ON CONFLICT (id) DO UPDATE SET seen_seq = greatest(nodes.seen_seq, excluded.seen_seq), alive_at = now(), \
             backend_pid = excluded.backend_pid",
        )
        .bind(&self.node)
        .bind(seen)
        .execute(&mut *listener)
        .await?;
        Ok(())
    }
}

/// A query of the listening connection, bounded by the heartbeat timeout: a connection that
/// does not answer in time counts as lost.
async fn bounded<T>(query: impl std::future::Future<Output = std::result::Result<T, sqlx::Error>>) -> std::result::Result<T, sqlx::Error> {
    tokio::time::timeout(HEARTBEAT_TIMEOUT, query).await.unwrap_or(Err(sqlx::Error::PoolTimedOut))
}
