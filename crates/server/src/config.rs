//! Configuration: one tree, loaded with the precedence flag > `TESSERA_*` environment > TOML
//! file > default, then validated into typed values.
//!
//! [`ConfigLayer`] is one source (all fields optional); the CLI builds one from its flags (clap
//! also reads the environment) and one from the file, and [`Config::resolve`] merges them over
//! the defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ipnet::IpNet;
use serde::Deserialize;
use tessera_service::Algorithm;

use crate::profile::Profile;

/// One source of configuration. Every field is optional; unknown keys in a file are an error.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigLayer {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    /// Whether a process applies pending store migrations when it opens the store (default
    /// true; `tessera migrate` always does).
    pub migrate: Option<bool>,
    pub master_key_file: Option<PathBuf>,
    pub listen: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub behind_proxy: Option<bool>,
    pub trusted_proxies: Option<Vec<String>>,
    /// PEM certificate chain for native HTTPS (with `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for native HTTPS (with `tls_cert`).
    pub tls_key: Option<PathBuf>,
    /// Seconds a client has for a TLS handshake or a request head (and an idle keep-alive
    /// connection lives); default 10.
    pub header_read_timeout: Option<u64>,
    /// Seconds a request may take from its head to its answer, body included; default 30.
    pub request_timeout: Option<u64>,
    pub signing_alg: Option<String>,
    pub access_token_ttl: Option<u32>,
    pub max_access_token_ttl: Option<u32>,
    pub leeway: Option<u32>,
    pub key_rotation_interval: Option<i64>,
    pub client_auth_failure_limit: Option<u32>,
    pub client_auth_failure_window: Option<i64>,
    pub refresh_token_ttl: Option<i64>,
    pub session_idle_timeout: Option<i64>,
    pub session_max_lifetime: Option<i64>,
    pub login_failure_limit: Option<u32>,
    pub login_address_limit: Option<u32>,
    pub login_lock_seconds: Option<i64>,
    pub log: Option<String>,
    pub http_workers: Option<usize>,
    pub revocation_feed_clients: Option<Vec<String>>,
    /// A built-in profile name or a profile file (SPEC §7).
    pub profile: Option<String>,
    /// Whether the first-party session API (`/sessions`) is on (default: on).
    pub session_api: Option<bool>,
    /// Every client must push its authorization requests (RFC 9126 §5; default: only clients
    /// registered so).
    pub require_pushed_authorization_requests: Option<bool>,
    /// Seconds a pushed authorization request waits for its use (default 90).
    pub pushed_request_lifetime: Option<i64>,
    /// Seconds a device code lives (RFC 8628; default 600).
    pub device_code_lifetime: Option<i64>,
    /// Seconds a device waits between polls, before any `slow_down` (default 5).
    pub device_poll_interval: Option<i64>,
    /// Serve dynamic client registration at /oauth2/register (RFC 7591/7592; default off).
    /// Registrations always need an initial access token.
    pub registration_endpoint: Option<bool>,
    /// Demand a server nonce in every DPoP proof (RFC 9449 §8; default off).
    pub dpop_require_nonce: Option<bool>,
    /// Let clients' `jwks_uri`s name hosts on internal addresses (default off).
    pub allow_internal_jwks_uri: Option<bool>,
}

macro_rules! merge_fields {
    ($high:expr, $low:expr, $($field:ident),*) => {
        ConfigLayer { $($field: $high.$field.or($low.$field)),* }
    };
}

impl ConfigLayer {
    /// Reads a TOML file; unknown keys are refused with the key named.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }

    /// `self` where set, else `lower`.
    pub fn over(self, lower: ConfigLayer) -> ConfigLayer {
        merge_fields!(
            self,
            lower,
            data_dir,
            database_url,
            migrate,
            master_key_file,
            listen,
            issuer,
            audience,
            behind_proxy,
            trusted_proxies,
            tls_cert,
            tls_key,
            header_read_timeout,
            request_timeout,
            signing_alg,
            access_token_ttl,
            max_access_token_ttl,
            leeway,
            key_rotation_interval,
            client_auth_failure_limit,
            client_auth_failure_window,
            refresh_token_ttl,
            session_idle_timeout,
            session_max_lifetime,
            login_failure_limit,
            login_address_limit,
            login_lock_seconds,
            log,
            http_workers,
            revocation_feed_clients,
            profile,
            session_api,
            require_pushed_authorization_requests,
            pushed_request_lifetime,
            device_code_lifetime,
            device_poll_interval,
            registration_endpoint,
            dpop_require_nonce,
            allow_internal_jwks_uri
        )
    }
}

/// The resolved, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub migrate: bool,
    pub master_key_file: PathBuf,
    pub listen: SocketAddr,
    pub issuer: String,
    /// True when no issuer was configured: `serve` then derives it from the bound address
    /// (which matters when listening on port 0).
    pub issuer_from_listen: bool,
    pub audience: String,
    /// True when no audience was configured: it follows the issuer.
    pub audience_from_issuer: bool,
    pub behind_proxy: bool,
    pub trusted_proxies: Vec<IpNet>,
    /// Native HTTPS: the certificate chain and key files.
    pub tls: Option<TlsFiles>,
    pub header_read_timeout: std::time::Duration,
    pub request_timeout: std::time::Duration,
    pub signing_alg: Algorithm,
    pub access_token_ttl: u32,
    pub max_access_token_ttl: u32,
    pub leeway: u32,
    pub key_rotation_interval: i64,
    pub client_auth_failure_limit: u32,
    pub client_auth_failure_window: i64,
    pub refresh_token_ttl: i64,
    pub session_idle_timeout: i64,
    pub session_max_lifetime: i64,
    pub login_failure_limit: u32,
    pub login_address_limit: u32,
    pub login_lock_seconds: i64,
    pub log: String,
    /// Threads serving HTTP, each with its own runtime and socket (default: one per core).
    pub http_workers: usize,
    /// Client ids that may read the revocation feed (the protected APIs' guards).
    pub revocation_feed_clients: Vec<String>,
    /// The profile in force, if any.
    pub profile: Option<Profile>,
    pub session_api: bool,
    pub require_pushed_authorization_requests: bool,
    pub pushed_request_lifetime: i64,
    pub device_code_lifetime: i64,
    pub device_poll_interval: i64,
    pub registration_endpoint: bool,
    pub dpop_require_nonce: bool,
    pub allow_internal_jwks_uri: bool,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The PEM files of native HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Config {
    /// Resolves the merged layers; a profile they name fills in below them, above the defaults.
    pub fn resolve(layer: ConfigLayer) -> anyhow::Result<Self> {
        let profile = layer.profile.as_deref().map(Profile::load).transpose()?;
        let layer = match &profile {
            Some(profile) => layer.over(profile.config_layer()),
            None => layer,
        };
        let data_dir = layer.data_dir.unwrap_or_else(|| PathBuf::from("tessera-data"));
        let database_url = layer.database_url.unwrap_or_else(|| format!("sqlite://{}", data_dir.join("tessera.db").display()));
        let master_key_file = layer.master_key_file.unwrap_or_else(|| data_dir.join("master.key"));
        let listen_text = layer.listen.unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen: SocketAddr = listen_text.parse().with_context(|| format!("--listen {listen_text:?} is not an IP:PORT address"))?;
        let tls = match (layer.tls_cert, layer.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => bail!("--tls-cert and --tls-key go together: give both or neither"),
        };
        let issuer_from_listen = layer.issuer.is_none();
        // A defaulted issuer on a non-loopback address is refused later, by check_transport, with
        // the clearer message about TLS.
        let issuer = match layer.issuer {
            Some(issuer) => validate_issuer(&issuer)?,
            None => default_issuer(listen, tls.is_some()),
        };
        if tls.is_some() && !issuer.starts_with("https://") {
            bail!("with --tls-cert the issuer must be an https:// URL, not {issuer:?}");
        }
        let audience_from_issuer = layer.audience.is_none();
        let audience = layer.audience.unwrap_or_else(|| issuer.clone());
        let trusted_proxies = layer
            .trusted_proxies
            .unwrap_or_default()
            .iter()
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
                    .with_context(|| format!("trusted proxy {p:?} is not an address or CIDR range"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let alg_text = layer.signing_alg.unwrap_or_else(|| "ES256".into());
        let Some(signing_alg) = Algorithm::parse(&alg_text) else {
            bail!("signing_alg {alg_text:?} is not one of ES256, EdDSA, RS256");
        };
        let access_token_ttl = layer.access_token_ttl.unwrap_or(3600);
        let max_access_token_ttl = layer.max_access_token_ttl.unwrap_or(access_token_ttl.max(366 * 86_400));
        if access_token_ttl == 0 || max_access_token_ttl == 0 {
            bail!("token lifetimes must be at least 1 second");
        }
        let pushed_request_lifetime = layer.pushed_request_lifetime.unwrap_or(tessera_core::par::DEFAULT_LIFETIME);
        if !(1..=600).contains(&pushed_request_lifetime) {
            bail!("pushed_request_lifetime must be between 1 and 600 seconds");
        }
        let device_code_lifetime = layer.device_code_lifetime.unwrap_or(tessera_core::device::DEFAULT_LIFETIME);
        let device_poll_interval = layer.device_poll_interval.unwrap_or(tessera_core::device::DEFAULT_INTERVAL);
        if !(1..=3600).contains(&device_code_lifetime) || !(1..=60).contains(&device_poll_interval) {
            bail!("device_code_lifetime must be 1 to 3600 seconds and device_poll_interval 1 to 60 seconds");
        }
        let key_rotation_interval = layer.key_rotation_interval.unwrap_or(30 * 86_400);
        if key_rotation_interval < 60 {
            bail!("key_rotation_interval must be at least 60 seconds");
        }
        Ok(Self {
            data_dir,
            database_url,
            migrate: layer.migrate.unwrap_or(true),
            master_key_file,
            listen,
            issuer,
            issuer_from_listen,
            audience,
            audience_from_issuer,
            behind_proxy: layer.behind_proxy.unwrap_or(false),
            trusted_proxies,
            tls,
            header_read_timeout: std::time::Duration::from_secs(layer.header_read_timeout.unwrap_or(10).clamp(1, 3600)),
            request_timeout: std::time::Duration::from_secs(layer.request_timeout.unwrap_or(30).clamp(1, 3600)),
            signing_alg,
            access_token_ttl,
            max_access_token_ttl,
            leeway: layer.leeway.unwrap_or(60),
            key_rotation_interval,
            client_auth_failure_limit: layer.client_auth_failure_limit.unwrap_or(100),
            client_auth_failure_window: layer.client_auth_failure_window.unwrap_or(60).max(1),
            refresh_token_ttl: layer.refresh_token_ttl.unwrap_or(60 * 86_400).max(0),
            session_idle_timeout: layer.session_idle_timeout.unwrap_or(8 * 3600).max(60),
            session_max_lifetime: layer.session_max_lifetime.unwrap_or(24 * 3600).max(60),
            login_failure_limit: layer.login_failure_limit.unwrap_or(5),
            login_address_limit: layer.login_address_limit.unwrap_or(100),
            login_lock_seconds: layer.login_lock_seconds.unwrap_or(900).max(1),
            log: layer.log.unwrap_or_else(|| "info".into()),
            http_workers: layer
                .http_workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
                .clamp(1, 256),
            revocation_feed_clients: layer.revocation_feed_clients.unwrap_or_default(),
            profile,
            session_api: layer.session_api.unwrap_or(true),
            require_pushed_authorization_requests: layer.require_pushed_authorization_requests.unwrap_or(false),
            pushed_request_lifetime,
            device_code_lifetime,
            device_poll_interval,
            registration_endpoint: layer.registration_endpoint.unwrap_or(false),
            dpop_require_nonce: layer.dpop_require_nonce.unwrap_or(false),
            allow_internal_jwks_uri: layer.allow_internal_jwks_uri.unwrap_or(false),
        })
    }

    /// Fixes the issuer (and audience) to the address actually bound, when they were defaulted.
    pub fn bind_to(&mut self, bound: SocketAddr) {
        if self.issuer_from_listen {
            self.issuer = default_issuer(bound, self.tls.is_some());
            if self.audience_from_issuer {
                self.audience = self.issuer.clone();
            }
        }
    }

    /// Plain HTTP is allowed only on loopback, or behind a TLS-terminating proxy.
    pub fn check_transport(&self) -> anyhow::Result<()> {
        if !self.listen.ip().is_loopback() && !self.behind_proxy && self.tls.is_none() {
            bail!(
                "refusing plain HTTP on the non-loopback address {}: TLS is required. Give --tls-cert and --tls-key, \
                 listen on 127.0.0.1 or ::1, or run behind a TLS-terminating proxy with --behind-proxy",
                self.listen
            );
        }
        if self.issuer_from_listen && !self.listen.ip().is_loopback() {
            bail!("set --issuer to the public https:// URL clients use to reach this server");
        }
        Ok(())
    }
}

/// `http://ADDRESS` (`https://` with native TLS) of the listening socket (loopback when listening
/// on every address).
pub fn default_issuer(listen: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    if listen.ip().is_unspecified() { format!("{scheme}://127.0.0.1:{}", listen.port()) } else { format!("{scheme}://{listen}") }
}

/// The issuer is an absolute `https` URL (or `http` on loopback) without query, fragment or
/// trailing slash, so it reads the same in every document and token (S06).
fn validate_issuer(issuer: &str) -> anyhow::Result<String> {
    let issuer = issuer.trim_end_matches('/');
    let Some((scheme, rest)) = issuer.split_once("://") else { bail!("the issuer {issuer:?} must be an absolute URL") };
    if rest.is_empty() || issuer.contains(['?', '#', ' ', '@', '\\']) {
        bail!("the issuer {issuer:?} must be a URL without user, query or fragment");
    }
    let authority = rest.split('/').next().unwrap_or_default();
    // `[::1]:8080`, `[::1]`, `127.0.0.1:8080`, `localhost`: the host without the port.
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or(authority, |(h, _)| h),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    match scheme {
        "https" => Ok(issuer.to_owned()),
        "http" if matches!(host, "127.0.0.1" | "localhost" | "::1") => Ok(issuer.to_owned()),
        _ => bail!("the issuer {issuer:?} must use https (http only on loopback)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_flag_env_then_file_then_default() {
        let flags = ConfigLayer { listen: Some("127.0.0.1:9000".into()), ..Default::default() };
        let file: ConfigLayer = toml::from_str("listen = \"127.0.0.1:7000\"\nleeway = 5\n").unwrap();
        let config = Config::resolve(flags.over(file)).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.leeway, 5);
        assert_eq!(config.access_token_ttl, 3600);
        assert_eq!(config.issuer, "http://127.0.0.1:9000");
    }

    #[test]
    fn a_profile_fills_in_below_flags_and_file() {
        let config = Config::resolve(ConfigLayer { profile: Some("bluescape".into()), ..Default::default() }).unwrap();
        assert_eq!(config.access_token_ttl, 1_209_600);
        assert_eq!(config.refresh_token_ttl, 0);
        let flags = ConfigLayer { profile: Some("bluescape".into()), access_token_ttl: Some(60), ..Default::default() };
        assert_eq!(Config::resolve(flags).unwrap().access_token_ttl, 60, "a flag beats the profile");
        assert!(Config::resolve(ConfigLayer { profile: Some("nope".into()), ..Default::default() }).is_err());
    }

    #[test]
    fn unknown_file_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<ConfigLayer>("lisen = \"x\"").is_err());
        assert!(Config::resolve(ConfigLayer { issuer: Some("http://example.com".into()), ..Default::default() }).is_err());
        assert!(Config::resolve(ConfigLayer { signing_alg: Some("HS256".into()), ..Default::default() }).is_err());
        for issuer in ["http://[::1]", "http://[::1]:8080", "http://localhost:80", "https://id.example:8443/tenant"] {
            assert!(Config::resolve(ConfigLayer { issuer: Some(issuer.into()), ..Default::default() }).is_ok(), "{issuer}");
        }
        for issuer in ["http://127.0.0.1@evil.example", "http://evil.example:80@127.0.0.1", "http://[::2]:80", "ftp://x", "https://"] {
            assert!(Config::resolve(ConfigLayer { issuer: Some(issuer.into()), ..Default::default() }).is_err(), "{issuer}");
        }
        let public = Config::resolve(ConfigLayer { listen: Some("0.0.0.0:8080".into()), ..Default::default() }).unwrap();
        assert!(public.check_transport().is_err());
        assert_eq!(
            Config::resolve(ConfigLayer { issuer: Some("https://id.example/".into()), ..Default::default() }).unwrap().issuer,
            "https://id.example"
        );
    }

    #[test]
    fn tls_needs_both_files_and_an_https_issuer() {
        let files = |cert: bool, key: bool| ConfigLayer {
            tls_cert: cert.then(|| "c.pem".into()),
            tls_key: key.then(|| "k.pem".into()),
            ..Default::default()
        };
        assert!(Config::resolve(files(true, false)).is_err());
        assert!(Config::resolve(files(false, true)).is_err());
        let config = Config::resolve(files(true, true)).unwrap();
        assert!(config.issuer.starts_with("https://127.0.0.1:"), "{}", config.issuer);
        let http_issuer = ConfigLayer { issuer: Some("http://127.0.0.1:8080".into()), ..files(true, true) };
        assert!(Config::resolve(http_issuer).is_err());
        let public = ConfigLayer { listen: Some("192.0.2.10:8443".into()), issuer: Some("https://id.example".into()), ..files(true, true) };
        assert!(Config::resolve(public).unwrap().check_transport().is_ok(), "TLS allows a public address");
        let no_issuer = ConfigLayer { listen: Some("0.0.0.0:8443".into()), ..files(true, true) };
        assert!(Config::resolve(no_issuer).unwrap().check_transport().is_err(), "a public address needs --issuer");
    }
}
