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
//! Two levels, so that a request writes no memory another core reads (SPEC §17; one client
//! used by every request is the common production shape):
//! - the node's cache, shared by every thread and bounded by entries and by estimated memory
//!   ([`CacheBounds`]; `quick_cache`, which keeps the hot set by frequency and evicts the rest);
//! - a small view per thread ([`WorkerView`]: each HTTP worker owns its thread) holding the
//!   entries that thread used lately, each wrapped once ([`ClientRef`]), and the last change
//!   stamp and key set it saw. A request that finds its client there touches only its own
//!   thread's memory: no lock word, no shared reference count. A view is emptied when the node
//!   drops any entry (the `epoch` moved), so it is never staler than the node's cache.
//!
//! Revocations ride the same feed (SPEC §17): the node keeps the revoked access-token ids and
//! grant ids in memory, each until every token it stops would have expired anyway, so
//! introspection asks the store nothing when nothing changed. The memory is bounded by
//! `Settings::revocation_memory`; when more are live than that, the node forgets them all and
//! [`Cache::revoked`] answers "unknown", so each check asks the store as before, until a reload
//! (tried at a sync at most once a minute) finds that they fit again.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

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

/// A cached client as a request holds it. A worker wraps the node's shared entry once, when it
/// first uses it, so a request's clone touches only the worker's own reference count, never the
/// shared entry's (which every core would otherwise write on every request for a busy client).
#[derive(Debug, Clone)]
#[expect(clippy::redundant_allocation, reason = "the outer Arc is the worker's own, the inner one the node's")]
pub struct ClientRef(Arc<Arc<CachedClient>>);

impl ClientRef {
    fn new(shared: Arc<CachedClient>) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for ClientRef {
    type Target = CachedClient;

    fn deref(&self) -> &CachedClient {
        &self.0
    }
}

/// What the node's cache may hold (`--cache-entries`, `--cache-memory`, `--revocation-memory`).
#[derive(Debug, Clone, Copy)]
pub struct CacheBounds {
    /// Clients, users and catalogues together, at most.
    pub entries: usize,
    /// Their estimated size together, in bytes, at most.
    pub memory: usize,
    /// Revoked token and grant ids, at most (see [`Revoked`]).
    pub revocations: usize,
}

impl Default for CacheBounds {
    fn default() -> Self {
        Self { entries: 100_000, memory: 64 << 20, revocations: 100_000 }
    }
}

/// An entry of the node's cache.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Client(ClientId),
    User(UserId),
    Catalogue(OrgId),
}

#[derive(Debug, Clone)]
enum Entry {
    /// `None`: no such client (an unknown id is asked once, not on every request).
    Client(Option<Arc<CachedClient>>),
    User(Option<User>),
    Catalogue(Arc<Vec<ScopeDef>>),
}

/// Weighs an entry by its estimated size, and at least `floor` (the memory bound over the entry
/// bound), so that one weight capacity bounds both the bytes and the number of entries.
#[derive(Debug, Clone)]
struct Weigh {
    floor: u64,
}

impl quick_cache::Weighter<Key, Entry> for Weigh {
    fn weight(&self, _key: &Key, entry: &Entry) -> u64 {
        u64::try_from(entry.estimated_bytes()).unwrap_or(u64::MAX).max(self.floor)
    }
}

impl Entry {
    /// About what the entry holds on the heap and inline, key and cache bookkeeping included.
    fn estimated_bytes(&self) -> usize {
        // The key (an id), the cache's slot and its hash table's share.
        const OVERHEAD: usize = 128;
        OVERHEAD
            + match self {
                Self::Client(None) | Self::User(None) => 0,
                Self::Client(Some(cached)) => {
                    std::mem::size_of::<CachedClient>()
                        + PER_ALLOCATION
                        + client_bytes(&cached.client)
                        + cached.secret_tag.as_ref().map_or(0, Vec::len)
                        + cached.previous_secret.as_ref().map_or(0, |p| p.tag.len())
                        + cached.owner.as_ref().map_or(0, user_bytes)
                        + cached.run_as.as_ref().map_or(0, user_bytes)
                        // The parsed keys are about twice the document.
                        + cached.keys.as_ref().map_or(0, |_| match &cached.client.keys {
                            Some(ClientKeys::Jwks(jwks)) => 2 * jwks.len(),
                            _ => 0,
                        })
                }
                Self::User(Some(user)) => user_bytes(user),
                Self::Catalogue(scopes) => scopes.iter().map(|s| std::mem::size_of::<ScopeDef>() + s.name.len()).sum(),
            }
    }
}

/// What the allocator adds to each heap block (its header and rounding), about.
const PER_ALLOCATION: usize = 24;

/// A heap string: its bytes and the allocator's share (nothing for an empty one).
fn heap_text(text: &str) -> usize {
    if text.is_empty() { 0 } else { text.len() + PER_ALLOCATION }
}

/// A `BTreeSet` of `count` elements of `element` inline bytes: leaves of up to 11 elements.
fn btree_bytes(count: usize, element: usize) -> usize {
    count.div_ceil(11) * (16 + 11 * element + PER_ALLOCATION)
}

fn client_bytes(client: &Client) -> usize {
    let strings = |list: &[String]| {
        list.iter().map(|s| std::mem::size_of::<String>() + heap_text(s)).sum::<usize>() + if list.is_empty() { 0 } else { PER_ALLOCATION }
    };
    std::mem::size_of::<Client>()
        + heap_text(client.id.as_str())
        + heap_text(client.org_id.as_str())
        + heap_text(&client.name)
        + heap_text(client.owner.as_str())
        + heap_text(client.run_as.as_str())
        + btree_bytes(client.scopes.len(), std::mem::size_of::<String>())
        + client.scopes.iter().map(heap_text).sum::<usize>()
        + btree_bytes(client.grants.len(), std::mem::size_of::<tessera_core::model::GrantType>())
        + strings(&client.redirect_uris)
        + strings(&client.allowed_origins)
        + strings(&client.resources)
        + client.allowed_ips.len() * std::mem::size_of::<ipnet::IpNet>()
        + client.keys.as_ref().map_or(0, |keys| match keys {
            ClientKeys::Jwks(text) | ClientKeys::Uri(text) => heap_text(text),
        })
}

fn user_bytes(user: &User) -> usize {
    std::mem::size_of::<User>()
        + heap_text(user.id.as_str())
        + heap_text(user.org_id.as_str())
        + heap_text(user.person_id.as_str())
        + heap_text(&user.email)
}

/// How many clients and users one thread's view holds (the hot set; the rest come from the
/// node's cache, at the price of one shared lock word).
const WORKER_ENTRIES: usize = 1_024;

/// A thread's own handle on the shared key set (the Rc is this thread's own count, the Arc
/// the node's).
type ViewKeys = Rc<Arc<KeySet>>;

/// One thread's view of the node's cache; see the module documentation.
struct WorkerView {
    /// Which [`Cache`] this view is of (tests run several in one process).
    cache: u64,
    /// The change stamp this thread last saw synced.
    stamp: Option<ChangeStamp>,
    /// The node's `epoch` the entries below were taken at.
    epoch: u64,
    clients: quick_cache::unsync::Cache<ClientId, Option<ClientRef>>,
    users: quick_cache::unsync::Cache<UserId, Option<User>>,
    /// The key set, at `key_generation`; `Rc` so that a signature borrows it without touching
    /// the shared set's reference count.
    keys: Option<(ViewKeys, u64)>,
}

impl WorkerView {
    fn new(cache: u64, epoch: u64) -> Self {
        Self {
            cache,
            stamp: None,
            epoch,
            clients: quick_cache::unsync::Cache::new(WORKER_ENTRIES),
            users: quick_cache::unsync::Cache::new(WORKER_ENTRIES),
            keys: None,
        }
    }
}

thread_local! {
    static VIEW: RefCell<Option<WorkerView>> = const { RefCell::new(None) };
}

/// Tells the caches of one process apart, for the views.
static NEXT_CACHE_ID: AtomicU64 = AtomicU64::new(1);

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
    /// Tells this cache's per-thread views from another's.
    id: u64,
    /// The signing keys, reloaded under the sync lock before the cursor moves past a key change,
    /// so a node never settles on an older key set than the feed it has read.
    keys: RwLock<Arc<KeySet>>,
    /// Bumped with every key set loaded: an access token remembered in `verified` counts only
    /// under the key set it was verified under, and a view's keys only under the current one.
    key_generation: AtomicU64,
    /// Access tokens whose signature was verified, with their claims (`tessera_jose::verified`):
    /// a resource server introspects the same token on every API request.
    verified: Option<VerifiedTokens<AccessTokenClaims>>,
    /// Clients, users and catalogues, bounded ([`CacheBounds`]).
    entries: quick_cache::sync::Cache<Key, Entry, Weigh>,
    /// Held to insert a loaded entry (after checking `epoch`) and to drop entries, so a load that
    /// raced with a sync never leaves a stale entry behind.
    fill_lock: Mutex<()>,
    cursor: RwLock<Cursor>,
    sync_lock: tokio::sync::Mutex<()>,
    /// Bumped before and after entries are dropped: a load that read old rows is not inserted,
    /// and a view taken before the drop is emptied.
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

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Default for Cache {
    fn default() -> Self {
        Self::new(CacheBounds::default())
    }
}

impl Cache {
    /// An empty cache within `bounds`.
    pub fn new(bounds: CacheBounds) -> Self {
        let entries = bounds.entries.max(1);
        let memory = bounds.memory.max(1);
        let weigh = Weigh { floor: u64::try_from(memory / entries).unwrap_or(1).max(1) };
        Self {
            id: NEXT_CACHE_ID.fetch_add(1, Ordering::Relaxed),
            keys: RwLock::new(Arc::new(KeySet::empty())),
            key_generation: AtomicU64::default(),
            verified: VerifiedTokens::new(VERIFIED_TOKENS),
            entries: quick_cache::sync::Cache::with_weighter(entries, u64::try_from(memory).unwrap_or(u64::MAX), weigh),
            fill_lock: Mutex::default(),
            cursor: RwLock::default(),
            sync_lock: tokio::sync::Mutex::default(),
            epoch: AtomicU64::default(),
            revoked: RwLock::default(),
            revocation_capacity: bounds.revocations,
        }
    }

    /// Runs `f` on this thread's view, made (or emptied) first when it is of another cache or
    /// older than the node's last drop. `f` must not call back into the cache.
    fn with_view<R>(&self, f: impl FnOnce(&mut WorkerView) -> R) -> R {
        let epoch = self.epoch.load(Ordering::SeqCst);
        VIEW.with(|cell| {
            let mut slot = cell.borrow_mut();
            let view = match slot.take() {
                Some(view) if view.cache == self.id && view.epoch == epoch => view,
                Some(view) if view.cache == self.id => WorkerView { stamp: view.stamp, keys: view.keys, ..WorkerView::new(self.id, epoch) },
                _ => WorkerView::new(self.id, epoch),
            };
            f(slot.insert(view))
        })
    }

    /// How many clients, users and catalogues the node holds, and their estimated bytes.
    pub fn size(&self) -> (usize, u64) {
        (self.entries.len(), self.entries.weight())
    }
}

impl Cache {
    /// The current key set.
    pub fn keys(&self) -> Arc<KeySet> {
        read(&self.keys).clone()
    }

    /// The current key set and its generation, from this thread's view (a shared read only
    /// when the keys changed since this thread last looked).
    fn view_keys(&self) -> (ViewKeys, u64) {
        let generation = self.key_generation.load(Ordering::SeqCst);
        self.with_view(|view| match &view.keys {
            Some((keys, seen)) if *seen == generation => (keys.clone(), generation),
            _ => {
                let keys = read(&self.keys);
                // Under the lock: the generation that goes with these keys.
                let pair = (Rc::new(keys.clone()), self.key_generation.load(Ordering::SeqCst));
                view.keys = Some(pair.clone());
                pair
            }
        })
    }

    /// Runs `f` with the current key set, borrowed without a shared reference count.
    pub fn with_keys<R>(&self, f: impl FnOnce(&KeySet) -> R) -> R {
        let (keys, _) = self.view_keys();
        f(&keys)
    }

    async fn reload_keys(&self, store: &dyn Store, secrets: &SecretKeys) -> Result<()> {
        let keyset = KeySet::load(&store.signing_keys().await?, secrets)?;
        let mut keys = write(&self.keys);
        *keys = Arc::new(keyset);
        // Under the lock: a reader never pairs the new keys with the old generation.
        self.key_generation.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Brings the cache and the keys up to date with everything committed so far. When the
    /// store's stamp is the one this thread last saw synced, nothing shared is touched.
    pub async fn sync(&self, store: &dyn Store, secrets: &SecretKeys, window: TokenWindow) -> Result<()> {
        let stamp = store.change_stamp();
        if stamp.is_some() && self.with_view(|view| view.stamp == stamp) {
            return Ok(());
        }
        self.sync_node(store, secrets, window).await?;
        if stamp.is_some() {
            // Everything committed before `stamp` was read is now in the node's cache.
            self.with_view(|view| view.stamp = stamp);
        }
        Ok(())
    }

    /// The node's part of [`Cache::sync`].
    async fn sync_node(&self, store: &dyn Store, secrets: &SecretKeys, window: TokenWindow) -> Result<()> {
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
            self.drop_entries(|entries| entries.clear());
            self.reload_keys(store, secrets).await?;
            *write(&self.revoked) = Revoked::load(&refusals, window, self.revocation_capacity);
            *write(&self.cursor) = Cursor { stamp, seq: refusals.cursor, initialised: true };
            return Ok(());
        }
        self.reload_revocations_after_overflow(store, window).await?;
        let changes = store.changes_since(seq).await?;
        let mut last = seq;
        let mut keys_changed = false;
        let mut dropped = Vec::new();
        let mut all_clients = false;
        for change in &changes {
            last = change.seq;
            match change.entity {
                Entity::Client => dropped.push(Key::Client(ClientId::new(change.id.clone()))),
                Entity::User => {
                    dropped.push(Key::User(UserId::new(change.id.clone())));
                    // Clients hold their owner and run-as user.
                    all_clients = true;
                }
                Entity::Scope | Entity::Org => {
                    dropped.push(Key::Catalogue(OrgId::new(change.id.clone())));
                    all_clients = true;
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
        if !dropped.is_empty() || all_clients {
            self.drop_entries(|entries| {
                for key in &dropped {
                    entries.remove(key);
                }
                if all_clients {
                    entries.retain(|key, _| !matches!(key, Key::Client(_)));
                }
            });
        }
        if keys_changed {
            // On failure the cursor stays put, so the next request tries again.
            self.reload_keys(store, secrets).await?;
        }
        *write(&self.cursor) = Cursor { stamp, seq: last, initialised: true };
        Ok(())
    }

    /// Drops entries (`drop` does it) so that no load racing with it leaves an older copy
    /// behind, and no thread's view keeps one.
    fn drop_entries(&self, drop: impl FnOnce(&quick_cache::sync::Cache<Key, Entry, Weigh>)) {
        // Before: a load that started earlier may have read the old rows; it finds the epoch
        // moved when it comes to insert, and does not.
        self.epoch.fetch_add(1, Ordering::SeqCst);
        {
            let _fill = self.fill_lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            drop(&self.entries);
        }
        // After: a view that took an entry between the two bumps is emptied at its next use.
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Inserts a loaded entry unless entries were dropped since `epoch` (it may be older).
    fn insert_if_current(&self, epoch: u64, key: Key, entry: Entry) {
        let _fill = self.fill_lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.epoch.load(Ordering::SeqCst) == epoch {
            self.entries.insert(key, entry);
        }
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
        let (keys, generation) = self.view_keys();
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

    /// The client with its users and catalogue; `None` for an unknown id (also cached).
    pub async fn client(&self, store: &dyn Store, id: &ClientId) -> Result<Option<ClientRef>> {
        if let Some(held) = self.with_view(|view| view.clients.get(id).cloned()) {
            return Ok(held);
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let shared = match self.entries.get(&Key::Client(id.clone())) {
            Some(Entry::Client(shared)) => shared,
            _ => {
                let loaded = self.load_client(store, id).await?;
                self.insert_if_current(epoch, Key::Client(id.clone()), Entry::Client(loaded.clone()));
                loaded
            }
        };
        let held = shared.map(ClientRef::new);
        self.with_view(|view| {
            // Only when nothing was dropped since the entry was read.
            if view.epoch == epoch {
                view.clients.insert(id.clone(), held.clone());
            }
        });
        Ok(held)
    }

    async fn load_client(&self, store: &dyn Store, id: &ClientId) -> Result<Option<Arc<CachedClient>>> {
        let Some(record) = store.client(id).await? else {
            return Ok(None);
        };
        let owner = self.user(store, &record.client.owner).await?;
        let run_as = self.user(store, &record.client.run_as).await?;
        let catalogue = self.catalogue(store, &record.client.org_id).await?;
        let keys = match &record.client.keys {
            Some(ClientKeys::Jwks(jwks)) => ClientKeySet::parse(jwks).ok().map(Arc::new),
            _ => None,
        };
        Ok(Some(Arc::new(CachedClient {
            secret_tag: record.secret.map(|s| s.tag),
            previous_secret: record.previous_secret,
            client: record.client,
            owner,
            run_as,
            catalogue,
            keys,
            used_mark: std::sync::atomic::AtomicI64::new(0),
        })))
    }

    pub async fn user(&self, store: &dyn Store, id: &UserId) -> Result<Option<User>> {
        if let Some(held) = self.with_view(|view| view.users.get(id).cloned()) {
            return Ok(held);
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let user = match self.entries.get(&Key::User(id.clone())) {
            Some(Entry::User(user)) => user,
            _ => {
                let loaded = store.user(id).await?;
                self.insert_if_current(epoch, Key::User(id.clone()), Entry::User(loaded.clone()));
                loaded
            }
        };
        self.with_view(|view| {
            if view.epoch == epoch {
                view.users.insert(id.clone(), user.clone());
            }
        });
        Ok(user)
    }

    pub async fn catalogue(&self, store: &dyn Store, org: &OrgId) -> Result<Arc<Vec<ScopeDef>>> {
        if let Some(Entry::Catalogue(scopes)) = self.entries.get(&Key::Catalogue(org.clone())) {
            return Ok(scopes);
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let loaded = Arc::new(store.scopes(org).await?);
        self.insert_if_current(epoch, Key::Catalogue(org.clone()), Entry::Catalogue(loaded.clone()));
        Ok(loaded)
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
        let cache = Cache::new(CacheBounds { revocations: 10, ..CacheBounds::default() });
        assert_eq!(cache.revoked("jti", None), None, "before the first sync: ask the store");
        *write(&cache.revoked) = Revoked::load(&refusals(&[("jti", 5_000)], &[("grant", 900)]), WINDOW, 10);
        assert_eq!(cache.revoked("jti", None), Some(true));
        assert_eq!(cache.revoked("other", Some("grant")), Some(true));
        assert_eq!(cache.revoked("other", Some("other-grant")), Some(false));
        assert_eq!(cache.revocations_in_memory(), (2, true));
    }

    fn user(n: usize) -> User {
        User {
            id: UserId::new(format!("user-{n}")),
            org_id: OrgId::new("org"),
            person_id: tessera_core::model::PersonId::new(format!("person-{n}")),
            email: format!("user-{n}@example.test"),
            role: tessera_core::model::Role::Member,
            service: false,
            authorize_applications: false,
            disabled: false,
            created_at: 0,
            tokens_not_before: None,
            email_verified_at: None,
        }
    }

    fn fill(cache: &Cache, count: usize) {
        for n in 0..count {
            let epoch = cache.epoch.load(Ordering::SeqCst);
            cache.insert_if_current(epoch, Key::User(UserId::new(format!("user-{n}"))), Entry::User(Some(user(n))));
        }
    }

    #[test]
    fn the_node_level_keeps_to_its_entry_bound_and_to_its_memory_bound() {
        let by_entries = Cache::new(CacheBounds { entries: 40, memory: 64 << 20, revocations: 10 });
        fill(&by_entries, 1_000);
        assert!(by_entries.size().0 <= 40, "{:?}", by_entries.size());
        assert!(by_entries.size().0 >= 20, "it still holds about its bound: {:?}", by_entries.size());

        let by_memory = Cache::new(CacheBounds { entries: 100_000, memory: 64 << 10, revocations: 10 });
        fill(&by_memory, 10_000);
        let (entries, bytes) = by_memory.size();
        assert!(bytes <= 64 << 10, "{bytes} bytes");
        assert!(entries < 10_000 && entries > 50, "{entries} entries of about 300 bytes in 64 KiB");
    }

    #[test]
    fn a_drop_empties_every_view_and_a_load_that_raced_with_it_is_not_kept() {
        let cache = Cache::default();
        let id = UserId::new("user-1");
        let before = cache.epoch.load(Ordering::SeqCst);
        cache.with_view(|view| view.users.insert(id.clone(), Some(user(1))));
        assert!(cache.with_view(|view| view.users.get(&id).is_some()));

        cache.drop_entries(|entries| entries.clear());
        // A load that read the epoch before the drop may hold the old row: it is not kept.
        cache.insert_if_current(before, Key::User(id.clone()), Entry::User(Some(user(1))));
        assert!(cache.entries.get(&Key::User(id.clone())).is_none());
        assert!(cache.with_view(|view| view.users.get(&id).is_none()), "this thread's view was emptied");

        // Another cache on the same thread has a view of its own.
        let other = Cache::default();
        other.with_view(|view| view.users.insert(id.clone(), None));
        assert!(cache.with_view(|view| view.users.get(&id).is_none()));
    }
}
