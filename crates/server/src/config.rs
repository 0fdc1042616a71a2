//! Configuration: one tree, loaded with the precedence flag > `TESSERA_*` environment > TOML
//! file > profile > default, then validated into typed values.
//!
//! Every setting is declared once, as a field of [`GlobalLayer`] (settings every command takes)
//! or [`ServeLayer`] (settings of `tessera serve`, which other commands read from the
//! environment and the file only): its flag, environment variable and help in
//! the clap attribute, its file key the field's name, its default in the help and in
//! [`Config::resolve`], which turns the merged layers into the server's [`Config`] and the
//! service's [`Settings`]. The CLI flattens the two layers into its commands; the README's
//! table of settings is rendered from them (`settings_reference`, checked by a test).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ipnet::IpNet;
use tessera_core::model::ClientStatus;
use tessera_core::token::TokenPolicy;
use tessera_service::{Algorithm, Settings};

use crate::profile::{Profile, ProfileSettings};

/// Declares a layer: the struct (each field optional; flag, environment variable and help in
/// its clap attribute, the file key its name) and what is derived from the field list, so
/// that adding a setting is adding a field.
macro_rules! settings_layer {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$field_meta:meta])* pub $field:ident: Option<$ty:ty>,)* }) => {
        #[derive(Debug, Clone, Default, clap::Args, serde::Deserialize)]
        $(#[$meta])*
        pub struct $name {
            $($(#[$field_meta])* pub $field: Option<$ty>,)*
        }

        impl $name {
            /// The keys a configuration file may set in this layer: the fields' names.
            pub const KEYS: &[&str] = &[$(stringify!($field)),*];

            /// `self` where set, else `lower`.
            #[must_use]
            pub fn over(self, lower: Self) -> Self {
                Self { $($field: self.$field.or(lower.$field),)* }
            }
        }
    };
}

settings_layer! {
    /// Settings every command takes (the store, the master key, the log); each flag is global,
    /// so it goes before or after the command's name.
    #[command(next_help_heading = "Settings of every command")]
    pub struct GlobalLayer {
        /// The node's local files: the master key and, by default, the SQLite store. Default
        /// `./tessera-data`.
        #[arg(long, global = true, env = "TESSERA_DATA_DIR", value_name = "DIR")]
        pub data_dir: Option<PathBuf>,
        /// The store: `sqlite://PATH` or `postgres://USER@HOST/DB` for many nodes on one database
        /// (docs/deployment.md). Default `sqlite://DATA_DIR/tessera.db`, with `tessera-replay.db`
        /// beside it: the spent ids of client assertions and DPoP proofs (without it an assertion
        /// or proof already used could be used once more before it expires, at most an hour).
        #[arg(long, global = true, env = "TESSERA_DATABASE_URL", value_name = "URL")]
        pub database_url: Option<String>,
        /// Do not apply pending store migrations at start (`tessera migrate` applies them on its
        /// own); a store that is behind this binary is then refused. In a file: `migrate = false`.
        /// Default: they are applied.
        #[arg(long = "no-migrate", global = true, env = "TESSERA_NO_MIGRATE", num_args = 0, default_missing_value = "true", value_parser = negated_boolish)]
        pub migrate: Option<bool>,
        /// The master key file (the key itself may come in `TESSERA_MASTER_KEY` instead). Default
        /// `DATA_DIR/master.key`, generated on first start.
        #[arg(long, global = true, env = "TESSERA_MASTER_KEY_FILE", value_name = "FILE")]
        pub master_key_file: Option<PathBuf>,
        /// The log filter, e.g. `info` or `tessera=debug`; logs go to stderr. Default `info` for
        /// `serve`, `warn` for other commands.
        #[arg(long, global = true, env = "TESSERA_LOG", value_name = "FILTER")]
        pub log: Option<String>,
    }
}

settings_layer! {
    /// Settings of `tessera serve`: the listener, the issuer, token lifetimes and limits, TLS,
    /// proxies, the profile and the optional endpoints. Flags only after `serve`; every other
    /// command reads them from the environment and the configuration file alone.
    #[command(next_help_heading = "Settings of the server")]
    pub struct ServeLayer {
        /// The address to listen on. Default `127.0.0.1:8080`; plain HTTP is refused on a
        /// non-loopback address unless `--tls-cert` or `--behind-proxy`.
        #[arg(long, env = "TESSERA_LISTEN", value_name = "IP:PORT")]
        pub listen: Option<String>,
        /// The issuer URL clients use. Default `http://LISTEN` (`https://LISTEN` with TLS).
        #[arg(long, env = "TESSERA_ISSUER", value_name = "URL")]
        pub issuer: Option<String>,
        /// The default `aud` of access tokens, for requests that name no `resource` (RFC 8707).
        /// Default: the issuer.
        #[arg(long, env = "TESSERA_AUDIENCE", value_name = "URI")]
        pub audience: Option<String>,
        /// The signing algorithm: ES256, EdDSA or RS256. Default ES256; the server's setting is
        /// stored and CLI commands follow it.
        #[arg(long, env = "TESSERA_SIGNING_ALG", value_name = "ALG")]
        pub signing_alg: Option<String>,
        /// Seconds an access token lives unless its client says otherwise. Default 3600.
        #[arg(long, env = "TESSERA_ACCESS_TOKEN_TTL", value_name = "SECONDS")]
        pub access_token_ttl: Option<u32>,
        /// The cap on clients' access-token lifetimes, in seconds. Default 366 days.
        #[arg(long, env = "TESSERA_MAX_ACCESS_TOKEN_TTL", value_name = "SECONDS")]
        pub max_access_token_ttl: Option<u32>,
        /// Allowed clock skew for `exp`, `nbf` and `iat`, in seconds. Default 60 (0 allowed).
        #[arg(long, env = "TESSERA_LEEWAY", value_name = "SECONDS")]
        pub leeway: Option<u32>,
        /// Seconds a signing key signs before it is rotated out. Default 30 days (at least 60).
        #[arg(long, env = "TESSERA_KEY_ROTATION_INTERVAL", value_name = "SECONDS")]
        pub key_rotation_interval: Option<i64>,
        /// Failed client authentications per client id and window before 429. Default 100
        /// (0: off).
        #[arg(long, env = "TESSERA_CLIENT_AUTH_FAILURE_LIMIT", value_name = "N")]
        pub client_auth_failure_limit: Option<u32>,
        /// The window of client authentication failures, in seconds. Default 60.
        #[arg(long, env = "TESSERA_CLIENT_AUTH_FAILURE_WINDOW", value_name = "SECONDS")]
        pub client_auth_failure_window: Option<i64>,
        /// Seconds a refresh-token family lives from its grant. Default 60 days (0: no expiry).
        #[arg(long, env = "TESSERA_REFRESH_TOKEN_TTL", value_name = "SECONDS")]
        pub refresh_token_ttl: Option<i64>,
        /// Seconds a browser session lives without use. Default 8 hours.
        #[arg(long, env = "TESSERA_SESSION_IDLE_TIMEOUT", value_name = "SECONDS")]
        pub session_idle_timeout: Option<i64>,
        /// Seconds a browser session lives at most. Default 24 hours.
        #[arg(long, env = "TESSERA_SESSION_MAX_LIFETIME", value_name = "SECONDS")]
        pub session_max_lifetime: Option<i64>,
        /// Consecutive failed logins before an account is locked (the login page and
        /// `POST /sessions` share it). Default 5 (0: off).
        #[arg(long, env = "TESSERA_LOGIN_FAILURE_LIMIT", value_name = "N")]
        pub login_failure_limit: Option<u32>,
        /// Failed logins per address within the lock window before it is throttled. Default 100
        /// (0: off).
        #[arg(long, env = "TESSERA_LOGIN_ADDRESS_LIMIT", value_name = "N")]
        pub login_address_limit: Option<u32>,
        /// Seconds a login lock-out lasts. Default 900.
        #[arg(long, env = "TESSERA_LOGIN_LOCK_SECONDS", value_name = "SECONDS")]
        pub login_lock_seconds: Option<i64>,
        /// Serve HTTPS with this PEM certificate chain (with `--tls-key`): rustls, TLS 1.2 and
        /// 1.3, HSTS on every response, reloaded on SIGHUP or when the files change. Default off.
        #[arg(long, env = "TESSERA_TLS_CERT", requires = "tls_key", value_name = "FILE")]
        pub tls_cert: Option<PathBuf>,
        /// The PEM private key of `--tls-cert`.
        #[arg(long, env = "TESSERA_TLS_KEY", requires = "tls_cert", value_name = "FILE")]
        pub tls_key: Option<PathBuf>,
        /// Run behind a TLS-terminating proxy: plain HTTP is allowed on any address. Default off.
        #[arg(long, env = "TESSERA_BEHIND_PROXY", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
        pub behind_proxy: Option<bool>,
        /// An address or CIDR range of a proxy whose `X-Forwarded-For` and `X-Forwarded-Proto`
        /// are believed (repeatable; the environment variable takes a comma-separated list).
        /// Default: none.
        #[arg(long = "trusted-proxy", env = "TESSERA_TRUSTED_PROXIES", value_delimiter = ',', value_name = "CIDR")]
        pub trusted_proxies: Option<Vec<String>>,
        /// Seconds a client has for a TLS handshake or a request's head; also how long an idle
        /// keep-alive connection stays open. Default 10.
        #[arg(long, env = "TESSERA_HEADER_READ_TIMEOUT", value_name = "SECONDS")]
        pub header_read_timeout: Option<u64>,
        /// Seconds a request may take, body included, before it is answered 408. Default 30.
        #[arg(long, env = "TESSERA_REQUEST_TIMEOUT", value_name = "SECONDS")]
        pub request_timeout: Option<u64>,
        /// Threads serving HTTP, each with its own runtime and socket. Default: one per core.
        #[arg(long, env = "TESSERA_HTTP_WORKERS", value_name = "N")]
        pub http_workers: Option<usize>,
        /// A client id that may read the revocation feed, `GET /oauth2/revocations` (repeatable;
        /// the environment variable takes a comma-separated list). Default: none.
        #[arg(long = "revocation-feed-client", env = "TESSERA_REVOCATION_FEED_CLIENTS", value_delimiter = ',', value_name = "ID")]
        pub revocation_feed_clients: Option<Vec<String>>,
        /// Revoked token and grant ids kept in memory until their tokens would have expired,
        /// so introspection needs no store round trip. When more are live, each introspection
        /// asks the store again (as before) until they fit. Default 100000 (about 10 MB).
        #[arg(long, env = "TESSERA_REVOCATION_MEMORY", value_name = "N")]
        pub revocation_memory: Option<usize>,
        /// Clients, users and scope catalogues kept in memory together, so the token endpoint
        /// reads no database; past it (or past --cache-memory) the least used are dropped and
        /// loaded again when next used. Default 100000.
        #[arg(long, env = "TESSERA_CACHE_ENTRIES", value_name = "N")]
        pub cache_entries: Option<usize>,
        /// The estimated memory those may take together, in MiB. Default 64 (about 30,000
        /// clients of 2 KB).
        #[arg(long, env = "TESSERA_CACHE_MEMORY", value_name = "MIB")]
        pub cache_memory: Option<usize>,
        /// Answer like one of the seed systems (bluecanvas, bluescape, blueconic, bluedot) or as
        /// a profile file says (path aliases, lifetimes, response members); a profile's settings
        /// sit between the file and the defaults. Default: none.
        #[arg(long, env = "TESSERA_PROFILE", value_name = "NAME|FILE")]
        pub profile: Option<String>,
        /// Serve the first-party session API at `/sessions`. Default true.
        #[arg(long, env = "TESSERA_SESSION_API", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
        pub session_api: Option<bool>,
        /// Every client must push its authorization requests to `/oauth2/par` (RFC 9126). Default
        /// false: only clients registered so (`--require-par`, the portal or the admin API) must.
        #[arg(long, env = "TESSERA_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
        pub require_pushed_authorization_requests: Option<bool>,
        /// Seconds a pushed authorization request waits for its first use. Default 90 (1 to 600).
        #[arg(long, env = "TESSERA_PUSHED_REQUEST_LIFETIME", value_name = "SECONDS")]
        pub pushed_request_lifetime: Option<i64>,
        /// Seconds a device code of the device authorization grant lives (RFC 8628). Default 600
        /// (1 to 3600).
        #[arg(long, env = "TESSERA_DEVICE_CODE_LIFETIME", value_name = "SECONDS")]
        pub device_code_lifetime: Option<i64>,
        /// Seconds a device waits between polls of the token endpoint, before any `slow_down`.
        /// Default 5 (1 to 60).
        #[arg(long, env = "TESSERA_DEVICE_POLL_INTERVAL", value_name = "SECONDS")]
        pub device_poll_interval: Option<i64>,
        /// Serve dynamic client registration (RFC 7591/7592) at `/oauth2/register`; every
        /// registration needs an initial access token (`tessera client registration-token
        /// create`). Default false.
        #[arg(long, env = "TESSERA_REGISTRATION_ENDPOINT", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
        pub registration_endpoint: Option<bool>,
        /// Demand a server nonce in every DPoP proof (RFC 9449 §8): a proof without the current
        /// nonce gets `use_dpop_nonce` and a `DPoP-Nonce` header. Default false.
        #[arg(long, env = "TESSERA_DPOP_REQUIRE_NONCE", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
        pub dpop_require_nonce: Option<bool>,
        /// Let `private_key_jwt` clients' `jwks_uri`s name hosts on loopback, private, link-local
        /// or other internal addresses. Default false: such a key set is not fetched and the
        /// client's assertions are refused (the server would be making requests into its own
        /// network for whoever registers clients); true for a key server inside your network.
        #[arg(long, env = "TESSERA_ALLOW_INTERNAL_JWKS_URI", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
        pub allow_internal_jwks_uri: Option<bool>,
        /// Send mail (password resets, email verification) through this SMTP server:
        /// `smtp://HOST:PORT` (STARTTLS when offered) or `smtps://HOST:PORT`, a user and password
        /// may be in the URL. Needs `--mail-from`. Default: email is off (the pages say so).
        #[arg(long, env = "TESSERA_SMTP_URL", value_name = "URL")]
        pub smtp_url: Option<String>,
        /// The SMTP password, when the URL names a user without one. Best given in the
        /// environment: a flag shows in the process list. Default: none.
        #[arg(long, env = "TESSERA_SMTP_PASSWORD", hide_env_values = true, value_name = "PASSWORD")]
        pub smtp_password: Option<String>,
        /// A PEM certificate to trust for the SMTP server besides the public roots (a relay
        /// with a certificate of your own CA). Default: the public roots only.
        #[arg(long, env = "TESSERA_SMTP_CA_FILE", value_name = "FILE")]
        pub smtp_ca_file: Option<PathBuf>,
        /// The `From` address of the mail Tessera sends, e.g. `Tessera <auth@example.com>`.
        #[arg(long, env = "TESSERA_MAIL_FROM", value_name = "ADDRESS")]
        pub mail_from: Option<String>,
        /// The address of your API, e.g. `https://api.example.com/v1`: the token generator's
        /// "call the API" example uses it. Default: the example says `$API_URL`.
        #[arg(long, env = "TESSERA_API_BASE_URL", value_name = "URL")]
        pub api_base_url: Option<String>,
        /// The name on every page, in page titles and in mail, instead of "Tessera" (at most
        /// 60 characters). Default `Tessera`.
        #[arg(long, env = "TESSERA_BRAND_NAME", value_name = "NAME")]
        pub brand_name: Option<String>,
        /// A logo shown beside the name on every page: a PNG, JPEG, WebP or SVG file of at most
        /// 256 KiB, read at start. Default: none.
        #[arg(long, env = "TESSERA_BRAND_LOGO", value_name = "FILE")]
        pub brand_logo: Option<PathBuf>,
        /// The colour of buttons, links and the current tab, `#rrggbb` or `#rgb`. Default: Tessera's blue.
        #[arg(long, env = "TESSERA_BRAND_COLOR", value_name = "HEX")]
        pub brand_color: Option<String>,
        /// The format of the log on stderr: `text` (for people) or `json` (one object per line,
        /// for a log collector). Default `text` when stderr is a terminal, else `json`.
        #[arg(long, env = "TESSERA_LOG_FORMAT", value_name = "json|text")]
        pub log_format: Option<String>,
        /// Export traces over OTLP/HTTP to this collector, e.g. `http://127.0.0.1:4318` (a span
        /// per request with its store calls, password hashing, signing and outbound fetches).
        /// Default: off, at no cost.
        #[arg(long, env = "TESSERA_OTLP_ENDPOINT", value_name = "URL")]
        pub otlp_endpoint: Option<String>,
        /// Serve `/metrics` on this address instead of on the main listener (plain HTTP, only
        /// `/metrics`). Default: `/metrics` on the main listener.
        #[arg(long, env = "TESSERA_METRICS_LISTEN", value_name = "IP:PORT")]
        pub metrics_listen: Option<String>,
    }
}

/// `--brand-name`, `--brand-logo`, `--brand-color`: checked here, the logo read once.
fn brand(name: Option<String>, logo: Option<PathBuf>, color: Option<String>) -> anyhow::Result<crate::http::page::Brand> {
    let mut brand = crate::http::page::Brand::default();
    if let Some(name) = name {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
            bail!("brand_name must be 1 to 60 characters, without control characters");
        }
        brand.name = name;
    }
    if let Some(color) = color {
        let hex = color.strip_prefix('#').unwrap_or("");
        if !matches!(hex.len(), 3 | 6) || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!("brand_color {color:?} is not a colour like #1f6feb or #16e");
        }
        let color = color.to_ascii_lowercase();
        brand.stylesheet = Some(format!(
            ":root {{ --accent: {color}; --accent-dark: {color}; }}\n.button.primary:hover, button.primary:hover {{ filter: brightness(0.9); }}\n"
        ));
    }
    if let Some(path) = logo {
        let content_type = match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("png") => "image/png",
            Some("jpg" | "jpeg") => "image/jpeg",
            Some("webp") => "image/webp",
            Some("svg") => "image/svg+xml",
            _ => bail!("brand_logo {} must be a .png, .jpg, .webp or .svg file", path.display()),
        };
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read brand_logo {}", path.display()))?;
        if bytes.is_empty() || bytes.len() > 256 * 1024 {
            bail!("brand_logo {} must be at most 256 KiB (and not empty)", path.display());
        }
        brand.logo = Some(crate::http::page::Logo { content_type, bytes });
    }
    Ok(brand)
}

/// `--api-base-url`: an absolute http(s) URL, shown in the portal's examples as given.
fn api_base_url(text: &str) -> anyhow::Result<String> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(text.trim_end_matches('/').to_owned()),
        _ => bail!("api_base_url {text:?} is not an http or https URL"),
    }
}

/// `--no-migrate` sets `migrate = false`: the flag (or `TESSERA_NO_MIGRATE=1`) is read as a
/// boolean and negated.
fn negated_boolish(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "y" | "yes" | "t" | "true" | "on" | "1" => Ok(false),
        "n" | "no" | "f" | "false" | "off" | "0" | "" => Ok(true),
        other => Err(format!("{other:?} is not a boolean")),
    }
}

/// The README's table of settings, rendered from the two layers' declarations: flag,
/// environment variable, file key, and the help (which states the default).
pub fn settings_reference() -> String {
    use clap::Args as _;
    let mut table = String::from("| flag | environment | file key | what, and the default |\n|---|---|---|---|\n");
    let layers =
        [("", GlobalLayer::augment_args(clap::Command::new("tessera"))), ("serve ", ServeLayer::augment_args(clap::Command::new("serve")))];
    for (command, layer) in layers {
        for arg in layer.get_arguments() {
            let long = arg.get_long().unwrap_or_default();
            let value = match arg.get_value_names() {
                _ if arg.get_num_args().is_some_and(|n| n.max_values() == 0) => String::new(),
                Some([name]) if arg.get_num_args().is_some_and(|n| n.min_values() == 0) => format!(" [{name}]"),
                Some([name]) => format!(" {name}"),
                _ => String::new(),
            };
            let env = arg.get_env().map(|env| format!("`{}`", env.to_string_lossy())).unwrap_or_default();
            let help = arg.get_long_help().or(arg.get_help()).map(ToString::to_string).unwrap_or_default();
            let cells = [format!("`{command}--{long}{value}`"), env, format!("`{}`", arg.get_id()), help];
            // A `|` inside a cell would end it.
            table.push_str(&format!("| {} |\n", cells.map(|cell| cell.replace('|', "\\|")).join(" | ")));
        }
    }
    table
}

/// One source of configuration (flags and environment, a file, a profile): every setting
/// optional.
#[derive(Debug, Clone, Default)]
pub struct ConfigLayer {
    pub global: GlobalLayer,
    pub serve: ServeLayer,
}

impl ConfigLayer {
    /// Reads a TOML file of flat keys; a key that is no setting is refused with its name.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the config file {}", path.display()))?;
        Self::from_toml(&text).with_context(|| format!("invalid config file {}", path.display()))
    }

    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        let table: toml::Table = toml::from_str(text)?;
        if let Some(key) = table.keys().find(|key| !GlobalLayer::KEYS.contains(&key.as_str()) && !ServeLayer::KEYS.contains(&key.as_str()))
        {
            bail!("unknown key `{key}`");
        }
        Ok(Self { global: toml::from_str(text)?, serve: toml::from_str(text)? })
    }

    /// `self` where set, else `lower`.
    #[must_use]
    pub fn over(self, lower: ConfigLayer) -> ConfigLayer {
        ConfigLayer { global: self.global.over(lower.global), serve: self.serve.over(lower.serve) }
    }
}

/// The resolved, validated configuration: what the server needs, and the service's
/// [`Settings`].
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub migrate: bool,
    pub master_key_file: PathBuf,
    pub listen: SocketAddr,
    /// True when no issuer was configured: `serve` then derives it from the bound address
    /// (which matters when listening on port 0).
    pub issuer_from_listen: bool,
    /// True when no audience was configured: it follows the issuer.
    pub audience_from_issuer: bool,
    pub behind_proxy: bool,
    pub trusted_proxies: Vec<IpNet>,
    /// Native HTTPS: the certificate chain and key files.
    pub tls: Option<TlsFiles>,
    pub header_read_timeout: std::time::Duration,
    pub request_timeout: std::time::Duration,
    /// The log filter; `None`: the command's default.
    pub log: Option<String>,
    /// `--log-format`: `None` when not given (text on a terminal, else JSON).
    pub log_format: Option<String>,
    /// `--otlp-endpoint`: where traces go; `None`: no traces.
    pub otlp_endpoint: Option<String>,
    /// `--metrics-listen`: `/metrics` on this address instead of the main one.
    pub metrics_listen: Option<SocketAddr>,
    pub http_workers: usize,
    /// The profile in force, if any.
    pub profile: Option<Profile>,
    /// What the service is told (the issuer and token policy among it). `owns_key_policy` is
    /// false here; `serve` sets it when it opens the service.
    pub service: Settings,
    /// The pages' brand (name, logo, colour).
    pub brand: crate::http::page::Brand,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Outgoing mail from its settings; the transport itself is checked when `serve` starts it.
fn mail_settings(
    smtp_url: Option<String>,
    password: Option<String>,
    ca_file: Option<PathBuf>,
    from: Option<String>,
) -> anyhow::Result<Option<tessera_service::mail::MailSettings>> {
    let Some(smtp_url) = smtp_url else {
        if from.is_some() || ca_file.is_some() {
            bail!("mail_from and smtp_ca_file need smtp_url: the server to send mail through");
        }
        return Ok(None);
    };
    let Some(from) = from else { bail!("smtp_url needs mail_from: the address mail is sent from") };
    if !(smtp_url.starts_with("smtp://") || smtp_url.starts_with("smtps://")) {
        bail!("smtp_url must start with smtp:// or smtps://");
    }
    let extra_root_pem = match ca_file {
        Some(path) => Some(std::fs::read(&path).with_context(|| format!("cannot read smtp_ca_file {}", path.display()))?),
        None => None,
    };
    Ok(Some(tessera_service::mail::MailSettings { smtp_url, password, from, extra_root_pem }))
}

/// The PEM files of native HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Config {
    /// Resolves the merged layers; a profile they name fills in below them, above the defaults.
    pub fn resolve(layer: ConfigLayer) -> anyhow::Result<Self> {
        let profile = layer.serve.profile.as_deref().map(Profile::load).transpose()?;
        let layer = match &profile {
            Some(profile) => layer.over(profile.config_layer()),
            None => layer,
        };
        let ConfigLayer { global, serve } = layer;
        let data_dir = global.data_dir.unwrap_or_else(|| PathBuf::from("tessera-data"));
        let database_url = global.database_url.unwrap_or_else(|| format!("sqlite://{}", data_dir.join("tessera.db").display()));
        let master_key_file = global.master_key_file.unwrap_or_else(|| data_dir.join("master.key"));
        let listen_text = serve.listen.unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen: SocketAddr = listen_text.parse().with_context(|| format!("--listen {listen_text:?} is not an IP:PORT address"))?;
        let tls = match (serve.tls_cert, serve.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => bail!("--tls-cert and --tls-key go together: give both or neither"),
        };
        let issuer_from_listen = serve.issuer.is_none();
        // A defaulted issuer on a non-loopback address is refused later, by check_transport, with
        // the clearer message about TLS.
        let issuer = match serve.issuer {
            Some(issuer) => validate_issuer(&issuer)?,
            None => default_issuer(listen, tls.is_some()),
        };
        if tls.is_some() && !issuer.starts_with("https://") {
            bail!("with --tls-cert the issuer must be an https:// URL, not {issuer:?}");
        }
        let audience_from_issuer = serve.audience.is_none();
        let audience = serve.audience.unwrap_or_else(|| issuer.clone());
        let trusted_proxies = serve
            .trusted_proxies
            .unwrap_or_default()
            .iter()
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
                    .with_context(|| format!("trusted proxy {p:?} is not an address or CIDR range"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let alg_text = serve.signing_alg.unwrap_or_else(|| "ES256".into());
        let Some(signing_alg) = Algorithm::parse(&alg_text) else {
            bail!("signing_alg {alg_text:?} is not one of ES256, EdDSA, RS256");
        };
        let access_token_ttl = serve.access_token_ttl.unwrap_or(3600);
        let max_access_token_ttl = serve.max_access_token_ttl.unwrap_or(access_token_ttl.max(366 * 86_400));
        if access_token_ttl == 0 || max_access_token_ttl == 0 {
            bail!("token lifetimes must be at least 1 second");
        }
        let leeway = serve.leeway.unwrap_or(60);
        let pushed_request_lifetime = serve.pushed_request_lifetime.unwrap_or(tessera_core::par::DEFAULT_LIFETIME);
        if !(1..=600).contains(&pushed_request_lifetime) {
            bail!("pushed_request_lifetime must be between 1 and 600 seconds");
        }
        let device_code_lifetime = serve.device_code_lifetime.unwrap_or(tessera_core::device::DEFAULT_LIFETIME);
        let device_poll_interval = serve.device_poll_interval.unwrap_or(tessera_core::device::DEFAULT_INTERVAL);
        if !(1..=3600).contains(&device_code_lifetime) || !(1..=60).contains(&device_poll_interval) {
            bail!("device_code_lifetime must be 1 to 3600 seconds and device_poll_interval 1 to 60 seconds");
        }
        let key_rotation_interval = serve.key_rotation_interval.unwrap_or(30 * 86_400);
        if key_rotation_interval < 60 {
            bail!("key_rotation_interval must be at least 60 seconds");
        }
        let service = Settings {
            token_response: profile.as_ref().map(|p| p.token_response(&issuer, &audience)).unwrap_or_default(),
            policy: TokenPolicy { issuer, audience, access_token_ttl, max_access_token_ttl, leeway },
            signing_alg,
            key_rotation_interval,
            // A retired key stays published as long as a token it signed can be valid.
            key_retention: i64::from(max_access_token_ttl.max(access_token_ttl)) + i64::from(leeway),
            owns_key_policy: false,
            client_auth_failure_limit: serve.client_auth_failure_limit.unwrap_or(100),
            client_auth_failure_window: serve.client_auth_failure_window.unwrap_or(60).max(1),
            endpoint_paths: profile.as_ref().map(Profile::endpoint_paths).unwrap_or_default(),
            default_grant_type: profile.as_ref().map(Profile::default_grant_type).transpose()?.flatten(),
            default_response_type: profile.as_ref().map(Profile::default_response_type).transpose()?.flatten(),
            default_pkce: profile.as_ref().map(Profile::default_pkce).transpose()?.unwrap_or_default(),
            new_client_status: if profile.as_ref().is_some_and(|p| p.clients.start_off) { ClientStatus::Off } else { ClientStatus::On },
            session_api: serve.session_api.unwrap_or(true),
            refresh_token_ttl: serve.refresh_token_ttl.unwrap_or(60 * 86_400).max(0),
            session_idle_timeout: serve.session_idle_timeout.unwrap_or(8 * 3600).max(60),
            session_max_lifetime: serve.session_max_lifetime.unwrap_or(24 * 3600).max(60),
            login_failure_limit: serve.login_failure_limit.unwrap_or(5),
            login_address_limit: serve.login_address_limit.unwrap_or(100),
            login_lock_seconds: serve.login_lock_seconds.unwrap_or(900).max(1),
            revocation_feed_clients: serve.revocation_feed_clients.unwrap_or_default(),
            revocation_memory: serve.revocation_memory.unwrap_or(100_000),
            cache_entries: serve.cache_entries.unwrap_or(100_000).max(1),
            cache_memory: serve.cache_memory.unwrap_or(64).max(1).saturating_mul(1 << 20),
            require_pushed_authorization_requests: serve.require_pushed_authorization_requests.unwrap_or(false),
            pushed_request_lifetime,
            device_code_lifetime,
            device_poll_interval,
            registration_endpoint: serve.registration_endpoint.unwrap_or(false),
            dpop_nonce_required: serve.dpop_require_nonce.unwrap_or(false),
            allow_internal_jwks_uri: serve.allow_internal_jwks_uri.unwrap_or(false),
            mail: mail_settings(serve.smtp_url, serve.smtp_password, serve.smtp_ca_file, serve.mail_from)?,
            api_base_url: serve.api_base_url.map(|url| api_base_url(&url)).transpose()?,
            brand_name: String::new(),
        };
        let brand = brand(serve.brand_name, serve.brand_logo, serve.brand_color)?;
        let metrics_listen = serve
            .metrics_listen
            .map(|text| text.parse::<SocketAddr>().with_context(|| format!("metrics_listen {text:?} is not an IP:PORT address")))
            .transpose()?;
        if let Some(format) = &serve.log_format {
            crate::telemetry::LogFormat::choose(Some(format))?;
        }
        let service = Settings { brand_name: brand.name.clone(), ..service };
        Ok(Self {
            data_dir,
            database_url,
            migrate: global.migrate.unwrap_or(true),
            master_key_file,
            listen,
            issuer_from_listen,
            audience_from_issuer,
            behind_proxy: serve.behind_proxy.unwrap_or(false),
            trusted_proxies,
            tls,
            header_read_timeout: std::time::Duration::from_secs(serve.header_read_timeout.unwrap_or(10).clamp(1, 3600)),
            request_timeout: std::time::Duration::from_secs(serve.request_timeout.unwrap_or(30).clamp(1, 3600)),
            log: global.log,
            log_format: serve.log_format,
            otlp_endpoint: serve.otlp_endpoint,
            metrics_listen,
            http_workers: serve
                .http_workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
                .clamp(1, 256),
            profile,
            service,
            brand,
        })
    }

    /// The issuer URL, as every document and token says it.
    pub fn issuer(&self) -> &str {
        &self.service.policy.issuer
    }

    /// Fixes the issuer (and audience) to the address actually bound, when they were defaulted.
    pub fn bind_to(&mut self, bound: SocketAddr) {
        if self.issuer_from_listen {
            let policy = &mut self.service.policy;
            policy.issuer = default_issuer(bound, self.tls.is_some());
            if self.audience_from_issuer {
                policy.audience = policy.issuer.clone();
            }
            if let Some(profile) = &self.profile {
                self.service.token_response = profile.token_response(&policy.issuer, &policy.audience);
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

    fn serve(serve: ServeLayer) -> ConfigLayer {
        ConfigLayer { serve, ..ConfigLayer::default() }
    }

    fn issuer(issuer: &str) -> ConfigLayer {
        serve(ServeLayer { issuer: Some(issuer.into()), ..ServeLayer::default() })
    }

    #[test]
    fn precedence_is_flag_env_then_file_then_default() {
        let flags = serve(ServeLayer { listen: Some("127.0.0.1:9000".into()), ..ServeLayer::default() });
        let file = ConfigLayer::from_toml("listen = \"127.0.0.1:7000\"\nleeway = 5\n").unwrap();
        let config = Config::resolve(flags.over(file)).unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.service.policy.leeway, 5);
        assert_eq!(config.service.policy.access_token_ttl, 3600);
        assert_eq!(config.issuer(), "http://127.0.0.1:9000");
    }

    #[test]
    fn a_profile_fills_in_below_flags_and_file() {
        let bluescape = || serve(ServeLayer { profile: Some("bluescape".into()), ..ServeLayer::default() });
        let config = Config::resolve(bluescape()).unwrap();
        assert_eq!(config.service.policy.access_token_ttl, 1_209_600);
        assert_eq!(config.service.refresh_token_ttl, 0);
        let flags = serve(ServeLayer { access_token_ttl: Some(60), ..bluescape().serve });
        assert_eq!(Config::resolve(flags).unwrap().service.policy.access_token_ttl, 60, "a flag beats the profile");
        assert!(Config::resolve(serve(ServeLayer { profile: Some("nope".into()), ..ServeLayer::default() })).is_err());
    }

    #[test]
    fn unknown_file_keys_and_bad_values_are_refused() {
        let unknown = ConfigLayer::from_toml("lisen = \"x\"").unwrap_err();
        assert_eq!(unknown.to_string(), "unknown key `lisen`");
        assert!(ConfigLayer::from_toml("leeway = \"soon\"").is_err());
        let both = ConfigLayer::from_toml("migrate = false\nsession_api = false\ntrusted_proxies = [\"10.0.0.0/8\"]").unwrap();
        assert_eq!((both.global.migrate, both.serve.session_api), (Some(false), Some(false)));
        assert!(Config::resolve(issuer("http://example.com")).is_err());
        assert!(Config::resolve(serve(ServeLayer { signing_alg: Some("HS256".into()), ..ServeLayer::default() })).is_err());
        for good in ["http://[::1]", "http://[::1]:8080", "http://localhost:80", "https://id.example:8443/tenant"] {
            assert!(Config::resolve(issuer(good)).is_ok(), "{good}");
        }
        for bad in ["http://127.0.0.1@evil.example", "http://evil.example:80@127.0.0.1", "http://[::2]:80", "ftp://x", "https://"] {
            assert!(Config::resolve(issuer(bad)).is_err(), "{bad}");
        }
        let public = Config::resolve(serve(ServeLayer { listen: Some("0.0.0.0:8080".into()), ..ServeLayer::default() })).unwrap();
        assert!(public.check_transport().is_err());
        assert_eq!(Config::resolve(issuer("https://id.example/")).unwrap().issuer(), "https://id.example");
    }

    #[test]
    fn tls_needs_both_files_and_an_https_issuer() {
        let files = |cert: bool, key: bool| ServeLayer {
            tls_cert: cert.then(|| "c.pem".into()),
            tls_key: key.then(|| "k.pem".into()),
            ..ServeLayer::default()
        };
        assert!(Config::resolve(serve(files(true, false))).is_err());
        assert!(Config::resolve(serve(files(false, true))).is_err());
        let config = Config::resolve(serve(files(true, true))).unwrap();
        assert!(config.issuer().starts_with("https://127.0.0.1:"), "{}", config.issuer());
        let http_issuer = ServeLayer { issuer: Some("http://127.0.0.1:8080".into()), ..files(true, true) };
        assert!(Config::resolve(serve(http_issuer)).is_err());
        let public = ServeLayer { listen: Some("192.0.2.10:8443".into()), issuer: Some("https://id.example".into()), ..files(true, true) };
        assert!(Config::resolve(serve(public)).unwrap().check_transport().is_ok(), "TLS allows a public address");
        let no_issuer = ServeLayer { listen: Some("0.0.0.0:8443".into()), ..files(true, true) };
        assert!(Config::resolve(serve(no_issuer)).unwrap().check_transport().is_err(), "a public address needs --issuer");
    }

    /// The README's table is what the declarations say; `TESSERA_UPDATE_README=1 cargo test -p
    /// tessera-server --lib readme` rewrites it after a setting changed.
    #[test]
    fn the_readme_lists_every_setting_as_declared() {
        const BEGIN: &str = "<!-- settings: rendered from crates/server/src/config.rs -->\n";
        const END: &str = "<!-- /settings -->";
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let start = readme.find(BEGIN).expect("the README marks its settings table") + BEGIN.len();
        let end = start + readme[start..].find(END).expect("the settings table ends");
        let expected = settings_reference();
        if readme[start..end] != expected {
            if std::env::var_os("TESSERA_UPDATE_README").is_some() {
                std::fs::write(&path, format!("{}{expected}{}", &readme[..start], &readme[end..])).unwrap();
            } else {
                panic!("the README's settings table is out of date: run TESSERA_UPDATE_README=1 cargo test -p tessera-server --lib readme");
            }
        }
    }

    #[test]
    fn mail_needs_a_server_url_of_smtp_or_smtps_and_a_from_address() {
        let mail = |url: Option<&str>, from: Option<&str>| {
            Config::resolve(serve(ServeLayer {
                smtp_url: url.map(str::to_owned),
                mail_from: from.map(str::to_owned),
                ..ServeLayer::default()
            }))
        };
        assert!(mail(None, None).unwrap().service.mail.is_none(), "off by default");
        let on = mail(Some("smtp://tessera:secret@mail.example:587"), Some("auth@example.com")).unwrap();
        assert!(on.service.mail.is_some());
        assert!(!format!("{:?}", on.service).contains("secret"), "the URL's password is never shown");
        for (url, from) in
            [(Some("smtp://mail.example"), None), (None, Some("auth@example.com")), (Some("http://mail.example"), Some("a@b.c"))]
        {
            assert!(mail(url, from).is_err(), "{url:?} {from:?}");
        }
    }

    #[test]
    fn a_defaulted_issuer_follows_the_bound_port_into_the_service_settings() {
        let mut config = Config::resolve(serve(ServeLayer { listen: Some("127.0.0.1:0".into()), ..ServeLayer::default() })).unwrap();
        config.bind_to("127.0.0.1:41234".parse().unwrap());
        assert_eq!(config.service.policy.issuer, "http://127.0.0.1:41234");
        assert_eq!(config.service.policy.audience, "http://127.0.0.1:41234");
    }
}
