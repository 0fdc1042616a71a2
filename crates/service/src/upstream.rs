//! Requests to an organization's upstream OpenID Provider (SPEC §15): its discovery document, its
//! JWKS and its token endpoint. `openidconnect` speaks the protocol; it sends its requests through
//! [`UpstreamHttp`], which follows the rules of `jwks_uri` fetches (`client_keys`): no internal
//! address unless `serve --allow-internal-jwks-uri` (checked on the addresses the connection
//! uses), a timeout, no redirects, a size limit. A provider's metadata, its keys included, is
//! cached for [`FRESH_FOR`] seconds and fetched again sooner when an ID token names a key the
//! cached set lacks, at most once per [`REFETCH_INTERVAL`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use openidconnect::core::CoreProviderMetadata;
use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse, IssuerUrl};

use crate::client_keys::{outbound_client, read_limited, refuse_internal_literal};

/// Seconds a provider's metadata and keys are used without asking again.
pub const FRESH_FOR: i64 = 300;
/// Seconds between two forced fetches of one provider's metadata.
pub const REFETCH_INTERVAL: i64 = 5;
/// The largest answer taken from a provider (discovery documents of large providers are ~10 KiB).
const MAX_ANSWER: usize = 256 * 1024;
/// At most this many issuers are remembered; past it the cache starts over.
const MAX_ENTRIES: usize = 1_000;

/// Why a request to the upstream failed; for the log and the audit, never with a secret.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UpstreamError(&'static str);

/// The HTTP client `openidconnect` uses: ours, with the outbound rules.
pub struct UpstreamHttp {
    http: reqwest::Client,
    allow_internal: bool,
}

impl<'c> AsyncHttpClient<'c> for UpstreamHttp {
    type Error = UpstreamError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, UpstreamError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        // A span for traces: where to, never the query or the body (a code, the client secret).
        let span = tracing::info_span!(
            target: crate::TRACE_SPANS,
            "fetch.upstream",
            http.request.method = %request.method(),
            server.address = request.uri().host().unwrap_or_default(),
            url.path = request.uri().path(),
        );
        Box::pin(tracing::Instrument::instrument(
            async move {
                let (parts, body) = request.into_parts();
                let url = reqwest::Url::parse(&parts.uri.to_string()).map_err(|_| UpstreamError("not a URL"))?;
                // Whatever the discovery document names (token endpoint, keys) follows the issuer's
                // rule: https, or http on a loopback host only (a code and the client secret travel).
                tessera_core::client::validate_jwks_uri(url.as_str()).map_err(|_| UpstreamError("not an https URL"))?;
                refuse_internal_literal(&url, self.allow_internal).map_err(UpstreamError)?;
                let mut outgoing = self.http.request(parts.method, url).body(body);
                for (name, value) in &parts.headers {
                    outgoing = outgoing.header(name, value);
                }
                let response = outgoing.send().await.map_err(|_| UpstreamError("unreachable, or its host has only internal addresses"))?;
                let status = response.status();
                let headers = response.headers().clone();
                let body = read_limited(response, MAX_ANSWER).await.map_err(UpstreamError)?;
                let mut answer = HttpResponse::new(body);
                *answer.status_mut() = status;
                *answer.headers_mut() = headers;
                Ok(answer)
            },
            span,
        ))
    }
}

#[derive(Default)]
struct Entry {
    metadata: Option<Arc<CoreProviderMetadata>>,
    fetched_at: i64,
    attempted_at: Option<i64>,
}

/// The upstream providers' metadata, shared by every request of a node.
pub struct Upstreams {
    http: UpstreamHttp,
    entries: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstreams").finish_non_exhaustive()
    }
}

impl Upstreams {
    pub fn new(allow_internal: bool) -> Self {
        Upstreams { http: UpstreamHttp { http: outbound_client(allow_internal), allow_internal }, entries: Mutex::new(HashMap::new()) }
    }

    pub fn http(&self) -> &UpstreamHttp {
        &self.http
    }

    /// `issuer`'s metadata and keys: the cached ones while fresh (and `refresh` is false), else
    /// fetched through discovery when the last attempt is at least [`REFETCH_INTERVAL`] old. A
    /// failed fetch keeps what was cached; with nothing cached, the reason.
    pub async fn metadata(&self, issuer: &str, now: i64, refresh: bool) -> Result<Arc<CoreProviderMetadata>, String> {
        {
            let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if entries.len() >= MAX_ENTRIES && !entries.contains_key(issuer) {
                entries.clear();
            }
            let entry = entries.entry(issuer.to_owned()).or_default();
            let fresh = entry.metadata.is_some() && now - entry.fetched_at < FRESH_FOR;
            let may_fetch = entry.attempted_at.is_none_or(|at| now - at >= REFETCH_INTERVAL);
            if let Some(metadata) = entry.metadata.clone().filter(|_| (fresh && !refresh) || !may_fetch) {
                return Ok(metadata);
            }
            // Nothing cached and tried a moment ago: no new fetch (a flood of sign-in starts must
            // not become a flood of requests to the provider's host).
            if !may_fetch {
                return Err("the provider could not be reached a moment ago".to_owned());
            }
            entry.attempted_at = Some(now);
        }
        let fetched = match IssuerUrl::new(issuer.to_owned()) {
            Ok(url) => CoreProviderMetadata::discover_async(url, &self.http).await.map_err(|e| discovery_failure(&e)),
            Err(_) => Err("the issuer is not a URL".to_owned()),
        };
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = entries.entry(issuer.to_owned()).or_default();
        match fetched {
            Ok(metadata) => {
                let metadata = Arc::new(metadata);
                entry.metadata = Some(metadata.clone());
                entry.fetched_at = now;
                Ok(metadata)
            }
            Err(reason) => {
                tracing::warn!(%issuer, %reason, "could not fetch an identity provider's discovery document or keys");
                entry.metadata.clone().ok_or(reason)
            }
        }
    }
}

/// What went wrong in discovery, in a line: the cause chain without any answer body.
fn discovery_failure(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(300).collect()
}
