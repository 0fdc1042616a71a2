//! Tessera's authentication as `reqwest-middleware` middleware: under any generated API client
//! that sends through a `reqwest_middleware::ClientWithMiddleware` (or, like progenitor's, lets a
//! hook do the sending: `examples/client`), and under this crate's own [`Client`](crate::Client).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Method, Request, Response, StatusCode};
use reqwest_middleware::{Middleware, Next};

use crate::error::Error;
use crate::retry::{self, RetryPolicy};
use crate::token::{Grant, TokenSource};
use crate::{Counters, Stats};

/// How many times a response's request was sent, in the response's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts(pub u32);

/// Configures a [`TesseraAuth`]; made by [`TesseraAuth::builder`].
#[derive(Debug, Clone)]
pub struct AuthBuilder {
    pub(crate) token_url: Option<String>,
    pub(crate) grant: Option<Grant>,
    pub(crate) scope: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) renew_margin: Duration,
    pub(crate) user_agent: String,
}

impl Default for AuthBuilder {
    fn default() -> Self {
        Self {
            token_url: None,
            grant: None,
            scope: None,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            renew_margin: Duration::from_secs(30),
            user_agent: concat!("tessera-client/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl AuthBuilder {
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
    /// newest, [`TesseraAuth::refresh_token`]). `client_secret` is `None` for a public client.
    pub fn refresh_token(mut self, client_id: impl Into<String>, client_secret: Option<String>, refresh_token: impl Into<String>) -> Self {
        self.grant = Some(Grant::RefreshToken { client_id: client_id.into(), client_secret, refresh_token: refresh_token.into() });
        self
    }

    /// Send a token the caller already has, as it is or with its `Bearer ` prefix. It is never
    /// renewed: once the API refuses it, the refusal is the answer.
    pub fn bearer_token(mut self, token: &str) -> Result<Self, Error> {
        self.grant = Some(Grant::bearer(token)?);
        Ok(self)
    }

    /// The scope to ask for (default: everything the client is registered for).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The timeout of each request to the token endpoint, and of each API request of a
    /// [`Client`](crate::Client) (default 30 s).
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

    /// A client for the token endpoint and for plain API requests: a timeout, no redirects (a
    /// token must not travel elsewhere).
    pub(crate) fn http(&self) -> Result<reqwest::Client, Error> {
        reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(self.user_agent.clone())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
    }

    pub fn build(self) -> Result<TesseraAuth, Error> {
        let grant = self.grant.clone().ok_or_else(|| Error::Config("no credentials were given".into()))?;
        // A given token needs no token endpoint.
        let token_url = match (&self.token_url, &grant) {
            (Some(url), _) => {
                let url = reqwest::Url::parse(url).map_err(|e| Error::Config(format!("the token URL {url:?} is not a URL: {e}")))?;
                crate::check_scheme(&url)?;
                Some(url)
            }
            (None, Grant::Bearer(_)) => None,
            (None, _) => return Err(Error::Config("no issuer or token URL was given".into())),
        };
        let counters = Arc::new(Counters::default());
        let tokens = TokenSource::new(self.http()?, token_url, grant, self.scope, self.renew_margin, self.retry.clone(), counters.clone());
        Ok(TesseraAuth { inner: Arc::new(AuthInner { tokens, retry: self.retry, counters }) })
    }
}

struct AuthInner {
    tokens: TokenSource,
    retry: RetryPolicy,
    counters: Arc<Counters>,
}

/// Tessera's authentication of API requests; cheap to clone (one token cache).
///
/// Every request gets a valid bearer token (cached until shortly before it expires), is sent
/// once more with a fresh token after a 401 (it may have been revoked), and again after 429,
/// 5xx and connection failures, with exponential backoff and jitter or what `Retry-After` says.
/// A timeout is retried only for idempotent methods (the API may have acted). The last
/// response comes back whatever its status, with its [`Attempts`] in its extensions; a failure
/// of the token endpoint is a `reqwest_middleware::Error::Middleware` holding an [`Error`]
/// ([`Error::from_middleware`] takes it out).
///
/// ```no_run
/// # async fn run() -> Result<(), tessera_client::Error> {
/// let auth = tessera_client::TesseraAuth::builder().issuer("https://id.example.com").client_credentials("id", "secret").build()?;
/// let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).with(auth).build();
/// let projects = http.get("https://api.example.com/projects").send().await.map_err(tessera_client::Error::from_middleware)?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TesseraAuth {
    inner: Arc<AuthInner>,
}

impl std::fmt::Debug for TesseraAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TesseraAuth").finish_non_exhaustive()
    }
}

impl TesseraAuth {
    pub fn builder() -> AuthBuilder {
        AuthBuilder::default()
    }

    /// A valid access token: the cached one, or a new one.
    pub async fn access_token(&self) -> Result<String, Error> {
        self.inner.tokens.token().await
    }

    /// The access token held now, if any, without fetching one.
    pub async fn current_token(&self) -> Option<String> {
        self.inner.tokens.current().await
    }

    /// The newest refresh token, when authenticating with one: store it to resume later.
    pub async fn refresh_token(&self) -> Option<String> {
        self.inner.tokens.refresh_token().await
    }

    /// What was done so far.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            tokens_fetched: c.tokens_fetched.load(Ordering::Relaxed),
            renewals_after_401: c.renewals_after_401.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
        }
    }

    /// `request` through this middleware alone, on `http`: for generated clients that take a
    /// hook rather than a `ClientWithMiddleware`.
    pub async fn execute(&self, http: &reqwest::Client, request: Request) -> reqwest_middleware::Result<Response> {
        reqwest_middleware::ClientBuilder::new(http.clone()).with(self.clone()).build().execute(request).await
    }

    async fn send(&self, request: Request, extensions: &mut http::Extensions, next: Next<'_>) -> reqwest_middleware::Result<Response> {
        let inner = &*self.inner;
        let idempotent = request.method() != Method::POST && request.method() != Method::PATCH;
        let mut renewed = false;
        let mut attempt: u32 = 0;
        loop {
            let token = inner.tokens.token().await.map_err(Error::into_middleware)?;
            let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| Error::Decode("the access token is not a valid header value".into()).into_middleware())?;
            // A streamed body cannot be sent twice: such a request goes once.
            let Some(mut sent) = request.try_clone() else {
                let mut request = request;
                request.headers_mut().insert(AUTHORIZATION, bearer);
                return next.run(request, extensions).await;
            };
            sent.headers_mut().insert(AUTHORIZATION, bearer);
            let outcome = next.clone().run(sent, extensions).await;
            let delay = match outcome {
                Ok(mut response) => {
                    let status = response.status();
                    if status == StatusCode::UNAUTHORIZED && !renewed && inner.tokens.discard(&token).await {
                        renewed = true;
                        inner.counters.renewals_after_401.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let retryable = matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504);
                    let delay = if retryable && attempt < inner.retry.max_retries {
                        inner.retry.delay(attempt, retry::retry_after(response.headers()))
                    } else {
                        None
                    };
                    let Some(delay) = delay else {
                        response.extensions_mut().insert(Attempts(attempt + 1));
                        return Ok(response);
                    };
                    delay
                }
                Err(reqwest_middleware::Error::Reqwest(e)) => {
                    // A request that never left (connect failure) is safe to send again; a
                    // timeout only for idempotent methods.
                    let safe = e.is_connect() || (idempotent && e.is_timeout());
                    if !safe || attempt >= inner.retry.max_retries {
                        return Err(reqwest_middleware::Error::Reqwest(e));
                    }
                    inner.retry.delay(attempt, None).unwrap_or_default()
                }
                Err(other) => return Err(other),
            };
            attempt += 1;
            inner.counters.retries.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(?delay, attempt, url = %request.url(), "retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

#[async_trait::async_trait]
impl Middleware for TesseraAuth {
    async fn handle(&self, request: Request, extensions: &mut http::Extensions, next: Next<'_>) -> reqwest_middleware::Result<Response> {
        self.send(request, extensions, next).await
    }
}
