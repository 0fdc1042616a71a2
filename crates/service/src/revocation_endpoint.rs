//! Token revocation (RFC 7009).

use std::net::IpAddr;

use tessera_core::OAuthError;
use tessera_core::audit::{AuditAction, AuditEvent};
use tessera_proto::AccessTokenClaims;

use crate::client_auth::read_credentials;
use crate::{EndpointRequest, Result, Tessera};

impl Tessera {
    /// `POST /oauth2/revoke` (RFC 7009): revokes the caller's own token; any other token, of
    /// another client or not ours at all, gets the same empty success (V03, V05).
    pub async fn revoke(&self, request: &EndpointRequest) -> Result<()> {
        let now = self.clock.now();
        let presented = read_credentials(request)?;
        let caller = self.authenticate(&presented, request, now).await?;
        let token = request.params.get("token").ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        // token_type_hint only speeds up lookups elsewhere; a wrong or unknown hint must not
        // stop the revocation (V04), so it is not consulted.
        if let Some(claims) = self.verified_claims(token) {
            if claims.client_id == caller.client.id.as_str() {
                self.revoke_claims(&claims, caller.client.id.as_str(), Some(request.peer), now).await?;
            }
        } else if let Some(found) = self.find_refresh_token(token).await?
            && found.grant.client_id == caller.client.id
        {
            // Revoking a refresh token ends its whole authorization (RFC 7009 §2.1).
            self.revoke_family(&found.grant, "revoked by the client", now).await?;
        }
        Ok(())
    }

    pub(crate) async fn revoke_claims(&self, claims: &AccessTokenClaims, actor: &str, peer: Option<IpAddr>, now: i64) -> Result<()> {
        let audit = AuditEvent {
            at: now,
            org_id: Some(claims.org_id.clone()),
            actor: actor.to_owned(),
            action: AuditAction::TokenRevoked,
            target: Some(claims.client_id.clone()),
            ip: peer.map(|p| p.to_string()),
            detail: serde_json::json!({ "jti": claims.jti, "token_type": "access_token" }),
        };
        self.store.revoke_token(&claims.jti, claims.exp, &audit).await?;
        Ok(())
    }
}
