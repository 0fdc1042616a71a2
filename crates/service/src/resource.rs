//! Resources Tessera protects itself with access tokens: OpenID Connect userinfo, the Bluescape
//! "who am I" at `GET /session/user`, and the admin API (`/admin/v1`). A token comes as
//! `Bearer` (RFC 6750) or, when it is DPoP-bound (`cnf.jkt`), as `DPoP` with a proof of this
//! very request (RFC 9449 §7).

use tessera_core::dpop::{self, ProofFailure};
use tessera_core::model::UserId;
use tessera_core::scope::ScopeSet;
use tessera_core::{ErrorCode, OAuthError, oidc};
use tessera_proto::{AccessTokenClaims, UserInfo};

use crate::Tessera;
use crate::admin::Actor;
use crate::dpop::ProofSite;
use crate::error::{BearerError, Result, ServiceError};

/// The caller of an admin-API request: the user its access token speaks for (the code flow's
/// user, or a client-credentials client's run-as user), as an [`Actor`].
#[derive(Debug, Clone)]
pub struct AdminCaller {
    pub actor: Actor,
    /// The client the token was issued to.
    pub client_id: String,
    /// The token's scopes.
    pub scope: ScopeSet,
}

impl AdminCaller {
    /// The caller's organization id.
    pub fn org_id(&self) -> String {
        self.actor.as_user().map(|u| u.org_id.to_string()).unwrap_or_default()
    }
}

/// The access token of a request to a protected resource, as it was presented.
#[derive(Debug, Clone, Default)]
pub struct Presented {
    /// The token of the `Authorization` header; `None` when there is none.
    pub token: Option<String>,
    /// It came with the `DPoP` scheme rather than `Bearer`.
    pub dpop: bool,
    /// Every `DPoP` header of the request (a valid request has exactly one with `dpop`).
    pub proofs: Vec<String>,
    /// The request's method, for the proof's `htm`.
    pub method: String,
    /// The request's path (no query), appended to the issuer for the proof's `htu`.
    pub path: String,
}

impl Presented {
    /// A token presented as `Bearer`, with no proof.
    pub fn bearer(token: Option<&str>) -> Self {
        Self { token: token.map(str::to_owned), ..Self::default() }
    }
}

impl Tessera {
    /// `GET/POST /oauth2/userinfo`: needs an active token with the `openid` scope.
    pub async fn userinfo(&self, presented: &Presented) -> Result<UserInfo> {
        self.who(presented, Some("openid")).await
    }

    /// `GET /session/user`: any active user token; tells who the token acts for.
    pub async fn session_user(&self, presented: &Presented) -> Result<UserInfo> {
        self.who(presented, None).await
    }

    /// The claims of an active token presented the way its binding demands (RFC 9449 §7.1):
    /// a DPoP-bound token only as `DPoP` with one valid proof of this request (`htm`, `htu`,
    /// `ath`, the bound key, a fresh `jti`, the nonce when demanded); an unbound one only as
    /// `Bearer`.
    async fn presented_claims(&self, presented: &Presented, now: i64) -> Result<AccessTokenClaims> {
        let token = presented.token.as_deref().ok_or(ServiceError::Bearer(BearerError::Missing { dpop: true }))?;
        let Some(claims) = self.active_claims(token, now).await? else {
            return Err(self.invalid_token(presented, "the access token is not active", now));
        };
        let Some(jkt) = dpop::presentation(claims.dpop_jkt(), presented.dpop).map_err(|why| self.dpop_invalid_token(why, now))? else {
            return Ok(claims);
        };
        let [proof] = presented.proofs.as_slice() else {
            return Err(self.refusal(ProofFailure::Malformed, true, now));
        };
        let url = format!("{}{}", self.issuer(), presented.path);
        let ath = tessera_jose::dpop::access_token_hash(token);
        let site = ProofSite { method: &presented.method, url: &url, ath: Some(&ath), bound_jkt: Some(jkt), at_resource: true };
        self.check_proof(proof, &site, now).await?;
        Ok(claims)
    }

    /// 401 `invalid_token`, with the challenge of the scheme the token came in.
    fn invalid_token(&self, presented: &Presented, description: &'static str, now: i64) -> ServiceError {
        if presented.dpop { self.dpop_invalid_token(description, now) } else { ServiceError::Bearer(BearerError::InvalidToken) }
    }

    /// 401 `invalid_token` with a `DPoP` challenge (RFC 9449 §7.1).
    fn dpop_invalid_token(&self, description: &'static str, now: i64) -> ServiceError {
        let nonce = self.settings.dpop_nonce_required.then(|| self.secrets.dpop_nonce(now));
        ServiceError::Dpop { error: OAuthError::new(ErrorCode::InvalidToken, description), nonce, resource: true }
    }

    /// An admin-API request's caller: the token must be active right now (not revoked, its
    /// client ON, its user and the client's owner enabled, its scopes still allowed for the
    /// user's role) and hold `needs` (`tessera:admin` includes `tessera:clients`).
    pub async fn admin_api_caller(&self, presented: &Presented, needs: &'static str) -> Result<AdminCaller> {
        self.sync().await?;
        let now = self.clock.now();
        let claims = self.presented_claims(presented, now).await?;
        // The admin API is this server's own resource: a token for another resource (RFC 8707)
        // is not for it.
        if claims.aud.single() != Some(self.settings.policy.audience.as_str()) {
            return Err(self.invalid_token(presented, "the access token is for another resource", now));
        }
        let scope = ScopeSet::parse(&claims.scope).map_err(|_| ServiceError::Bearer(BearerError::InvalidToken))?;
        if !tessera_core::scope::admin_api_allows(&scope, needs) {
            return Err(ServiceError::Bearer(BearerError::InsufficientScope(needs)));
        }
        // Read from the store, not the cache: the actor's role decides what it may do.
        let user = self.store.user(&UserId::new(claims.sub.clone())).await?;
        let user = user.filter(|u| !u.disabled).ok_or(ServiceError::Bearer(BearerError::InvalidToken))?;
        Ok(AdminCaller { actor: Actor::user_via_client(user, claims.client_id.clone()), client_id: claims.client_id, scope })
    }

    async fn who(&self, presented: &Presented, needs: Option<&'static str>) -> Result<UserInfo> {
        self.sync().await?;
        let now = self.clock.now();
        let claims = self.presented_claims(presented, now).await?;
        let scope = ScopeSet::parse(&claims.scope).map_err(|_| ServiceError::Bearer(BearerError::InvalidToken))?;
        if let Some(needed) = needs
            && !scope.contains(needed)
        {
            return Err(ServiceError::Bearer(BearerError::InsufficientScope(needed)));
        }
        let user = self.cache.user(&*self.store, &UserId::new(claims.sub.clone())).await?;
        let user = user.ok_or(ServiceError::Bearer(BearerError::InvalidToken))?;
        let mut info = oidc::userinfo(&claims, &user, &scope);
        if needs.is_none() {
            // The "who am I" answer always names the account.
            info.profile.email = Some(user.email.clone());
            info.role = Some(user.role.as_str().to_owned());
        }
        Ok(info)
    }
}
