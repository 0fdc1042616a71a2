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
//! A token the guard accepted twice is remembered (by its SHA-256, at most
//! [`GuardConfig::token_cache_capacity`] of them), so presenting it again costs no signature
//! check. The rest is checked on every request as before (the lifetime with the leeway, the
//! denylist, the feed's staleness, the scopes and any DPoP proof), so a remembered token is
//! refused exactly when a fresh verification would refuse it.
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use tessera_jose::VerifyingKey;
use tessera_proto::{AccessTokenClaims, Jwk, JwkSet, RevocationFeed, ServerMetadata};

pub use check::{ACCESS_TOKEN_TYP, Expectations, Reason};
pub use http::{Claims, GuardError, GuardLayer, GuardService};
pub use metrics::Snapshot;
pub use tessera_jose::Algorithm;

use crate::denylist::Denylist;
use crate::metrics::{Metrics, bump};
use tessera_jose::verified::{self as cache, VerifiedTokens};

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
    /// How many verified tokens the guard remembers (in memory, by the token's SHA-256), so
    /// that a token presented again costs no signature check. A token is taken in at its second
    /// acceptance, so tokens presented only once take no room. A remembered token is still
    /// refused from the moment it expires, the revocation feed names it (its `jti`, its grant,
    /// its client or user turned off) or the issuer's keys change. When the part of the cache a
    /// new token falls in (one of up to 16 shards, each `1/16` of the capacity) is full, the
    /// token that part took in first is forgotten (first in, first out). 0 turns the cache off.
    /// Default 10 000 (a few MB).
    pub token_cache_capacity: usize,
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
            token_cache_capacity: 10_000,
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
    /// The JWKs of `keys`, sorted by `kid`: what tells whether a fetch changed anything.
    published: Vec<Jwk>,
    /// Goes up with every change of the keys; a cached token counts only under the generation
    /// it was verified under.
    generation: u64,
}

impl KeySet {
    fn from_jwks(jwks: &JwkSet, algorithms: &[Algorithm], generation: u64) -> Self {
        let mut keys = HashMap::new();
        let mut published = Vec::new();
        for jwk in &jwks.keys {
            if let Ok(key) = VerifyingKey::from_jwk(jwk)
                && algorithms.contains(&key.algorithm())
            {
                keys.insert(key.kid().to_owned(), key);
                published.push(jwk.clone());
            }
        }
        published.sort_by(|a, b| a.kid.cmp(&b.kid));
        Self { keys, published, generation }
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
    /// When the guard started: the origin of `feed_synced`.
    started: Instant,
    /// When the feed was last read successfully, in milliseconds since `started`: an atomic,
    /// as every request reads it.
    feed_synced: AtomicU64,
    metrics: Metrics,
    /// Spent DPoP proof ids.
    dpop_jtis: Mutex<dpop::ReplayCache>,
    /// Tokens verified before; none when [`GuardConfig::token_cache_capacity`] is 0.
    tokens: Option<VerifiedTokens<AccessTokenClaims>>,
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
            started: now,
            feed_synced: AtomicU64::new(0),
            metrics: Metrics::default(),
            dpop_jtis: Mutex::new(dpop::ReplayCache::new(config.dpop_replay_capacity)),
            tokens: VerifiedTokens::new(config.token_cache_capacity),
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
    /// A token accepted before under the same keys skips the signature and the parsing (see
    /// [`GuardConfig::token_cache_capacity`]); its claims are checked again at this instant.
    pub fn verify(&self, token: &str) -> Result<Claims, GuardError> {
        self.verify_at(token, unix_now())
    }

    /// [`Guard::verify`] at `now` (Unix seconds).
    fn verify_at(&self, token: &str, now: i64) -> Result<Claims, GuardError> {
        let inner = &*self.inner;
        if self.feed_too_stale() {
            bump(&inner.metrics.unavailable);
            return Err(GuardError::Unavailable);
        }
        let keys = read(&inner.keys).clone();
        let cache = inner.tokens.as_ref().map(|cache| (cache, cache::digest(token)));
        let hit = cache.as_ref().and_then(|(cache, digest)| cache.get(digest, keys.generation));
        if cache.is_some() {
            bump(if hit.is_some() { &inner.metrics.cache_hits } else { &inner.metrics.cache_misses });
        }
        let was_hit = hit.is_some();
        let result = match hit {
            // The signature, the header and the claims' form held under these keys: what can
            // change since is checked again, as on the uncached path.
            Some(claims) => check::check_claims(&claims, &inner.expect, now).map(|()| claims),
            None => check::verify(token, &inner.expect, now, |kid| keys.keys.get(kid)).map(Arc::new),
        }
        .and_then(|claims| match read(&inner.denylist).refusal(&claims) {
            Some(reason) => Err(reason),
            None => Ok(claims),
        });
        match result {
            Ok(claims) => {
                if let Some((cache, digest)) = cache
                    && !was_hit
                    && cache.offer(digest, claims.clone(), keys.generation)
                {
                    bump(&inner.metrics.cache_evictions);
                }
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
            token_cache_hits: load(&m.cache_hits),
            token_cache_misses: load(&m.cache_misses),
            token_cache_evictions: load(&m.cache_evictions),
            token_cache_entries: self.inner.tokens.as_ref().map_or(0, VerifiedTokens::len),
        }
    }

    /// The guard's metrics in the Prometheus text format.
    pub fn prometheus(&self) -> String {
        self.snapshot().to_prometheus()
    }

    fn feed_too_stale(&self) -> bool {
        let inner = &*self.inner;
        let synced = Duration::from_millis(inner.feed_synced.load(Ordering::Relaxed));
        inner.config.feed.is_some() && inner.started.elapsed().saturating_sub(synced) > inner.config.max_staleness
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
                let mut keys = write(&inner.keys);
                let fetched = KeySet::from_jwks(&jwks, &inner.config.algorithms, keys.generation + 1);
                // The same keys again keep their generation, and so the cached tokens.
                if fetched.published != keys.published {
                    *keys = Arc::new(fetched);
                }
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
                let idle = feed == RevocationFeed { cursor: feed.cursor.clone(), ..RevocationFeed::default() };
                {
                    let mut denylist = write(&inner.denylist);
                    denylist.apply(feed);
                    denylist.prune(unix_now(), inner.expect.leeway);
                }
                let since_start = u64::try_from(inner.started.elapsed().as_millis()).unwrap_or(u64::MAX);
                inner.feed_synced.store(since_start, Ordering::Relaxed);
                inner.metrics.feed_up.store(true, std::sync::atomic::Ordering::Relaxed);
                inner.metrics.feed_last_success.store(unix_now(), std::sync::atomic::Ordering::Relaxed);
                if keys_changed {
                    let _ = self.fetch_keys().await;
                }
                if !idle {
                    self.forget_refused_tokens();
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

    /// One round of the background work: the feed, the JWKS when due, the cache's sweep.
    async fn upkeep_round(&self, jwks_every: Duration) {
        let _ = self.poll_feed().await;
        let due = lock(&self.inner.keys_fetched).elapsed() >= jwks_every;
        if due {
            let _ = self.fetch_keys().await;
        }
        self.forget_refused_tokens();
    }

    /// Drops from the cache the tokens that could no longer pass: expired, verified under keys
    /// since replaced, or refused by the denylist. (A hit checks all of this anyway; this
    /// frees their room at once.)
    fn forget_refused_tokens(&self) {
        let Some(cache) = &self.inner.tokens else { return };
        let now = unix_now();
        let generation = read(&self.inner.keys).generation;
        let denylist = read(&self.inner.denylist);
        let leeway = self.inner.expect.leeway;
        let passes = |claims: &AccessTokenClaims, key_generation: u64| {
            key_generation == generation && claims.exp.saturating_add(leeway) >= now && denylist.refusal(claims).is_none()
        };
        cache.retain(passes);
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
        Guard { inner }.upkeep_round(jwks_every).await;
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

#[cfg(test)]
mod tests {
    //! The cache of verified tokens through the guard, against an issuer served in process.

    use axum::Router;
    use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
    use axum::routing::get;
    use serde_json::{Value, json};
    use tessera_jose::SigningKey;

    use super::*;

    /// Discovery, JWKS and a revocation feed whose answers the test sets.
    struct Issuer {
        url: String,
        key: SigningKey,
        jwks: Arc<Mutex<Value>>,
        feed: Arc<Mutex<Value>>,
    }

    impl Issuer {
        async fn start() -> Issuer {
            let (key, _) = SigningKey::generate(Algorithm::ES256).unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let discovery = json!({
                "issuer": url, "token_endpoint": format!("{url}/oauth2/token"), "jwks_uri": format!("{url}/oauth2/jwks"),
                "revocation_endpoint": "", "introspection_endpoint": "", "grant_types_supported": [], "response_types_supported": [],
                "response_modes_supported": [], "scopes_supported": [], "subject_types_supported": [], "token_endpoint_auth_methods_supported": [],
                "revocation_endpoint_auth_methods_supported": [], "introspection_endpoint_auth_methods_supported": [],
                "id_token_signing_alg_values_supported": [], "access_token_signing_alg_values_supported": ["ES256"], "claims_supported": []
            });
            let jwks = Arc::new(Mutex::new(json!({ "keys": [key.public_jwk()] })));
            let feed = Arc::new(Mutex::new(json!({ "cursor": "0", "full": true })));
            let (served_jwks, served_feed) = (jwks.clone(), feed.clone());
            let app = Router::new()
                .route("/.well-known/openid-configuration", get(move || async move { axum::Json(discovery) }))
                .route("/oauth2/jwks", get(move || async move { axum::Json(lock(&served_jwks).clone()) }))
                .route("/oauth2/revocations", get(move || async move { axum::Json(lock(&served_feed).clone()) }));
            tokio::spawn(async move { axum::serve(listener, app).await });
            Issuer { url, key, jwks, feed }
        }

        /// A guard that polls only when the test says so, remembering `capacity` tokens.
        async fn guard(&self, capacity: usize) -> Guard {
            let mut config = GuardConfig::new(&self.url);
            config.feed = Some(FeedCredentials::new("guard", "secret"));
            config.poll_interval = Duration::from_secs(3600);
            config.api_base_url = Some("https://api.test".into());
            config.token_cache_capacity = capacity;
            Guard::start(config).await.unwrap()
        }

        /// A token of this issuer's key, its claims changed by `change`.
        fn token(&self, change: impl FnOnce(&mut Value)) -> String {
            let mut claims = json!({
                "iss": self.url, "aud": self.url, "sub": "usr_1", "client_id": "cli_1", "grant_id": "grt_1", "jti": "jti_1",
                "iat": NOW, "exp": NOW + 600, "scope": "read", "org_id": "org_1"
            });
            change(&mut claims);
            self.key.sign("at+jwt", &claims).unwrap()
        }

        /// The next answer of the revocation feed.
        fn feed(&self, answer: Value) {
            *lock(&self.feed) = answer;
        }
    }

    /// The instant the tests' tokens are issued at (their `iat`).
    const NOW: i64 = 1_900_000_000;
    const LEEWAY: i64 = 60;

    /// Verifies an acceptable token twice in a row, which takes it into the cache.
    fn remember(guard: &Guard, token: &str, now: i64) {
        assert_eq!(refusal(guard.verify_at(token, now)), None);
        assert_eq!(refusal(guard.verify_at(token, now)), None);
        let cache = guard.inner.tokens.as_ref().unwrap();
        assert!(cache.get(&cache::digest(token), read(&guard.inner.keys).generation).is_some(), "taken in");
    }

    fn refusal(answer: Result<Claims, GuardError>) -> Option<Reason> {
        match answer {
            Ok(_) => None,
            Err(GuardError::InvalidToken(reason)) => Some(reason),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_cached_token_is_answered_as_an_uncached_one_at_every_instant() {
        let issuer = Issuer::start().await;
        let (cached, uncached) = (issuer.guard(100).await, issuer.guard(0).await);
        let exp = NOW + 600;
        let not_before = NOW + 100;
        let plain = issuer.token(|_| {});
        let later = issuer.token(|c| {
            c["jti"] = "jti_nbf".into();
            c["nbf"] = not_before.into();
        });
        let check = |token: &str, now: i64, expected: Option<Reason>| {
            assert_eq!(refusal(uncached.verify_at(token, now)), expected, "uncached at {now}");
            assert_eq!(refusal(cached.verify_at(token, now)), expected, "cached at {now}");
        };
        // Taken in at the second acceptance.
        check(&plain, NOW, None);
        assert_eq!(cached.snapshot().token_cache_entries, 0);
        check(&plain, NOW, None);
        assert_eq!(cached.snapshot().token_cache_entries, 1);
        check(&later, not_before - LEEWAY - 1, Some(Reason::NotYetValid));
        check(&later, not_before - LEEWAY - 1, Some(Reason::NotYetValid));
        assert_eq!(cached.snapshot().token_cache_entries, 1, "a token refused for its nbf is not remembered");
        check(&later, not_before - LEEWAY, None);
        check(&later, not_before - LEEWAY, None);
        assert_eq!(cached.snapshot().token_cache_entries, 2);
        let hits = cached.snapshot().token_cache_hits;
        // Now both are remembered; every instant still gets the uncached answer.
        for (now, plain_expected, later_expected) in [
            (NOW, None, Some(Reason::NotYetValid)),
            (NOW - LEEWAY - 1, Some(Reason::NotYetValid), Some(Reason::NotYetValid)),
            (not_before - LEEWAY, None, None),
            (exp, None, None),
            (exp + LEEWAY, None, None),
            (exp + LEEWAY + 1, Some(Reason::Expired), Some(Reason::Expired)),
            (exp + 86_400, Some(Reason::Expired), Some(Reason::Expired)),
        ] {
            check(&plain, now, plain_expected);
            check(&later, now, later_expected);
        }
        let snapshot = cached.snapshot();
        assert_eq!(snapshot.token_cache_hits - hits, 14, "every one of them answered from the cache");
        assert_eq!(snapshot.rejected(Reason::Expired), 4);
        assert!(cached.prometheus().contains("tessera_guard_token_cache_lookups_total{result=\"hit\"} "));
        // The sweep drops what expired, by the real clock: these tokens' `exp` lies ahead of it.
        cached.forget_refused_tokens();
        assert_eq!(cached.snapshot().token_cache_entries, 2);
    }

    #[tokio::test]
    async fn a_cached_token_the_feed_names_is_refused_at_the_next_request_and_forgotten() {
        let issuer = Issuer::start().await;
        let guard = issuer.guard(100).await;
        let far = NOW + 86_400;
        // Each case: the token's claims, then the feed answer that must refuse it, and why.
        let cases: [(&str, Value, Reason); 6] = [
            ("jti_a", json!({ "tokens": [["jti_a", far]] }), Reason::Revoked),
            ("jti_b", json!({ "grants": [["grt_b", far]] }), Reason::Revoked),
            ("jti_c", json!({ "clients_off": ["cli_c"] }), Reason::ClientDisabled),
            ("jti_d", json!({ "users_off": ["usr_d"] }), Reason::UserDisabled),
            ("jti_e", json!({ "users_not_before": [["usr_e", NOW + 1]] }), Reason::UserChanged),
            ("jti_f", json!({ "clients_not_before": [["cli_f", NOW + 1]] }), Reason::ClientChanged),
        ];
        let token_of = |jti: &str| {
            let suffix = jti.trim_start_matches("jti_");
            issuer.token(|c| {
                c["jti"] = jti.into();
                c["grant_id"] = format!("grt_{suffix}").into();
                c["client_id"] = format!("cli_{suffix}").into();
                c["sub"] = format!("usr_{suffix}").into();
            })
        };
        let bystander = issuer.token(|c| c["jti"] = "jti_z".into());
        remember(&guard, &bystander, NOW + 10);
        for (i, (jti, answer, reason)) in cases.into_iter().enumerate() {
            let token = token_of(jti);
            remember(&guard, &token, NOW + 10);
            let hits = guard.snapshot().token_cache_hits;
            assert_eq!(refusal(guard.verify_at(&token, NOW + 10)), None, "{jti}");
            assert_eq!(guard.snapshot().token_cache_hits, hits + 1, "{jti}: a hit");
            let entries = guard.snapshot().token_cache_entries;
            assert_eq!(entries, 2);
            let mut answer = answer;
            answer["cursor"] = (i + 1).to_string().into();
            issuer.feed(answer);
            guard.poll_feed().await.unwrap();
            assert_eq!(refusal(guard.verify_at(&token, NOW + 10)), Some(reason), "{jti}: the very next request");
            assert_eq!(guard.snapshot().token_cache_entries, entries - 1, "{jti}: forgotten, the bystander kept");
            let hits = guard.snapshot().token_cache_hits;
            assert_eq!(refusal(guard.verify_at(&bystander, NOW + 10)), None);
            assert_eq!(guard.snapshot().token_cache_hits, hits + 1, "{jti}: the bystander is still a hit");
        }
    }

    #[tokio::test]
    async fn a_change_of_the_keys_reaches_cached_tokens() {
        let issuer = Issuer::start().await;
        let guard = issuer.guard(100).await;
        let token = issuer.token(|_| {});
        remember(&guard, &token, NOW);
        // The same keys fetched again change nothing: still a hit.
        guard.fetch_keys().await.unwrap();
        let hits = guard.snapshot().token_cache_hits;
        assert_eq!(refusal(guard.verify_at(&token, NOW)), None);
        assert_eq!(guard.snapshot().token_cache_hits, hits + 1);
        // The key withdrawn: once the guard has fetched the keys (on its schedule, or for an
        // unknown `kid`), the cached token is refused as an uncached one would be.
        let (other, _) = SigningKey::generate(Algorithm::ES256).unwrap();
        *lock(&issuer.jwks) = json!({ "keys": [other.public_jwk()] });
        guard.fetch_keys().await.unwrap();
        assert_eq!(refusal(guard.verify_at(&token, NOW)), Some(Reason::UnknownKey));
        // When the feed says the keys changed, the sweep that follows forgets it too.
        assert_eq!(guard.snapshot().token_cache_entries, 1);
        issuer.feed(json!({ "cursor": "1", "keys_changed": true }));
        guard.poll_feed().await.unwrap();
        assert_eq!(guard.snapshot().token_cache_entries, 0, "forgotten with its keys");
        assert_eq!(refusal(guard.verify_at(&token, NOW)), Some(Reason::UnknownKey));
    }

    #[tokio::test]
    async fn a_hit_asks_the_denylist_even_before_the_sweep() {
        // A token verified while the feed's answer was being applied may be taken in after the
        // sweep: the denylist on the hit path still refuses it.
        let issuer = Issuer::start().await;
        let guard = issuer.guard(100).await;
        let token = issuer.token(|_| {});
        remember(&guard, &token, NOW);
        let revoked = RevocationFeed { cursor: "1".into(), tokens: vec![("jti_1".into(), NOW + 600)], ..RevocationFeed::default() };
        write(&guard.inner.denylist).apply(revoked);
        let hits = guard.snapshot().token_cache_hits;
        assert_eq!(refusal(guard.verify_at(&token, NOW)), Some(Reason::Revoked));
        assert_eq!(guard.snapshot().token_cache_hits, hits + 1);
    }

    #[tokio::test]
    async fn the_cache_stays_within_its_capacity_and_an_evicted_token_verifies_again() {
        let issuer = Issuer::start().await;
        let guard = issuer.guard(5).await;
        let tokens: Vec<String> = (0..40).map(|i| issuer.token(|c| c["jti"] = format!("jti_{i}").into())).collect();
        for token in &tokens {
            remember(&guard, token, NOW);
            assert!(guard.snapshot().token_cache_entries <= 5);
        }
        let snapshot = guard.snapshot();
        assert_eq!(snapshot.token_cache_entries + snapshot.token_cache_evictions as usize, 40, "each taken in once");
        for token in &tokens {
            assert_eq!(refusal(guard.verify_at(token, NOW)), None, "evicted or not, it still passes");
        }
        assert_eq!(guard.snapshot().token_cache_entries, 5);
    }

    #[tokio::test]
    async fn a_token_that_fails_is_never_cached() {
        let issuer = Issuer::start().await;
        let guard = issuer.guard(100).await;
        let token = issuer.token(|_| {});
        let other = issuer.token(|c| c["jti"] = "jti_2".into());
        // This token's header and claims with the other's signature.
        let forged = format!("{}.{}", token.rsplit_once('.').unwrap().0, other.rsplit_once('.').unwrap().1);
        let (impostor, _) = SigningKey::generate(Algorithm::ES256).unwrap();
        let mut claims = json!({ "iss": issuer.url, "aud": issuer.url, "sub": "usr_1", "client_id": "cli_1", "jti": "jti_3",
            "iat": NOW, "exp": NOW + 600, "scope": "read", "org_id": "org_1" });
        // Signed by another key under the issuer's `kid`.
        let header = json!({ "typ": "at+jwt", "alg": "ES256", "kid": issuer.key.kid() });
        let misattributed = tessera_jose::dpop::sign_with_header(&impostor, &header, &claims).unwrap();
        claims["aud"] = "https://elsewhere.test".into();
        let elsewhere = issuer.token(|c| *c = claims);
        for (bad, reason) in [(&forged, Reason::BadSignature), (&misattributed, Reason::BadSignature), (&elsewhere, Reason::Audience)] {
            for _ in 0..3 {
                assert_eq!(refusal(guard.verify_at(bad, NOW)), Some(reason));
            }
        }
        let snapshot = guard.snapshot();
        assert_eq!((snapshot.token_cache_entries, snapshot.token_cache_hits, snapshot.token_cache_misses), (0, 0, 9));
        // The genuine token is remembered; the forgery of it still is not.
        remember(&guard, &token, NOW);
        assert_eq!(refusal(guard.verify_at(&forged, NOW)), Some(Reason::BadSignature));
        assert_eq!(guard.snapshot().token_cache_entries, 1);
    }

    #[tokio::test]
    async fn a_cached_dpop_bound_token_still_needs_a_fresh_proof_with_every_request() {
        let issuer = Issuer::start().await;
        let guard = issuer.guard(100).await;
        let (holder, _) = SigningKey::generate(Algorithm::ES256).unwrap();
        let now = unix_now();
        let prove = |token: &str, jti: &str| {
            let claims = json!({ "htm": "GET", "htu": "https://api.test/projects", "iat": now, "jti": jti,
                "ath": tessera_jose::dpop::access_token_hash(token) });
            tessera_jose::dpop::sign_proof(&holder, &claims).unwrap()
        };
        let jkt = tessera_jose::dpop::verify_proof(&prove("x", "probe")).unwrap().jkt;
        let token = issuer.token(|c| {
            c["iat"] = now.into();
            c["exp"] = (now + 600).into();
            c["cnf"] = json!({ "jkt": jkt });
        });
        let uri: Uri = "/projects".parse().unwrap();
        let admit = |proof: Option<String>| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("DPoP {token}")).unwrap());
            if let Some(proof) = proof {
                headers.insert("dpop", HeaderValue::from_str(&proof).unwrap());
            }
            let guard = guard.clone();
            let uri = uri.clone();
            async move { guard.admit_request(&Method::GET, &uri, &headers, &[]).await.map(|_| ()) }
        };
        let first = prove(&token, "p1");
        assert_eq!(admit(Some(first.clone())).await, Ok(()));
        assert_eq!(admit(Some(prove(&token, "p2"))).await, Ok(()));
        assert_eq!(guard.snapshot().token_cache_entries, 1);
        // Remembered now, yet a replayed proof, no proof, or a proof of another token fails.
        assert!(matches!(admit(Some(first)).await, Err(GuardError::InvalidDpopProof(_))));
        assert!(matches!(admit(None).await, Err(GuardError::InvalidDpopProof(_))));
        assert!(matches!(admit(Some(prove("another token", "p3"))).await, Err(GuardError::InvalidDpopProof(_))));
        assert_eq!(admit(Some(prove(&token, "p4"))).await, Ok(()));
        let snapshot = guard.snapshot();
        assert_eq!((snapshot.token_cache_hits, snapshot.token_cache_misses), (4, 2));
    }
}
