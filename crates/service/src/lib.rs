//! Tessera's use cases. [`Tessera`] loads from the store, asks `tessera-core` to decide, and
//! persists the outcome atomically. The clock, the randomness and the keys are injected here;
//! both the HTTP server and the CLI call this crate.

pub mod admin;
pub mod authorization;
pub mod cache;
pub mod client_keys;
pub mod device;
pub mod dpop;
pub mod error;
mod exchange;
mod feed;
mod grants;
pub mod keys;
pub mod limiter;
pub mod par;
pub mod password;
pub mod portal;
pub mod registration;
mod resource;
pub mod secrets;
pub mod session;
pub mod session_api;

/// Signing algorithms, re-exported for configuration.
pub use tessera_jose::Algorithm;

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{Map, Value};
use tessera_core::assertion::{self, AssertionFailure};
use tessera_core::audit::{AuditAction, AuditEvent};
use tessera_core::authorize::ResponseType;
use tessera_core::client::{self as client_rules, AuthFailure, Proof};
use tessera_core::credentials::{self, AuthMethod, PresentedClient};
use tessera_core::grant::{self, ClientCredentialsInput, TokenRequest};
use tessera_core::introspection::{self, TokenState};
use tessera_core::model::{ClientId, ClientKeys, GrantType, OrgId, Pkce, TokenEndpointAuthMethod, UserId};
use tessera_core::params::Params;
use tessera_core::token::{ACCESS_TOKEN_TYP, TokenPolicy};
use tessera_core::{OAuthError, scope::ScopeSet};
use tessera_proto::{AccessTokenClaims, IntrospectionResponse, ServerMetadata, TokenResponse};
use tessera_store::Store;

pub use error::{Result, ServiceError};
pub use resource::{AdminCaller, Presented};

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

use crate::cache::{Cache, CachedClient};
use crate::keys::KeySet;
use crate::limiter::{FailureLimiter, SharedLimiter};
use crate::secrets::SecretKeys;

/// The source of time. Injected so that nothing below reads the clock itself.
pub trait Clock: Send + Sync + 'static {
    /// Wall time, Unix seconds: for values that leave the process (`iat`, `exp`, `auth_time`)
    /// and the audit log.
    fn now(&self) -> i64;
    /// Wall time in Unix milliseconds: where the lifetime clock starts, to the millisecond so
    /// that it does not run up to a second behind the wall clock.
    fn now_millis(&self) -> i64 {
        self.now().saturating_mul(1000)
    }
    /// Milliseconds from an arbitrary origin on a clock that is never stepped (the system's
    /// monotonic clock): what the lifetimes kept by this process are measured on.
    fn monotonic_millis(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }

    fn now_millis(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    fn monotonic_millis(&self) -> i64 {
        static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        i64::try_from(ORIGIN.get_or_init(std::time::Instant::now).elapsed().as_millis()).unwrap_or(i64::MAX)
    }
}

/// The time lifetimes are measured on (SPEC §12): the wall time when the service opened plus
/// the monotonic time since. Codes, device codes, pushed requests, sessions and lock-outs are
/// stored in these seconds, so a wall-clock step backwards extends none of them and a step
/// forwards ends none early; the values stay close to wall time, so other processes on the
/// same store read them right up to the size of a step made since this one started.
#[derive(Clone)]
pub(crate) struct Timeline {
    clock: Arc<dyn Clock>,
    /// Both in milliseconds: whole seconds on both sides would let the lifetime clock lag the
    /// wall clock by up to two seconds, and a link made "24 hours ago" by another process
    /// would still work for them.
    wall_millis_at_open: i64,
    monotonic_millis_at_open: i64,
}

impl Timeline {
    fn new(clock: Arc<dyn Clock>) -> Self {
        let (wall_millis_at_open, monotonic_millis_at_open) = (clock.now_millis(), clock.monotonic_millis());
        Timeline { clock, wall_millis_at_open, monotonic_millis_at_open }
    }

    /// Lifetime seconds now.
    pub(crate) fn now(&self) -> i64 {
        let elapsed = self.clock.monotonic_millis().saturating_sub(self.monotonic_millis_at_open);
        self.wall_millis_at_open.saturating_add(elapsed).div_euclid(1000)
    }
}

/// Behaviour that configuration and profiles set.
#[derive(Debug, Clone)]
pub struct Settings {
    pub policy: TokenPolicy,
    pub signing_alg: Algorithm,
    /// Seconds a key signs before it is rotated out.
    pub key_rotation_interval: i64,
    /// Seconds a retired key stays published: the longest token lifetime plus the leeway.
    pub key_retention: i64,
    /// Whether this process sets the store's key policy (algorithm, retention) and the default
    /// of new clients (`default_pkce`): `serve` does; a CLI command follows what the store says,
    /// so that `tessera keys rotate` without flags never switches the algorithm or purges keys
    /// early, and `tessera client create` makes the clients the running server's profile would.
    pub owns_key_policy: bool,
    /// Failed client authentications per client id and window before 429.
    pub client_auth_failure_limit: u32,
    pub client_auth_failure_window: i64,
    /// Members of token responses beyond RFC 6749 §5.1 (a profile asks for them).
    pub token_response: TokenResponseShape,
    /// Where discovery says the endpoints are (a profile's aliases; the canonical paths work too).
    pub endpoint_paths: EndpointPaths,
    /// How a token request without `grant_type` is read; `None`: it is required.
    pub default_grant_type: Option<GrantType>,
    /// How an authorization request without `response_type` is read; `None`: it is required.
    pub default_response_type: Option<ResponseType>,
    /// The PKCE setting of a new confidential client that names none (a public client always
    /// requires PKCE): `Required`, or `Optional` under the Bluescape profile, whose seed sends
    /// no `code_challenge`.
    pub default_pkce: Pkce,
    /// Whether the first-party session API (`/sessions`) is on.
    pub session_api: bool,
    /// Seconds a refresh-token family lives from its grant; 0: no expiry.
    pub refresh_token_ttl: i64,
    /// Seconds a browser session lives without use, and at most.
    pub session_idle_timeout: i64,
    pub session_max_lifetime: i64,
    /// Consecutive failed logins per account before it is locked for `login_lock_seconds`.
    pub login_failure_limit: u32,
    /// Failed logins per address within `login_lock_seconds` before it is throttled.
    pub login_address_limit: u32,
    pub login_lock_seconds: i64,
    /// The client ids that may read the revocation feed (the guards of the protected APIs).
    pub revocation_feed_clients: Vec<String>,
    /// Every client must push its authorization requests (RFC 9126 §5), not only those
    /// registered so.
    pub require_pushed_authorization_requests: bool,
    /// Seconds a pushed authorization request may wait for its first use (`expires_in`).
    pub pushed_request_lifetime: i64,
    /// Seconds a device code lives, and the polling interval a device starts with (RFC 8628).
    pub device_code_lifetime: i64,
    pub device_poll_interval: i64,
    /// Whether dynamic client registration (RFC 7591/7592) is served at `/oauth2/register`.
    pub registration_endpoint: bool,
    /// Whether every DPoP proof must carry a server nonce (RFC 9449 §8).
    pub dpop_nonce_required: bool,
    /// Whether clients' `jwks_uri`s may name hosts on internal addresses
    /// (`tessera_core::assertion::is_internal_address`).
    pub allow_internal_jwks_uri: bool,
}

/// Members a profile adds to token responses.
#[derive(Debug, Clone, Default)]
pub struct TokenResponseShape {
    /// `expires_at`: when the access token expires, in Unix seconds (the Bluescape seed).
    pub expires_at: bool,
    /// `tenant_id`: the organization the token acts in (the Blue Canvas seed).
    pub tenant_id: bool,
    /// `endpoints`: an object of URLs, the same in every response (the Blue Canvas seed).
    pub endpoints: Option<Map<String, Value>>,
}

/// The paths discovery publishes for each endpoint, relative to the issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointPaths {
    pub authorize: String,
    pub token: String,
    pub revoke: String,
    pub introspect: String,
    pub userinfo: String,
    pub jwks: String,
    pub logout: String,
    pub par: String,
    pub device_authorization: String,
}

/// The token endpoint's own path (a profile may add an alias, never remove it).
const CANONICAL_TOKEN_PATH: &str = "/oauth2/token";

impl Default for EndpointPaths {
    /// The canonical paths (SPEC §3).
    fn default() -> Self {
        Self {
            authorize: "/oauth2/authorize".into(),
            token: CANONICAL_TOKEN_PATH.into(),
            revoke: "/oauth2/revoke".into(),
            introspect: "/oauth2/introspect".into(),
            userinfo: "/oauth2/userinfo".into(),
            jwks: "/oauth2/jwks".into(),
            logout: "/oauth2/logout".into(),
            par: "/oauth2/par".into(),
            device_authorization: "/oauth2/device_authorization".into(),
        }
    }
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
}

impl std::fmt::Debug for Tessera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tessera").field("issuer", &self.settings.policy.issuer).finish_non_exhaustive()
    }
}

const MASTER_KEY_CHECK: &str = "master_key_check";

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
        let service = Self {
            store,
            settings,
            secrets,
            timeline: Timeline::new(clock.clone()),
            clock,
            cache: Cache::default(),
            limiter,
            address_limiter,
            dummy_tag,
            login_limiter,
            login_address_limiter,
            device_user_limiter,
            device_address_limiter,
            hashers,
            remote_keys,
        };
        service.sync().await?;
        Ok(service)
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
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
        self.cache.sync(&*self.store, &self.secrets).await
    }

    fn keyset(&self) -> Arc<KeySet> {
        self.cache.keys()
    }

    /// The JWKS document (pre-serialised).
    pub async fn jwks(&self) -> Result<Arc<str>> {
        self.sync().await?;
        Ok(self.keyset().jwks_json.clone())
    }

    /// `POST /oauth2/token`.
    pub async fn token(&self, request: &EndpointRequest) -> Result<TokenResponse> {
        let now = self.clock.now();
        let presented = read_credentials(request)?;
        let caller = self.authenticate(&presented, request, now).await?;
        let jkt = self.token_request_proof(request, now).await?;
        let jkt = jkt.as_deref();
        // Before the grant is looked at, so a refused request spends no code or device code.
        tessera_core::dpop::check_required(&caller.client, jkt).map_err(|failure| {
            tracing::info!(failure = failure.as_str(), "DPoP proof required by the client");
            self.refusal(failure, false, now)
        })?;
        match grant::parse_token_request(&request.params, self.settings.default_grant_type)? {
            TokenRequest::ClientCredentials { scope, resources } => {
                let issue = grant::client_credentials(&ClientCredentialsInput {
                    client: &caller.client,
                    owner: caller.owner.as_ref(),
                    run_as: caller.run_as.as_ref(),
                    catalogue: &caller.catalogue,
                    requested: scope.as_ref(),
                    resources: &resources,
                    policy: &self.settings.policy,
                })?;
                let client = &caller.client;
                let states = tessera_core::token::AccessGrant {
                    subject: &client.run_as,
                    client,
                    org: &client.org_id,
                    scope: &issue.scope,
                    resources: &issue.resources,
                    ttl: issue.ttl,
                };
                let access_token = self.sign_access_token(&states, None, jkt, now)?;
                Ok(self.token_response(access_token, &issue.scope, issue.ttl, &client.org_id, jkt.is_some(), now))
            }
            TokenRequest::AuthorizationCode { code, redirect_uri, code_verifier, resources } => {
                let presented = grants::CodePresented {
                    code: &code,
                    redirect_uri: redirect_uri.as_deref(),
                    code_verifier: code_verifier.as_deref(),
                    resources: &resources,
                };
                self.redeem_code(&caller, &presented, jkt, now).await
            }
            TokenRequest::RefreshToken { refresh_token, scope, resources } => {
                let presented = grants::RefreshPresented { token: &refresh_token, requested: scope.as_ref(), resources: &resources };
                self.refresh(&caller, &presented, jkt, now).await
            }
            TokenRequest::DeviceCode { device_code, resources } => {
                self.redeem_device_code(&caller, &device_code, &resources, jkt, now).await
            }
            TokenRequest::TokenExchange(exchange) => self.exchange(&caller, &exchange, request.peer, jkt, now).await,
        }
    }

    /// A token response for an access token of `org` that lives `ttl` seconds from `now`, with
    /// the members the profile adds.
    /// `dpop`: the token is DPoP-bound (`token_type` DPoP, RFC 9449 §5).
    fn token_response(&self, access_token: String, scope: &ScopeSet, ttl: u32, org: &OrgId, dpop: bool, now: i64) -> TokenResponse {
        let shape = &self.settings.token_response;
        let mut extra = Map::new();
        if shape.expires_at {
            extra.insert("expires_at".into(), Value::from(now + i64::from(ttl)));
        }
        if shape.tenant_id {
            extra.insert("tenant_id".into(), Value::from(org.as_str()));
        }
        if let Some(endpoints) = &shape.endpoints {
            extra.insert("endpoints".into(), Value::Object(endpoints.clone()));
        }
        TokenResponse {
            access_token,
            token_type: if dpop { "DPoP" } else { "Bearer" }.into(),
            expires_in: u64::from(ttl),
            scope: Some(scope.to_string()),
            refresh_token: None,
            id_token: None,
            extra,
        }
    }

    /// Authenticates the calling client, or explains (to the audit log only) why not.
    async fn authenticate(&self, presented: &PresentedClient, request: &EndpointRequest, now: i64) -> Result<Arc<CachedClient>> {
        let peer = request.peer;
        self.sync().await?;
        let lifetime_now = self.lifetime_now();
        if let Some(retry_after) =
            self.limiter.locked_for(&presented.id, lifetime_now).or_else(|| self.address_limiter.locked_for(&peer, lifetime_now))
        {
            return Err(ServiceError::TooManyAttempts { retry_after });
        }
        let cached = self.cache.client(&*self.store, &presented.id).await?;
        let mut accepted = None;
        let proof = match (&presented.assertion, cached.as_deref()) {
            (Some(assertion), Some(cached)) if cached.client.auth_method == TokenEndpointAuthMethod::PrivateKeyJwt => {
                let checked = self.check_assertion(cached, assertion.expose(), &request.path, now).await;
                Proof::Assertion(checked.map(|a| accepted = Some(a)))
            }
            (Some(_), _) => Proof::Assertion(Err(AssertionFailure::UnknownKey)),
            (None, _) => {
                let tag = cached.as_ref().and_then(|c| c.secret_tag.as_deref()).unwrap_or(&self.dummy_tag);
                Proof::Secret(presented.secret.as_ref().is_some_and(|s| self.secrets.secret_matches(s.expose(), tag)))
            }
        };
        let mut outcome = client_rules::authenticate(presented, cached.as_ref().map(|c| &c.client), proof, peer);
        // The jti is spent only by an assertion that passed every other check, so a refused
        // request never burns the id of a later good one.
        if let (Ok(()), Some(accepted)) = (&outcome, &accepted)
            && !self.store.consume_assertion_jti(&presented.id, &accepted.jti, accepted.exp).await?
        {
            outcome = Err(AuthFailure::Assertion(AssertionFailure::Replayed));
        }
        match (outcome, cached) {
            (Ok(()), Some(cached)) => Ok(cached),
            (Err(failure), cached) => {
                self.record_auth_failure(presented, cached.as_deref(), failure, peer, now).await;
                Err(ServiceError::OAuth { error: OAuthError::invalid_client(), client_used_basic: presented.method == AuthMethod::Basic })
            }
            (Ok(()), None) => Err(ServiceError::Internal("authenticated an unknown client".into())),
        }
    }

    /// Verifies a client assertion against the client's keys (fetching its `jwks_uri` again
    /// once when the `kid` is unknown) and checks its claims; the `jti` is not consumed here.
    async fn check_assertion(
        &self,
        cached: &CachedClient,
        assertion: &str,
        path: &str,
        now: i64,
    ) -> std::result::Result<assertion::Accepted, AssertionFailure> {
        use tessera_jose::JoseError;
        let verify = |keys: &tessera_jose::assertion::ClientKeySet| {
            tessera_jose::assertion::verify_assertion(assertion, keys).map_err(|e| match e {
                JoseError::UnknownKey => AssertionFailure::UnknownKey,
                JoseError::AlgorithmMismatch => AssertionFailure::Algorithm,
                JoseError::UnsupportedHeader | JoseError::WrongType => AssertionFailure::Header,
                JoseError::BadSignature => AssertionFailure::BadSignature,
                _ => AssertionFailure::Malformed,
            })
        };
        let verified = match &cached.client.keys {
            Some(ClientKeys::Jwks(_)) => verify(cached.keys.as_deref().ok_or(AssertionFailure::KeysUnavailable)?)?,
            Some(ClientKeys::Uri(uri)) => {
                let keys = self.remote_keys.keys(uri, now, false).await.ok_or(AssertionFailure::KeysUnavailable)?;
                match verify(&keys) {
                    Err(AssertionFailure::UnknownKey) => {
                        // The client may have rotated its key: look again (rate-limited).
                        let keys = self.remote_keys.keys(uri, now, true).await.ok_or(AssertionFailure::KeysUnavailable)?;
                        verify(&keys)?
                    }
                    other => other?,
                }
            }
            None => return Err(AssertionFailure::KeysUnavailable),
        };
        let issuer = self.issuer();
        // The issuer, the endpoint called, or the token endpoint (a profile's alias or ours);
        // a repeated entry is harmless to the membership test.
        let audiences = [
            issuer.to_owned(),
            format!("{issuer}{path}"),
            format!("{issuer}{}", self.settings.endpoint_paths.token),
            format!("{issuer}{CANONICAL_TOKEN_PATH}"),
        ];
        let expected = assertion::Expected {
            client_id: cached.client.id.as_str(),
            audiences: &audiences,
            now,
            leeway: i64::from(self.settings.policy.leeway).min(assertion::MAX_LEEWAY),
        };
        assertion::check(&verified.payload, &expected)
    }

    async fn record_auth_failure(
        &self,
        presented: &PresentedClient,
        cached: Option<&CachedClient>,
        failure: AuthFailure,
        peer: IpAddr,
        now: i64,
    ) {
        let window = self.settings.client_auth_failure_window;
        // Lock-outs run on the lifetime clock: a wall-clock step forwards lifts none early.
        let at = self.lifetime_now();
        let locked = match self.store.record_failure(&format!("client-auth:{}", presented.id), at, window).await {
            Ok(shared) => self.limiter.record_shared_failure(&presented.id, at, shared),
            Err(_) => self.limiter.record_failure(&presented.id, at),
        };
        let address_locked = match self.store.record_failure(&format!("client-auth-address:{peer}"), at, window).await {
            Ok(shared) => self.address_limiter.record_shared_failure(&peer, at, shared),
            Err(_) => self.address_limiter.record_failure(&peer, at),
        };
        let mut event = AuditEvent {
            at: now,
            org_id: cached.map(|c| c.client.org_id.to_string()),
            actor: presented.id.to_string(),
            action: AuditAction::ClientAuthFailed,
            target: Some(presented.id.to_string()),
            ip: Some(peer.to_string()),
            detail: serde_json::json!({ "reason": failure.as_str() }),
        };
        if let Err(e) = self.store.append_audit(&event).await {
            tracing::warn!(error = %e, "could not write the audit entry of a failed client authentication");
        }
        if locked || address_locked {
            event.action = AuditAction::ClientAuthLocked;
            let scope = if locked { "client" } else { "address" };
            event.detail = serde_json::json!({ "locked": scope, "window_seconds": self.settings.client_auth_failure_window });
            if let Err(e) = self.store.append_audit(&event).await {
                tracing::warn!(error = %e, "could not write the audit entry of a client lock-out");
            }
        }
    }

    /// `POST /oauth2/introspect` (RFC 7662): a confidential client learns about tokens of its
    /// own organization; everything else is `{"active": false}`.
    pub async fn introspect(&self, request: &EndpointRequest) -> Result<IntrospectionResponse> {
        let now = self.clock.now();
        let presented = read_credentials(request)?;
        let caller = self.authenticate(&presented, request, now).await?;
        if caller.client.public {
            return Err(ServiceError::oauth(OAuthError::invalid_client()));
        }
        let token = request.params.get("token").ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        if let Some(claims) = self.active_claims(token, now).await? {
            return Ok(introspection::respond(&claims, &caller.client));
        }
        self.introspect_refresh_token(token, &caller.client, now).await
    }

    /// Introspection of a refresh token (the rule is `introspection::respond_refresh`).
    async fn introspect_refresh_token(&self, token: &str, caller: &tessera_core::model::Client, now: i64) -> Result<IntrospectionResponse> {
        let Some(found) = self.find_refresh_token(token).await? else {
            return Ok(IntrospectionResponse::inactive());
        };
        let client = self.cache.client(&*self.store, &found.grant.client_id).await?;
        let user = self.cache.user(&*self.store, &found.grant.user_id).await?;
        let (Some(client), Some(user)) = (client, user) else {
            return Ok(IntrospectionResponse::inactive());
        };
        let issued_at = found.grant.created_at;
        Ok(introspection::respond_refresh(&found.record, &client.client, &user, issued_at, self.issuer(), caller, now))
    }

    /// The stored refresh token `token` names, if any.
    pub(crate) async fn find_refresh_token(&self, token: &str) -> Result<Option<tessera_store::RefreshLookup>> {
        if !secrets::plausible_token(token) {
            return Ok(None);
        }
        Ok(self.store.refresh_token(&self.secrets.lookup_hash(token)).await?)
    }

    /// The claims of `token` if it is one of ours with a valid signature, whatever its state.
    fn verified_claims(&self, token: &str) -> Option<AccessTokenClaims> {
        let keys = self.keyset();
        let verified = tessera_jose::verify(token, ACCESS_TOKEN_TYP, |kid| keys.verifying_key(kid)).ok()?;
        serde_json::from_slice(&verified.payload).ok()
    }

    /// The claims of `token` if it is active now (signature, lifetime, revocation, client,
    /// users and role all checked). The caller has synced the cache (authentication does).
    async fn active_claims(&self, token: &str, now: i64) -> Result<Option<AccessTokenClaims>> {
        let Some(claims) = self.verified_claims(token) else {
            return Ok(None);
        };
        let client = self.cache.client(&*self.store, &ClientId::new(claims.client_id.clone())).await?;
        let subject = self.cache.user(&*self.store, &UserId::new(claims.sub.clone())).await?;
        let Some(client) = client else {
            return Ok(None);
        };
        let revoked = self.store.token_revoked(&claims.jti, claims.grant_id.as_deref()).await?;
        let state = TokenState {
            revoked,
            client: Some(&client.client),
            subject: subject.as_ref(),
            owner: client.owner.as_ref(),
            catalogue: &client.catalogue,
        };
        Ok(introspection::is_active(&claims, &state, &self.settings.policy, now).then_some(claims))
    }

    /// `POST /oauth2/revoke` (RFC 7009): revokes the caller's own token; any other token, of
    /// another client or not ours at all, gets the same empty success (V03, V05).
    pub async fn revoke(&self, request: &EndpointRequest) -> Result<()> {
        let now = self.clock.now();
        let presented = read_credentials(request)?;
        let caller = self.authenticate(&presented, request, now).await?;
        let token = request.params.get("token").ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        // token_type_hint only speeds up lookups elsewhere; a wrong or unknown hint must not
        // stop the revocation (V04), so it is not consulted.
        if let Some(claims) = self.verified_claims(token) {
            if claims.client_id == caller.client.id.as_str() {
                self.revoke_claims(&claims, caller.client.id.as_str(), Some(request.peer), now).await?;
            }
        } else if let Some(found) = self.find_refresh_token(token).await?
            && found.grant.client_id == caller.client.id
        {
            // Revoking a refresh token ends its whole authorization (RFC 7009 §2.1).
            self.revoke_family(&found.grant, "revoked by the client", now).await?;
        }
        Ok(())
    }

    async fn revoke_claims(&self, claims: &AccessTokenClaims, actor: &str, peer: Option<IpAddr>, now: i64) -> Result<()> {
        let audit = AuditEvent {
            at: now,
            org_id: Some(claims.org_id.clone()),
            actor: actor.to_owned(),
            action: AuditAction::TokenRevoked,
            target: Some(claims.client_id.clone()),
            ip: peer.map(|p| p.to_string()),
            detail: serde_json::json!({ "jti": claims.jti, "token_type": "access_token" }),
        };
        self.store.revoke_token(&claims.jti, claims.exp, &audit).await?;
        Ok(())
    }

    /// CORS for browser apps (the Bluescape seed's whitelisted domains): whether a response to
    /// `request` may be read by a page of `origin`. Only an origin the calling client registered
    /// is allowed, matched exactly (R12).
    pub async fn cors_allowed(&self, request: &EndpointRequest, origin: &str) -> Result<bool> {
        let Ok(presented) = credentials::extract(request.authorization.as_deref(), &request.params) else {
            return Ok(false);
        };
        self.sync().await?;
        let client = self.cache.client(&*self.store, &presented.id).await?;
        Ok(client.is_some_and(|c| {
            c.client.status == tessera_core::model::ClientStatus::On && c.client.allowed_origins.iter().any(|o| o == origin)
        }))
    }

    /// Whether a browser app at `origin` may read the answer to a request bearing `token`
    /// (userinfo): the token's client is ON and registered that origin.
    pub async fn cors_allowed_for_token(&self, token: &str, origin: &str) -> Result<bool> {
        self.sync().await?;
        let Some(claims) = self.verified_claims(token) else { return Ok(false) };
        let client = self.cache.client(&*self.store, &ClientId::new(claims.client_id)).await?;
        Ok(client.is_some_and(|c| {
            c.client.status == tessera_core::model::ClientStatus::On && c.client.allowed_origins.iter().any(|o| o == origin)
        }))
    }

    /// Whether a CORS preflight from `origin` may proceed: some client that is ON registered it.
    pub async fn cors_preflight_allowed(&self, origin: &str) -> Result<bool> {
        if origin.len() > 256 {
            return Ok(false);
        }
        Ok(self.store.origin_registered(origin).await?)
    }

    /// The discovery document (RFC 8414 / OIDC Discovery).
    pub fn metadata(&self) -> ServerMetadata {
        let issuer = self.issuer().to_owned();
        let at = |path: &str| format!("{issuer}{path}");
        let paths = &self.settings.endpoint_paths;
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let auth_methods = strings(&["client_secret_basic", "client_secret_post", "private_key_jwt"]);
        let assertion_algs = strings(&tessera_jose::assertion::ASSERTION_ALGORITHMS);
        ServerMetadata {
            authorization_endpoint: Some(at(&paths.authorize)),
            userinfo_endpoint: Some(at(&paths.userinfo)),
            end_session_endpoint: Some(at(&paths.logout)),
            token_endpoint: at(&paths.token),
            jwks_uri: at(&paths.jwks),
            revocation_endpoint: at(&paths.revoke),
            introspection_endpoint: at(&paths.introspect),
            grant_types_supported: strings(&[
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "implicit",
                tessera_core::device::GRANT_TYPE,
                tessera_core::exchange::GRANT_TYPE,
            ]),
            device_authorization_endpoint: Some(at(&paths.device_authorization)),
            response_types_supported: strings(&["code", "token", "id_token token"]),
            response_modes_supported: strings(&["query", "fragment"]),
            scopes_supported: strings(&tessera_core::scope::BUILT_IN),
            subject_types_supported: strings(&["public"]),
            token_endpoint_auth_methods_supported: strings(&["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]),
            revocation_endpoint_auth_methods_supported: strings(&["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]),
            introspection_endpoint_auth_methods_supported: auth_methods,
            token_endpoint_auth_signing_alg_values_supported: assertion_algs.clone(),
            revocation_endpoint_auth_signing_alg_values_supported: assertion_algs.clone(),
            introspection_endpoint_auth_signing_alg_values_supported: assertion_algs,
            code_challenge_methods_supported: strings(&["S256"]),
            pushed_authorization_request_endpoint: Some(at(&paths.par)),
            registration_endpoint: self.settings.registration_endpoint.then(|| format!("{issuer}/oauth2/register")),
            require_pushed_authorization_requests: self.settings.require_pushed_authorization_requests,
            dpop_signing_alg_values_supported: strings(&tessera_jose::dpop::DPOP_ALGORITHMS),
            id_token_signing_alg_values_supported: strings(&["ES256", "RS256"]),
            access_token_signing_alg_values_supported: vec![self.settings.signing_alg.name().to_owned()],
            claims_supported: strings(&[
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "jti",
                "client_id",
                "scope",
                "org_id",
                "auth_time",
                "nonce",
                "at_hash",
                "azp",
                "email",
                "email_verified",
                "preferred_username",
            ]),
            authorization_response_iss_parameter_supported: true,
            prompt_values_supported: strings(&["none", "login", "consent"]),
            issuer,
        }
    }

    /// Periodic upkeep: scheduled key rotation and purging what has expired.
    pub async fn housekeeping(&self) -> Result<()> {
        let now = self.clock.now();
        self.limiter.prune(now);
        self.address_limiter.prune(now);
        let audit = self.system_audit(AuditAction::KeysRotated, now, serde_json::json!({ "reason": "schedule" }));
        let settings = &self.settings;
        keys::maintain(
            &*self.store,
            &self.secrets,
            settings.signing_alg,
            settings.key_rotation_interval,
            settings.key_retention,
            now,
            &audit,
        )
        .await?;
        // A revocation is kept until its token can no longer pass, leeway included.
        let leeway = i64::from(self.settings.policy.leeway);
        self.store.purge(now - leeway - 3600, now - 86_400).await?;
        self.sync().await
    }

    fn system_audit(&self, action: AuditAction, now: i64, detail: Value) -> AuditEvent {
        AuditEvent { at: now, org_id: None, actor: "system".into(), action, target: None, ip: None, detail }
    }
}

fn read_credentials(request: &EndpointRequest) -> Result<PresentedClient> {
    credentials::extract(request.authorization.as_deref(), &request.params)
        .map_err(|e| ServiceError::OAuth { client_used_basic: e.tried_basic, error: e.error })
}

/// The master key must be the one the store was sealed with. A store that was never sealed is
/// claimed by this key; a store sealed by another key, or a key missing, is a hard error: new
/// keys are never made silently over existing data (X17).
async fn verify_master_key(store: &dyn Store, secrets: &SecretKeys) -> Result<()> {
    let stored = match store.meta(MASTER_KEY_CHECK).await? {
        Some(stored) => stored,
        None => {
            if !store.signing_keys().await?.is_empty() || !store.clients(None).await?.is_empty() {
                return Err(ServiceError::invalid("the store holds sealed data but no master-key check value"));
            }
            store.init_meta(MASTER_KEY_CHECK, secrets.check_value()).await?
        }
    };
    if stored != secrets.check_value() {
        return Err(ServiceError::invalid("the master key does not match this store (wrong TESSERA_MASTER_KEY or master.key file)"));
    }
    Ok(())
}

const SIGNING_ALG_META: &str = "signing_alg";
const KEY_RETENTION_META: &str = "key_retention_seconds";
const DEFAULT_PKCE_META: &str = "default_pkce";

/// The key policy and the default of new clients live in the store: `serve` writes its
/// configuration there, every other process reads it.
async fn settle_store_policy(store: &dyn Store, mut settings: Settings) -> Result<Settings> {
    if settings.owns_key_policy {
        store.set_meta(SIGNING_ALG_META, settings.signing_alg.name()).await?;
        store.set_meta(KEY_RETENTION_META, &settings.key_retention.to_string()).await?;
        store.set_meta(DEFAULT_PKCE_META, settings.default_pkce.as_str()).await?;
    } else {
        if let Some(alg) = store.meta(SIGNING_ALG_META).await?.as_deref().and_then(Algorithm::parse) {
            settings.signing_alg = alg;
        }
        if let Some(retention) = store.meta(KEY_RETENTION_META).await?.and_then(|r| r.parse().ok()) {
            settings.key_retention = retention;
        }
        if let Some(pkce) = store.meta(DEFAULT_PKCE_META).await?.as_deref().and_then(Pkce::parse) {
            settings.default_pkce = pkce;
        }
    }
    Ok(settings)
}

/// What a store says about its master key, read before the key is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// The check value of the master key that claimed the store, if one did.
    pub check: Option<String>,
    /// Whether anything is sealed under that key: signing keys, which the first start of any
    /// process writes before anything else can be (a client secret needs an opened service).
    /// Until then the claim is provisional.
    pub sealed_data: bool,
}

impl Seal {
    /// A store no master key ever claimed and nothing was ever written to: a fresh store, or
    /// one that was lost (deleted, or copied without its `-wal` file).
    pub fn is_blank(&self) -> bool {
        self.check.is_none() && !self.sealed_data
    }
}

/// Reads what the store says about its master key.
pub async fn seal(store: &dyn Store) -> Result<Seal> {
    let check = store.meta(MASTER_KEY_CHECK).await?;
    // Signing keys only, not the clients: every start and every CLI command reads this, and a
    // store may hold a great many clients.
    let sealed_data = !store.signing_keys().await?.is_empty();
    Ok(Seal { check, sealed_data })
}

/// Claims a store that holds nothing sealed for the master key of `secrets`, before that key
/// is written anywhere: records its check value, replacing a provisional one (left by a start
/// that crashed before it wrote its key file). False when another process claimed the fresh
/// store first.
pub async fn claim_store(store: &dyn Store, secrets: &SecretKeys, seal: &Seal) -> Result<bool> {
    if seal.sealed_data {
        return Err(ServiceError::invalid("the store holds data sealed under another master key"));
    }
    let ours = secrets.check_value();
    match seal.check {
        None => Ok(store.init_meta(MASTER_KEY_CHECK, ours).await? == ours),
        Some(_) => {
            store.set_meta(MASTER_KEY_CHECK, ours).await?;
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;

    /// A clock at a set wall millisecond whose monotonic reading the test moves.
    struct Fixed {
        wall_millis: i64,
        monotonic_millis: AtomicI64,
    }

    impl Clock for Fixed {
        fn now(&self) -> i64 {
            self.wall_millis.div_euclid(1000)
        }
        fn now_millis(&self) -> i64 {
            self.wall_millis
        }
        fn monotonic_millis(&self) -> i64 {
            self.monotonic_millis.load(Ordering::SeqCst)
        }
    }

    #[test]
    fn the_lifetime_clock_turns_the_second_with_the_wall_clock() {
        // Opened 1 ms before a whole second: 1 ms later both clocks read the next second (in
        // whole seconds the lifetime clock would stay a second behind for the process's life).
        let clock = Arc::new(Fixed { wall_millis: 1_999, monotonic_millis: AtomicI64::new(50_000) });
        let timeline = Timeline::new(clock.clone());
        assert_eq!(timeline.now(), 1);
        clock.monotonic_millis.store(50_001, Ordering::SeqCst);
        assert_eq!(timeline.now(), 2);
        clock.monotonic_millis.store(50_000 + 86_400_000, Ordering::SeqCst);
        assert_eq!(timeline.now(), 86_401);
    }
}
