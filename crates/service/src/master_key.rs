//! The master key a store is sealed with: claiming a fresh store, and refusing a wrong key.

use tessera_core::message;
use tessera_store::Store;

use crate::secrets::SecretKeys;
use crate::{Result, ServiceError};

const MASTER_KEY_CHECK: &str = "master_key_check";

/// The master key must be the one the store was sealed with. A store that was never sealed is
/// claimed by this key; a store sealed by another key, or a key missing, is a hard error: new
/// keys are never made silently over existing data (X17).
pub(crate) async fn verify_master_key(store: &dyn Store, secrets: &SecretKeys) -> Result<()> {
    let stored = match store.meta(MASTER_KEY_CHECK).await? {
        Some(stored) => stored,
        None => {
            if !store.signing_keys().await?.is_empty() || !store.clients(None).await?.is_empty() {
                return Err(ServiceError::invalid(message!(
                    "master-key-check-missing",
                    "the store holds sealed data but no master-key check value"
                )));
            }
            store.init_meta(MASTER_KEY_CHECK, secrets.check_value()).await?
        }
    };
    if stored != secrets.check_value() {
        return Err(ServiceError::invalid(message!(
            "master-key-wrong",
            "the master key does not match this store (wrong TESSERA_MASTER_KEY or master.key file)"
        )));
    }
    Ok(())
}

/// What a store says about its master key, read before the key is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// The check value of the master key that claimed the store, if one did.
    pub check: Option<String>,
    /// Whether anything is sealed under that key: signing keys, which the first start of any
    /// process writes before anything else can be (a client secret needs an opened service).
    /// Until then the claim is provisional.
    pub sealed_data: bool,
}

impl Seal {
    /// A store no master key ever claimed and nothing was ever written to: a fresh store, or
    /// one that was lost (deleted, or copied without its `-wal` file).
    pub fn is_blank(&self) -> bool {
        self.check.is_none() && !self.sealed_data
    }
}

/// Reads what the store says about its master key.
pub async fn seal(store: &dyn Store) -> Result<Seal> {
    let check = store.meta(MASTER_KEY_CHECK).await?;
    // Signing keys only, not the clients: every start and every CLI command reads this, and a
    // store may hold a great many clients.
    let sealed_data = !store.signing_keys().await?.is_empty();
    Ok(Seal { check, sealed_data })
}

/// Claims a store that holds nothing sealed for the master key of `secrets`, before that key
/// is written anywhere: records its check value, replacing a provisional one (left by a start
/// that crashed before it wrote its key file). False when another process claimed the fresh
/// store first.
pub async fn claim_store(store: &dyn Store, secrets: &SecretKeys, seal: &Seal) -> Result<bool> {
    if seal.sealed_data {
        return Err(ServiceError::invalid(message!("master-key-other-sealed", "the store holds data sealed under another master key")));
    }
    let ours = secrets.check_value();
    match seal.check {
        None => Ok(store.init_meta(MASTER_KEY_CHECK, ours).await? == ours),
        Some(_) => {
            store.set_meta(MASTER_KEY_CHECK, ours).await?;
            Ok(true)
        }
    }
}
