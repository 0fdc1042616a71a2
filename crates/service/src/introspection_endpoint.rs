//! Token introspection (RFC 7662) and the verification of our own access tokens it shares
//! with the protected resources.

use tessera_core::OAuthError;
use tessera_core::introspection::{self, TokenState};
use tessera_core::issue::Parties;
use tessera_core::model::{ClientId, UserId};
use tessera_core::token::ACCESS_TOKEN_TYP;
use tessera_proto::{AccessTokenClaims, IntrospectionResponse};

use crate::client_auth::read_credentials;
use crate::{EndpointRequest, Result, ServiceError, Tessera, secrets};

impl Tessera {
    /// `POST /oauth2/introspect` (RFC 7662): a confidential client learns about tokens of its
    /// own organization; everything else is `{"active": false}`.
    pub async fn introspect(&self, request: &EndpointRequest) -> Result<IntrospectionResponse> {
        let now = self.clock.now();
        let presented = read_credentials(request)?;
        let caller = self.authenticate(&presented, request, now).await?;
        if caller.client.public {
            return Err(ServiceError::oauth(OAuthError::invalid_client()));
        }
        let token = request.params.get("token").ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        if let Some(claims) = self.active_claims(token, now).await? {
            return Ok(introspection::respond(&claims, &caller.client));
        }
        self.introspect_refresh_token(token, &caller.client, now).await
    }

    /// Introspection of a refresh token (the rule is `introspection::respond_refresh`).
    async fn introspect_refresh_token(&self, token: &str, caller: &tessera_core::model::Client, now: i64) -> Result<IntrospectionResponse> {
        let Some(found) = self.find_refresh_token(token).await? else {
            return Ok(IntrospectionResponse::inactive());
        };
        let client = self.cache.client(&*self.store, &found.grant.client_id).await?;
        let user = self.cache.user(&*self.store, &found.grant.user_id).await?;
        let Some(client) = client else {
            return Ok(IntrospectionResponse::inactive());
        };
        let parties = Parties { client: &client.client, owner: client.owner.as_ref(), subject: user.as_ref(), org_approves: true };
        let issued_at = found.grant.created_at;
        Ok(introspection::respond_refresh(&found.record, &parties, issued_at, self.issuer(), caller, now))
    }

    /// The stored refresh token `token` names, if any.
    pub(crate) async fn find_refresh_token(&self, token: &str) -> Result<Option<tessera_store::RefreshLookup>> {
        if !secrets::plausible_token(token) {
            return Ok(None);
        }
        Ok(self.store.refresh_token(&self.secrets.lookup_hash(token)).await?)
    }

    /// The claims of `token` if it is one of ours with a valid signature, whatever its state.
    /// A token verified before under the same keys is remembered (`Cache::verified_access_token`).
    pub(crate) fn verified_claims(&self, token: &str) -> Option<AccessTokenClaims> {
        self.cache.verified_access_token(token, |keys| {
            let verified = tessera_jose::verify(token, ACCESS_TOKEN_TYP, |kid| keys.verifying_key(kid)).ok()?;
            serde_json::from_slice(&verified.payload).ok()
        })
    }

    /// The claims of `token` if it is active now (signature, lifetime, revocation, client,
    /// users and role all checked). The caller has synced the cache (authentication does).
    pub(crate) async fn active_claims(&self, token: &str, now: i64) -> Result<Option<AccessTokenClaims>> {
        let Some(claims) = self.verified_claims(token) else {
            return Ok(None);
        };
        let client = self.cache.client(&*self.store, &ClientId::new(claims.client_id.clone())).await?;
        let subject = self.cache.user(&*self.store, &UserId::new(claims.sub.clone())).await?;
        let Some(client) = client else {
            return Ok(None);
        };
        // From memory, fed by the change feed; the store only when the memory overflowed.
        let revoked = match self.cache.revoked(&claims.jti, claims.grant_id.as_deref()) {
            Some(known) => known,
            None => self.store.token_revoked(&claims.jti, claims.grant_id.as_deref()).await?,
        };
        let state = TokenState {
            revoked,
            client: Some(&client.client),
            subject: subject.as_ref(),
            owner: client.owner.as_ref(),
            catalogue: &client.catalogue,
        };
        Ok(introspection::is_active(&claims, &state, &self.settings.policy, now).then_some(claims))
    }
}
