//! Test support: a real `tessera serve` on `127.0.0.1:0` over a fresh temporary data directory,
//! the CLI run against the same store, and fixtures. Every process is stopped by PID on drop.
//! [`forge`] signs arbitrary tokens with a running server's own key; [`browser`] drives a
//! headless Chromium.

pub mod browser;
pub mod forge;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

/// A temporary directory removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> anyhow::Result<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!("tessera-{label}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How to run the `tessera` binary against one data directory.
#[derive(Debug, Clone)]
pub struct Cli {
    pub bin: PathBuf,
    pub data_dir: PathBuf,
    /// Extra global flags (e.g. `--leeway 0`) given to every command.
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
}

impl Cli {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command.arg("--data-dir").arg(&self.data_dir).arg("--json").args(&self.global).args(args);
        command.env_remove("TESSERA_MASTER_KEY");
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
        let cli =
            Cli { bin: PathBuf::from(bin), data_dir: dir.path().join("data"), global: options.global.clone(), env: options.env.clone() };
        let mut server = Self::start_in(cli, &options.serve)?;
        server._dir = Some(dir);
        Ok(server)
    }

    /// Starts a server on an existing data directory (e.g. after a restart).
    pub fn start_in(cli: Cli, serve_args: &[String]) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&cli.data_dir)?;
        let log = cli.data_dir.join(format!("serve-{}.log", std::process::id()));
        let log_file = std::fs::File::create(&log)?;
        let mut command = cli.command(&["serve", "--listen", "127.0.0.1:0"]);
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
