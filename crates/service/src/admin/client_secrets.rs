//! A client's secret: made, sealed, revealed to those who may see it, and regenerated.

use tessera_core::audit::AuditAction;
use tessera_core::model::ClientId;
use tessera_core::{access, message};
use tessera_store::SecretMaterial;

use super::{Actor, invalid};
use crate::Tessera;
use crate::error::{Result, ServiceError};

/// The longest a replaced secret keeps working after a roll: 30 days.
pub const MAX_SECRET_GRACE: u32 = 30 * 86_400;

/// A client's new secret, and until when the one it replaced still works. No `Debug`: it holds
/// the secret.
pub struct RolledSecret {
    pub client_id: String,
    pub client_secret: String,
    pub previous_secret_expires_at: Option<i64>,
}

fn secret_context(id: &ClientId) -> String {
    format!("client-secret:{id}")
}

impl Tessera {
    pub(super) fn new_secret(&self, id: &ClientId) -> Result<(String, SecretMaterial)> {
        let secret = self.secrets.random_token(32)?;
        let material = self.secret_material(id, &secret)?;
        Ok((secret, material))
    }

    /// How `secret` is stored for client `id`: its keyed tag and a sealed copy.
    pub(super) fn secret_material(&self, id: &ClientId, secret: &str) -> Result<SecretMaterial> {
        Ok(SecretMaterial { tag: self.secrets.secret_tag(secret), sealed: self.secrets.seal(&secret_context(id), secret.as_bytes())? })
    }

    /// Replaces a client's secret. Without `grace` (or zero) the old one is void from the commit
    /// on; with it, the old one keeps working beside the new for that many seconds (SPEC §13),
    /// so the client's owner can roll it out without an outage. Returns the new one, and until
    /// when the old one works.
    pub async fn regenerate_secret(&self, actor: &Actor, id: &str, grace: Option<u32>) -> Result<RolledSecret> {
        let record = self.client_record(actor, id).await?;
        let run_as = self.client_run_as(&record.client).await?;
        let decision = access::use_credentials(actor.caller(), &record.client, &run_as);
        self.check_access(actor, decision, "client", "client_secret_regenerate", &record.client.org_id, id).await?;
        if !record.client.auth_method.uses_secret() {
            return Err(invalid(message!(
                "client-method-has-no-secret",
                "a client authenticating with {method} has no secret",
                method = record.client.auth_method.as_str()
            )));
        }
        let grace = grace.filter(|seconds| *seconds > 0);
        if grace.is_some_and(|seconds| seconds > MAX_SECRET_GRACE) {
            return Err(invalid(message!(
                "secret-grace-too-long",
                "the grace period is at most {most} seconds (30 days)",
                most = MAX_SECRET_GRACE
            )));
        }
        let previous_until = grace.map(|seconds| self.clock.now() + i64::from(seconds));
        let (secret, material) = self.new_secret(&record.client.id)?;
        let audit = self.audit(
            actor,
            AuditAction::ClientSecretRegenerated,
            Some(&record.client.org_id),
            Some(id.to_owned()),
            serde_json::json!({ "grace_seconds": grace.unwrap_or(0), "previous_secret_expires_at": previous_until }),
        );
        // Tokens already issued stay valid until they expire or are revoked (SECURITY.md V08, as
        // the seed documents say); revoking them is a separate, explicit act.
        if !self.store().replace_client_secret(&record.client.id, &material, previous_until, &audit).await? {
            return Err(ServiceError::NotFound("client"));
        }
        Ok(RolledSecret { client_id: record.client.id.to_string(), client_secret: secret, previous_secret_expires_at: previous_until })
    }

    /// The stored secret in clear, for its owner's Show button (audited, A11).
    pub async fn reveal_secret(&self, actor: &Actor, id: &str) -> Result<String> {
        let record = self.secret_record(actor, id).await?;
        let material = record.secret.ok_or_else(|| invalid(message!("secret-none", "this client has no secret")))?;
        let secret = self.open_client_secret(&record.client.id, &material)?;
        // Audited only when something was revealed.
        let audit =
            self.audit(actor, AuditAction::ClientSecretRevealed, Some(&record.client.org_id), Some(id.to_owned()), serde_json::json!({}));
        self.store().append_audit(&audit).await?;
        Ok(secret)
    }

    /// Whether `actor` may see the secret of client `id`, asked before a page goes on to show it
    /// (a refusal is audited as any; nothing is revealed yet, so nothing else is).
    pub async fn may_reveal_secret(&self, actor: &Actor, id: &str) -> Result<()> {
        self.secret_record(actor, id).await.map(drop)
    }

    async fn secret_record(&self, actor: &Actor, id: &str) -> Result<tessera_store::ClientRecord> {
        let record = self.client_record(actor, id).await?;
        let run_as = self.client_run_as(&record.client).await?;
        let decision = access::reveal_secret(actor.caller(), &record.client, &run_as);
        self.check_access(actor, decision, "client", "client_secret_reveal", &record.client.org_id, id).await?;
        Ok(record)
    }

    /// Unseals a client's stored secret.
    pub(crate) fn open_client_secret(&self, id: &ClientId, material: &SecretMaterial) -> Result<String> {
        let plain = self.secrets.open(&secret_context(id), &material.sealed)?;
        String::from_utf8(plain).map_err(|_| ServiceError::Internal("sealed secret is not text".into()))
    }
}
