//! `tessera-client` calls an API protected by Tessera, for that API's customers.
//!
//! A [`Client`] gets access tokens with the client-credentials grant (or a refresh token,
//! kept rotated), caches each until shortly before it expires, renews it once and retries when
//! the API answers 401, retries 429 and 5xx answers with exponential backoff and jitter (waiting
//! what `Retry-After` says when the API says it), gives every request a timeout, follows cursor
//! and `Link`-header pagination as a stream, and returns typed [`Error`]s that say what went
//! wrong.
//!
//! ```no_run
//! # async fn run() -> Result<(), tessera_client::Error> {
//! use futures_util::StreamExt;
//! use serde_json::Value;
//!
//! let client = tessera_client::Client::builder("https://api.example.com")
//!     .issuer("https://id.example.com")
//!     .client_credentials("my-client-id", "my-client-secret")
//!     .build()?;
//! let check: Value = client.put_json("/deployments/293/checks/wall-e", &serde_json::json!({"state": "DONE"})).await?;
//! let mut projects = std::pin::pin!(client.paginate::<Value>("/projects"));
//! while let Some(project) = projects.next().await {
//!     println!("{}", project?);
//! }
//! # Ok(()) }
//! ```

mod error;
mod page;
mod retry;
mod token;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use error::Error;
pub use retry::RetryPolicy;
pub use token::Grant;

use crate::token::TokenSource;

/// Counters of what the client did, for programs that want to watch it (and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Tokens obtained from the token endpoint.
    pub tokens_fetched: u64,
    /// Requests repeated with a fresh token after a 401.
    pub renewals_after_401: u64,
    /// Requests repeated after a 429, a 5xx or a connection failure.
    pub retries: u64,
}

#[derive(Debug, Default)]
struct Counters {
    tokens_fetched: AtomicU64,
    renewals_after_401: AtomicU64,
    retries: AtomicU64,
}

/// Configures a [`Client`]; made by [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: String,
    token_url: Option<String>,
    grant: Option<Grant>,
    scope: Option<String>,
    timeout: Duration,
    retry: RetryPolicy,
    renew_margin: Duration,
    user_agent: String,
}

impl ClientBuilder {
    /// The issuer: tokens come from `{issuer}/oauth2/token`.
    pub fn issuer(mut self, issuer: &str) -> Self {
        self.token_url = Some(format!("{}/oauth2/token", issuer.trim_end_matches('/')));
        self
    }

    /// The token endpoint, when it is not `{issuer}/oauth2/token` (e.g. a profile's alias).
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// Get tokens with the client-credentials grant (HTTP Basic).
    pub fn client_credentials(mut self, client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        self.grant = Some(Grant::ClientCredentials { client_id: client_id.into(), client_secret: client_secret.into() });
        self
    }

    /// Client credentials from `{PREFIX}_CLIENT_ID` and `{PREFIX}_CLIENT_SECRET`.
    pub fn client_credentials_from_env(self, prefix: &str) -> Result<Self, Error> {
        let var = |name: String| std::env::var(&name).map_err(|_| Error::Config(format!("{name} is not set")));
        let id = var(format!("{prefix}_CLIENT_ID"))?;
        let secret = var(format!("{prefix}_CLIENT_SECRET"))?;
        Ok(self.client_credentials(id, secret))
    }

    /// Get tokens with a refresh token (which rotates on every use; the client keeps the
    /// newest). `client_secret` is `None` for a public client.
    pub fn refresh_token(mut self, client_id: impl Into<String>, client_secret: Option<String>, refresh_token: impl Into<String>) -> Self {
        self.grant = Some(Grant::RefreshToken { client_id: client_id.into(), client_secret, refresh_token: refresh_token.into() });
        self
    }

    /// The scope to ask for (default: everything the client is registered for).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The timeout of each HTTP request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// How long before its expiry a cached token is replaced (default 30 s, at most half the
    /// token's lifetime).
    pub fn renew_margin(mut self, margin: Duration) -> Self {
        self.renew_margin = margin;
        self
    }

    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        let base_url = reqwest::Url::parse(self.base_url.trim_end_matches('/'))
            .map_err(|e| Error::Config(format!("the base URL {:?} is not a URL: {e}", self.base_url)))?;
        let token_url = self.token_url.ok_or_else(|| Error::Config("no issuer or token URL was given".into()))?;
        let token_url =
            reqwest::Url::parse(&token_url).map_err(|e| Error::Config(format!("the token URL {token_url:?} is not a URL: {e}")))?;
        for url in [&base_url, &token_url] {
            if url.scheme() == "https" && !cfg!(feature = "rustls") {
                return Err(Error::Config(format!("{url} uses https, but tessera-client was built without its `rustls` feature")));
            }
            if !matches!(url.scheme(), "http" | "https") {
                return Err(Error::Config(format!("{url} is not an http(s) URL")));
            }
        }
        let grant = self.grant.ok_or_else(|| Error::Config("no credentials were given".into()))?;
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(self.user_agent)
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let counters = Arc::new(Counters::default());
        let tokens = TokenSource::new(http.clone(), token_url, grant, self.scope, self.renew_margin, self.retry.clone(), counters.clone());
        Ok(Client { inner: Arc::new(Inner { http, base_url, tokens, retry: self.retry, timeout: self.timeout, counters }) })
    }
}

struct Inner {
    http: reqwest::Client,
    base_url: reqwest::Url,
    tokens: TokenSource,
    retry: RetryPolicy,
    timeout: Duration,
    counters: Arc<Counters>,
}

/// A client of one protected API; cheap to clone (shared token cache and connections).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base_url", &self.inner.base_url.as_str()).finish_non_exhaustive()
    }
}

/// A successful answer: its status, headers and body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Decode(e.to_string()))
    }
}

impl Client {
    /// Starts configuring a client of the API at `base_url`.
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            token_url: None,
            grant: None,
            scope: None,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            renew_margin: Duration::from_secs(30),
            user_agent: concat!("tessera-client/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// What the client did so far.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            tokens_fetched: c.tokens_fetched.load(Ordering::Relaxed),
            renewals_after_401: c.renewals_after_401.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
        }
    }

    /// A valid access token: the cached one, or a new one.
    pub async fn access_token(&self) -> Result<String, Error> {
        self.inner.tokens.token().await
    }

    /// The URL of `path_and_query` under the base URL.
    pub fn url(&self, path_and_query: &str) -> Result<reqwest::Url, Error> {
        let base = self.inner.base_url.as_str().trim_end_matches('/');
        let path = path_and_query.trim_start_matches('/');
        reqwest::Url::parse(&format!("{base}/{path}")).map_err(|e| Error::Config(format!("bad path {path_and_query:?}: {e}")))
    }

    /// Sends one API request with the bearer token, renewing the token once on a 401 and
    /// retrying per the [`RetryPolicy`]. Any answer other than 2xx is an [`Error::Api`].
    pub async fn send(&self, method: Method, url: reqwest::Url, body: Option<&serde_json::Value>) -> Result<Response, Error> {
        let inner = &*self.inner;
        let idempotent = method != Method::POST && method != Method::PATCH;
        let mut renewed = false;
        let mut attempt: u32 = 0;
        loop {
            let token = inner.tokens.token().await?;
            let mut request = inner.http.request(method.clone(), url.clone()).bearer_auth(&token);
            if let Some(body) = body {
                request = request.json(body);
            }
            let outcome = request.send().await;
            let delay = match outcome {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        let headers = response.headers().clone();
                        let body = response.bytes().await.map_err(|e| network_error(&url, &e, inner.timeout))?.to_vec();
                        return Ok(Response { status: status.as_u16(), headers, body });
                    }
                    if status == StatusCode::UNAUTHORIZED && !renewed {
                        // The token may have been revoked or expired early: one fresh token.
                        renewed = true;
                        inner.tokens.discard(&token).await;
                        inner.counters.renewals_after_401.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let retryable = matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504);
                    let retry_after = retry::retry_after(response.headers());
                    let error = Error::from_response(response, attempt + 1).await;
                    if !retryable || attempt >= inner.retry.max_retries {
                        return Err(error);
                    }
                    match inner.retry.delay(attempt, retry_after) {
                        Some(delay) => delay,
                        None => return Err(error),
                    }
                }
                Err(e) => {
                    // A request that never left (connect failure) is safe to send again; a
                    // timeout only for idempotent methods.
                    let safe = e.is_connect() || (idempotent && e.is_timeout());
                    if !safe || attempt >= inner.retry.max_retries {
                        return Err(network_error(&url, &e, inner.timeout));
                    }
                    inner.retry.delay(attempt, None).unwrap_or_default()
                }
            };
            attempt += 1;
            inner.counters.retries.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(?delay, attempt, %url, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// `GET path`, the body as JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.send(Method::GET, self.url(path)?, None).await?.json()
    }

    /// `PUT path` with a JSON body, the answer as JSON.
    pub async fn put_json<B: Serialize + ?Sized, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, Error> {
        let body = serde_json::to_value(body).map_err(|e| Error::Config(format!("cannot encode the request body: {e}")))?;
        self.send(Method::PUT, self.url(path)?, Some(&body)).await?.json()
    }

    /// `POST path` with a JSON body, the answer as JSON.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, Error> {
        let body = serde_json::to_value(body).map_err(|e| Error::Config(format!("cannot encode the request body: {e}")))?;
        self.send(Method::POST, self.url(path)?, Some(&body)).await?.json()
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Result<(), Error> {
        self.send(Method::DELETE, self.url(path)?, None).await.map(drop)
    }

    /// Every item of a paginated collection, page after page, as a stream. Follows a `Link:
    /// <…>; rel="next"` header (same origin only: the token must not travel elsewhere) or a
    /// `next_cursor` member of the body (sent back as `?cursor=`); items are the body's `items`
    /// member, or the body itself when it is an array.
    pub fn paginate<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
    ) -> impl futures_util::Stream<Item = Result<T, Error>> + Send + use<T> {
        page::paginate(self.clone(), path.to_owned())
    }

    /// Every item of a paginated collection, collected.
    pub async fn all<T: DeserializeOwned + Send + 'static>(&self, path: &str) -> Result<Vec<T>, Error> {
        use futures_util::TryStreamExt;
        self.paginate(path).try_collect().await
    }
}

fn network_error(url: &reqwest::Url, e: &reqwest::Error, timeout: Duration) -> Error {
    if e.is_timeout() {
        Error::Timeout { url: url.to_string(), after: timeout }
    } else {
        Error::Network { url: url.to_string(), detail: error_chain(e) }
    }
}

/// An error with its sources, for messages that say what actually failed.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
