//! An independent upstream OpenID Provider for the single sign-on tests: node-oidc-provider
//! (panva), run by `interop/node/upstream_op.mjs` on `127.0.0.1` on a port of its own and stopped
//! by PID on drop. One confidential client (client_secret_basic, code, PKCE S256); the login name
//! is the account's `sub` and any password is accepted; the test sets accounts' claims and can
//! make the JWKS endpoint publish the wrong keys (see the script's header).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::Url;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::TempDir;

/// A running upstream OpenID Provider.
#[derive(Debug)]
pub struct UpstreamOp {
    child: Child,
    /// Held open: the script exits when its stdin closes (also if this test process dies).
    _stdin: Option<ChildStdin>,
    issuer: String,
    http: reqwest::Client,
    dir: TempDir,
}

impl UpstreamOp {
    /// Starts the provider with one client registered for `redirect_uris`.
    pub fn start(client_id: &str, client_secret: &str, redirect_uris: &[String]) -> anyhow::Result<Self> {
        // Once in many runs node printed nothing within the timeout (seen once, not reproduced):
        // a second process gets its chance before the test fails.
        match Self::start_once(client_id, client_secret, redirect_uris) {
            Ok(op) => Ok(op),
            Err(first) => {
                eprintln!("the upstream OP did not start, trying once more: {first:#}");
                Self::start_once(client_id, client_secret, redirect_uris)
            }
        }
    }

    fn start_once(client_id: &str, client_secret: &str, redirect_uris: &[String]) -> anyhow::Result<Self> {
        let node_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/node");
        if !node_dir.join("node_modules/oidc-provider/package.json").exists() {
            bail!("oidc-provider is not installed: run `npm ci` in {} (scripts/test does)", node_dir.display());
        }
        let dir = TempDir::new("upstream-op")?;
        let log = dir.path().join("op.log");
        let mut child = Command::new("node")
            .arg("upstream_op.mjs")
            .current_dir(&node_dir)
            .env("OP_CLIENT_ID", client_id)
            .env("OP_CLIENT_SECRET", client_secret)
            .env("OP_REDIRECT_URIS", redirect_uris.join(" "))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("cannot start node (Node.js; scripts/test installs it)")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("no stdout")?;
        // The first line is the issuer; read on a thread so a hung start times out, then
        // keep draining so the script never blocks on a full pipe.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let issuer = serde_json::from_str::<serde_json::Value>(line.trim()).ok().and_then(|v| v["issuer"].as_str().map(str::to_owned));
        let Some(issuer) = issuer else {
            let _ = child.kill();
            let status = child.wait();
            bail!("the upstream OP did not start ({status:?}): {line:?} {}", std::fs::read_to_string(&log).unwrap_or_default());
        };
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
        Ok(Self { child, _stdin: stdin, issuer, http, dir })
    }

    /// `http://127.0.0.1:PORT`, the issuer identifier (discovery lives below it).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// What the script printed on stderr so far (the library's warnings, any crash).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("op.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sets (or replaces) the claims of account `sub`.
    pub async fn set_account(&self, sub: &str, email: &str, email_verified: bool, name: &str) -> anyhow::Result<()> {
        self.control("/__test/account", json!({ "sub": sub, "email": email, "email_verified": email_verified, "name": name })).await
    }

    /// While on, the JWKS endpoint publishes other keys (same `kid`) than the one that signs.
    pub async fn set_rogue_keys(&self, on: bool) -> anyhow::Result<()> {
        self.control("/__test/rogue-keys", json!({ "on": on })).await
    }

    async fn control(&self, path: &str, body: serde_json::Value) -> anyhow::Result<()> {
        let response = self.http.post(format!("{}{path}", self.issuer)).json(&body).send().await?;
        if !response.status().is_success() {
            bail!("POST {path}: {} {}", response.status(), response.text().await.unwrap_or_default());
        }
        Ok(())
    }

    /// Plays a person at the provider, with cookies of its own: GETs `authorize_url`, follows the
    /// provider's redirects, signs in as `sub` (and consents, if asked), and returns the first
    /// redirect that leaves the provider (the client's redirect URI with `code` and `state`, or
    /// `error`) as an absolute URL, without following it.
    pub async fn sign_in(&self, authorize_url: &str, sub: &str) -> anyhow::Result<String> {
        let provider = Url::parse(&self.issuer)?.origin();
        let mut jar = CookieJar::default();
        let mut url = Url::parse(authorize_url)?;
        let mut form: Option<Vec<(&str, &str)>> = None;
        for _ in 0..20 {
            let mut request = match form.take() {
                Some(fields) => self.http.post(url.clone()).form(&fields),
                None => self.http.get(url.clone()),
            };
            if let Some(cookies) = jar.header(&url) {
                request = request.header(COOKIE, cookies);
            }
            let response = request.send().await?;
            jar.store(&response);
            let status = response.status();
            if status.is_redirection() {
                let location = response.headers().get(LOCATION).context("a redirect without Location")?.to_str()?;
                let next = url.join(location)?;
                if next.origin() != provider {
                    return Ok(next.to_string());
                }
                url = next;
                continue;
            }
            let page = response.text().await?;
            if !status.is_success() {
                bail!("{url} answered {status}: {page}");
            }
            // One of the script's two pages, each a single form.
            let action = form_action(&page).with_context(|| format!("no form at {url}: {page}"))?;
            if page.contains(r#"id="op-login""#) {
                form = Some(vec![("login", sub), ("password", "any password")]);
            } else if page.contains(r#"id="op-consent""#) {
                form = Some(Vec::new());
            } else {
                bail!("neither login nor consent at {url}: {page}");
            }
            url = url.join(&action)?;
        }
        bail!("no redirect out of the provider after 20 steps (last at {url})")
    }
}

impl Drop for UpstreamOp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `action` of the page's (first) form.
fn form_action(page: &str) -> Option<String> {
    let form = &page[page.find("<form")?..];
    let start = form.find("action=\"")? + "action=\"".len();
    let end = start + form[start..].find('"')?;
    Some(form[start..end].replace("&amp;", "&"))
}

/// The few cookies of one sign-in, by name and path (the provider scopes its interaction
/// cookies to paths); a cookie set to an empty value is the provider clearing it.
#[derive(Default)]
struct CookieJar(Vec<(String, String, String)>);

impl CookieJar {
    fn store(&mut self, response: &reqwest::Response) {
        for set in response.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let mut parts = set.split(';').map(str::trim);
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else { continue };
            let path = parts.find_map(|p| p.strip_prefix("path=").or_else(|| p.strip_prefix("Path="))).unwrap_or("/");
            self.0.retain(|(n, p, _)| !(n == name && p == path));
            if !value.is_empty() {
                self.0.push((name.to_owned(), path.to_owned(), value.to_owned()));
            }
        }
    }

    fn header(&self, url: &Url) -> Option<String> {
        let cookies: Vec<String> =
            self.0.iter().filter(|(_, path, _)| url.path().starts_with(path.as_str())).map(|(n, _, v)| format!("{n}={v}")).collect();
        (!cookies.is_empty()).then(|| cookies.join("; "))
    }
}
