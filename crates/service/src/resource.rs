//! Resources Tessera protects itself with bearer tokens (RFC 6750): OpenID Connect userinfo
//! and the Bluescape "who am I" at `GET /session/user`.

use tessera_core::model::UserId;
use tessera_core::oidc;
use tessera_core::scope::ScopeSet;
use tessera_proto::UserInfo;

use crate::Tessera;
use crate::error::{BearerError, Result, ServiceError};

impl Tessera {
    /// `GET/POST /oauth2/userinfo`: needs an active token with the `openid` scope.
    pub async fn userinfo(&self, token: Option<&str>) -> Result<UserInfo> {
        self.who(token, Some("openid")).await
    }

    /// `GET /session/user`: any active user token; tells who the token acts for.
    pub async fn session_user(&self, token: Option<&str>) -> Result<UserInfo> {
        self.who(token, None).await
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
