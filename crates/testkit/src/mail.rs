//! A real SMTP server for the tests: Python's aiosmtpd (`mail_sink.py`), started on
//! `127.0.0.1` on a port of its own and stopped by PID on drop. Every message it accepts is
//! parsed by Python's own email package and kept as JSON, so a test reads what a mail client
//! would see, not what Tessera meant to send.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::TempDir;

const SCRIPT: &str = include_str!("mail_sink.py");

/// A running SMTP server that keeps what it receives.
#[derive(Debug)]
pub struct MailSink {
    child: Child,
    pub port: u16,
    dir: TempDir,
}

/// How the sink behaves.
#[derive(Debug, Default, Clone)]
pub struct MailSinkOptions<'a> {
    /// Offer STARTTLS with this certificate and key (PEM files), and require it.
    pub starttls: Option<(&'a Path, &'a Path)>,
    /// Answer the first this many messages with a temporary failure (451).
    pub fail_first: u32,
}

impl MailSink {
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(&MailSinkOptions::default())
    }

    pub fn start_with(options: &MailSinkOptions<'_>) -> anyhow::Result<Self> {
        let dir = TempDir::new("mail")?;
        let script = dir.path().join("mail_sink.py");
        std::fs::write(&script, SCRIPT)?;
        let out = dir.path().join("received");
        std::fs::create_dir_all(&out)?;
        let mut command = Command::new("python3");
        command.arg(&script).arg(&out);
        if let Some((cert, key)) = options.starttls {
            command.arg("--starttls").arg(cert).arg(key);
        }
        if options.fail_first > 0 {
            command.arg("--fail-first").arg(options.fail_first.to_string());
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("sink.log"))?)
            .stdin(Stdio::null())
            .spawn()
            .context("cannot start the SMTP sink (python3 with aiosmtpd; scripts/test installs it)")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let Some(port) = line.trim().strip_prefix("listening on ").and_then(|p| p.parse().ok()) else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the SMTP sink did not start: {line:?} {}", std::fs::read_to_string(dir.path().join("sink.log")).unwrap_or_default());
        };
        Ok(Self { child, port, dir })
    }

    /// `smtp://127.0.0.1:PORT`, for `serve --smtp-url`.
    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        let Ok(entries) = std::fs::read_dir(self.dir.path().join("received")) else { return Vec::new() };
        let mut names: Vec<_> =
            entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
        names.sort();
        names.iter().filter_map(|p| std::fs::read_to_string(p).ok()).filter_map(|t| serde_json::from_str(&t).ok()).collect()
    }

    /// Waits until `count` messages have arrived (up to `timeout`) and returns them all.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> anyhow::Result<Vec<Value>> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return Ok(messages);
            }
            if Instant::now() >= deadline {
                bail!("{} of {count} mails arrived within {timeout:?}", messages.len());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for MailSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The one `{issuer}/…` link of a mail body (SPEC §11: exactly one), or an error saying what
/// was found instead.
pub fn the_link(body: &str, issuer: &str) -> anyhow::Result<String> {
    let found: Vec<&str> = body
        .match_indices(issuer)
        .map(|(at, _)| {
            let rest = &body[at..];
            let end = rest.find(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '\'').unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    match found.as_slice() {
        [one] => Ok((*one).to_owned()),
        _ => bail!("expected exactly one {issuer}/… link, found {found:?}"),
    }
}
