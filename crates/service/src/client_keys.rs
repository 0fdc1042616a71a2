//! The public keys of `private_key_jwt` clients that registered a `jwks_uri`: fetched with a
//! timeout and a size limit, never following redirects, cached, and fetched again when they
//! are older than [`FRESH_FOR`] or when an assertion names a `kid` the cached set lacks (the
//! client rotated its key), at most once per [`REFETCH_INTERVAL`] per URI so that assertions
//! with made-up `kid`s cannot make the server hammer the client's host.
//!
//! Unless the operator allows it (`serve --allow-internal-jwks-uri`), a `jwks_uri` whose host is,
//! or resolves to, an internal address is not fetched (`is_internal_address`): whoever may
//! register a client (dynamic registration included) must not be able to make the server send
//! requests into its own network. The check is made on the addresses the connection uses (a
//! resolver that drops internal ones), so a name that resolves differently at registration and
//! at fetch time (DNS rebinding) gains nothing.
//!
//! Inline JWKS are parsed once, when the client is loaded into the cache (`cache.rs`).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tessera_core::assertion::is_internal_address;
use tessera_jose::assertion::{ClientKeySet, MAX_JWKS_LEN};

/// Seconds a fetched key set is used without asking again.
pub const FRESH_FOR: i64 = 300;
/// Seconds between two fetches of one URI, whatever asks for them.
pub const REFETCH_INTERVAL: i64 = 5;
/// The whole fetch, connection included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this many URIs are remembered; past it the cache starts over.
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
struct Entry {
    keys: Option<Arc<ClientKeySet>>,
    fetched_at: i64,
    attempted_at: Option<i64>,
}

/// Key sets fetched from clients' `jwks_uri`s, shared by every request of a node.
pub struct RemoteKeys {
    http: reqwest::Client,
    allow_internal: bool,
    entries: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteKeys").finish_non_exhaustive()
    }
}

impl RemoteKeys {
    /// `allow_internal`: whether hosts on internal addresses may be fetched.
    pub fn new(allow_internal: bool) -> Self {
        Self { http: outbound_client(allow_internal), allow_internal, entries: Mutex::new(HashMap::new()) }
    }

    /// The key set at `uri`: the cached one while fresh (and `refresh` is false), else fetched
    /// if the last attempt is at least [`REFETCH_INTERVAL`] old. A failed fetch keeps what was
    /// cached before.
    pub async fn keys(&self, uri: &str, now: i64, refresh: bool) -> Option<Arc<ClientKeySet>> {
        {
            let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if entries.len() >= MAX_ENTRIES && !entries.contains_key(uri) {
                entries.clear();
            }
            let entry = entries.entry(uri.to_owned()).or_default();
            let fresh = entry.keys.is_some() && now - entry.fetched_at < FRESH_FOR;
            let may_fetch = entry.attempted_at.is_none_or(|at| now - at >= REFETCH_INTERVAL);
            if (fresh && !refresh) || !may_fetch {
                return entry.keys.clone();
            }
            entry.attempted_at = Some(now);
        }
        let fetched = self.fetch(uri).await;
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = entries.entry(uri.to_owned()).or_default();
        match fetched {
            Ok(keys) => {
                entry.keys = Some(Arc::new(keys));
                entry.fetched_at = now;
            }
            Err(reason) => tracing::warn!(%uri, reason, "could not fetch a client's jwks_uri"),
        }
        entry.keys.clone()
    }

    #[tracing::instrument(target = "tessera_spans", name = "fetch.jwks_uri", skip_all, fields(url.full = uri))]
    async fn fetch(&self, uri: &str) -> Result<ClientKeySet, &'static str> {
        let url = reqwest::Url::parse(uri).map_err(|_| "not a URL")?;
        refuse_internal_literal(&url, self.allow_internal)?;
        let response = self
            .http
            .get(uri)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|_| "unreachable, or its host has only internal addresses")?;
        if response.status() != reqwest::StatusCode::OK {
            return Err("status other than 200");
        }
        let body = read_limited(response, MAX_JWKS_LEN).await?;
        let text = String::from_utf8(body).map_err(|_| "not UTF-8")?;
        ClientKeySet::parse(&text).map_err(|_| "not a usable public JWKS")
    }
}

/// The HTTP client of every request the server makes to a host someone else named (a client's
/// `jwks_uri`, an upstream OpenID Provider): a timeout, no redirects followed, and unless
/// `allow_internal`, a resolver that keeps only public addresses.
pub(crate) fn outbound_client(allow_internal: bool) -> reqwest::Client {
    let mut builder = reqwest::Client::builder();
    if !allow_internal {
        builder = builder.dns_resolver(Arc::new(ExternalOnly));
    }
    builder
        .timeout(FETCH_TIMEOUT)
        .connect_timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        // Requests run on the per-connection worker runtimes; a pooled connection would
        // belong to the runtime that opened it, so none is kept.
        .pool_max_idle_per_host(0)
        .user_agent("tessera")
        .build()
        .unwrap_or_default()
}

/// An address literal never reaches the resolver: an internal one is refused here.
pub(crate) fn refuse_internal_literal(url: &reqwest::Url, allow_internal: bool) -> Result<(), &'static str> {
    let literal = url.host_str().and_then(|host| host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok());
    if !allow_internal && literal.is_some_and(is_internal_address) {
        return Err("internal address (serve --allow-internal-jwks-uri)");
    }
    Ok(())
}

/// A response's body, refused past `limit` bytes.
pub(crate) async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, &'static str> {
    if response.content_length().is_some_and(|len| len > limit as u64) {
        return Err("larger than the limit");
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| "read failed")? {
        if body.len() + chunk.len() > limit {
            return Err("larger than the limit");
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A resolver that keeps only the public addresses of a name, so that no connection for a
/// `jwks_uri` goes to an internal one, whatever the name resolves to at that moment.
struct ExternalOnly;

impl reqwest::dns::Resolve for ExternalOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.filter(|address| !is_internal_address(address.ip())).collect();
            if addresses.is_empty() {
                return Err("the host has no public address".into());
            }
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}
