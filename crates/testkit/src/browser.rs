//! A headless Chromium driven over WebDriver, for end-to-end tests of server-rendered pages.
//!
//! Each [`Browser`] owns its own `chromedriver` process (listening on loopback only, on a port the
//! kernel picks) and its own Chromium with a fresh temporary profile, so tests in one binary can
//! each start one and run in parallel, on a multi-thread or a current-thread tokio runtime.
//! On drop the WebDriver session is closed (which quits Chromium), then `chromedriver` and any
//! process still running from this browser's temporary directory are killed by PID, and the
//! directory (profile, home, log) is removed.
//!
//! Needs Debian's `chromium` and `chromium-driver` packages (`scripts/test` installs them). The paths
//! default to `/usr/bin/chromedriver` and `/usr/bin/chromium` and can be overridden with
//! `TESSERA_CHROMEDRIVER` and `TESSERA_CHROMIUM`.
//!
//! ```no_run
//! # async fn sign_in(server: &tessera_testkit::Server) -> anyhow::Result<()> {
//! # use std::time::Duration;
//! # use tessera_testkit::browser::Browser;
//! let browser = Browser::start().await?;
//! browser.goto(&server.url("/login")).await?;
//! browser.fill("input[name=email]", "owner@acme0.test").await?;
//! browser.click("button[type=submit]").await?;
//! let url = browser.wait_for_url(|url| url.contains("code="), Duration::from_secs(10)).await?;
//! # Ok(())
//! # }
//! ```

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
pub use fantoccini::Locator;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::TempDir;

const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
/// The window size; new headless keeps room for browser UI, so the viewport (and a screenshot)
/// is 1280x757.
const WINDOW: (u32, u32) = (1280, 900);
/// How long `chromedriver` may take to answer `/status`, and Chromium to open a session.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one page load may take before a WebDriver command fails.
const PAGE_LOAD_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(25);

/// A cookie as the browser holds it for the current page (WebDriver only shows the cookies
/// visible to the current document, `HttpOnly` ones included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    pub name: String,
    pub value: String,
    pub domain: Option<String>,
    pub path: Option<String>,
    pub secure: bool,
    pub http_only: bool,
    /// `Strict`, `Lax` or `None`, when the browser reports it.
    pub same_site: Option<String>,
}

/// A headless Chromium with its own `chromedriver`. See the module documentation.
#[derive(Debug)]
pub struct Browser {
    client: Client,
    /// The WebDriver session, closed on drop unless [`Browser::close`] already did.
    session: Option<String>,
    // Dropped after `client`: kills the processes, then removes the temporary directory.
    driver: Driver,
}

impl Browser {
    /// Starts `chromedriver` and a headless Chromium with a fresh profile.
    pub async fn start() -> anyhow::Result<Self> {
        let chromedriver = binary("TESSERA_CHROMEDRIVER", DEFAULT_CHROMEDRIVER, "chromium-driver")?;
        let chromium = binary("TESSERA_CHROMIUM", DEFAULT_CHROMIUM, "chromium")?;
        let driver = Driver::start(&chromedriver).await?;

        let (width, height) = WINDOW;
        let args = [
            "--headless=new".to_owned(),
            // Chromium refuses to start as root with its sandbox, which also needs user namespaces.
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            // /dev/shm is small in containers; Chromium crashes when it runs out.
            "--disable-dev-shm-usage".to_owned(),
            format!("--user-data-dir={}", driver.profile.display()),
            format!("--window-size={width},{height}"),
            // Nothing but the pages under test: no first-run UI, no background traffic.
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-default-apps".to_owned(),
            "--disable-extensions".to_owned(),
            "--disable-sync".to_owned(),
            "--password-store=basic".to_owned(),
            "--mute-audio".to_owned(),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".into(), json!({ "binary": chromium, "args": args }));

        let url = format!("http://127.0.0.1:{}", driver.port);
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let connect = builder.connect(&url);
        let client = match tokio::time::timeout(START_TIMEOUT, connect).await {
            Ok(Ok(client)) => client,
            Ok(Err(error)) => bail!("chromedriver did not open a Chromium session: {error}\n{}", driver.log()),
            Err(_) => bail!("Chromium did not start within {START_TIMEOUT:?}\n{}", driver.log()),
        };
        // From here on, dropping `browser` closes the session and stops everything.
        let mut browser = Self { client, session: None, driver };
        browser.session = browser.client.session_id().await.context("no WebDriver session id")?;
        browser
            .client
            .update_timeouts(TimeoutConfiguration::new(Some(PAGE_LOAD_TIMEOUT), Some(PAGE_LOAD_TIMEOUT), Some(Duration::ZERO)))
            .await
            .context("cannot set the WebDriver timeouts")?;
        Ok(browser)
    }

    /// Adds a WebAuthn virtual authenticator to the browser (WebAuthn Level 2 §11.3, which
    /// chromedriver implements): a CTAP2 authenticator on USB that keeps discoverable credentials
    /// and verifies its user (as a PIN or a fingerprint would), answering every request at once.
    /// Returns its id.
    pub async fn add_virtual_authenticator(&self) -> anyhow::Result<String> {
        let options = json!({
            "protocol": "ctap2",
            "transport": "usb",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserConsenting": true,
            "isUserVerified": true,
        });
        let answer = self.webdriver("POST", "/webauthn/authenticator", Some(options)).await?;
        answer["value"].as_str().map(str::to_owned).context("chromedriver named no authenticator")
    }

    /// The credentials a virtual authenticator holds (`credentialId`, `isResidentCredential`,
    /// `rpId`, `userHandle`, `signCount`, …).
    pub async fn virtual_credentials(&self, authenticator: &str) -> anyhow::Result<Vec<Value>> {
        let answer = self.webdriver("GET", &format!("/webauthn/authenticator/{authenticator}/credentials"), None).await?;
        answer["value"].as_array().cloned().context("chromedriver listed no credentials")
    }

    /// A WebDriver command of this browser's session that fantoccini has no method for.
    async fn webdriver(&self, method: &'static str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let session = self.session.clone().context("the WebDriver session is closed")?;
        let (port, path) = (self.driver.port, format!("/session/{session}{path}"));
        let body = body.map(|b| b.to_string());
        let (status, text) =
            tokio::task::spawn_blocking(move || http_with_body(port, method, &path, body.as_deref(), Duration::from_secs(30))).await??;
        if status != 200 {
            bail!("chromedriver answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// The raw WebDriver client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client.goto(url).await.with_context(|| format!("cannot open {url}"))
    }

    pub async fn current_url(&self) -> anyhow::Result<String> {
        Ok(self.client.current_url().await.context("cannot read the current URL")?.to_string())
    }

    /// Polls the current URL until `predicate` accepts it (e.g. the redirect after a form post)
    /// and returns it; fails with the last URL seen after `timeout`.
    pub async fn wait_for_url(&self, mut predicate: impl FnMut(&str) -> bool, timeout: Duration) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let url = self.current_url().await?;
            if predicate(&url) {
                return Ok(url);
            }
            if Instant::now() >= deadline {
                bail!("the URL did not change as expected within {timeout:?}; it is still {url}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Polls until an element matches `css_selector` (e.g. on a page rendered after a redirect).
    pub async fn wait_for_element(&self, css_selector: &str, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if !self.client.find_all(Locator::Css(css_selector)).await?.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("no element matches {css_selector:?} after {timeout:?} on {}", self.current_url().await?);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Clears the field matching `css_selector` and types `text` into it.
    pub async fn fill(&self, css_selector: &str, text: &str) -> anyhow::Result<()> {
        let element = self.find(css_selector).await?;
        element.clear().await.with_context(|| format!("cannot clear {css_selector:?}"))?;
        element.send_keys(text).await.with_context(|| format!("cannot type into {css_selector:?}"))
    }

    /// Clicks the element matching `css_selector` (a click that submits a form waits for the
    /// navigation to start; use [`Browser::wait_for_url`] for where it ends).
    pub async fn click(&self, css_selector: &str) -> anyhow::Result<()> {
        self.find(css_selector).await?.click().await.with_context(|| format!("cannot click {css_selector:?}"))
    }

    /// The rendered text of the element matching `css_selector`.
    pub async fn text(&self, css_selector: &str) -> anyhow::Result<String> {
        self.find(css_selector).await?.text().await.with_context(|| format!("cannot read the text of {css_selector:?}"))
    }

    /// The current `value` of the form field matching `css_selector` (what a script or the
    /// user put there, which the page source does not show).
    pub async fn value(&self, css_selector: &str) -> anyhow::Result<String> {
        let value =
            self.find(css_selector).await?.prop("value").await.with_context(|| format!("cannot read the value of {css_selector:?}"))?;
        Ok(value.unwrap_or_default())
    }

    /// Polls until the form field matching `css_selector` holds a value `accepted` takes; reads
    /// that fail meanwhile (no such element yet, or one from the page being replaced) are
    /// retried. Use it after a click that reloads a page which already has the field.
    pub async fn wait_for_value(
        &self,
        css_selector: &str,
        accepted: impl FnMut(&str) -> bool,
        timeout: Duration,
    ) -> anyhow::Result<String> {
        self.wait_for_read(css_selector, Reading::Value, accepted, timeout).await
    }

    /// Like [`Browser::wait_for_value`], for the rendered text of an element (e.g. the `h1` of
    /// the page a click leads to, when the page clicked on has an `h1` too).
    pub async fn wait_for_text(&self, css_selector: &str, accepted: impl FnMut(&str) -> bool, timeout: Duration) -> anyhow::Result<String> {
        self.wait_for_read(css_selector, Reading::Text, accepted, timeout).await
    }

    async fn wait_for_read(
        &self,
        css_selector: &str,
        what: Reading,
        mut accepted: impl FnMut(&str) -> bool,
        timeout: Duration,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match what {
                Reading::Value => self.value(css_selector).await,
                Reading::Text => self.text(css_selector).await,
            };
            if let Ok(read) = &last
                && accepted(read)
            {
                return last;
            }
            if Instant::now() >= deadline {
                let seen = last.map_or_else(|error| format!("an error: {error:#}"), |read| format!("{read:?}"));
                bail!("the {what:?} of {css_selector:?} was not as expected within {timeout:?}; last read: {seen}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The current DOM, serialised.
    pub async fn page_source(&self) -> anyhow::Result<String> {
        self.client.source().await.context("cannot read the page source")
    }

    /// A PNG of the viewport.
    pub async fn screenshot_png(&self) -> anyhow::Result<Vec<u8>> {
        self.client.screenshot().await.context("cannot take a screenshot")
    }

    /// The cookies visible to the current page.
    pub async fn cookies(&self) -> anyhow::Result<Vec<Cookie>> {
        let cookies = self.client.get_all_cookies().await.context("cannot read the cookies")?;
        Ok(cookies
            .into_iter()
            .map(|cookie| Cookie {
                name: cookie.name().to_owned(),
                value: cookie.value().to_owned(),
                domain: cookie.domain().map(str::to_owned),
                path: cookie.path().map(str::to_owned),
                secure: cookie.secure().unwrap_or(false),
                http_only: cookie.http_only().unwrap_or(false),
                same_site: cookie.same_site().map(|same_site| same_site.to_string()),
            })
            .collect())
    }

    /// What `chromedriver` logged so far (for failure messages).
    pub fn driver_log(&self) -> String {
        self.driver.log()
    }

    /// Closes the session (Chromium quits) and stops `chromedriver`, reporting a failure to
    /// close instead of ignoring it as drop does.
    pub async fn close(mut self) -> anyhow::Result<()> {
        self.session = None;
        self.client.clone().close().await.context("cannot close the WebDriver session")
    }

    async fn find(&self, css_selector: &str) -> anyhow::Result<fantoccini::elements::Element> {
        self.client.find(Locator::Css(css_selector)).await.with_context(|| format!("no element matches {css_selector:?}"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Synchronously and over a plain socket, so that it works whatever the runtime is doing
        // (fantoccini's own close needs the runtime, which may be shutting down). Chromedriver
        // quits Chromium before it answers. Errors are ignored: the driver is killed next.
        if let Some(session) = self.session.take() {
            let _ = http(self.driver.port, "DELETE", &format!("/session/{session}"), Duration::from_secs(10));
        }
    }
}

/// A running `chromedriver` with the temporary directory holding its log and Chromium's profile.
#[derive(Debug)]
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
    log: PathBuf,
    // Last field: removed after the processes are gone.
    dir: TempDir,
}

impl Driver {
    async fn start(chromedriver: &Path) -> anyhow::Result<Self> {
        let dir = TempDir::new("browser")?;
        let profile = dir.path().join("profile");
        std::fs::create_dir_all(&profile)?;
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home)?;
        let log = dir.path().join("chromedriver.log");
        let log_file = File::create(&log)?;
        // `--port=0`: the kernel picks a free port, which chromedriver reports on stdout, so
        // parallel tests cannot race for one. Without `--allowed-ips` chromedriver listens on
        // 127.0.0.1 and ::1 only and refuses remote connections.
        let child = Command::new(chromedriver)
            .arg("--port=0")
            // Chromium starts crashpad handlers that detach from it and keep their database under
            // `$HOME/.config`: a home of its own keeps them off the real one, and names this
            // browser's directory on their command line, so that drop finds them.
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", chromedriver.display()))?;
        let mut driver = Self { child, port: 0, profile, log, dir };

        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = driver.child.try_wait()? {
                bail!("chromedriver exited ({status}) before it was ready:\n{}", driver.log());
            }
            if driver.port == 0 {
                driver.port = reported_port(&driver.log()).unwrap_or(0);
            }
            if driver.port != 0 && ready(driver.port).await {
                return Ok(driver);
            }
            if Instant::now() >= deadline {
                bail!("chromedriver was not ready within {START_TIMEOUT:?}:\n{}", driver.log());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Chromium normally quit with the session; whatever is left of it (a browser whose session
        // was never closed, a crashed renderer's siblings, a crashpad handler that re-parented
        // itself) is either below chromedriver or names this browser's directory.
        let mut leftovers = descendants(self.child.id());
        leftovers.extend(processes_using(self.dir.path()));
        let _ = self.child.kill();
        let _ = self.child.wait();
        leftovers.retain(|pid| alive(*pid));
        if leftovers.is_empty() {
            return;
        }
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(leftovers.iter().map(u32::to_string))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // Let them go before the profile directory is removed under them.
        let deadline = Instant::now() + Duration::from_secs(2);
        while leftovers.iter().any(|pid| alive(*pid)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The path from `env`, else `default`, checked to exist.
fn binary(env: &str, default: &str, package: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from);
    if !path.exists() {
        bail!("{} not found: install Debian's {package} package (scripts/test does) or set {env}", path.display());
    }
    Ok(path)
}

/// The port in chromedriver's "ChromeDriver was started successfully on port N." line.
fn reported_port(log: &str) -> Option<u16> {
    let line = log.lines().find(|line| line.contains("started successfully"))?;
    let (_, rest) = line.split_once(" on port ")?;
    rest.trim_end_matches('.').trim().parse().ok().filter(|port| *port != 0)
}

/// Whether chromedriver's `/status` says it is ready for a session.
async fn ready(port: u16) -> bool {
    let status = tokio::task::spawn_blocking(move || http(port, "GET", "/status", Duration::from_secs(2))).await;
    let Ok(Ok((200, body))) = status else {
        return false;
    };
    serde_json::from_str::<Value>(&body).is_ok_and(|status| status["value"]["ready"] == Value::Bool(true))
}

/// One blocking HTTP/1.1 request without a body to chromedriver on 127.0.0.1; returns the status
/// and the body.
fn http(port: u16, method: &str, path: &str, timeout: Duration) -> std::io::Result<(u16, String)> {
    http_with_body(port, method, path, None, timeout)
}

/// One blocking HTTP/1.1 request to chromedriver on 127.0.0.1, with a JSON body when given.
fn http_with_body(port: u16, method: &str, path: &str, body: Option<&str>, timeout: Duration) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line.split_whitespace().nth(1).and_then(|code| code.parse().ok()).ok_or_else(|| invalid("no HTTP status line"))?;
    let mut length = None;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(invalid("truncated HTTP headers"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        // Chromedriver writes `Content-Length:14`, without the space.
        if let Some((name, value)) = header.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = Vec::new();
    match length {
        Some(length) => {
            body.resize(length, 0);
            reader.read_exact(&mut body)?;
        }
        None => {
            reader.read_to_end(&mut body)?;
        }
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Every process below `root`, from `/proc`.
fn descendants(root: u32) -> HashSet<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for pid in pids() {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
        let ppid = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)).and_then(|ppid| ppid.parse().ok());
        if let Some(ppid) = ppid {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut found = HashSet::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        for &child in children.get(&pid).into_iter().flatten() {
            if found.insert(child) {
                stack.push(child);
            }
        }
    }
    found
}

/// Every process whose command line names a path in `dir` (Chromium passes `--user-data-dir` on
/// to its helpers, crashpad its database under `$HOME`); the directory is unique to one browser.
fn processes_using(dir: &Path) -> HashSet<u32> {
    // With the separator, so that `…-1/` does not match `…-10/`.
    let needle = format!("{}/", dir.display()).into_bytes();
    pids()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| cmdline.windows(needle.len()).any(|window| window == needle.as_slice()))
        })
        .collect()
}

fn pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc").into_iter().flatten().filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
}

/// Whether `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) != Some("Z"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn reads_the_reported_port() {
        let log = "Starting ChromeDriver 156.0 on port 0\nOnly local connections are allowed.\n\
                   ChromeDriver was started successfully on port 42753.\n";
        assert_eq!(reported_port(log), Some(42753));
        assert_eq!(reported_port("Starting ChromeDriver 156.0 on port 0\n"), None);
        assert_eq!(reported_port("ChromeDriver was started successfully.\n"), None);
    }

    #[test]
    fn finds_its_own_children() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        assert!(descendants(std::process::id()).contains(&child.id()));
        assert!(alive(child.id()));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!alive(child.id()));
    }

    /// Starts Chromium (`scripts/test` installs it before the suite runs).
    #[tokio::test(flavor = "current_thread")]
    async fn drives_a_page_and_cleans_up() {
        let browser = Browser::start().await.unwrap();
        let (driver, dir) = (browser.driver.child.id(), browser.driver.dir.path().to_owned());
        browser.goto("data:text/html,<title>t</title><input id=q><p id=out>hello</p>").await.unwrap();
        assert_eq!(browser.text("#out").await.unwrap(), "hello");
        browser.fill("#q", "typed").await.unwrap();
        assert_eq!(browser.client().find(Locator::Css("#q")).await.unwrap().prop("value").await.unwrap().as_deref(), Some("typed"));
        assert!(browser.screenshot_png().await.unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(!processes_using(&dir).is_empty(), "Chromium runs on the profile");
        drop(browser);
        assert!(!alive(driver));
        assert!(processes_using(&dir).into_iter().all(|pid| !alive(pid)), "Chromium is gone");
        assert!(!dir.exists());
    }
}

/// What [`Browser::wait_for_read`] reads from an element.
#[derive(Debug, Clone, Copy)]
enum Reading {
    Value,
    Text,
}
