//! The server's signing keys: listing them and rotating them by operator order.

use tessera_core::audit::AuditAction;
use tessera_core::message;
use tessera_proto::KeyView;

use super::{Actor, operator_only};
use crate::error::{Result, ServiceError};
use crate::{Tessera, keys};

impl Tessera {
    pub async fn list_keys(&self) -> Result<Vec<KeyView>> {
        self.sync().await?;
        Ok(self.keyset().records.clone())
    }

    /// Rotates the signing keys now: the published next key starts signing, the current one
    /// retires (still published until its tokens have expired), a new next key is published.
    pub async fn rotate_keys(&self, actor: &Actor) -> Result<Vec<KeyView>> {
        operator_only(actor)?;
        let now = self.now();
        let audit = self.audit(actor, AuditAction::KeysRotated, None, None, serde_json::json!({ "reason": "on demand" }));
        if !keys::rotate(&**self.store(), &self.secrets, self.settings.signing_alg, self.settings.key_retention, now, &audit).await? {
            return Err(ServiceError::conflict(message!(
                "key-rotation-raced",
                "another process rotated the keys at the same moment; try again"
            )));
        }
        self.list_keys().await
    }
}
