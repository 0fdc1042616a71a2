//! Client authentication at the token, introspection, revocation, PAR and device endpoints:
//! secrets, `private_key_jwt` assertions (RFC 7523) and the lock-out of repeated failures.

use std::net::IpAddr;

use tessera_core::OAuthError;
use tessera_core::assertion::{self, AssertionFailure};
use tessera_core::audit::{AuditAction, AuditEvent};
use tessera_core::client::{self as client_rules, AuthFailure, Proof};
use tessera_core::credentials::{self, AuthMethod, PresentedClient};
use tessera_core::model::{ClientKeys, TokenEndpointAuthMethod};

use crate::cache::{CachedClient, ClientRef};
use crate::settings::CANONICAL_TOKEN_PATH;
use crate::{EndpointRequest, Result, ServiceError, Tessera};

pub(crate) fn read_credentials(request: &EndpointRequest) -> Result<PresentedClient> {
    credentials::extract(request.authorization.as_deref(), &request.params)
        .map_err(|e| ServiceError::OAuth { client_used_basic: e.tried_basic, error: e.error })
}

impl Tessera {
    /// Authenticates the calling client, or explains (to the audit log only) why not.
    pub(crate) async fn authenticate(&self, presented: &PresentedClient, request: &EndpointRequest, now: i64) -> Result<ClientRef> {
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
            (None, _) => Proof::Secret(presented.secret.as_ref().is_some_and(|s| self.secret_accepted(s.expose(), cached.as_deref(), now))),
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
            (Ok(()), Some(cached)) => {
                // The access log names the client of the request (the request's span).
                tracing::Span::current().record("client_id", cached.client.id.as_str());
                Ok(cached)
            }
            (Err(failure), cached) => {
                self.record_auth_failure(presented, cached.as_deref(), failure, peer, now).await;
                Err(ServiceError::OAuth { error: OAuthError::invalid_client(), client_used_basic: presented.method == AuthMethod::Basic })
            }
            (Ok(()), None) => Err(ServiceError::Internal("authenticated an unknown client".into())),
        }
    }

    /// Whether `secret` is the client's, or the one a roll replaced while its grace runs (SPEC
    /// §13). One HMAC when no grace runs; an unknown client is checked against a dummy tag, so
    /// the answer takes as long.
    fn secret_accepted(&self, secret: &str, cached: Option<&CachedClient>, now: i64) -> bool {
        let current = cached.and_then(|c| c.secret_tag.as_deref()).unwrap_or(&self.dummy_tag);
        self.secrets.secret_matches(secret, current)
            || cached
                .and_then(|c| c.previous_secret.as_ref())
                .is_some_and(|previous| now < previous.expires_at && self.secrets.secret_matches(secret, &previous.tag))
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
        self.counters.client_auth_failures.increment();
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
}
