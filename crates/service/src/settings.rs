//! What configuration and profiles set, and the choices a store keeps once made (the signing
//! algorithm, key retention, the PKCE default) so every node decides alike.

use serde_json::{Map, Value};
use tessera_core::authorize::ResponseType;
use tessera_core::model::{ClientStatus, GrantType, Pkce};
use tessera_core::token::TokenPolicy;
use tessera_store::Store;

use crate::{Algorithm, Result};

/// Behaviour that configuration and profiles set.
#[derive(Debug, Clone)]
pub struct Settings {
    pub policy: TokenPolicy,
    /// The company's API (`serve --api-base-url`), for the token generator's example call.
    pub api_base_url: Option<String>,
    /// The name mail is signed with (`serve --brand-name`); empty: "Tessera".
    pub brand_name: String,
    pub signing_alg: Algorithm,
    /// Seconds a key signs before it is rotated out.
    pub key_rotation_interval: i64,
    /// Seconds a retired key stays published: the longest token lifetime plus the leeway.
    pub key_retention: i64,
    /// Whether this process sets the store's key policy (algorithm, retention) and the defaults
    /// of new clients (`default_pkce`, `new_client_status`): `serve` does; a CLI command follows what the store says,
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
    /// The status of a new client made by a person (CLI, portal, admin API): ON, or OFF under the
    /// BlueConic profile, whose seed has the owner turn an application ON when ready.
    pub new_client_status: ClientStatus,
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
    /// How many revoked token ids and grant ids the node keeps in memory, so introspection asks
    /// the store nothing (SPEC §17); past it, each check asks the store until they fit again.
    pub revocation_memory: usize,
    /// How many clients, users and scope catalogues the node keeps in memory together, and how
    /// many bytes they may take (estimated); past either, the least used go (SPEC §17).
    pub cache_entries: usize,
    pub cache_memory: usize,
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
    /// Outgoing mail (`--smtp-url`, `--mail-from`); `None`: email is off.
    pub mail: Option<crate::mail::MailSettings>,
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
pub(crate) const CANONICAL_TOKEN_PATH: &str = "/oauth2/token";

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

const SIGNING_ALG_META: &str = "signing_alg";

const KEY_RETENTION_META: &str = "key_retention_seconds";

const DEFAULT_PKCE_META: &str = "default_pkce";

const NEW_CLIENT_STATUS_META: &str = "new_client_status";

/// The key policy and the default of new clients live in the store: `serve` writes its
/// configuration there, every other process reads it.
pub(crate) async fn settle_store_policy(store: &dyn Store, mut settings: Settings) -> Result<Settings> {
    if settings.owns_key_policy {
        store.set_meta(SIGNING_ALG_META, settings.signing_alg.name()).await?;
        store.set_meta(KEY_RETENTION_META, &settings.key_retention.to_string()).await?;
        store.set_meta(DEFAULT_PKCE_META, settings.default_pkce.as_str()).await?;
        store.set_meta(NEW_CLIENT_STATUS_META, settings.new_client_status.as_str()).await?;
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
        if let Some(status) = store.meta(NEW_CLIENT_STATUS_META).await?.as_deref().and_then(ClientStatus::parse) {
            settings.new_client_status = status;
        }
    }
    Ok(settings)
}
