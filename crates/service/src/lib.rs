//! Tessera's use cases. [`Tessera`] loads from the store, asks `tessera-core` to decide, and
//! persists the outcome atomically. The clock, the randomness and the keys are injected here;
//! both the HTTP server and the CLI call this crate.
//!
//! A use case is found by its name: the token endpoint (`token_endpoint`, its grants in
//! `grants`, `device`, `exchange`, `registration`, `par`), client authentication (`client_auth`),
//! `introspection_endpoint`, `revocation_endpoint`, `cors`, `discovery`, the browser's flows
//! (`authorization`, `session`, `password`, `portal`), protected resources (`resource`,
//! `session_api`), the revocation feed (`feed`), administration by noun (`admin`), and what
//! runs around them (`clock`, `settings`, `master_key`, `keys`, `secrets`, `cache`, `limiter`,
//! `housekeeping`). Each adds methods to [`Tessera`], the shared context.

pub mod accounts;
pub mod admin;
pub mod authorization;
pub mod cache;
mod client_auth;
pub mod client_keys;
mod clock;
mod cors;
pub mod device;
mod discovery;
pub mod dpop;
pub mod error;
mod exchange;
mod feed;
mod grants;
mod housekeeping;
pub mod i18n;
mod introspection_endpoint;
pub mod invitations;
pub mod keys;
pub mod limiter;
pub mod mail;
mod master_key;
pub mod memberships;

/// The `tracing` target of the spans only traces want (store calls, password hashing, signing,
/// outbound fetches): the log never shows them, and without `serve --otlp-endpoint` nothing is
/// interested, so each costs one cached check (`server::telemetry`). The store and
/// `#[instrument]` attributes write it as the literal `"tessera_spans"`.
pub const TRACE_SPANS: &str = "tessera_spans";
pub mod metrics;
pub mod par;
pub mod passkeys;
pub mod password;
pub mod portal;
pub mod registration;
mod resource;
mod revocation_endpoint;
pub mod second_factor;
pub mod secrets;
pub mod session;
pub mod session_api;
mod settings;
pub mod sso;
mod token_endpoint;
pub mod upstream;
pub mod usage;

/// Signing algorithms, re-exported for configuration.
pub use tessera_jose::Algorithm;

use std::net::IpAddr;
use std::sync::Arc;

use tessera_core::model::ClientId;
use tessera_core::params::Params;
use tessera_store::Store;

use crate::cache::Cache;
use crate::limiter::{FailureLimiter, SharedLimiter};
use crate::secrets::SecretKeys;

pub(crate) use client_auth::read_credentials;
pub(crate) use clock::Timeline;
pub use clock::{Clock, SystemClock, TEST_CLOCK_ENV};
pub use error::{Result, ServiceError};
use master_key::verify_master_key;
pub use master_key::{Seal, claim_store, seal};
pub use resource::{AdminCaller, Presented};
use settings::settle_store_policy;
pub use settings::{EndpointPaths, Settings, TokenResponseShape};
pub use tessera_core::{Message, message};

/// A crash point between two writes, for the fault tests (X02): with the `failpoints` feature
/// (test builds only) the process aborts here when `TESSERA_FAILPOINT` names this point.
/// Without the feature it compiles to nothing. Public for the server's start-up.
#[inline]
#[doc(hidden)]
pub fn failpoint(name: &str) {
    #[cfg(feature = "failpoints")]
    if std::env::var("TESSERA_FAILPOINT").is_ok_and(|point| point == name) {
        std::process::abort();
    }
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

/// One token-endpoint style request: credentials, parameters and the peer address.
#[derive(Clone)]
pub struct EndpointRequest {
    pub authorization: Option<String>,
    pub params: Params,
    pub peer: IpAddr,
    /// The path the request came to (a canonical path or a profile's alias): a client
    /// assertion's `aud` may name this endpoint's URL.
    pub path: String,
    /// The values of the request's `DPoP` headers (RFC 9449 §4.1); more than one is refused.
    pub dpop: Vec<String>,
}

impl std::fmt::Debug for EndpointRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointRequest")
            .field("authorization", &self.authorization.as_ref().map(|_| "<redacted>"))
            .field("params", &self.params)
            .field("peer", &self.peer)
            .field("path", &self.path)
            .field("dpop", &self.dpop.len())
            .finish()
    }
}

/// The service: everything a request needs, shared by all requests of a node.
pub struct Tessera {
    store: Arc<dyn Store>,
    settings: Settings,
    secrets: SecretKeys,
    clock: Arc<dyn Clock>,
    /// Lifetimes kept by the process are measured on this ([`Timeline`]).
    timeline: Timeline,
    cache: Cache,
    /// Failed authentications per client id.
    limiter: FailureLimiter<ClientId>,
    /// Failed authentications per client address, so that a flood of made-up client ids from
    /// one address is throttled too (and cannot fill the audit log at will).
    address_limiter: FailureLimiter<IpAddr>,
    /// Compared against when a client id is unknown, so that unknown and known ids cost the
    /// same (A03).
    dummy_tag: Vec<u8>,
    /// Failed logins per account (lower-cased email) and per address, counted in the store so
    /// that every node on it enforces one limit.
    login_limiter: SharedLimiter,
    login_address_limiter: SharedLimiter,
    /// Wrong user codes on the device verification page, per user and per address.
    device_user_limiter: SharedLimiter,
    device_address_limiter: SharedLimiter,
    /// The Argon2 threads (one fewer than the cores, at least one).
    hashers: password::Hashers,
    /// Key sets of `private_key_jwt` clients fetched from their `jwks_uri`.
    remote_keys: client_keys::RemoteKeys,
    /// The discovery documents and keys of organizations' upstream OpenID Providers (SSO).
    upstreams: upstream::Upstreams,
    /// When clients were last used, waiting for housekeeping to write it.
    usage: usage::Usage,
    /// Outgoing mail; off without `--smtp-url`, and in CLI commands.
    outbox: mail::Outbox,
    /// The WebAuthn relying party of the issuer; `None` (passkeys off) when it is an IP address.
    webauthn: Option<webauthn_rs::Webauthn>,
    /// What `/metrics` reports of the service, counted per thread.
    counters: metrics::Counters,
}

impl std::fmt::Debug for Tessera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tessera").field("issuer", &self.settings.policy.issuer).finish_non_exhaustive()
    }
}

impl Tessera {
    /// Opens the service on a migrated store: checks the master key against the store,
    /// makes sure signing keys exist, and loads them.
    pub async fn open(store: Arc<dyn Store>, secrets: SecretKeys, settings: Settings, clock: Arc<dyn Clock>) -> Result<Self> {
        verify_master_key(&*store, &secrets).await?;
        let settings = settle_store_policy(&*store, settings).await?;
        let now = clock.now();
        failpoint("before-signing-keys");
        keys::ensure_keys(&*store, &secrets, settings.signing_alg, now).await?;
        let dummy_tag = secrets.secret_tag(&secrets.random_token(32)?);
        let limiter = FailureLimiter::new(settings.client_auth_failure_limit, settings.client_auth_failure_window);
        let address_limiter =
            FailureLimiter::new(settings.client_auth_failure_limit.saturating_mul(10), settings.client_auth_failure_window);
        let login_limiter = SharedLimiter::new(store.clone(), "login-account", settings.login_failure_limit, settings.login_lock_seconds);
        let login_address_limiter =
            SharedLimiter::new(store.clone(), "login-address", settings.login_address_limit, settings.login_lock_seconds);
        let device_user_limiter = SharedLimiter::new(
            store.clone(),
            "device-user-code",
            tessera_core::device::USER_CODE_FAILURE_LIMIT,
            tessera_core::device::USER_CODE_FAILURE_WINDOW,
        );
        let device_address_limiter = SharedLimiter::new(
            store.clone(),
            "device-user-code-address",
            tessera_core::device::USER_CODE_ADDRESS_LIMIT,
            tessera_core::device::USER_CODE_FAILURE_WINDOW,
        );
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let hashers = password::Hashers::start(cores.saturating_sub(1))?;
        let remote_keys = client_keys::RemoteKeys::new(settings.allow_internal_jwks_uri);
        let upstreams = upstream::Upstreams::new(settings.allow_internal_jwks_uri);
        let outbox = settings.mail.as_ref().map(mail::Outbox::start).transpose()?.unwrap_or_default();
        let webauthn = passkeys::relying_party(&settings.policy.issuer);
        let bounds =
            cache::CacheBounds { entries: settings.cache_entries, memory: settings.cache_memory, revocations: settings.revocation_memory };
        let service = Self {
            store,
            settings,
            secrets,
            timeline: Timeline::new(clock.clone()),
            clock,
            cache: Cache::new(bounds),
            limiter,
            address_limiter,
            dummy_tag,
            login_limiter,
            login_address_limiter,
            device_user_limiter,
            device_address_limiter,
            hashers,
            usage: usage::Usage::default(),
            remote_keys,
            upstreams,
            outbox,
            webauthn,
            counters: metrics::Counters::default(),
        };
        service.sync().await?;
        Ok(service)
    }

    /// The name mail is signed with: the operator's brand, else "Tessera".
    pub fn brand_name(&self) -> &str {
        if self.settings.brand_name.is_empty() { "Tessera" } else { &self.settings.brand_name }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// What the service counted, for `/metrics`.
    pub fn counters(&self) -> &metrics::Counters {
        &self.counters
    }

    /// How many clients, users and catalogues the node holds in memory, and their estimated
    /// bytes.
    pub fn cache_size(&self) -> (usize, u64) {
        self.cache.size()
    }

    /// How many revocations this node holds in memory, and whether that is every live one
    /// (false: the memory overflowed and introspection asks the store).
    pub fn revocations_in_memory(&self) -> (usize, bool) {
        self.cache.revocations_in_memory()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Now on the `Timeline` lifetimes are measured on (SPEC §12).
    pub fn lifetime_now(&self) -> i64 {
        self.timeline.now()
    }

    pub fn issuer(&self) -> &str {
        &self.settings.policy.issuer
    }

    /// Brings caches and keys up to date with everything committed, by any process.
    pub async fn sync(&self) -> Result<()> {
        let window = cache::TokenWindow {
            now: self.clock.now(),
            max_access_token_ttl: i64::from(self.settings.policy.max_access_token_ttl),
            leeway: i64::from(self.settings.policy.leeway),
        };
        self.cache.sync(&*self.store, &self.secrets, window).await
    }
}
