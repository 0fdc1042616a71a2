//! Single sign-on (SPEC §15): a member signs in at their organization's upstream OpenID Provider.
//!
//! The sign-in is an authorization-code flow with PKCE (S256), `state` and `nonce`, made and
//! checked by `openidconnect` with the provider's discovery document and keys (`upstream`). What
//! the browser must bring back (the provider, `state`, `nonce`, the PKCE verifier, where to go
//! afterwards) travels in a cookie sealed under the master key, so any node can finish a sign-in
//! another began and nothing waits in the store. The ID token is fully validated (signature
//! against the provider's keys, `iss`, `aud`, `exp`, `nonce`).
//!
//! Who signs in: the person linked to the provider's issuer and subject (a changed email
//! upstream keeps the account); else, when the provider says the email is verified, the person
//! with that email if their email is verified here too (the two are linked), or a new person
//! (just in time). An unverified email on either side neither links nor makes an account: the
//! page says why. A person without a membership in the provider's organization gets one, with
//! the provider's default role. Every outcome is audited; a session made so has `amr` `fed`.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse as _,
};
use serde::{Deserialize, Serialize};
use tessera_core::audit::{AuditAction, AuditEvent};
use tessera_core::message;
use tessera_core::model::{ClientId as OurClientId, PersonId, User, UserId};
use tessera_store::IdentityProviderRecord;

use crate::session::{NewSession, SignInFrom};
use crate::{Result, ServiceError, Tessera};

/// The method an SSO session's `amr` names (RFC 8176: federated authentication).
pub const FEDERATED: &str = "fed";
/// Seconds a browser has to come back from the provider.
pub const PENDING_SECONDS: i64 = 600;
const PENDING_PURPOSE: &str = "sso-pending";

/// Whether a session began at an organization's identity provider.
pub fn is_federated(session: &crate::session::SignedIn) -> bool {
    session.amr.iter().any(|m| m == FEDERATED)
}

/// A session that began at an organization's identity provider changes none of the person's own
/// credentials (password, authenticator app, passkeys): the provider vouches for the person in
/// its organization only, and a credential would carry that further (to a passkey sign-in into
/// the person's other memberships).
pub(crate) fn may_change_credentials(session: &crate::session::SignedIn) -> Result<()> {
    if is_federated(session) {
        return Err(ServiceError::forbidden(message!(
            "sso-credentials-elsewhere",
            "you signed in through your organization's identity provider: sign in with your password or a passkey to change \
             your own credentials"
        )));
    }
    Ok(())
}

/// A provider as a sign-in page offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderChoice {
    pub id: String,
    pub name: String,
}

/// A sign-in sent to the provider: where the browser goes, and the sealed cookie it carries.
#[derive(Debug)]
pub struct SsoStart {
    pub authorize_url: String,
    pub pending: String,
}

/// A finished sign-in: the new session and where the browser goes on.
#[derive(Debug)]
pub struct SsoSignedIn {
    pub session: NewSession,
    pub return_to: String,
}

/// `openidconnect`'s client made from a provider's metadata: its authorization endpoint set, its
/// token and userinfo endpoints as the metadata says.
type UpstreamClient = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// The page's words when a provider cannot be used right now (unreachable, or not https).
fn unreachable(provider: &IdentityProviderRecord) -> ServiceError {
    ServiceError::off(message!(
        "sso-provider-unreachable",
        "{name} cannot be reached at the moment; try again later",
        name = provider.name.clone()
    ))
}

/// What the browser carries to the provider and back.
#[derive(Serialize, Deserialize)]
struct Pending {
    provider: String,
    state: String,
    nonce: String,
    verifier: String,
    return_to: String,
    started_at: i64,
}

/// The domain of an email, lower case.
pub fn email_domain(email: &str) -> Option<String> {
    let (_, domain) = email.trim().rsplit_once('@')?;
    (!domain.is_empty()).then(|| domain.to_ascii_lowercase())
}

impl Tessera {
    /// Where providers send the browser back.
    pub fn sso_callback_uri(&self) -> String {
        format!("{}/login/sso/callback", self.issuer().trim_end_matches('/'))
    }

    /// The providers a sign-in page reached from an authorization request of `client_id` offers:
    /// those of the client's organization (never another's).
    pub async fn sso_providers_for_client(&self, client_id: &str) -> Result<Vec<ProviderChoice>> {
        let Some(record) = self.store.client(&OurClientId::new(client_id)).await? else { return Ok(Vec::new()) };
        let providers = self.store.identity_providers(Some(&record.client.org_id)).await?;
        Ok(providers.into_iter().map(|p| ProviderChoice { id: p.id, name: p.name }).collect())
    }

    /// The provider that claims the domain of `email`, if one does.
    pub async fn sso_provider_for_email(&self, email: &str) -> Result<Option<ProviderChoice>> {
        let Some(domain) = email_domain(email) else { return Ok(None) };
        Ok(self.store.identity_provider_for_domain(&domain).await?.map(|p| ProviderChoice { id: p.id, name: p.name }))
    }

    /// Whether some provider claims email domains: the sign-in page then says that an email of
    /// one, with no password, signs in through it.
    pub async fn sso_by_email_offered(&self) -> Result<bool> {
        Ok(self.store.any_claimed_domain().await?)
    }

    fn provider_secret(&self, provider: &IdentityProviderRecord) -> Result<String> {
        let plain = self.secrets.open(&format!("idp-secret:{}", provider.id), &provider.client_secret_sealed)?;
        String::from_utf8(plain).map_err(|_| ServiceError::Internal(format!("identity provider {}: secret not UTF-8", provider.id)))
    }

    /// Sends a sign-in to `provider_id`: the provider's authorization URL (with PKCE, `state`,
    /// `nonce` and, when known, the email as `login_hint`), and the sealed cookie.
    pub async fn sso_start(&self, provider_id: &str, return_to: &str, login_hint: Option<&str>) -> Result<SsoStart> {
        let provider = self.store.identity_provider(provider_id).await?.ok_or(ServiceError::NotFound("identity provider"))?;
        let metadata = self.upstreams.metadata(&provider.issuer, self.clock.now(), false).await.map_err(|reason| {
            tracing::warn!(provider = %provider.id, %reason, "an identity provider could not be reached");
            unreachable(&provider)
        })?;
        let client = self.upstream_client(&metadata, &provider, None).map_err(|_| ServiceError::Internal("the callback URI".into()))?;
        let (state, nonce, verifier) = (self.secrets.random_token(24)?, self.secrets.random_token(24)?, self.secrets.random_token(32)?);
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.clone()));
        let (state_for_url, nonce_for_url) = (state.clone(), nonce.clone());
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state_for_url),
                move || Nonce::new(nonce_for_url),
            )
            .add_scope(Scope::new("email".to_owned()))
            .add_scope(Scope::new("profile".to_owned()))
            .set_pkce_challenge(challenge);
        if let Some(hint) = login_hint.filter(|h| !h.is_empty()) {
            request = request.add_extra_param("login_hint", hint.to_owned());
        }
        let (url, _, _) = request.url();
        // The browser is sent there: https (or loopback http), never elsewhere by a document's say.
        if tessera_core::client::validate_jwks_uri(url.as_str()).is_err() {
            tracing::warn!(provider = %provider.id, "an identity provider's authorization endpoint is not https");
            return Err(unreachable(&provider));
        }
        let pending =
            Pending { provider: provider.id, state, nonce, verifier, return_to: return_to.to_owned(), started_at: self.lifetime_now() };
        let json = serde_json::to_vec(&pending).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(SsoStart { authorize_url: url.to_string(), pending: self.seal_text(PENDING_PURPOSE, &json)? })
    }

    /// Finishes a sign-in the provider sent back: `pending` is the sealed cookie, `state`,
    /// `code` and `error` the callback's parameters. Refusals are audited and say why.
    pub async fn sso_finish(
        &self,
        pending: Option<&str>,
        state: Option<&str>,
        code: Option<&str>,
        error: Option<&str>,
        previous: Option<&str>,
        from: &SignInFrom,
    ) -> Result<SsoSignedIn> {
        let expired =
            || ServiceError::invalid(message!("sso-expired", "this sign-in expired or was started in another browser; start it again"));
        let pending: Pending = pending
            .and_then(|text| self.open_text(PENDING_PURPOSE, text))
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(expired)?;
        if self.lifetime_now() - pending.started_at > PENDING_SECONDS {
            return Err(expired());
        }
        let provider = self.store.identity_provider(&pending.provider).await?.ok_or(ServiceError::NotFound("identity provider"))?;
        // The state binds the answer to this browser's sign-in (a forged or replayed callback).
        if state != Some(pending.state.as_str()) {
            return Err(self.sso_refused(&provider, "state_mismatch", from, None).await);
        }
        if let Some(error) = error {
            let reason =
                format!("upstream_{}", error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(40).collect::<String>());
            return Err(self.sso_refused(&provider, &reason, from, None).await);
        }
        let Some(code) = code else { return Err(self.sso_refused(&provider, "no_code", from, None).await) };
        let claims = match self.redeem_upstream_code(&provider, &pending, code).await {
            Ok(claims) => claims,
            Err(reason) => return Err(self.sso_refused(&provider, reason, from, None).await),
        };
        let user = self.federated_member(&provider, &claims, from).await?;
        let session = self.open_session(user, previous, from, &[FEDERATED]).await?;
        Ok(SsoSignedIn { session, return_to: pending.return_to })
    }

    /// Our client at `provider`, from its `metadata`, with its secret when a code is redeemed.
    fn upstream_client(
        &self,
        metadata: &CoreProviderMetadata,
        provider: &IdentityProviderRecord,
        secret: Option<&str>,
    ) -> std::result::Result<UpstreamClient, &'static str> {
        let redirect = RedirectUrl::new(self.sso_callback_uri()).map_err(|_| "callback_uri")?;
        let secret = secret.map(|s| ClientSecret::new(s.to_owned()));
        Ok(CoreClient::from_provider_metadata(metadata.clone(), ClientId::new(provider.client_id.clone()), secret)
            .set_redirect_uri(redirect))
    }

    /// The code redeemed at the provider and its ID token validated; the reason (for the audit)
    /// when something is wrong.
    async fn redeem_upstream_code(
        &self,
        provider: &IdentityProviderRecord,
        pending: &Pending,
        code: &str,
    ) -> std::result::Result<Upstream, &'static str> {
        let secret = self.provider_secret(provider).map_err(|_| "secret_unreadable")?;
        let metadata = self.upstreams.metadata(&provider.issuer, self.clock.now(), false).await.map_err(|_| "provider_unreachable")?;
        let client = self.upstream_client(&metadata, provider, Some(&secret))?;
        let answer = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| "no_token_endpoint")?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
            .request_async(self.upstreams.http())
            .await
            .map_err(|e| {
                tracing::warn!(provider = %provider.id, error = %e, "an identity provider refused a code");
                "code_refused"
            })?;
        let id_token = answer.id_token().ok_or("no_id_token")?;
        let nonce = Nonce::new(pending.nonce.clone());
        let checked = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => Ok(claims.clone()),
            // The provider may have rolled its keys since they were cached: once more with keys
            // fetched now (at most once per REFETCH_INTERVAL, whatever asks).
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(_)) => {
                let fresh = self.upstreams.metadata(&provider.issuer, self.clock.now(), true).await.map_err(|_| "provider_unreachable")?;
                let client = self.upstream_client(&fresh, provider, Some(&secret))?;
                id_token.claims(&client.id_token_verifier(), &nonce).cloned()
            }
            Err(other) => Err(other),
        };
        let claims: CoreIdTokenClaims = checked.map_err(|e| match e {
            openidconnect::ClaimsVerificationError::InvalidNonce(_) => "wrong_nonce",
            openidconnect::ClaimsVerificationError::SignatureVerification(_) => "bad_signature",
            openidconnect::ClaimsVerificationError::InvalidIssuer(_) => "wrong_issuer",
            openidconnect::ClaimsVerificationError::InvalidAudience(_) => "wrong_audience",
            openidconnect::ClaimsVerificationError::Expired(_) => "expired_id_token",
            _ => "invalid_id_token",
        })?;
        // (The access token is dropped: Tessera asks the provider nothing more.)
        Ok(Upstream {
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified() == Some(true),
        })
    }

    /// The member the upstream identity signs in as, linked or made as the module says.
    async fn federated_member(&self, provider: &IdentityProviderRecord, upstream: &Upstream, from: &SignInFrom) -> Result<User> {
        let issuer = provider.issuer.as_str();
        // Only a domain the operator let the provider claim makes people or memberships.
        let claims_domain = |email: &str| email_domain(email).is_some_and(|d| provider.email_domains.contains(&d));
        let linked = self.store.federated_person(issuer, &upstream.subject).await?;
        let was_linked = linked.is_some();
        let person = match linked {
            Some(person) => Some(person),
            None => {
                let Some(email) = upstream.email.as_deref().filter(|_| upstream.email_verified) else {
                    return Err(self.sso_refused(provider, "upstream_email_unverified", from, upstream.email.as_deref()).await);
                };
                match self.store.user_by_email(email).await? {
                    Some(existing) if existing.service => {
                        return Err(self.sso_refused(provider, "service_user", from, Some(email)).await);
                    }
                    Some(existing) if existing.email_verified_at.is_none() => {
                        return Err(self.sso_refused(provider, "local_email_unverified", from, Some(email)).await);
                    }
                    Some(existing) => Some(existing.person_id),
                    None => None,
                }
            }
        };
        let (user, new_member, how) = match &person {
            Some(person) => match self.membership_of(person, provider).await? {
                Some(user) => (Ok(user), false, if was_linked { "signed_in" } else { "linked" }),
                None => {
                    let email = self.email_of(person).await?;
                    if !claims_domain(&email) {
                        return Err(self.sso_refused(provider, "not_a_member", from, Some(&email)).await);
                    }
                    (self.new_membership(provider, Some(person), email), true, "joined")
                }
            },
            None => {
                let email = upstream.email.clone().unwrap_or_default();
                if !claims_domain(&email) {
                    return Err(self.sso_refused(provider, "not_a_member", from, Some(&email)).await);
                }
                (self.new_membership(provider, None, email), true, "created")
            }
        };
        let user = user?;
        if !user.is_active() {
            return Err(self.sso_refused(provider, "user_disabled", from, Some(&user.email)).await);
        }
        let audit = AuditEvent {
            at: self.clock.now(),
            org_id: Some(provider.org_id.to_string()),
            actor: user.id.to_string(),
            action: AuditAction::FederatedSignIn,
            target: Some(user.id.to_string()),
            ip: Some(from.peer.to_string()),
            detail: serde_json::json!({ "provider": provider.id, "issuer": provider.issuer, "outcome": how }),
        };
        self.store.federated_sign_in(issuer, &upstream.subject, &user, new_member, &audit).await?;
        Ok(user)
    }

    /// A person's email (the same in all their memberships).
    async fn email_of(&self, person: &PersonId) -> Result<String> {
        match self.store.memberships(person).await?.into_iter().next() {
            Some((user, _)) => Ok(user.email),
            None => Err(ServiceError::NotFound("user")),
        }
    }

    /// The person's membership in the provider's organization.
    async fn membership_of(&self, person: &PersonId, provider: &IdentityProviderRecord) -> Result<Option<User>> {
        Ok(self.store.memberships(person).await?.into_iter().map(|(user, _)| user).find(|user| user.org_id == provider.org_id))
    }

    /// A membership in the provider's organization with its default role: of `person` (their
    /// `email` here), or of a new person with the upstream's verified `email`.
    fn new_membership(&self, provider: &IdentityProviderRecord, person: Option<&PersonId>, email: String) -> Result<User> {
        let id = UserId::new(format!("usr_{}", self.secrets.random_id(16)?));
        let now = self.clock.now();
        Ok(User {
            person_id: person.cloned().unwrap_or_else(|| PersonId::new(id.as_str())),
            id,
            org_id: provider.org_id.clone(),
            email,
            role: provider.default_role,
            service: false,
            authorize_applications: false,
            disabled: false,
            created_at: now,
            tokens_not_before: None,
            // Only a verified upstream email makes a person, and a linked one was verified here.
            email_verified_at: Some(now),
        })
    }

    /// Audits a refused sign-in and says why, for the page.
    async fn sso_refused(&self, provider: &IdentityProviderRecord, reason: &str, from: &SignInFrom, email: Option<&str>) -> ServiceError {
        let event = AuditEvent {
            at: self.clock.now(),
            org_id: Some(provider.org_id.to_string()),
            actor: "anonymous".to_owned(),
            action: AuditAction::FederatedSignInFailed,
            target: None,
            ip: Some(from.peer.to_string()),
            detail: serde_json::json!({ "provider": provider.id, "reason": reason, "email": email }),
        };
        if let Err(e) = self.store.append_audit(&event).await {
            tracing::warn!(error = %e, "could not write the audit entry of a refused sign-in");
        }
        let name = provider.name.clone();
        ServiceError::forbidden(match reason {
            "upstream_email_unverified" => message!(
                "sso-upstream-email-unverified",
                "{name} did not confirm your email address, so no account is linked or made; confirm it there and try again",
                name = name
            ),
            "local_email_unverified" => message!(
                "sso-local-email-unverified",
                "an account with this email exists here but its email is not verified, so it is not linked to {name}; sign in with \
                 your password and verify your email first",
                name = name
            ),
            "service_user" => message!("sso-service-user", "this email belongs to a service account, which cannot sign in"),
            "not_a_member" => message!(
                "sso-not-a-member",
                "{name} knows you, but you are not a member of this organization; ask one of its administrators to invite you",
                name = name
            ),
            "user_disabled" => message!("sso-user-disabled", "your account in this organization is disabled"),
            "state_mismatch" => message!(
                "sso-state-mismatch",
                "the answer from {name} does not belong to a sign-in of this browser; start again",
                name = name
            ),
            reason if reason.starts_with("upstream_") => {
                message!("sso-upstream-refused", "{name} did not sign you in; try again", name = name)
            }
            _ => message!(
                "sso-not-verified",
                "the answer from {name} could not be verified, so you are not signed in; try again or ask your administrator",
                name = name
            ),
        })
    }

    /// `value` sealed under the master key for `purpose`, as URL-safe text (a cookie's value).
    pub(crate) fn seal_text(&self, purpose: &str, value: &[u8]) -> Result<String> {
        use base64::Engine as _;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.secrets.seal(purpose, value)?))
    }

    /// What [`Self::seal_text`] sealed for `purpose`.
    pub(crate) fn open_text(&self, purpose: &str, text: &str) -> Option<Vec<u8>> {
        use base64::Engine as _;
        let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()?;
        self.secrets.open(purpose, &sealed).ok()
    }
}

/// What the provider's ID token says about the person.
struct Upstream {
    subject: String,
    email: Option<String>,
    email_verified: bool,
}
