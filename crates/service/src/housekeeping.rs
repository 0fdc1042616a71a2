//! Periodic housekeeping: purging what has expired, and following other nodes' changes.

use serde_json::Value;
use tessera_core::audit::{AuditAction, AuditEvent};

use crate::{Result, Tessera, keys};

impl Tessera {
    /// Periodic upkeep: scheduled key rotation, purging what has expired, and forgetting client
    /// secrets whose grace after a roll has ended.
    pub async fn housekeeping(&self) -> Result<()> {
        let now = self.clock.now();
        self.limiter.prune(now);
        self.address_limiter.prune(now);
        let audit = self.system_audit(AuditAction::KeysRotated, now, serde_json::json!({ "reason": "schedule" }));
        let settings = &self.settings;
        keys::maintain(
            &*self.store,
            &self.secrets,
            settings.signing_alg,
            settings.key_rotation_interval,
            settings.key_retention,
            now,
            &audit,
        )
        .await?;
        // A revocation is kept until its token can no longer pass, leeway included.
        let leeway = i64::from(self.settings.policy.leeway);
        self.store.purge(now - leeway - 3600, now - 86_400).await?;
        // Client authentication already refuses a replaced secret past its grace; this forgets its
        // tag and records in the audit log when it stopped.
        self.store.expire_previous_secrets(now).await?;
        self.write_usage().await?;
        self.sync().await
    }

    fn system_audit(&self, action: AuditAction, now: i64, detail: Value) -> AuditEvent {
        AuditEvent { at: now, org_id: None, actor: "system".into(), action, target: None, ip: None, detail }
    }
}
