//! `tessera-guard` protects an API with Tessera access tokens.
//!
//! A [`Guard`] verifies bearer tokens locally: the signature against the issuer's JWKS
//! (found through discovery, cached, fetched again when a token names an unknown `kid`, at
//! most once per [`GuardConfig::jwks_min_interval`]), the algorithm pinned, `typ: at+jwt`,
//! `iss`, `aud`, `exp` and `nbf` with a small leeway. It honours revocations, disabled clients
//! and disabled users by polling the issuer's revocation feed (`GET /oauth2/revocations`): a
//! token stops passing at most [`GuardConfig::poll_interval`] (plus one request) after the
//! change was committed. When the issuer cannot be reached the guard keeps working on what it
//! last learned and says so in its metrics (`tessera_guard_feed_up 0`); once that knowledge is
//! older than [`GuardConfig::max_staleness`] it answers 503 rather than guess.
//!
//! In axum, [`Guard::require`] is a tower layer that admits a request only with a valid token
//! holding the given scopes, and the [`Claims`] extractor hands the token's claims to the
//! handler; refusals are RFC 6750 answers (`WWW-Authenticate: Bearer error="invalid_token"`).
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use tessera_guard::{Claims, FeedCredentials, Guard, GuardConfig};
//!
//! async fn projects(claims: Claims) -> String {
//!     format!("projects of organization {}", claims.org_id)
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = GuardConfig::new("https://id.example.com");
//! config.feed = Some(FeedCredentials::new("the-guard-client-id", "its-secret"));
//! let guard = Guard::start(config).await?;
//! let app: Router = Router::new().route("/projects", get(projects).layer(guard.require(["projects:read"])));
//! # Ok(()) }
//! ```

mod check;
mod denylist;
mod dpop;
mod http;
mod metrics;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use tessera_jose::VerifyingKey;
use tessera_proto::{JwkSet, RevocationFeed, ServerMetadata};

pub use check::{ACCESS_TOKEN_TYP, Expectations, Reason};
pub use http::{Claims, GuardError, GuardLayer, GuardService};
pub use metrics::Snapshot;
pub use tessera_jose::Algorithm;

use crate::denylist::Denylist;
use crate::metrics::{Metrics, bump};

/// The client credentials the guard reads the revocation feed with. The client must be named
/// in the server's `--revocation-feed-client`.
#[derive(Clone)]
pub struct FeedCredentials {
    pub client_id: String,
    pub client_secret: String,
}

impl FeedCredentials {
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self { client_id: client_id.into(), client_secret: client_secret.into() }
    }
}

impl std::fmt::Debug for FeedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedCredentials").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// How the guard checks tokens. [`GuardConfig::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// The issuer, exactly as in its tokens and discovery document.
    pub issuer: String,
    /// The `aud` tokens must carry (Tessera's default: the issuer).
    pub audience: String,
    /// The signing algorithms accepted; keys and tokens of any other are refused. Default ES256.
    pub algorithms: Vec<Algorithm>,
    /// Allowed clock skew for `exp`, `nbf` and `iat`. Default 60 s.
    pub leeway: Duration,
    /// The revocation feed's credentials. Without them revocations, disabled clients and
    /// disabled users are not seen until the token expires.
    pub feed: Option<FeedCredentials>,
    /// The revocation feed's URL. Default: `{issuer}/oauth2/revocations`.
    pub feed_url: Option<String>,
    /// How often the feed is polled: the bound on how late a revocation is honoured. Default 5 s.
    pub poll_interval: Duration,
    /// How old the revocation knowledge may grow while the issuer is unreachable before the
    /// guard answers 503 instead. Default 5 minutes.
    pub max_staleness: Duration,
    /// How often the JWKS is fetched regardless. Default 10 minutes.
    pub jwks_refresh_interval: Duration,
    /// The least time between two JWKS fetches caused by unknown `kid`s. Default 10 s.
    pub jwks_min_interval: Duration,
    /// Timeout of each request to the issuer. Default 5 s.
    pub http_timeout: Duration,
    /// The API's external base URL (scheme, host, port, any path prefix), as its clients address
    /// it: a DPoP proof's `htu` must be this plus the request's path (RFC 9449 §7). Without it,
    /// DPoP-bound tokens are refused (`invalid_token`). The path is the one the layer sees: under
    /// an axum `nest("/v1", …)` include `/v1` here. Default none.
    pub api_base_url: Option<String>,
    /// How many spent DPoP proof ids the guard remembers (in memory, each for as long as its
    /// proof could pass: about 6 minutes). When full of live ids it refuses further proofs
    /// rather than forget one. Default 100 000.
    pub dpop_replay_capacity: usize,
}

impl GuardConfig {
    /// The defaults for `issuer` (whose audience is then the issuer too).
    pub fn new(issuer: impl Into<String>) -> Self {
        let issuer = issuer.into().trim_end_matches('/').to_owned();
        Self {
            audience: issuer.clone(),
            issuer,
            algorithms: vec![Algorithm::ES256],
            leeway: Duration::from_secs(60),
            feed: None,
            feed_url: None,
            poll_interval: Duration::from_secs(5),
            max_staleness: Duration::from_secs(300),
            jwks_refresh_interval: Duration::from_secs(600),
            jwks_min_interval: Duration::from_secs(10),
            http_timeout: Duration::from_secs(5),
            api_base_url: None,
            dpop_replay_capacity: 100_000,
        }
    }
}

/// Why the guard could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the issuer URL {0:?} uses https, but tessera-guard was built without its `rustls` feature")]
    TlsNotEnabled(String),
    #[error("cannot read the discovery document at {url}: {detail}")]
    Discovery { url: String, detail: String },
    #[error("the discovery document names the issuer {found:?}, not {expected:?}")]
    IssuerMismatch { expected: String, found: String },
    #[error("cannot read the JWKS at {url}: {detail}")]
    Jwks { url: String, detail: String },
    #[error("the JWKS has no key for the pinned algorithms {0:?}")]
    NoUsableKey(Vec<&'static str>),
    #[error("cannot read the revocation feed at {url}: {detail}")]
    Feed { url: String, detail: String },
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// The issuer's keys for the pinned algorithms, by `kid`.
#[derive(Debug, Default)]
struct KeySet {
    keys: HashMap<String, VerifyingKey>,
}

impl KeySet {
    fn from_jwks(jwks: &JwkSet, algorithms: &[Algorithm]) -> Self {
        let keys = jwks
            .keys
            .iter()
            .filter_map(|jwk| VerifyingKey::from_jwk(jwk).ok())
            .filter(|key| algorithms.contains(&key.algorithm()))
            .map(|key| (key.kid().to_owned(), key))
            .collect();
        Self { keys }
    }
}

struct Inner {
    config: GuardConfig,
    expect: Expectations,
    http: reqwest::Client,
    jwks_uri: String,
    feed_url: String,
    keys: RwLock<Arc<KeySet>>,
    /// When the JWKS was last fetched (successfully or not).
    keys_fetched: Mutex<Instant>,
    /// One JWKS fetch at a time.
    keys_refresh: tokio::sync::Mutex<()>,
    denylist: RwLock<Denylist>,
    /// When the feed was last read successfully.
    feed_synced: Mutex<Instant>,
    metrics: Metrics,
    /// Spent DPoP proof ids.
    dpop_jtis: Mutex<dpop::ReplayCache>,
}

/// Verifies tokens for one API; cheap to clone (shared state).
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").field("issuer", &self.inner.config.issuer).finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Unix seconds now.
fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl Guard {
    /// Reads the issuer's discovery document and JWKS and, when configured, the whole
    /// revocation feed; then keeps them fresh from a background task (on the current tokio
    /// runtime) for as long as a clone of the guard lives.
    pub async fn start(config: GuardConfig) -> Result<Guard, StartError> {
        if config.issuer.starts_with("https:") && !cfg!(feature = "rustls") {
            return Err(StartError::TlsNotEnabled(config.issuer));
        }
        let http = reqwest::Client::builder()
            .timeout(config.http_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| StartError::Http(e.to_string()))?;
        let discovery_url = format!("{}/.well-known/openid-configuration", config.issuer);
        let metadata: ServerMetadata =
            fetch_json(&http, &discovery_url, None).await.map_err(|detail| StartError::Discovery { url: discovery_url.clone(), detail })?;
        if metadata.issuer != config.issuer {
            return Err(StartError::IssuerMismatch { expected: config.issuer.clone(), found: metadata.issuer });
        }
        let feed_url = config.feed_url.clone().unwrap_or_else(|| format!("{}/oauth2/revocations", config.issuer));
        let expect = Expectations { issuer: config.issuer.clone(), audience: config.audience.clone(), leeway: seconds(config.leeway) };
        let now = Instant::now();
        let inner = Arc::new(Inner {
            expect,
            http,
            jwks_uri: metadata.jwks_uri,
            feed_url,
            keys: RwLock::default(),
            keys_fetched: Mutex::new(now),
            keys_refresh: tokio::sync::Mutex::new(()),
            denylist: RwLock::default(),
            feed_synced: Mutex::new(now),
            metrics: Metrics::default(),
            dpop_jtis: Mutex::new(dpop::ReplayCache::new(config.dpop_replay_capacity)),
            config,
        });
        let guard = Guard { inner };
        guard.fetch_keys().await.map_err(|detail| StartError::Jwks { url: guard.inner.jwks_uri.clone(), detail })?;
        if read(&guard.inner.keys).keys.is_empty() {
            return Err(StartError::NoUsableKey(guard.inner.config.algorithms.iter().map(|a| a.name()).collect()));
        }
        if guard.inner.config.feed.is_some() {
            guard.poll_feed().await.map_err(|detail| StartError::Feed { url: guard.inner.feed_url.clone(), detail })?;
        }
        tokio::spawn(upkeep(Arc::downgrade(&guard.inner)));
        Ok(guard)
    }

    /// The configuration the guard runs with.
    pub fn config(&self) -> &GuardConfig {
        &self.inner.config
    }

    /// Checks a token now without any network call: signature, header, claims, denylist.
    /// A token signed by a key the guard has not seen yet is refused with
    /// [`Reason::UnknownKey`]; [`Guard::authenticate`] fetches the JWKS again in that case.
    pub fn verify(&self, token: &str) -> Result<Claims, GuardError> {
        let inner = &*self.inner;
        if self.feed_too_stale() {
            bump(&inner.metrics.unavailable);
            return Err(GuardError::Unavailable);
        }
        let now = unix_now();
        let result = {
            let keys = read(&inner.keys).clone();
            check::verify(token, &inner.expect, now, |kid| keys.keys.get(kid))
        }
        .and_then(|claims| match read(&inner.denylist).refusal(&claims) {
            Some(reason) => Err(reason),
            None => Ok(claims),
        });
        match result {
            Ok(claims) => {
                bump(&inner.metrics.accepted);
                Ok(Claims::new(claims))
            }
            Err(reason) => {
                if reason != Reason::UnknownKey {
                    bump(&inner.metrics.rejected[reason.index()]);
                }
                Err(GuardError::InvalidToken(reason))
            }
        }
    }

    /// [`Guard::verify`], fetching the JWKS again first when the token names an unknown key
    /// (rate-limited to one fetch per [`GuardConfig::jwks_min_interval`]).
    pub async fn authenticate(&self, token: &str) -> Result<Claims, GuardError> {
        match self.verify(token) {
            Err(GuardError::InvalidToken(Reason::UnknownKey)) => {
                let again = if self.refresh_keys_if_allowed().await {
                    self.verify(token)
                } else {
                    Err(GuardError::InvalidToken(Reason::UnknownKey))
                };
                if let Err(GuardError::InvalidToken(Reason::UnknownKey)) = again {
                    // `verify` leaves this one uncounted: the first miss may be a key not fetched yet.
                    bump(&self.inner.metrics.rejected[Reason::UnknownKey.index()]);
                }
                again
            }
            other => other,
        }
    }

    /// A layer that admits requests with a valid bearer token (any scope).
    pub fn layer(&self) -> GuardLayer {
        GuardLayer::new(self.clone(), Vec::new())
    }

    /// A layer that admits requests with a valid bearer token holding every one of `scopes`.
    pub fn require<I, S>(&self, scopes: I) -> GuardLayer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        GuardLayer::new(self.clone(), scopes.into_iter().map(Into::into).collect())
    }

    /// The guard's counters and state.
    pub fn snapshot(&self) -> Snapshot {
        let m = &self.inner.metrics;
        let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        let last = m.feed_last_success.load(std::sync::atomic::Ordering::Relaxed);
        Snapshot {
            accepted: load(&m.accepted),
            missing: load(&m.missing),
            insufficient_scope: load(&m.insufficient_scope),
            unavailable: load(&m.unavailable),
            rejected: Reason::ALL.iter().map(|r| (r.as_str(), load(&m.rejected[r.index()]))).collect(),
            jwks_fetches: load(&m.jwks_fetches),
            jwks_failures: load(&m.jwks_failures),
            feed_polls: load(&m.feed_polls),
            feed_failures: load(&m.feed_failures),
            feed_up: m.feed_up.load(std::sync::atomic::Ordering::Relaxed),
            feed_age_seconds: if last == 0 { -1 } else { unix_now() - last },
            denylist: read(&self.inner.denylist).sizes(),
        }
    }

    /// The guard's metrics in the Prometheus text format.
    pub fn prometheus(&self) -> String {
        self.snapshot().to_prometheus()
    }

    fn feed_too_stale(&self) -> bool {
        self.inner.config.feed.is_some() && lock(&self.inner.feed_synced).elapsed() > self.inner.config.max_staleness
    }

    async fn refresh_keys_if_allowed(&self) -> bool {
        let _one_at_a_time = self.inner.keys_refresh.lock().await;
        if lock(&self.inner.keys_fetched).elapsed() < self.inner.config.jwks_min_interval {
            // Fetched very recently (perhaps by a concurrent request): verify against that.
            return true;
        }
        self.fetch_keys().await.is_ok()
    }

    async fn fetch_keys(&self) -> Result<(), String> {
        let inner = &*self.inner;
        *lock(&inner.keys_fetched) = Instant::now();
        bump(&inner.metrics.jwks_fetches);
        match fetch_json::<JwkSet>(&inner.http, &inner.jwks_uri, None).await {
            Ok(jwks) => {
                *write(&inner.keys) = Arc::new(KeySet::from_jwks(&jwks, &inner.config.algorithms));
                Ok(())
            }
            Err(detail) => {
                bump(&inner.metrics.jwks_failures);
                tracing::warn!(%detail, url = %inner.jwks_uri, "cannot fetch the JWKS; keeping the keys already known");
                Err(detail)
            }
        }
    }

    /// Reads the feed past the cursor held and applies it.
    async fn poll_feed(&self) -> Result<(), String> {
        let inner = &*self.inner;
        let Some(credentials) = &inner.config.feed else { return Ok(()) };
        bump(&inner.metrics.feed_polls);
        let cursor = read(&inner.denylist).cursor.clone();
        let url = match cursor {
            Some(cursor) => format!("{}?after={}", inner.feed_url, cursor),
            None => inner.feed_url.clone(),
        };
        match fetch_json::<RevocationFeed>(&inner.http, &url, Some(credentials)).await {
            Ok(feed) => {
                let keys_changed = feed.keys_changed && !feed.full;
                {
                    let mut denylist = write(&inner.denylist);
                    denylist.apply(feed);
                    denylist.prune(unix_now(), inner.expect.leeway);
                }
                *lock(&inner.feed_synced) = Instant::now();
                inner.metrics.feed_up.store(true, std::sync::atomic::Ordering::Relaxed);
                inner.metrics.feed_last_success.store(unix_now(), std::sync::atomic::Ordering::Relaxed);
                if keys_changed {
                    let _ = self.fetch_keys().await;
                }
                Ok(())
            }
            Err(detail) => {
                bump(&inner.metrics.feed_failures);
                inner.metrics.feed_up.store(false, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(%detail, "cannot read the revocation feed; working on what was last learned");
                Err(detail)
            }
        }
    }
}

/// Polls the feed and refreshes the JWKS until the last guard is dropped.
async fn upkeep(inner: Weak<Inner>) {
    let (poll, jwks_every) = match inner.upgrade() {
        Some(inner) => (inner.config.poll_interval.max(Duration::from_millis(50)), inner.config.jwks_refresh_interval),
        None => return,
    };
    let mut ticker = tokio::time::interval(poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let guard = Guard { inner };
        let _ = guard.poll_feed().await;
        let due = lock(&guard.inner.keys_fetched).elapsed() >= jwks_every;
        if due {
            let _ = guard.fetch_keys().await;
        }
    }
}

async fn fetch_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    credentials: Option<&FeedCredentials>,
) -> Result<T, String> {
    let mut request = http.get(url);
    if let Some(c) = credentials {
        request = request.basic_auth(&c.client_id, Some(&c.client_secret));
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(format!("HTTP {status}: {}", body.chars().take(200).collect::<String>()));
    }
    response.json().await.map_err(|e| e.to_string())
}
