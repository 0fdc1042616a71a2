//! Revoking a token by operator order or by a user who may see its client.

use tessera_core::message;

use super::{Actor, invalid};
use crate::Tessera;
use crate::error::Result;

impl Tessera {
    /// Revokes a token by operator order (no client authentication), or by a user who may see
    /// the token's client.
    pub async fn revoke_as_operator(&self, actor: &Actor, token: &str) -> Result<()> {
        let not_ours = || invalid(message!("token-not-ours", "this is not a token issued by this server"));
        let claims = self.verified_claims(token.trim()).ok_or_else(not_ours)?;
        if actor.as_user().is_some() {
            self.client_record(actor, &claims.client_id).await.map_err(|_| not_ours())?;
        }
        self.revoke_claims(&claims, &actor.label, None, self.now()).await
    }
}
