//! The node's in-memory view of clients, users and scope catalogues, so the token endpoint
//! needs no database round trip.
//!
//! Freshness: every committed change appends a row to the store's change feed in the same
//! transaction. Before a request uses the cache, [`Cache::sync`] compares the store's cheap
//! change stamp (for SQLite, the WAL-index header, rewritten by every commit of any process)
//! with the one seen last; only when it moved does it read the feed past its cursor and drop
//! the entries named there. So a change made by the CLI in another process is seen on the very
//! next request, at the cost of one 48-byte read when nothing changed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tessera_core::model::{Client, ClientId, ClientKeys, OrgId, ScopeDef, User, UserId};
use tessera_jose::assertion::ClientKeySet;
use tessera_store::{ChangeStamp, Entity, PreviousSecret, Store};

use crate::error::Result;
use crate::keys::KeySet;
use crate::secrets::SecretKeys;

/// A client with everything the token endpoint needs to decide.
#[derive(Debug)]
pub struct CachedClient {
    pub client: Client,
    pub secret_tag: Option<Vec<u8>>,
    /// The secret a roll with a grace period replaced, while the grace runs.
    pub previous_secret: Option<PreviousSecret>,
    pub owner: Option<User>,
    pub run_as: Option<User>,
    pub catalogue: Arc<Vec<ScopeDef>>,
    /// The parsed inline JWKS of a `private_key_jwt` client (checked at registration; `None`
    /// if it no longer parses, which fails every assertion).
    pub keys: Option<Arc<ClientKeySet>>,
    /// When this process last noted the client used (`usage`): read by every request, written
    /// at most once a minute.
    pub used_mark: std::sync::atomic::AtomicI64,
}

impl CachedClient {
    /// Who a token of this client acting for `subject` is for (`access::token_holder`: Tessera's
    /// own scopes only when the client is first-party to the subject).
    pub fn holder(&self, subject: &User) -> tessera_core::scope::Holder {
        tessera_core::access::token_holder(&self.client, self.owner.as_ref(), subject)
    }
}

/// What the last sync saw.
#[derive(Debug, Default)]
struct Cursor {
    stamp: Option<ChangeStamp>,
    seq: i64,
    initialised: bool,
}

pub struct Cache {
    /// The signing keys, reloaded under the sync lock before the cursor moves past a key change,
    /// so a node never settles on an older key set than the feed it has read.
    keys: RwLock<Arc<KeySet>>,
    clients: RwLock<HashMap<ClientId, Option<Arc<CachedClient>>>>,
    users: RwLock<HashMap<UserId, Option<User>>>,
    catalogues: RwLock<HashMap<OrgId, Arc<Vec<ScopeDef>>>>,
    cursor: RwLock<Cursor>,
    sync_lock: tokio::sync::Mutex<()>,
    /// Bumped whenever entries are dropped, so a load that raced with a sync is not inserted.
    epoch: AtomicU64,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").finish_non_exhaustive()
    }
}

/// Entries never grow past this; beyond it the map is cleared (unknown ids from a flood).
const MAX_ENTRIES: usize = 100_000;

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Default for Cache {
    fn default() -> Self {
        Self {
            keys: RwLock::new(Arc::new(KeySet::empty())),
            clients: RwLock::default(),
            users: RwLock::default(),
            catalogues: RwLock::default(),
            cursor: RwLock::default(),
            sync_lock: tokio::sync::Mutex::default(),
            epoch: AtomicU64::default(),
        }
    }
}

impl Cache {
    /// The current key set.
    pub fn keys(&self) -> Arc<KeySet> {
        read(&self.keys).clone()
    }

    async fn reload_keys(&self, store: &dyn Store, secrets: &SecretKeys) -> Result<()> {
        let keyset = KeySet::load(&store.signing_keys().await?, secrets)?;
        *write(&self.keys) = Arc::new(keyset);
        Ok(())
    }

    /// Brings the cache and the keys up to date with everything committed so far.
    pub async fn sync(&self, store: &dyn Store, secrets: &SecretKeys) -> Result<()> {
        let stamp = store.change_stamp();
        if stamp.is_some() {
            let cursor = read(&self.cursor);
            if cursor.initialised && cursor.stamp == stamp {
                return Ok(());
            }
        }
        let _guard = self.sync_lock.lock().await;
        // Read the stamp before the feed: a commit landing in between moves the stamp again
        // and is picked up by the next sync, never lost.
        let stamp = store.change_stamp();
        let (seq, initialised) = {
            let cursor = read(&self.cursor);
            (cursor.seq, cursor.initialised)
        };
        if !initialised {
            let latest = store.latest_change().await?;
            self.clear();
            self.reload_keys(store, secrets).await?;
            *write(&self.cursor) = Cursor { stamp, seq: latest, initialised: true };
            return Ok(());
        }
        let changes = store.changes_since(seq).await?;
        if !changes.is_empty() {
            // Bump before dropping entries: a load that read old rows then fails its check.
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }
        let mut last = seq;
        let mut keys_changed = false;
        for change in &changes {
            last = change.seq;
            match change.entity {
                Entity::Client => {
                    write(&self.clients).remove(&ClientId::new(change.id.clone()));
                }
                Entity::User => {
                    write(&self.users).remove(&UserId::new(change.id.clone()));
                    write(&self.clients).clear();
                }
                Entity::Scope | Entity::Org => {
                    write(&self.catalogues).remove(&OrgId::new(change.id.clone()));
                    write(&self.clients).clear();
                }
                Entity::Key => keys_changed = true,
                // Revocations are read from the store on each check; nothing cached to drop.
                Entity::Token | Entity::Grant => {}
            }
        }
        if keys_changed {
            // On failure the cursor stays put, so the next request tries again.
            self.reload_keys(store, secrets).await?;
        }
        *write(&self.cursor) = Cursor { stamp, seq: last, initialised: true };
        Ok(())
    }

    fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        write(&self.clients).clear();
        write(&self.users).clear();
        write(&self.catalogues).clear();
    }

    /// The client with its users and catalogue; `None` for an unknown id (also cached).
    pub async fn client(&self, store: &dyn Store, id: &ClientId) -> Result<Option<Arc<CachedClient>>> {
        if let Some(entry) = read(&self.clients).get(id) {
            return Ok(entry.clone());
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let loaded = match store.client(id).await? {
            None => None,
            Some(record) => {
                let owner = self.user(store, &record.client.owner).await?;
                let run_as = self.user(store, &record.client.run_as).await?;
                let catalogue = self.catalogue(store, &record.client.org_id).await?;
                let keys = match &record.client.keys {
                    Some(ClientKeys::Jwks(jwks)) => ClientKeySet::parse(jwks).ok().map(Arc::new),
                    _ => None,
                };
                Some(Arc::new(CachedClient {
                    secret_tag: record.secret.map(|s| s.tag),
                    previous_secret: record.previous_secret,
                    client: record.client,
                    owner,
                    run_as,
                    catalogue,
                    keys,
                    used_mark: std::sync::atomic::AtomicI64::new(0),
                }))
            }
        };
        self.insert_if_current(&self.clients, epoch, id.clone(), loaded.clone());
        Ok(loaded)
    }

    pub async fn user(&self, store: &dyn Store, id: &UserId) -> Result<Option<User>> {
        if let Some(entry) = read(&self.users).get(id) {
            return Ok(entry.clone());
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let loaded = store.user(id).await?;
        self.insert_if_current(&self.users, epoch, id.clone(), loaded.clone());
        Ok(loaded)
    }

    pub async fn catalogue(&self, store: &dyn Store, org: &OrgId) -> Result<Arc<Vec<ScopeDef>>> {
        if let Some(entry) = read(&self.catalogues).get(org) {
            return Ok(entry.clone());
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let loaded = Arc::new(store.scopes(org).await?);
        self.insert_if_current(&self.catalogues, epoch, org.clone(), loaded.clone());
        Ok(loaded)
    }

    fn insert_if_current<K: std::hash::Hash + Eq, V>(&self, map: &RwLock<HashMap<K, V>>, epoch: u64, key: K, value: V) {
        let mut map = write(map);
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, value);
    }
}
