//! Signing keys: a `next` key is published before it signs, one `current` key signs, and
//! `retired` keys stay published until every token they signed has expired. Private keys are
//! stored sealed under the master key.

use std::collections::HashMap;
use std::sync::Arc;

use tessera_jose::{Algorithm, SigningKey, VerifyingKey};
use tessera_proto::{Jwk, JwkSet, KeyView};
use tessera_store::{KeyRecord, KeyRotation, KeyState, Store};

use crate::error::{Result, ServiceError};
use crate::secrets::SecretKeys;

/// The keys a node works with, loaded from the store and unsealed.
#[derive(Debug)]
pub struct KeySet {
    pub current: Option<Arc<SigningKey>>,
    verifying: HashMap<String, VerifyingKey>,
    /// The JWKS document, serialised once per key change.
    pub jwks_json: Arc<str>,
    pub records: Vec<KeyView>,
}

impl KeySet {
    pub fn empty() -> Self {
        Self { current: None, verifying: HashMap::new(), jwks_json: Arc::from(r#"{"keys":[]}"#), records: Vec::new() }
    }

    /// Loads and unseals every stored key.
    pub fn load(records: &[KeyRecord], secrets: &SecretKeys) -> Result<Self> {
        let mut current = None;
        let mut verifying = HashMap::new();
        let mut jwks = JwkSet::default();
        let mut views = Vec::new();
        for record in records {
            let alg =
                Algorithm::parse(&record.alg).ok_or_else(|| ServiceError::Internal(format!("unknown key algorithm of {}", record.kid)))?;
            let jwk: Jwk =
                serde_json::from_str(&record.public_jwk).map_err(|_| ServiceError::Internal(format!("bad public key {}", record.kid)))?;
            verifying.insert(
                record.kid.clone(),
                VerifyingKey::from_jwk(&jwk).map_err(|_| ServiceError::Internal(format!("bad public key {}", record.kid)))?,
            );
            if record.state == KeyState::Current {
                let der = secrets.open(&key_context(&record.kid), &record.private_sealed)?;
                let key =
                    SigningKey::from_pkcs8(alg, &der).map_err(|_| ServiceError::Internal(format!("bad private key {}", record.kid)))?;
                current = Some(Arc::new(key));
            }
            jwks.keys.push(jwk);
            views.push(KeyView {
                kid: record.kid.clone(),
                alg: record.alg.clone(),
                state: record.state.as_str().into(),
                created_at: record.created_at,
                activated_at: record.activated_at,
                retired_at: record.retired_at,
            });
        }
        let jwks_json = serde_json::to_string(&jwks).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(Self { current, verifying, jwks_json: Arc::from(jwks_json), records: views })
    }

    pub fn verifying_key(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifying.get(kid)
    }
}

fn key_context(kid: &str) -> String {
    format!("signing-key:{kid}")
}

/// A freshly generated key, sealed for storage.
fn new_record(alg: Algorithm, state: KeyState, secrets: &SecretKeys, now: i64) -> Result<KeyRecord> {
    let (key, der) = SigningKey::generate(alg).map_err(|_| ServiceError::Internal("key generation failed".into()))?;
    let kid = key.kid().to_owned();
    Ok(KeyRecord {
        private_sealed: secrets.seal(&key_context(&kid), &der.0)?,
        public_jwk: serde_json::to_string(key.public_jwk()).map_err(|e| ServiceError::Internal(e.to_string()))?,
        kid,
        alg: alg.name().into(),
        state,
        created_at: now,
        activated_at: (state == KeyState::Current).then_some(now),
        retired_at: None,
    })
}

/// Makes sure a current and a next key exist. After an algorithm change, the unused next key
/// is replaced by one of the new algorithm: published now, it signs from the next rotation on.
pub async fn ensure_keys(store: &dyn Store, secrets: &SecretKeys, alg: Algorithm, now: i64) -> Result<()> {
    let records = store.signing_keys().await?;
    let current = records.iter().find(|k| k.state == KeyState::Current);
    let next = records.iter().find(|k| k.state == KeyState::Next);
    let mut rotation = KeyRotation { expected_current: current.map(|k| k.kid.clone()), now, ..Default::default() };
    if current.is_none() {
        rotation.insert.push(new_record(alg, KeyState::Current, secrets, now)?);
    }
    match next {
        Some(next) if next.alg == alg.name() => {}
        Some(next) => {
            rotation.purge.push(next.kid.clone());
            rotation.insert.push(new_record(alg, KeyState::Next, secrets, now)?);
        }
        None => rotation.insert.push(new_record(alg, KeyState::Next, secrets, now)?),
    }
    if !rotation.insert.is_empty() {
        // false: another process did it first, which is just as good.
        store.rotate_keys(&rotation, None).await?;
    }
    Ok(())
}

/// Rotates: next → current, current → retired, a new next; purges retired keys whose tokens
/// have all expired (`retention` seconds after retirement). Returns false when another process
/// rotated first.
pub async fn rotate(
    store: &dyn Store,
    secrets: &SecretKeys,
    alg: Algorithm,
    retention: i64,
    now: i64,
    audit: &tessera_core::audit::AuditEvent,
) -> Result<bool> {
    let records = store.signing_keys().await?;
    let rotation = rotation_plan(&records, secrets, alg, retention, now)?;
    Ok(store.rotate_keys(&rotation, Some(audit)).await?)
}

/// Scheduled upkeep, from one read of the key table: rotates once the current key has signed
/// for `interval` seconds, otherwise only purges retired keys no token can still need.
pub async fn maintain(
    store: &dyn Store,
    secrets: &SecretKeys,
    alg: Algorithm,
    interval: i64,
    retention: i64,
    now: i64,
    audit: &tessera_core::audit::AuditEvent,
) -> Result<()> {
    let records = store.signing_keys().await?;
    let current = records.iter().find(|k| k.state == KeyState::Current);
    if current.is_some_and(|k| k.activated_at.unwrap_or(k.created_at) + interval <= now) {
        store.rotate_keys(&rotation_plan(&records, secrets, alg, retention, now)?, Some(audit)).await?;
        return Ok(());
    }
    let purge = expired_retired(&records, retention, now);
    if !purge.is_empty() {
        let rotation = KeyRotation { expected_current: current.map(|k| k.kid.clone()), purge, now, ..Default::default() };
        store.rotate_keys(&rotation, None).await?;
    }
    Ok(())
}

fn rotation_plan(records: &[KeyRecord], secrets: &SecretKeys, alg: Algorithm, retention: i64, now: i64) -> Result<KeyRotation> {
    let current = records.iter().find(|k| k.state == KeyState::Current).map(|k| k.kid.clone());
    let mut rotation = KeyRotation { expected_current: current.clone(), retire: current, now, ..Default::default() };
    // The published next key signs from now on, whatever its algorithm: it is the one relying
    // parties already have. Only a store without one gets a key that signs unpublished.
    match records.iter().find(|k| k.state == KeyState::Next) {
        Some(next) => rotation.promote = Some(next.kid.clone()),
        None => rotation.insert.push(new_record(alg, KeyState::Current, secrets, now)?),
    }
    rotation.insert.push(new_record(alg, KeyState::Next, secrets, now)?);
    rotation.purge = expired_retired(records, retention, now);
    Ok(rotation)
}

/// Retired keys no token can still need.
fn expired_retired(records: &[KeyRecord], retention: i64, now: i64) -> Vec<String> {
    records
        .iter()
        .filter(|k| k.state == KeyState::Retired && k.retired_at.is_some_and(|at| at + retention < now))
        .map(|k| k.kid.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MasterKey;
    use tessera_core::audit::{AuditAction, AuditEvent};

    fn audit(now: i64) -> AuditEvent {
        AuditEvent {
            at: now,
            org_id: None,
            actor: "test".into(),
            action: AuditAction::KeysRotated,
            target: None,
            ip: None,
            detail: serde_json::json!({}),
        }
    }

    fn by_state(records: &[KeyRecord], state: KeyState) -> Vec<String> {
        records.iter().filter(|k| k.state == state).map(|k| k.kid.clone()).collect()
    }

    #[tokio::test]
    async fn maintain_rotates_when_due_and_purges_after_retention() {
        let dir = std::env::temp_dir().join(format!("tessera-keys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = tessera_store::open(&format!("sqlite://{}", dir.join("t.db").display())).await.unwrap();
        let secrets = SecretKeys::new(&MasterKey::generate().unwrap()).unwrap();
        let (interval, retention) = (100, 50);
        ensure_keys(&*store, &secrets, Algorithm::ES256, 1000).await.unwrap();
        let first = store.signing_keys().await.unwrap();
        let (current, next) = (by_state(&first, KeyState::Current), by_state(&first, KeyState::Next));

        maintain(&*store, &secrets, Algorithm::ES256, interval, retention, 1099, &audit(1099)).await.unwrap();
        assert_eq!(store.signing_keys().await.unwrap(), first, "not due yet: nothing changes");

        maintain(&*store, &secrets, Algorithm::ES256, interval, retention, 1100, &audit(1100)).await.unwrap();
        let rotated = store.signing_keys().await.unwrap();
        assert_eq!(by_state(&rotated, KeyState::Current), next, "the published next key signs");
        assert_eq!(by_state(&rotated, KeyState::Retired), current, "the old key stays published");
        assert_eq!(by_state(&rotated, KeyState::Next).len(), 1);

        maintain(&*store, &secrets, Algorithm::ES256, interval, retention, 1150, &audit(1150)).await.unwrap();
        assert_eq!(by_state(&store.signing_keys().await.unwrap(), KeyState::Retired), current, "kept until the retention has passed");
        maintain(&*store, &secrets, Algorithm::ES256, interval, retention, 1151, &audit(1151)).await.unwrap();
        assert!(by_state(&store.signing_keys().await.unwrap(), KeyState::Retired).is_empty(), "purged once no token can need it");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
