//! Resources Tessera protects itself with bearer tokens (RFC 6750): OpenID Connect userinfo,
//! the Bluescape "who am I" at `GET /session/user`, and the admin API (`/admin/v1`).

use tessera_core::model::UserId;
use tessera_core::oidc;
use tessera_core::scope::ScopeSet;
use tessera_proto::UserInfo;

use crate::Tessera;
use crate::admin::Actor;
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

impl Tessera {
    /// `GET/POST /oauth2/userinfo`: needs an active token with the `openid` scope.
    pub async fn userinfo(&self, token: Option<&str>) -> Result<UserInfo> {
        self.who(token, Some("openid")).await
    }

    /// `GET /session/user`: any active user token; tells who the token acts for.
    pub async fn session_user(&self, token: Option<&str>) -> Result<UserInfo> {
        self.who(token, None).await
    }

    /// An admin-API request's caller: the token must be active right now (not revoked, its
    /// client ON, its user and the client's owner enabled, its scopes still allowed for the
    /// user's role) and hold `needs` (`tessera:admin` includes `tessera:clients`).
    pub async fn admin_api_caller(&self, token: Option<&str>, needs: &'static str) -> Result<AdminCaller> {
        let token = token.ok_or(ServiceError::Bearer(BearerError::Missing))?;
        self.sync().await?;
        let now = self.clock.now();
        // The admin API is this server's own resource: a token for another resource (RFC 8707)
        // is not for it.
        let claims = self
            .active_claims(token, now)
            .await?
            .filter(|claims| claims.aud.single() == Some(self.settings.policy.audience.as_str()))
            .ok_or(ServiceError::Bearer(BearerError::InvalidToken))?;
        let scope = ScopeSet::parse(&claims.scope).map_err(|_| ServiceError::Bearer(BearerError::InvalidToken))?;
        if !tessera_core::scope::admin_api_allows(&scope, needs) {
            return Err(ServiceError::Bearer(BearerError::InsufficientScope(needs)));
        }
        // Read from the store, not the cache: the actor's role decides what it may do.
        let user = self.store.user(&UserId::new(claims.sub.clone())).await?;
        let user = user.filter(|u| !u.disabled).ok_or(ServiceError::Bearer(BearerError::InvalidToken))?;
        Ok(AdminCaller { actor: Actor::user(user), client_id: claims.client_id, scope })
    }

    async fn who(&self, token: Option<&str>, needs: Option<&'static str>) -> Result<UserInfo> {
        let token = token.ok_or(ServiceError::Bearer(BearerError::Missing))?;
        self.sync().await?;
        let now = self.clock.now();
        let claims = self.active_claims(token, now).await?.ok_or(ServiceError::Bearer(BearerError::InvalidToken))?;
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
