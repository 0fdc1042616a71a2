//! Native HTTPS: the rustls server configuration (TLS 1.2 and 1.3 only, HTTP/1.1 by ALPN) over a
//! certificate and key read from PEM files, reloaded on SIGHUP and when the files change.
//!
//! The certificate lives behind a resolver that every new handshake asks, so a reload swaps what
//! new connections get while established connections keep theirs and are never dropped.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use rustls::ServerConfig;
use rustls::crypto::ring as provider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// How often the files are checked for a change (SIGHUP reloads at once).
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// The certificate chain and key files, and what was last loaded from them.
#[derive(Debug)]
pub struct Certificates {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files' modification times at the last load attempt.
    loaded_stamp: RwLock<Option<(SystemTime, SystemTime)>>,
}

impl Certificates {
    /// Loads the files; an unreadable or mismatched pair is an error naming the file.
    pub fn load(cert_path: &Path, key_path: &Path) -> anyhow::Result<Arc<Self>> {
        let stamp = stamp(cert_path, key_path);
        let key = certified_key(cert_path, key_path)?;
        Ok(Arc::new(Self {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            current: RwLock::new(Arc::new(key)),
            loaded_stamp: RwLock::new(stamp),
        }))
    }

    /// Reads the files again. On failure the previous certificate stays in use (a half-written
    /// file during a renewal must not take the server off the air).
    pub fn reload(&self) -> anyhow::Result<()> {
        let stamp = stamp(&self.cert_path, &self.key_path);
        let key = certified_key(&self.cert_path, &self.key_path)?;
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(key);
        }
        if let Ok(mut loaded) = self.loaded_stamp.write() {
            *loaded = stamp;
        }
        tracing::info!(cert = %self.cert_path.display(), "TLS certificate loaded");
        Ok(())
    }

    /// Reloads when either file's modification time moved since the last attempt. A pair that
    /// cannot be loaded is tried again only once a file changes again.
    pub fn reload_if_changed(&self) {
        let now = stamp(&self.cert_path, &self.key_path);
        let seen = self.loaded_stamp.read().ok().and_then(|s| *s);
        if now.is_none() || now == seen {
            return;
        }
        if let Err(e) = self.reload() {
            if let Ok(mut seen) = self.loaded_stamp.write() {
                *seen = now;
            }
            tracing::warn!(error = %format!("{e:#}"), "the TLS files changed but cannot be loaded; keeping the previous certificate");
        }
    }

    /// The server configuration new connections are accepted with.
    pub fn server_config(self: &Arc<Self>) -> anyhow::Result<Arc<ServerConfig>> {
        let mut config = ServerConfig::builder_with_provider(Arc::new(provider::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .context("cannot build the TLS configuration")?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|key| key.clone())
    }
}

fn stamp(cert: &Path, key: &Path) -> Option<(SystemTime, SystemTime)> {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    Some((modified(cert)?, modified(key)?))
}

fn certified_key(cert_path: &Path, key_path: &Path) -> anyhow::Result<CertifiedKey> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .with_context(|| format!("cannot read the TLS certificate {}", cert_path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("the TLS certificate {} is not PEM", cert_path.display()))?;
    if chain.is_empty() {
        bail!("the TLS certificate file {} holds no certificate", cert_path.display());
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .with_context(|| format!("cannot read a private key from the TLS key file {}", key_path.display()))?;
    let signing_key = provider::sign::any_supported_type(&key)
        .with_context(|| format!("the TLS key {} is not a supported key type", key_path.display()))?;
    let certified = CertifiedKey::new(chain, signing_key);
    certified
        .keys_match()
        .with_context(|| format!("the TLS key {} does not belong to the certificate {}", key_path.display(), cert_path.display()))?;
    Ok(certified)
}

/// Reloads on SIGHUP and when the files change, until the process ends.
pub async fn watch(certificates: Arc<Certificates>) {
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; the TLS files are still watched");
            None
        }
    };
    let mut interval = tokio::time::interval(WATCH_INTERVAL);
    loop {
        let hangup_received = async {
            match hangup.as_mut() {
                Some(signal) => signal.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = interval.tick() => certificates.reload_if_changed(),
            _ = hangup_received => {
                if let Err(e) = certificates.reload() {
                    tracing::warn!(error = %format!("{e:#}"), "SIGHUP: cannot load the TLS files; keeping the previous certificate");
                }
            }
        }
    }
}
