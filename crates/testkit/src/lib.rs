//! Test support: a real `tessera serve` on `127.0.0.1:0` over a fresh temporary data directory,
//! the CLI run against the same store, and fixtures. Every process is stopped by PID on drop.
//!
//! The store is SQLite inside the data directory, or, with `TESSERA_TEST_DATABASE=postgres`, a
//! fresh PostgreSQL database per temporary directory (created on first use on the server named
//! by `TESSERA_TEST_POSTGRES`, default `postgres://postgres@127.0.0.1:5432`, and dropped with the
//! directory), so tests run in parallel on one PostgreSQL server.
//! [`agent`] signs in and answers the pages over HTTP as a browser would; [`forge`] signs arbitrary tokens with a running server's own key; [`browser`] drives a
//! headless Chromium.

pub mod agent;
pub mod browser;
pub mod forge;
pub mod mail;
pub mod upstream_op;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

/// A temporary directory removed on drop, with the store of the tests that use it: SQLite
/// inside it, or a PostgreSQL database of its own (see [`TempDir::database_url`]).
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
    database: std::sync::Mutex<Option<TestDatabase>>,
}

impl TempDir {
    pub fn new(label: &str) -> anyhow::Result<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!("tessera-{label}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(Self { path, database: std::sync::Mutex::new(None) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `--database-url` of this directory's store: `None` for SQLite (the default), or a
    /// PostgreSQL database created on first call when `TESSERA_TEST_DATABASE=postgres`.
    pub fn database_url(&self) -> anyhow::Result<Option<String>> {
        if !postgres_selected() {
            return Ok(None);
        }
        let mut database = self.database.lock().map_err(|_| anyhow::anyhow!("a test thread panicked holding the database"))?;
        if database.is_none() {
            *database = Some(TestDatabase::create()?);
        }
        Ok(database.as_ref().map(|d| d.url.clone()))
    }

    /// A CLI on this directory (and its database, when the tests run on PostgreSQL).
    pub fn cli(&self, bin: &str) -> anyhow::Result<Cli> {
        let mut global = Vec::new();
        if let Some(url) = self.database_url()? {
            global.extend(["--database-url".to_owned(), url]);
        }
        Ok(Cli { bin: PathBuf::from(bin), data_dir: self.path.join("data"), global, env: Vec::new() })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A PostgreSQL server of a test's own (Debian's binaries under `/usr/lib/postgresql/15/bin`),
/// on a free loopback port, over a temporary directory: for tests that stop and start the
/// database. Run as the `postgres` user when the tests run as root. Stopped on drop.
#[derive(Debug)]
pub struct PgCluster {
    dir: TempDir,
    port: u16,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

impl PgCluster {
    pub fn start() -> anyhow::Result<Self> {
        let dir = TempDir::new("pg")?;
        let as_root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false);
        if as_root {
            let status = Command::new("chown").arg("postgres:").arg(dir.path()).status()?;
            if !status.success() {
                bail!("cannot hand {} to the postgres user", dir.path().display());
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let cluster = Self { dir, port };
        cluster.pg(&[&format!("{PG_BIN}/initdb"), "-D", &cluster.data(), "-U", "postgres", "--auth=trust", "--no-sync"])?;
        cluster.start_again()?;
        Ok(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Runs a PostgreSQL program, as the postgres user when we are root.
    fn pg(&self, args: &[&str]) -> anyhow::Result<()> {
        let as_root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false);
        let mut command = if as_root {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).args(args);
            command
        } else {
            let mut command = Command::new(args[0]);
            command.args(&args[1..]);
            command
        };
        let output = command.stdin(Stdio::null()).output().with_context(|| format!("cannot run {}", args[0]))?;
        if !output.status.success() {
            bail!("{} failed: {}{}", args[0], String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        }
        Ok(())
    }

    /// `postgres://postgres@127.0.0.1:PORT`, without a database name.
    pub fn server(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn start_again(&self) -> anyhow::Result<()> {
        let options =
            format!("-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={}", self.port, self.dir.path().display());
        let log = self.dir.path().join("postgres.log").display().to_string();
        self.pg(&[&format!("{PG_BIN}/pg_ctl"), "-D", &self.data(), "-l", &log, "-w", "-o", &options, "start"])
    }

    /// Stops the server (fast shutdown: sessions are disconnected) and waits until it is down.
    pub fn stop(&self) -> anyhow::Result<()> {
        self.pg(&[&format!("{PG_BIN}/pg_ctl"), "-D", &self.data(), "-m", "fast", "-w", "stop"])
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self.pg(&[&format!("{PG_BIN}/pg_ctl"), "-D", &self.data(), "-m", "immediate", "-w", "stop"]);
    }
}

/// Whether the tests run on PostgreSQL (`TESSERA_TEST_DATABASE=postgres`).
pub fn postgres_selected() -> bool {
    std::env::var("TESSERA_TEST_DATABASE").is_ok_and(|v| v == "postgres" || v == "postgresql")
}

/// The PostgreSQL server the tests use, without a database name.
pub fn postgres_server() -> String {
    std::env::var("TESSERA_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into()).trim_end_matches('/').to_owned()
}

/// A PostgreSQL database of its own, dropped (with any session still on it) on drop.
#[derive(Debug)]
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    /// The server it lives on, without a database name.
    server: String,
}

impl TestDatabase {
    /// Creates a fresh database on the server named by `TESSERA_TEST_POSTGRES`.
    pub fn create() -> anyhow::Result<Self> {
        Self::create_on(&postgres_server())
    }

    /// Creates a fresh database on `server` (`postgres://user@host:port`).
    pub fn create_on(server: &str) -> anyhow::Result<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name = format!("tessera_t{}_{}_{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        admin_sql(server, &format!("CREATE DATABASE {name}")).with_context(|| format!("cannot create database {name} on {server}"))?;
        Ok(Self { url: format!("{server}/{name}"), name, server: server.to_owned() })
    }

    /// Runs one statement on this database (e.g. to look at what a node left behind).
    pub fn execute(&self, sql: &str) -> anyhow::Result<()> {
        run_sql(&self.url, sql)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Err(e) = admin_sql(&self.server, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)) {
            eprintln!("could not drop the test database {}: {e:#}", self.name);
        }
    }
}

fn admin_sql(server: &str, sql: &str) -> anyhow::Result<()> {
    run_sql(&format!("{server}/postgres"), sql)
}

/// Runs one statement on its own connection, on a thread of its own (callers may be inside an
/// async runtime already).
pub fn run_sql(url: &str, sql: &str) -> anyhow::Result<()> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            use sqlx::Connection as _;
            let mut connection = sqlx::PgConnection::connect(&url).await?;
            sqlx::Executor::execute(&mut connection, sql.as_str()).await?;
            connection.close().await?;
            Ok(())
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the SQL thread panicked"))?
}

/// How to run the `tessera` binary against one data directory.
#[derive(Debug, Clone)]
pub struct Cli {
    pub bin: PathBuf,
    pub data_dir: PathBuf,
    /// Extra global flags (e.g. `--database-url URL`) given to every command.
    pub global: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// What a CLI command did.
#[derive(Debug, Clone)]
pub struct CliOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    /// The JSON value printed on stdout.
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_str(self.stdout.trim())
            .with_context(|| format!("stdout is not one JSON value: {:?} (stderr {:?})", self.stdout, self.stderr))
    }

    /// The error object a failed command printed as the last line of stderr (with `--json`,
    /// which [`Cli`] always gives): `{"error": CODE, "message": TEXT}`.
    pub fn error(&self) -> anyhow::Result<Value> {
        let line = self.stderr.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or_default();
        let error: Value = serde_json::from_str(line).with_context(|| format!("stderr ends in no JSON error object: {:?}", self.stderr))?;
        if !(error["error"].is_string() && error["message"].is_string()) {
            bail!("stderr's error object lacks `error` or `message`: {error}");
        }
        Ok(error)
    }
}

impl Cli {
    /// The file whose seconds put the clocks of this data directory's processes ahead.
    fn test_clock_file(&self) -> PathBuf {
        self.data_dir.join("test-clock-ahead")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command.arg("--data-dir").arg(&self.data_dir).arg("--json").args(&self.global).args(args);
        command.env_remove("TESSERA_MASTER_KEY");
        // The test clock (the `test-clock` feature of test builds): see Server::advance_clock.
        command.env("TESSERA_TEST_CLOCK_FILE", self.test_clock_file());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    /// Runs a command with `stdin` and returns what it did, whatever the exit status.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> anyhow::Result<CliOutput> {
        let mut child = self.command(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.as_bytes())?;
        }
        let output = child.wait_with_output()?;
        Ok(CliOutput {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into(),
            stderr: String::from_utf8_lossy(&output.stderr).into(),
        })
    }

    pub fn run(&self, args: &[&str]) -> anyhow::Result<CliOutput> {
        self.run_with_stdin(args, "")
    }

    /// Runs a command with its standard output going to `file` (as `tessera … > FILE` in a
    /// shell: the file is created, or emptied, with the process's umask); whether it succeeded.
    pub fn run_to_file(&self, args: &[&str], file: &std::path::Path) -> anyhow::Result<bool> {
        let out = std::fs::File::create(file)?;
        Ok(self.command(args).stdin(Stdio::null()).stdout(out).stderr(Stdio::inherit()).status()?.success())
    }

    /// Runs a command that must succeed and returns its JSON output.
    pub fn json(&self, args: &[&str]) -> anyhow::Result<Value> {
        self.json_with_stdin(args, "")
    }

    pub fn json_with_stdin(&self, args: &[&str], stdin: &str) -> anyhow::Result<Value> {
        let output = self.run_with_stdin(args, stdin)?;
        if !output.success {
            bail!("tessera {args:?} failed: {}", output.stderr);
        }
        output.json()
    }
}

/// A running `tessera serve`.
#[derive(Debug)]
pub struct Server {
    pub base: String,
    pub cli: Cli,
    child: Child,
    log: PathBuf,
    /// Everything printed on stdout after the first line.
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
    _dir: Option<TempDir>,
}

/// Options for starting a server.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Global flags for the server and every CLI command.
    pub global: Vec<String>,
    /// Flags after `serve`.
    pub serve: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Server {
    /// Starts a server with default settings over a fresh data directory.
    pub fn start(bin: &str) -> anyhow::Result<Self> {
        Self::start_with(bin, ServerOptions::default())
    }

    pub fn start_with(bin: &str, options: ServerOptions) -> anyhow::Result<Self> {
        let dir = TempDir::new("e2e")?;
        // A test that names its own store gets no database made for it.
        let mut cli = if options.global.iter().any(|flag| flag == "--database-url") {
            Cli { bin: PathBuf::from(bin), data_dir: dir.path().join("data"), global: Vec::new(), env: Vec::new() }
        } else {
            dir.cli(bin)?
        };
        cli.global.extend(options.global.iter().cloned());
        cli.env.clone_from(&options.env);
        let mut server = Self::start_in(cli, &options.serve)?;
        server._dir = Some(dir);
        Ok(server)
    }

    /// Starts another node on the store `cli` works on (its `--database-url` and master key),
    /// with a data directory of its own: two nodes of one deployment.
    pub fn start_node(cli: &Cli, serve_args: &[String]) -> anyhow::Result<Self> {
        let dir = TempDir::new("node")?;
        let mut global = cli.global.clone();
        global.extend(["--master-key-file".to_owned(), cli.data_dir.join("master.key").display().to_string()]);
        let node = Cli { bin: cli.bin.clone(), data_dir: dir.path().join("data"), global, env: cli.env.clone() };
        let mut server = Self::start_in(node, serve_args)?;
        server._dir = Some(dir);
        Ok(server)
    }

    /// Starts a server on an existing data directory (e.g. after a restart).
    pub fn start_in(cli: Cli, serve_args: &[String]) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&cli.data_dir)?;
        let log = cli.data_dir.join(format!("serve-{}.log", std::process::id()));
        let log_file = std::fs::File::create(&log)?;
        // A free loopback port unless the test names its own address.
        let listen: &[&str] = if serve_args.iter().any(|a| a == "--listen") { &["serve"] } else { &["serve", "--listen", "127.0.0.1:0"] };
        let mut command = cli.command(listen);
        command.args(serve_args).stdout(Stdio::piped()).stderr(log_file).stdin(Stdio::null());
        let mut child = command.spawn().context("cannot start tessera serve")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        let printed = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink_copy = printed.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining so the server never blocks on a full pipe.
            let mut sink = String::new();
            while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
                if let Ok(mut printed) = sink_copy.lock() {
                    printed.push_str(&sink);
                }
                sink.clear();
            }
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("tessera serve did not start: {}", std::fs::read_to_string(&log).unwrap_or_default());
            }
        };
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let _ = child.wait();
            bail!("tessera serve failed to start: {line:?} {}", std::fs::read_to_string(&log).unwrap_or_default());
        };
        Ok(Self { base: base.to_owned(), cli, child, log, stdout: printed, _dir: None })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// What the server printed on stdout after its `listening on` line.
    pub fn stdout(&self) -> String {
        self.stdout.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The server's log so far (stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Moves the clocks of this server (and of CLI commands on its data directory) `seconds`
    /// forwards, at once: what would otherwise be a sleep until something expires. Needs a
    /// test build of the binary (its `test-clock` feature); time only ever moves forwards.
    pub fn advance_clock(&self, seconds: u64) -> anyhow::Result<()> {
        let file = self.cli.test_clock_file();
        let ahead: u64 = std::fs::read_to_string(&file).ok().and_then(|text| text.trim().parse().ok()).unwrap_or(0);
        // Written whole and renamed into place, so the server never reads half a number.
        let staged = file.with_extension("new");
        std::fs::write(&staged, (ahead + seconds).to_string())?;
        std::fs::rename(&staged, &file)?;
        Ok(())
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit; returns whether it exited cleanly.
    pub fn terminate(&mut self, timeout: Duration) -> anyhow::Result<bool> {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.success());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Ok(false)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An organization with a catalogue, an owner and a confidential client-credentials client.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub org_id: String,
    pub org_name: String,
    pub owner_id: String,
    pub owner_email: String,
    pub client_id: String,
    pub client_secret: String,
}

static ORG_COUNTER: AtomicU32 = AtomicU32::new(0);

impl Fixture {
    /// Creates org `acmeN` with scopes `read`, `write` and restricted `admin`, an owner and a
    /// client registered for all three.
    pub fn create(cli: &Cli) -> anyhow::Result<Self> {
        let n = ORG_COUNTER.fetch_add(1, Ordering::Relaxed);
        let org_name = format!("acme{n}");
        let org = cli.json(&["org", "create", "--name", &org_name])?;
        for (scope, restricted) in [("read", false), ("write", false), ("admin", true)] {
            let mut args = vec!["scope", "create", "--org", &org_name, scope];
            if restricted {
                args.push("--restricted");
            }
            cli.json(&args)?;
        }
        let owner_email = format!("owner@{org_name}.test");
        let owner = cli.json_with_stdin(
            &["user", "create", "--org", &org_name, "--email", &owner_email, "--role", "owner", "--password-stdin"],
            "owner password 1\n",
        )?;
        let client = cli.json(&[
            "client",
            "create",
            "--org",
            &org_name,
            "--owner",
            &owner_email,
            "--name",
            "script",
            "--grant",
            "client_credentials",
            "--scope",
            "read",
            "--scope",
            "write",
            "--scope",
            "admin",
        ])?;
        let text = |v: &Value, k: &str| v[k].as_str().map(str::to_owned).with_context(|| format!("missing {k} in {v}"));
        Ok(Self {
            org_id: text(&org, "id")?,
            org_name,
            owner_id: text(&owner, "id")?,
            owner_email,
            client_id: text(&client, "client_id")?,
            client_secret: text(&client, "client_secret")?,
        })
    }
}

impl Fixture {
    /// Adds a second owner (no password) to the fixture's organization, so that the first may be
    /// demoted or disabled: an organization always keeps an enabled owner (SPEC §12).
    pub fn add_co_owner(&self, cli: &Cli) -> anyhow::Result<()> {
        let email = format!("co-owner@{}.test", self.org_name);
        cli.json(&["user", "create", "--org", &self.org_name, "--email", &email, "--role", "owner"])?;
        Ok(())
    }
}

/// Polls `check` until it returns true or `timeout` passes (no fixed sleeps in tests).
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The path of binary `bin` of workspace package `package`, built first (a no-op when it is
/// up to date), for tests in another package than the binary's (Cargo only gives a test the
/// binaries of its own package). Builds once per test process.
pub fn workspace_bin(package: &str, bin: &str) -> anyhow::Result<PathBuf> {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    // The test executable is target/<profile>/deps/NAME; binaries sit in target/<profile>/.
    let exe = std::env::current_exe()?;
    let profile_dir = exe.parent().and_then(Path::parent).context("unexpected test executable location")?;
    let path = profile_dir.join(bin);
    let mut built = BUILT.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    if !built.iter().any(|b| b == bin) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut command = Command::new(cargo);
        command.args(["build", "--quiet", "-p", package, "--bin", bin]);
        // Without the variables Cargo set for this test process: build scripts that watch one
        // (ring's watches CARGO_MANIFEST_DIR) would otherwise run again, and the next plain
        // `cargo test` would rebuild ring, rustls and everything above them once more.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            let set_for_tests = [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "OUT_DIR",
            ]
            .contains(&name.as_ref())
                || name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_BIN_EXE_");
            if set_for_tests {
                command.env_remove(name.as_ref());
            }
        }
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            command.arg("--release");
        }
        let status = command.status().context("cannot run cargo build")?;
        if !status.success() {
            bail!("cargo build -p {package} --bin {bin} failed");
        }
        built.push(bin.to_owned());
    }
    Ok(path)
}
