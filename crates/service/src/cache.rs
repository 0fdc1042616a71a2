//! The node's in-memory view of clients, users and scope catalogues, so the token endpoint
//! needs no database round trip.
//!
//! Freshness: every committed change appends a row to the store's change feed in the same
//! transaction. Before a request uses the cache, [`Cache::sync`] compares the store's cheap
//! change stamp (for SQLite, the WAL-index header, rewritten by every commit of any process)
//! with the one seen last; only when it moved does it read the feed past its cursor and drop
//! the entries named there. So a change made by the CLI in another process is seen on the very
//! next request, at the cost of one 48-byte read when nothing changed.
//!
//! Revocations ride the same feed (SPEC §17): the node keeps the revoked access-token ids and
//! grant ids in memory, each until every token it stops would have expired anyway, so
//! introspection asks the store nothing when nothing changed. The memory is bounded by
//! `Settings::revocation_memory`; when more are live than that, the node forgets them all and
//! [`Cache::revoked`] answers "unknown", so each check asks the store as before, until a reload
//! (tried at a sync at most once a minute) finds that they fit again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tessera_core::model::{Client, ClientId, ClientKeys, OrgId, ScopeDef, User, UserId};
use tessera_jose::assertion::ClientKeySet;
use tessera_jose::verified::{self, VerifiedTokens};
use tessera_proto::AccessTokenClaims;
use tessera_store::{ChangeStamp, Entity, PreviousSecret, Refusals, Store};

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

/// What the revocation memory needs to know of time: now, and how long after its revocation a
/// token can still pass (the longest access-token lifetime plus the leeway).
#[derive(Debug, Clone, Copy)]
pub struct TokenWindow {
    pub now: i64,
    pub max_access_token_ttl: i64,
    pub leeway: i64,
}

impl TokenWindow {
    /// No token issued before this can pass any more, whatever happened to it.
    pub fn since(&self) -> i64 {
        self.now - self.max_access_token_ttl - self.leeway
    }

    /// Until when a revocation noted now matters: a token revoked now was issued before now.
    fn until_from_now(&self) -> i64 {
        self.now + self.max_access_token_ttl + self.leeway
    }
}

/// Revoked access-token ids and grant ids, each with the time after which every token it stops
/// has expired anyway; see the module documentation.
#[derive(Debug, Default)]
struct Revoked {
    tokens: HashMap<String, i64>,
    grants: HashMap<String, i64>,
    /// Every live revocation is here. False after an overflow (or before the first sync): then
    /// the store is asked.
    complete: bool,
    /// When the node last loaded them all.
    loaded_at: i64,
}

/// How often a node whose revocation memory overflowed tries to load it whole again.
const RELOAD_AFTER_OVERFLOW: i64 = 60;

impl Revoked {
    /// Everything still relevant, from the feed's full answer, or an incomplete memory when it
    /// does not fit in `capacity`.
    fn load(refusals: &Refusals, window: TokenWindow, capacity: usize) -> Self {
        let mut revoked = Self { complete: true, loaded_at: window.now, ..Self::default() };
        for (jti, exp) in &refusals.tokens {
            revoked.note_token(jti, exp + window.leeway, window.now, capacity);
        }
        for (grant, revoked_at) in &refusals.grants {
            revoked.note_grant(grant, revoked_at + window.max_access_token_ttl + window.leeway, window.now, capacity);
        }
        revoked
    }

    fn note_token(&mut self, jti: &str, until: i64, now: i64, capacity: usize) {
        if self.make_room(now, capacity) {
            self.tokens.insert(jti.to_owned(), until);
        }
    }

    fn note_grant(&mut self, grant: &str, until: i64, now: i64, capacity: usize) {
        if self.make_room(now, capacity) {
            self.grants.insert(grant.to_owned(), until);
        }
    }

    /// Whether one more fits: when full, entries whose tokens have expired go first; when it is
    /// still full, the memory gives up (incomplete, emptied) and the store answers.
    fn make_room(&mut self, now: i64, capacity: usize) -> bool {
        if !self.complete {
            return false;
        }
        if self.tokens.len() + self.grants.len() >= capacity {
            self.tokens.retain(|_, until| *until >= now);
            self.grants.retain(|_, until| *until >= now);
        }
        if self.tokens.len() + self.grants.len() >= capacity {
            tracing::warn!(
                capacity,
                "more revocations are live than --revocation-memory holds: introspection asks the store until they fit"
            );
            *self = Self { complete: false, loaded_at: self.loaded_at, ..Self::default() };
            return false;
        }
        true
    }
}

pub struct Cache {
    /// The signing keys, reloaded under the sync lock before the cursor moves past a key change,
    /// so a node never settles on an older key set than the feed it has read.
    keys: RwLock<Arc<KeySet>>,
    /// Bumped with every key set loaded: an access token remembered in `verified` counts only
    /// under the key set it was verified under.
    key_generation: AtomicU64,
    /// Access tokens whose signature was verified, with their claims (`tessera_jose::verified`):
    /// a resource server introspects the same token on every API request.
    verified: Option<VerifiedTokens<AccessTokenClaims>>,
    clients: RwLock<HashMap<ClientId, Option<Arc<CachedClient>>>>,
    users: RwLock<HashMap<UserId, Option<User>>>,
    catalogues: RwLock<HashMap<OrgId, Arc<Vec<ScopeDef>>>>,
    cursor: RwLock<Cursor>,
    sync_lock: tokio::sync::Mutex<()>,
    /// Bumped whenever entries are dropped, so a load that raced with a sync is not inserted.
    epoch: AtomicU64,
    revoked: RwLock<Revoked>,
    /// The bound of `revoked` (`Settings::revocation_memory`).
    revocation_capacity: usize,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").finish_non_exhaustive()
    }
}

/// How many verified access tokens a node remembers (about 500 bytes each).
const VERIFIED_TOKENS: usize = 10_000;

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
        Self::new(100_000)
    }
}

impl Cache {
    /// An empty cache whose revocation memory holds at most `revocation_capacity` ids.
    pub fn new(revocation_capacity: usize) -> Self {
        Self {
            keys: RwLock::new(Arc::new(KeySet::empty())),
            key_generation: AtomicU64::default(),
            verified: VerifiedTokens::new(VERIFIED_TOKENS),
            clients: RwLock::default(),
            users: RwLock::default(),
            catalogues: RwLock::default(),
            cursor: RwLock::default(),
            sync_lock: tokio::sync::Mutex::default(),
            epoch: AtomicU64::default(),
            revoked: RwLock::default(),
            revocation_capacity,
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
        let mut keys = write(&self.keys);
        *keys = Arc::new(keyset);
        // Under the lock: a reader never pairs the new keys with the old generation.
        self.key_generation.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Brings the cache and the keys up to date with everything committed so far.
    pub async fn sync(&self, store: &dyn Store, secrets: &SecretKeys, window: TokenWindow) -> Result<()> {
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
            // One snapshot: the feed's position and every revocation still relevant at it.
            let refusals = store.refusals(None, window.since()).await?;
            self.clear();
            self.reload_keys(store, secrets).await?;
            *write(&self.revoked) = Revoked::load(&refusals, window, self.revocation_capacity);
            *write(&self.cursor) = Cursor { stamp, seq: refusals.cursor, initialised: true };
            return Ok(());
        }
        self.reload_revocations_after_overflow(store, window).await?;
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
                Entity::Token => {
                    write(&self.revoked).note_token(&change.id, window.until_from_now(), window.now, self.revocation_capacity);
                }
                Entity::Grant => {
                    write(&self.revoked).note_grant(&change.id, window.until_from_now(), window.now, self.revocation_capacity);
                }
            }
        }
        if keys_changed {
            // On failure the cursor stays put, so the next request tries again.
            self.reload_keys(store, secrets).await?;
        }
        *write(&self.cursor) = Cursor { stamp, seq: last, initialised: true };
        Ok(())
    }

    /// After an overflow, at most once a minute: every live revocation again, if they fit now.
    /// Runs under the sync lock; entries past the cursor it reads early are harmless (they are
    /// revoked already), and the feed past the cursor still brings whatever comes after.
    async fn reload_revocations_after_overflow(&self, store: &dyn Store, window: TokenWindow) -> Result<()> {
        {
            let revoked = read(&self.revoked);
            if revoked.complete || window.now - revoked.loaded_at < RELOAD_AFTER_OVERFLOW || self.revocation_capacity == 0 {
                return Ok(());
            }
        }
        let refusals = store.refusals(None, window.since()).await?;
        *write(&self.revoked) = Revoked::load(&refusals, window, self.revocation_capacity);
        Ok(())
    }

    /// The claims of the access token `token` if its signature verifies under the current keys
    /// (`verify` does that), from memory when it was verified before under the same keys. Only
    /// the signature and the parsing are remembered: lifetime, revocation and the rest are the
    /// caller's to check every time.
    pub fn verified_access_token(
        &self,
        token: &str,
        verify: impl FnOnce(&KeySet) -> Option<AccessTokenClaims>,
    ) -> Option<AccessTokenClaims> {
        let (keys, generation) = {
            let keys = read(&self.keys);
            (keys.clone(), self.key_generation.load(Ordering::SeqCst))
        };
        let Some(remembered) = &self.verified else {
            return verify(&keys);
        };
        let digest = verified::digest(token);
        if let Some(claims) = remembered.get(&digest, generation) {
            return Some((*claims).clone());
        }
        let claims = verify(&keys)?;
        remembered.offer(digest, Arc::new(claims.clone()), generation);
        Some(claims)
    }

    /// Whether the access token `jti` of grant `grant_id` is revoked, from memory; `None` when
    /// the memory does not hold every live revocation (then ask the store).
    pub fn revoked(&self, jti: &str, grant_id: Option<&str>) -> Option<bool> {
        let revoked = read(&self.revoked);
        revoked.complete.then(|| revoked.tokens.contains_key(jti) || grant_id.is_some_and(|grant| revoked.grants.contains_key(grant)))
    }

    /// How many revocations the node holds in memory, and whether that is all of them.
    pub fn revocations_in_memory(&self) -> (usize, bool) {
        let revoked = read(&self.revoked);
        (revoked.tokens.len() + revoked.grants.len(), revoked.complete)
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

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: TokenWindow = TokenWindow { now: 1_000, max_access_token_ttl: 3600, leeway: 60 };

    fn refusals(tokens: &[(&str, i64)], grants: &[(&str, i64)]) -> Refusals {
        Refusals {
            cursor: 7,
            full: true,
            tokens: tokens.iter().map(|(id, exp)| ((*id).to_owned(), *exp)).collect(),
            grants: grants.iter().map(|(id, at)| ((*id).to_owned(), *at)).collect(),
            ..Refusals::default()
        }
    }

    #[test]
    fn a_loaded_memory_knows_tokens_and_grants_until_their_tokens_expire() {
        let revoked = Revoked::load(&refusals(&[("jti-1", 2_000)], &[("grant-1", 900)]), WINDOW, 10);
        assert!(revoked.complete);
        assert_eq!(revoked.tokens["jti-1"], 2_060, "exp plus the leeway");
        assert_eq!(revoked.grants["grant-1"], 900 + 3600 + 60, "revoked at, plus the longest token life and the leeway");
    }

    #[test]
    fn when_full_expired_entries_go_first_and_only_then_the_memory_gives_way() {
        let mut revoked = Revoked::load(&refusals(&[("old", 500), ("live", 5_000)], &[]), WINDOW, 2);
        assert!(revoked.complete, "two fit in two");
        // Full: the entry whose token expired (500 + 60 < 1000) makes room.
        revoked.note_grant("g", 9_000, WINDOW.now, 2);
        assert!(revoked.complete);
        assert_eq!((revoked.tokens.len(), revoked.grants.len()), (1, 1));
        assert!(!revoked.tokens.contains_key("old"));
        // Full of live entries: it gives up knowing, and empties.
        revoked.note_token("another", 9_000, WINDOW.now, 2);
        assert!(!revoked.complete);
        assert_eq!(revoked.tokens.len() + revoked.grants.len(), 0);
        // And stays so: what it notes now would not make it complete.
        revoked.note_token("more", 9_000, WINDOW.now, 2);
        assert_eq!(revoked.tokens.len(), 0);
    }

    #[test]
    fn a_load_that_does_not_fit_is_incomplete_and_a_bound_of_zero_leaves_it_to_the_store() {
        assert!(!Revoked::load(&refusals(&[("a", 5_000), ("b", 5_000)], &[("g", 900)]), WINDOW, 2).complete);
        let mut off = Revoked::load(&refusals(&[], &[]), WINDOW, 0);
        assert!(off.complete, "nothing revoked: nothing to ask the store");
        off.note_token("jti", 9_000, WINDOW.now, 0);
        assert!(!off.complete, "with a bound of 0 any revocation sends every check to the store");
    }

    #[test]
    fn the_cache_answers_unknown_until_it_holds_every_revocation() {
        let cache = Cache::new(10);
        assert_eq!(cache.revoked("jti", None), None, "before the first sync: ask the store");
        *write(&cache.revoked) = Revoked::load(&refusals(&[("jti", 5_000)], &[("grant", 900)]), WINDOW, 10);
        assert_eq!(cache.revoked("jti", None), Some(true));
        assert_eq!(cache.revoked("other", Some("grant")), Some(true));
        assert_eq!(cache.revoked("other", Some("other-grant")), Some(false));
        assert_eq!(cache.revocations_in_memory(), (2, true));
    }
}
