//! Start-up: the data directory, the store, the master key, the service; and `serve`.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tessera_service::secrets::{MasterKey, SecretKeys};
use tessera_service::{Settings, SystemClock, Tessera};

use crate::config::Config;
use crate::http::extract::ProxyPolicy;
use crate::metrics::Metrics;
use crate::profile::{Profile, ProfileSettings};
use crate::{AppState, build_app};
use crate::{listener, tls};

/// The environment variable that carries the master key when it does not come from a file.
pub const MASTER_KEY_ENV: &str = "TESSERA_MASTER_KEY";

/// Opens the store and the service described by `config`: creates the data directory, applies
/// migrations, loads (or, for a fresh store only, creates) the master key. `owns_key_policy`:
/// this process (the server) writes its key algorithm and retention into the store.
/// `serving`: this process is `tessera serve`, which sets the store's key policy and sends mail;
/// a CLI command follows the store's policy and prints links instead of mailing them.
pub async fn open_service(config: &Config, serving: bool) -> anyhow::Result<Arc<Tessera>> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
    let _ = std::fs::set_permissions(&config.data_dir, std::fs::Permissions::from_mode(0o700));
    // One process at a time sets up a data directory (migrations, the master key's claim and
    // file, the first signing keys): `tessera serve &` and a CLI command typed right after it
    // would otherwise both claim a new store. Released when this function returns.
    let _setting_up = lock_data_directory(&config.data_dir).await?;
    let store = tessera_store::open_with(&config.database_url, config.migrate).await.context("cannot open the store")?;
    let master = load_master_key(config, &*store).await?;
    let secrets = SecretKeys::new(&master)?;
    let mail = if serving { config.service.mail.clone() } else { None };
    let settings = Settings { owns_key_policy: serving, mail, ..config.service.clone() };
    let service = Tessera::open(store, secrets, settings, Arc::new(SystemClock)).await?;
    Ok(Arc::new(service))
}

/// An exclusive lock on `DATA_DIR/setup.lock`, waited for (another process's set-up takes a
/// moment). Several nodes on one PostgreSQL database each have a data directory of their own;
/// there the store's claim decides (`tessera_service::claim_store`).
async fn lock_data_directory(data_dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let path = data_dir.join("setup.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    tokio::task::spawn_blocking(move || file.lock().map(|()| file)).await?.with_context(|| format!("cannot lock {}", path.display()))
}

pub use tessera_store::{BackupFiles, MigrationReport};

/// `tessera migrate --status`: the store's migrations, applied and pending. Changes nothing,
/// creates nothing and needs no master key.
pub async fn migration_status(config: &Config) -> anyhow::Result<MigrationReport> {
    tessera_store::migration_status(&config.database_url).await.context("cannot read the store's migrations")
}

/// `tessera backup --to FILE`: a consistent copy of the SQLite store and its replay file, also
/// while servers write to it. The master key is not copied.
pub async fn backup(config: &Config, to: &std::path::Path) -> anyhow::Result<BackupFiles> {
    Ok(tessera_store::backup(&config.database_url, to).await?)
}

/// `tessera migrate`: applies pending migrations to the store and nothing else.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
    tessera_store::open_with(&config.database_url, true).await.context("cannot migrate the store")?;
    Ok(())
}

/// The master key from `TESSERA_MASTER_KEY`, else from the key file. Only a store with nothing
/// sealed in it gets a newly generated key file; otherwise a missing key is an error (X17).
///
/// A key file in the data directory beside a blank store means the store this key belongs to
/// is gone (deleted, or copied without its `-wal` file): starting would make a new, empty store
/// and carry on as if nothing had happened, so that is refused. A new key claims the store
/// (its check value is stored) *before* the key file is written, so that a first start that
/// crashes in between never leaves that picture behind: the next start finds a claim no key
/// file holds and nothing sealed under it, and claims the store again.
async fn load_master_key(config: &Config, store: &dyn tessera_store::Store) -> anyhow::Result<MasterKey> {
    if let Ok(text) = std::env::var(MASTER_KEY_ENV) {
        // A key supplied by the operator may be meant for a new store (a new PostgreSQL cluster).
        return MasterKey::parse(&text).context("TESSERA_MASTER_KEY is invalid");
    }
    let seal = tessera_service::seal(store).await?;
    let path = &config.master_key_file;
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = MasterKey::parse(&text).with_context(|| format!("the master key file {} is invalid", path.display()))?;
            if seal.is_blank() && in_data_directory(config) {
                bail!(
                    "the store is empty, but the data directory holds a master key ({key}): the store this key belongs to is \
                     missing (deleted, replaced, or copied without its -wal file), and starting would begin a new, empty one. \
                     Restore the store from a backup (docs/deployment.md, \"Backups and restores\"), or, to start afresh with an empty \
                     store, move {key} away",
                    key = path.display()
                );
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if seal.sealed_data {
                bail!(
                    "the master key is missing: {} does not exist and TESSERA_MASTER_KEY is not set, \
                     but the store was sealed with a master key. Restore the key; a new one would make the stored keys and secrets unreadable",
                    path.display()
                );
            }
            let key = MasterKey::generate()?;
            if !tessera_service::claim_store(store, &SecretKeys::new(&key)?, &seal).await? {
                // Another process claimed the store first (`tessera serve &` and a CLI command
                // right after it): its key file follows in a moment, and is this store's key.
                return wait_for_key_file(path).await;
            }
            tessera_service::failpoint("master-key-claimed");
            if let Err(e) = write_new_file(path, key.to_text().as_bytes()) {
                // Another process wrote its key file between our claim and ours: leave the
                // store claimed by the key that is on disk, so that its next start agrees.
                if let Ok(text) = std::fs::read_to_string(path)
                    && let Ok(theirs) = MasterKey::parse(&text)
                {
                    let seal = tessera_service::seal(store).await?;
                    if !seal.sealed_data {
                        tessera_service::claim_store(store, &SecretKeys::new(&theirs)?, &seal).await?;
                    }
                }
                return Err(e);
            }
            tracing::info!(path = %path.display(), "generated a new master key; back it up: without it the store cannot be read");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read the master key file {}", path.display())),
    }
}

/// The key file another process is writing after claiming the store, once it is there (10 s
/// at most: a process that claimed and then died leaves a claim the next start takes over).
async fn wait_for_key_file(path: &std::path::Path) -> anyhow::Result<MasterKey> {
    for _ in 0..100 {
        match std::fs::read_to_string(path) {
            Ok(text) => return MasterKey::parse(&text).with_context(|| format!("the master key file {} is invalid", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            Err(e) => return Err(e).with_context(|| format!("cannot read the master key file {}", path.display())),
        }
    }
    bail!("another process is setting up this store and has not written its master key file {}; start again", path.display())
}

/// Whether the master key file is the data directory's own (its default place): a key given
/// elsewhere (`--master-key-file`, like `TESSERA_MASTER_KEY`) may be one made for a new store.
fn in_data_directory(config: &Config) -> bool {
    let canonical = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    config.master_key_file.parent().is_some_and(|dir| canonical(dir) == canonical(&config.data_dir))
}

/// Creates `path` with `contents`, mode 0600, crash-safely: a temporary file is written and
/// synced, then renamed into place and the directory synced, so a crash leaves either no file
/// or the whole one, never an empty key file. Fails if `path` exists.
fn write_new_file(path: &std::path::Path, contents: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let temp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&temp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .with_context(|| format!("cannot create {}", temp.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    // hard_link fails if `path` exists: never overwrite a key another process just wrote.
    std::fs::hard_link(&temp, path).with_context(|| format!("cannot create the master key file {}", path.display()))?;
    let _ = std::fs::remove_file(&temp);
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Runs the server until SIGTERM or Ctrl-C, then drains in-flight requests.
///
/// HTTP is served by one single-threaded runtime per worker thread (default: one per core),
/// fed connections round robin by one acceptor (see `listener`): a request is handled start to
/// finish on one thread. Measured: with one shared work-stealing runtime about a sixth of the
/// token endpoint's CPU went to cross-thread wake-ups. Store maintenance, the acceptor and
/// signals stay on the main runtime.
pub async fn serve(mut config: Config) -> anyhow::Result<()> {
    config.check_transport()?;
    // Read before binding, so a bad certificate fails the start with a clear message.
    let certificates = config.tls.as_ref().map(|files| tls::Certificates::load(&files.cert, &files.key)).transpose()?;
    let tls_config = certificates.as_ref().map(tls::Certificates::server_config).transpose()?;
    let listener = tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    config.bind_to(address);
    let service = open_service(&config, true).await?;
    // A node follows what other processes commit (PostgreSQL: LISTEN on the change feed).
    service.store().follow_changes();
    ensure_default_org(&service).await?;
    // Made once for the life of the process: pages read it without a reference count.
    let brand: &'static crate::http::page::Brand = Box::leak(Box::new(config.brand.clone()));
    let state = AppState::new(crate::AppParts {
        brand,
        service: service.clone(),
        metrics: Arc::new(Metrics::default()),
        proxy: Arc::new(ProxyPolicy { behind_proxy: config.behind_proxy, trusted: config.trusted_proxies.clone() }),
        aliases: Arc::new(config.profile.as_ref().map(Profile::aliases).unwrap_or_default()),
        request_timeout: config.request_timeout,
        unapproved_status: config.profile.as_ref().map_or(axum::http::StatusCode::BAD_REQUEST, Profile::unapproved_status_code),
        metrics_apart: config.metrics_listen.is_some(),
    });
    let metrics_listener = match config.metrics_listen {
        Some(address) => {
            Some(tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen for metrics on {address}"))?)
        }
        None => None,
    };
    let metrics_app = crate::metrics_app(state.clone());
    if let Some(profile) = &config.profile {
        tracing::info!(profile = %profile.name, "answering with a profile's paths, lifetimes and fields");
    }
    let policy = listener::ConnectionPolicy {
        tls: tls_config,
        header_read_timeout: config.header_read_timeout,
        max_header_bytes: MAX_HEADER_BYTES,
        max_headers: MAX_HEADERS,
    };
    let workers = config.http_workers.max(1);
    let (receivers, acceptor) = listener::dispatch(listener, workers);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut threads = Vec::with_capacity(workers);
    for (index, connections) in receivers.into_iter().enumerate() {
        // A router and state per worker: nothing a request clones is shared with another core.
        let (app, policy, stop) = (build_app(state.for_worker()), policy.clone(), stop_rx.clone());
        let thread = std::thread::Builder::new().name(format!("http-{index}")).spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(listener::serve_worker(connections, app, policy, stop));
            Ok(())
        })?;
        threads.push(thread);
    }
    let scheme = if certificates.is_some() { "https" } else { "http" };
    tracing::info!(address = %address, issuer = %config.issuer(), workers, tls = certificates.is_some(), "tessera is listening");
    // A line on stdout that scripts and tests wait for.
    println!("listening on {scheme}://{address}");
    if let Some(token) = service.prepare_setup().await? {
        // Printed, never logged: the link is a credential until used.
        // A fresh link at every start while no user exists; the link stays at the line's end.
        println!("no users yet (this link works for 24 hours): create the first owner at {}/setup/{token}", config.issuer());
    }
    let acceptor = tokio::spawn(acceptor);
    // `--metrics-listen`: plain HTTP with the main listener's deadlines and limits, on the main
    // runtime (a scrape every few seconds).
    let metrics_tasks = match metrics_listener {
        Some(listener) => {
            let address = listener.local_addr()?;
            let (mut receivers, metrics_acceptor) = listener::dispatch(listener, 1);
            let connections = receivers.pop().context("no metrics worker")?;
            let plain = listener::ConnectionPolicy { tls: None, ..policy.clone() };
            tracing::info!(address = %address, "metrics are served apart");
            println!("metrics on http://{address}/metrics");
            Some((tokio::spawn(metrics_acceptor), tokio::spawn(listener::serve_worker(connections, metrics_app, plain, stop_rx.clone()))))
        }
        None => None,
    };
    let housekeeping = tokio::spawn(housekeeping(service.clone()));
    let reloader = certificates.map(|certificates| tokio::spawn(tls::watch(certificates)));
    shutdown_signal().await;
    acceptor.abort();
    let _ = stop_tx.send(true);
    let mut result = Ok(());
    for thread in threads {
        match tokio::task::spawn_blocking(move || thread.join()).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => result = Err(e),
            _ => result = Err(anyhow::anyhow!("an HTTP worker thread failed")),
        }
    }
    housekeeping.abort();
    if let Some((acceptor, worker)) = metrics_tasks {
        acceptor.abort();
        let _ = worker.await;
    }
    if let Some(reloader) = reloader {
        reloader.abort();
    }
    tracing::info!("stopped");
    result
}

/// Largest request head (request line and headers): larger gets 431. Generous for cookies and
/// a Bearer token, far below what would let one connection hold much memory.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Most header fields in one request: more gets 431.
pub const MAX_HEADERS: usize = 64;

/// An empty store gets a default organization so that `serve` works with no configuration.
async fn ensure_default_org(service: &Tessera) -> anyhow::Result<()> {
    if service.orgs().await?.is_empty() {
        let org = service.create_org(&tessera_service::admin::Actor::system("system"), "default").await?;
        tracing::info!(org_id = %org.id, "created the default organization");
    }
    Ok(())
}

async fn housekeeping(service: Arc<Tessera>) {
    let mut interval = tokio::time::interval(Duration::from_secs(30));
    loop {
        interval.tick().await;
        if let Err(e) = service.housekeeping().await {
            tracing::warn!(error = %e, "housekeeping failed; retrying later");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}
