//! `tessera-client` calls an API protected by Tessera, for that API's customers.
//!
//! [`TesseraAuth`] is the authentication as `reqwest-middleware` middleware, to put under a
//! client generated from the API's OpenAPI document (`examples/client` does so with
//! progenitor's). A [`Client`] is the same for hand-written calls by path.
//!
//! Either gets access tokens with the client-credentials grant (or a refresh token, kept
//! rotated, or takes a token the caller has), caches each until shortly before it expires, renews it once and retries when
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

mod auth;
mod error;
mod page;
mod retry;
mod token;

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use auth::{Attempts, AuthBuilder, TesseraAuth};
pub use error::Error;
pub use page::cursor_stream;
pub use retry::RetryPolicy;
pub use token::Grant;

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

/// Configures a [`Client`]; made by [`Client::builder`]. The authentication settings are
/// those of [`AuthBuilder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: String,
    auth: AuthBuilder,
}

impl ClientBuilder {
    /// The issuer: tokens come from `{issuer}/oauth2/token`.
    pub fn issuer(mut self, issuer: &str) -> Self {
        self.auth = self.auth.issuer(issuer);
        self
    }

    /// The token endpoint, when it is not `{issuer}/oauth2/token` (e.g. a profile's alias).
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.auth = self.auth.token_url(url);
        self
    }

    /// Get tokens with the client-credentials grant (HTTP Basic).
    pub fn client_credentials(mut self, client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        self.auth = self.auth.client_credentials(client_id, client_secret);
        self
    }

    /// Client credentials from `{PREFIX}_CLIENT_ID` and `{PREFIX}_CLIENT_SECRET`.
    pub fn client_credentials_from_env(mut self, prefix: &str) -> Result<Self, Error> {
        self.auth = self.auth.client_credentials_from_env(prefix)?;
        Ok(self)
    }

    /// Get tokens with a refresh token (which rotates on every use; the client keeps the
    /// newest). `client_secret` is `None` for a public client.
    pub fn refresh_token(mut self, client_id: impl Into<String>, client_secret: Option<String>, refresh_token: impl Into<String>) -> Self {
        self.auth = self.auth.refresh_token(client_id, client_secret, refresh_token);
        self
    }

    /// Send a token the caller already has, as it is or with its `Bearer ` prefix; it is never
    /// renewed.
    pub fn bearer_token(mut self, token: &str) -> Result<Self, Error> {
        self.auth = self.auth.bearer_token(token)?;
        Ok(self)
    }

    /// The scope to ask for (default: everything the client is registered for).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.auth = self.auth.scope(scope);
        self
    }

    /// The timeout of each HTTP request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.auth = self.auth.timeout(timeout);
        self
    }

    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.auth = self.auth.retry(retry);
        self
    }

    /// How long before its expiry a cached token is replaced (default 30 s, at most half the
    /// token's lifetime).
    pub fn renew_margin(mut self, margin: Duration) -> Self {
        self.auth = self.auth.renew_margin(margin);
        self
    }

    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.auth = self.auth.user_agent(user_agent);
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        let base_url = reqwest::Url::parse(self.base_url.trim_end_matches('/'))
            .map_err(|e| Error::Config(format!("the base URL {:?} is not a URL: {e}", self.base_url)))?;
        check_scheme(&base_url)?;
        let timeout = self.auth.timeout;
        let plain = self.auth.http()?;
        let auth = self.auth.build()?;
        let http = reqwest_middleware::ClientBuilder::new(plain).with(auth.clone()).build();
        Ok(Client { inner: std::sync::Arc::new(Inner { http, base_url, auth, timeout }) })
    }
}

/// An http(s) URL this build can reach.
pub(crate) fn check_scheme(url: &reqwest::Url) -> Result<(), Error> {
    if url.scheme() == "https" && !cfg!(feature = "rustls") {
        return Err(Error::Config(format!("{url} uses https, but tessera-client was built without its `rustls` feature")));
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Config(format!("{url} is not an http(s) URL")));
    }
    Ok(())
}

struct Inner {
    http: reqwest_middleware::ClientWithMiddleware,
    base_url: reqwest::Url,
    auth: TesseraAuth,
    timeout: Duration,
}

/// A client of one protected API; cheap to clone (shared token cache and connections). Its
/// requests go through [`TesseraAuth`]; for a client generated from the API's OpenAPI
/// document, use that middleware under it instead (`examples/client`).
#[derive(Clone)]
pub struct Client {
    inner: std::sync::Arc<Inner>,
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
        ClientBuilder { base_url: base_url.into(), auth: AuthBuilder::default() }
    }

    /// What the client did so far.
    pub fn stats(&self) -> Stats {
        self.inner.auth.stats()
    }

    /// The client's authentication (its tokens and counters).
    pub fn auth(&self) -> &TesseraAuth {
        &self.inner.auth
    }

    /// A valid access token: the cached one, or a new one.
    pub async fn access_token(&self) -> Result<String, Error> {
        self.inner.auth.access_token().await
    }

    /// The URL of `path_and_query` under the base URL.
    pub fn url(&self, path_and_query: &str) -> Result<reqwest::Url, Error> {
        let base = self.inner.base_url.as_str().trim_end_matches('/');
        let path = path_and_query.trim_start_matches('/');
        reqwest::Url::parse(&format!("{base}/{path}")).map_err(|e| Error::Config(format!("bad path {path_and_query:?}: {e}")))
    }

    /// Sends one API request through [`TesseraAuth`] (a bearer token, renewed once on a 401;
    /// retries per the [`RetryPolicy`]). Any answer other than 2xx is an [`Error::Api`].
    pub async fn send(&self, method: Method, url: reqwest::Url, body: Option<&serde_json::Value>) -> Result<Response, Error> {
        let inner = &*self.inner;
        let mut request = inner.http.request(method, url.clone());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| Error::from_middleware_within(e, inner.timeout))?;
        let status = response.status();
        let attempts = response.extensions().get::<Attempts>().map_or(1, |a| a.0);
        if !status.is_success() {
            return Err(Error::from_response(response, attempts).await);
        }
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| network_error(&url, &e, inner.timeout))?.to_vec();
        Ok(Response { status: status.as_u16(), headers, body })
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

pub(crate) fn network_error(url: impl ToString, e: &reqwest::Error, timeout: Duration) -> Error {
    let url = url.to_string();
    if e.is_timeout() { Error::Timeout { url, after: timeout } } else { Error::Network { url, detail: error_chain(e) } }
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
