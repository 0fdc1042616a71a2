//! Access tokens: obtained from the token endpoint, cached until shortly before they expire,
//! one fetch at a time however many requests wait for it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::error::Error;
use crate::retry::{self, RetryPolicy};
use crate::{Counters, network_error};

/// How the client gets its tokens.
#[derive(Clone)]
pub enum Grant {
    /// RFC 6749 §4.4, with the credentials in HTTP Basic.
    ClientCredentials { client_id: String, client_secret: String },
    /// RFC 6749 §6; the refresh token rotates on each use.
    RefreshToken { client_id: String, client_secret: Option<String>, refresh_token: String },
    /// A token the caller already has (without its `Bearer ` prefix); it cannot be renewed.
    Bearer(String),
}

impl Grant {
    /// A token the caller has, as it is or with its `Bearer ` prefix (RFC 6750 §2.1).
    pub fn bearer(token: &str) -> Result<Grant, Error> {
        let text = token.trim();
        let bare = match text.get(..6) {
            Some(prefix) if prefix.eq_ignore_ascii_case("bearer") && text[6..].chars().next().is_none_or(char::is_whitespace) => {
                text[6..].trim_start()
            }
            _ => text,
        };
        // b64token: what a bearer token may hold; anything else is a paste gone wrong.
        let b64token = |c: char| c.is_ascii_alphanumeric() || "-._~+/".contains(c);
        let body = bare.trim_end_matches('=');
        if body.is_empty() || !body.chars().all(b64token) {
            return Err(Error::Config("the given token is empty or is not a bearer token".into()));
        }
        Ok(Grant::Bearer(bare.to_owned()))
    }
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Grant::ClientCredentials { client_id, .. } => {
                f.debug_struct("ClientCredentials").field("client_id", client_id).finish_non_exhaustive()
            }
            Grant::RefreshToken { client_id, .. } => f.debug_struct("RefreshToken").field("client_id", client_id).finish_non_exhaustive(),
            Grant::Bearer(_) => f.debug_struct("Bearer").finish_non_exhaustive(),
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

struct Cached {
    token: String,
    renew_at: Instant,
}

struct State {
    grant: Grant,
    cached: Option<Cached>,
}

pub(crate) struct TokenSource {
    http: reqwest::Client,
    /// None only for a given token, which is never renewed.
    url: Option<reqwest::Url>,
    scope: Option<String>,
    margin: Duration,
    retry: RetryPolicy,
    counters: Arc<Counters>,
    /// Held across a fetch, so concurrent callers wait for the one fetch in flight.
    state: tokio::sync::Mutex<State>,
}

impl TokenSource {
    pub(crate) fn new(
        http: reqwest::Client,
        url: Option<reqwest::Url>,
        grant: Grant,
        scope: Option<String>,
        margin: Duration,
        retry: RetryPolicy,
        counters: Arc<Counters>,
    ) -> Self {
        Self { http, url, scope, margin, retry, counters, state: tokio::sync::Mutex::new(State { grant, cached: None }) }
    }

    /// The cached token while it is fresh, else a new one.
    pub(crate) async fn token(&self) -> Result<String, Error> {
        let mut state = self.state.lock().await;
        if let Grant::Bearer(token) = &state.grant {
            return Ok(token.clone());
        }
        if let Some(cached) = &state.cached
            && Instant::now() < cached.renew_at
        {
            return Ok(cached.token.clone());
        }
        state.cached = None;
        let fetched = self.fetch(&mut state.grant).await?;
        let token = fetched.token.clone();
        state.cached = Some(fetched);
        Ok(token)
    }

    /// The token held now, if any, without fetching one.
    pub(crate) async fn current(&self) -> Option<String> {
        let state = self.state.lock().await;
        match &state.grant {
            Grant::Bearer(token) => Some(token.clone()),
            _ => state.cached.as_ref().map(|c| c.token.clone()),
        }
    }

    /// The newest refresh token, for the refresh grant (it rotates on every use).
    pub(crate) async fn refresh_token(&self) -> Option<String> {
        match &self.state.lock().await.grant {
            Grant::RefreshToken { refresh_token, .. } => Some(refresh_token.clone()),
            _ => None,
        }
    }

    /// The API refused `token`: forgets it if it is still the cached one. False when no other
    /// token can be had (a given one).
    pub(crate) async fn discard(&self, token: &str) -> bool {
        let mut state = self.state.lock().await;
        if state.cached.as_ref().is_some_and(|c| c.token == token) {
            state.cached = None;
        }
        !matches!(state.grant, Grant::Bearer(_))
    }

    async fn fetch(&self, grant: &mut Grant) -> Result<Cached, Error> {
        let Some(url) = &self.url else { return Err(Error::Config("a given token cannot be renewed".into())) };
        let mut attempt = 0;
        loop {
            let mut form: Vec<(&str, &str)> = Vec::with_capacity(4);
            let mut request = self.http.post(url.clone());
            match &*grant {
                Grant::ClientCredentials { client_id, client_secret } => {
                    form.push(("grant_type", "client_credentials"));
                    request = request.basic_auth(client_id, Some(client_secret));
                }
                Grant::Bearer(_) => return Err(Error::Config("a given token cannot be renewed".into())),
                Grant::RefreshToken { client_id, client_secret, refresh_token } => {
                    form.push(("grant_type", "refresh_token"));
                    form.push(("refresh_token", refresh_token));
                    match client_secret {
                        Some(secret) => request = request.basic_auth(client_id, Some(secret)),
                        None => form.push(("client_id", client_id)),
                    }
                }
            }
            if let Some(scope) = &self.scope {
                form.push(("scope", scope));
            }
            let sent = Instant::now();
            let outcome = request.form(&form).send().await;
            let delay = match outcome {
                Ok(response) if response.status().is_success() => {
                    let body: TokenResponse = response.json().await.map_err(|e| Error::Decode(format!("token response: {e}")))?;
                    self.counters.tokens_fetched.fetch_add(1, Ordering::Relaxed);
                    if let (Grant::RefreshToken { refresh_token, .. }, Some(rotated)) = (grant, body.refresh_token) {
                        *refresh_token = rotated;
                    }
                    let lifetime = Duration::from_secs(body.expires_in.unwrap_or(60));
                    // Renew `margin` before expiry, but never sooner than half-way through.
                    let renew_at = sent + lifetime.saturating_sub(self.margin.min(lifetime / 2));
                    return Ok(Cached { token: body.access_token, renew_at });
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = retry::retry_after(response.headers());
                    let retryable = matches!(status, 429 | 500 | 502 | 503 | 504);
                    let error = match Error::from_response(response, attempt + 1).await {
                        Error::Api { status, error, description, .. } => {
                            Error::Auth { status, error: error.unwrap_or_else(|| "unknown_error".into()), description }
                        }
                        other => other,
                    };
                    match self.retry.delay(attempt, retry_after) {
                        Some(delay) if retryable && attempt < self.retry.max_retries => delay,
                        _ => return Err(error),
                    }
                }
                Err(e) => {
                    // A refresh request that timed out may have rotated the token already:
                    // sending the old one again would look like reuse, which ends the grant.
                    let refresh_timed_out = e.is_timeout() && matches!(grant, Grant::RefreshToken { .. });
                    if !e.is_connect() && !e.is_timeout() || refresh_timed_out || attempt >= self.retry.max_retries {
                        return Err(network_error(url, &e, Duration::ZERO));
                    }
                    self.retry.delay(attempt, None).unwrap_or_default()
                }
            };
            attempt += 1;
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_token_is_taken_with_or_without_its_bearer_prefix() {
        for text in ["abc.def-ghi_", "Bearer abc.def-ghi_", "bearer  abc.def-ghi_", " BEARER abc.def-ghi_\n", "a+b/c=="] {
            let Ok(Grant::Bearer(token)) = Grant::bearer(text) else { panic!("{text:?} refused") };
            assert_eq!(token, if text == "a+b/c==" { "a+b/c==" } else { "abc.def-ghi_" }, "{text:?}");
        }
        // "Bearertoken" is a token that happens to start so, not a prefix.
        assert!(matches!(Grant::bearer("Bearerabc"), Ok(Grant::Bearer(t)) if t == "Bearerabc"));
        for bad in ["", "Bearer ", "Bearer a b", "Basic abc", "a=b", "tök"] {
            assert!(matches!(Grant::bearer(bad), Err(Error::Config(_))), "{bad:?} accepted");
        }
    }
}
