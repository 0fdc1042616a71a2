//! Tokens verified before, so that a token presented again costs no signature check (SPEC §17):
//! the guard's cache of access tokens, and the server's for introspection and bearer checks.
//!
//! **What an entry stands for.** Keyed by the SHA-256 of the token string, an entry holds what
//! verifying the token gave (its claims) and the generation of the key set it was verified
//! under. It stands in for the work that cannot change while the token lives: splitting, base64,
//! the header policy, the signature and the claims JSON. Everything that can change (the
//! lifetime at this instant, revocations, the feed's staleness) the caller checks again on
//! every hit; a key set that changed in any way (a key added, replaced or withdrawn) makes
//! every entry a miss, so each token is verified again once.
//!
//! **What is taken in.** Only tokens the caller accepted, and only at their second acceptance:
//! the first notes the token's 64-bit fingerprint in a slot of a table with as many slots as the
//! cache has entries, and the next acceptance finds it there (unless another token's note took
//! the slot in between). Tokens presented once thus take no room and evict none of the tokens
//! that are reused; they cost one SHA-256 and one atomic swap more than without the cache.
//!
//! **The bound.** At most `capacity` entries in all, split evenly over up to 16 shards chosen by
//! the hash, each behind its own `RwLock`: hits take a read lock and never wait for one another,
//! a miss locks one shard. A full shard makes room by evicting the entry it took in first (first
//! in, first out: with one token lifetime, the oldest entry is also the first to expire).
//! [`VerifiedTokens::retain`] drops the entries a caller no longer wants (expired, refused).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The SHA-256 of a token: the cache's key.
pub type Digest = [u8; 32];

pub fn digest(token: &str) -> Digest {
    let mut out = [0; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref());
    out
}

/// At most this many shards; fewer when the capacity is smaller, so every shard holds one.
const MAX_SHARDS: usize = 16;

#[derive(Debug)]
struct Entry<T> {
    claims: Arc<T>,
    key_generation: u64,
}

#[derive(Debug)]
struct Shard<T> {
    capacity: usize,
    entries: HashMap<Digest, Entry<T>>,
    /// The keys of `entries`, each once, in the order they came in: the front goes first.
    order: VecDeque<Digest>,
}

/// Verified tokens and what verifying them gave, bounded; see the module documentation.
#[derive(Debug)]
pub struct VerifiedTokens<T> {
    shards: Box<[RwLock<Shard<T>>]>,
    /// Fingerprints of tokens offered once, one per slot, the slot chosen by the digest: a
    /// token is taken in when offered again while its fingerprint is still there.
    seen: Box<[AtomicU64]>,
}

impl<T> VerifiedTokens<T> {
    /// A cache of `capacity` entries in all; `None` for 0 (no cache).
    pub fn new(capacity: usize) -> Option<Self> {
        if capacity == 0 {
            return None;
        }
        let count = capacity.min(MAX_SHARDS);
        let shards = (0..count)
            .map(|i| {
                // The capacity split as evenly as it goes: the first `capacity % count` shards take one more.
                let capacity = capacity / count + usize::from(i < capacity % count);
                RwLock::new(Shard { capacity, entries: HashMap::with_capacity(capacity), order: VecDeque::with_capacity(capacity) })
            })
            .collect();
        let seen = (0..capacity).map(|_| AtomicU64::new(0)).collect();
        Some(Self { shards, seen })
    }

    fn shard(&self, digest: &Digest) -> &RwLock<Shard<T>> {
        &self.shards[usize::from(u16::from_le_bytes([digest[0], digest[1]])) % self.shards.len()]
    }

    /// The claims of the token with this digest, if it was verified under the key set of
    /// `key_generation`.
    pub fn get(&self, digest: &Digest, key_generation: u64) -> Option<Arc<T>> {
        let shard = read(self.shard(digest));
        shard.entries.get(digest).filter(|entry| entry.key_generation == key_generation).map(|entry| entry.claims.clone())
    }

    /// Offers a token the caller accepted under the key set of `key_generation`: the first
    /// offer only notes the token's fingerprint, the next (unless another token's note took the
    /// slot in between) takes the token in. Returns whether an older entry was evicted to make
    /// room.
    pub fn offer(&self, digest: Digest, claims: Arc<T>, key_generation: u64) -> bool {
        self.seen_before(&digest) && self.insert(digest, claims, key_generation)
    }

    /// Notes the token's fingerprint in its slot; true when the slot held it already. (A token
    /// whose fingerprint happens to be the one there, a 2⁻⁶⁴ chance, is taken in at its first
    /// offer: harmless, as only tokens verified in full are offered.)
    fn seen_before(&self, digest: &Digest) -> bool {
        let word = |at: usize| u64::from_le_bytes(std::array::from_fn(|i| digest[at + i]));
        // A u64 modulo a usize fits a usize.
        let slot = (word(16) % self.seen.len() as u64) as usize;
        self.seen[slot].swap(word(8), Ordering::Relaxed) == word(8)
    }

    /// Takes a token in; returns whether an older entry was evicted to make room.
    fn insert(&self, digest: Digest, claims: Arc<T>, key_generation: u64) -> bool {
        let mut shard = write(self.shard(&digest));
        let Shard { capacity, entries, order } = &mut *shard;
        if let Some(entry) = entries.get_mut(&digest) {
            // Verified again (a concurrent miss, or a new key set): same place in the order.
            *entry = Entry { claims, key_generation };
            return false;
        }
        let evicted = entries.len() >= *capacity;
        if evicted && let Some(oldest) = order.pop_front() {
            entries.remove(&oldest);
        }
        entries.insert(digest, Entry { claims, key_generation });
        order.push_back(digest);
        evicted
    }

    /// Keeps only the entries `keep(claims, key_generation)` approves.
    pub fn retain(&self, mut keep: impl FnMut(&T, u64) -> bool) {
        for shard in &self.shards {
            let mut shard = write(shard);
            let Shard { entries, order, .. } = &mut *shard;
            let before = entries.len();
            entries.retain(|_, entry| keep(&entry.claims, entry.key_generation));
            if entries.len() != before {
                order.retain(|digest| entries.contains_key(digest));
            }
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| read(shard).entries.len()).sum()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|shard| read(shard).entries.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(jti: &str) -> Arc<String> {
        Arc::new(jti.to_owned())
    }

    /// A digest with the given fingerprint and slot words.
    fn noted(fingerprint: u64, slot: u64) -> Digest {
        let mut digest = [0; 32];
        digest[8..16].copy_from_slice(&fingerprint.to_le_bytes());
        digest[16..24].copy_from_slice(&slot.to_le_bytes());
        digest
    }

    fn held(cache: &VerifiedTokens<String>, token: &str) -> Option<String> {
        cache.get(&digest(token), 0).map(|c| (*c).clone())
    }

    #[test]
    fn no_capacity_is_no_cache() {
        assert!(VerifiedTokens::<String>::new(0).is_none());
    }

    #[test]
    fn the_bound_holds_and_a_full_shard_evicts_its_oldest_entry() {
        for capacity in [1, 3, 16, 17, 100] {
            let cache = VerifiedTokens::<String>::new(capacity).unwrap();
            assert_eq!(cache.shards.iter().map(|s| read(s).capacity).sum::<usize>(), capacity);
            // Enough tokens that every shard gets more than it holds.
            for i in 0..capacity * 20 {
                cache.insert(digest(&format!("t{i}")), claims(&format!("j{i}")), 0);
                assert!(cache.len() <= capacity, "{capacity}: {} entries after {i}", cache.len());
            }
            assert_eq!(cache.len(), capacity, "full");
            // The last token in is held; its shard's earlier tokens went first in, first out.
            let last = capacity * 20 - 1;
            assert_eq!(held(&cache, &format!("t{last}")).as_deref(), Some(format!("j{last}").as_str()));
        }
        // One shard of one entry: each new token evicts the one before.
        let cache = VerifiedTokens::<String>::new(1).unwrap();
        assert!(!cache.insert(digest("a"), claims("a"), 0));
        assert!(cache.insert(digest("b"), claims("b"), 0), "evicted a");
        assert_eq!((held(&cache, "a"), held(&cache, "b").as_deref()), (None, Some("b")));
        assert!(!cache.insert(digest("b"), claims("b2"), 0), "the same token again takes no room");
        assert_eq!(held(&cache, "b").as_deref(), Some("b2"));
    }

    #[test]
    fn first_in_first_out_within_a_shard() {
        // Fewer than 16 entries: one shard per entry would hide the order; 16 shards of two each.
        let cache = VerifiedTokens::<String>::new(32).unwrap();
        let shard_of = |token: &str| std::ptr::from_ref(cache.shard(&digest(token)));
        let first = shard_of("t0");
        let same: Vec<String> = (0..).map(|i| format!("t{i}")).filter(|t| shard_of(t) == first).take(3).collect();
        for token in &same {
            cache.insert(digest(token), claims(token), 0);
        }
        assert_eq!(held(&cache, &same[0]), None, "the first in went first");
        assert!(held(&cache, &same[1]).is_some() && held(&cache, &same[2]).is_some());
    }

    #[test]
    fn a_token_is_taken_in_at_its_second_offer_unless_its_slot_was_taken_in_between() {
        let cache = VerifiedTokens::<String>::new(4).unwrap();
        let (a, b, c) = (noted(1, 0), noted(2, 4), noted(3, 1));
        assert!(!cache.offer(a, claims("a"), 0));
        assert_eq!(cache.len(), 0, "noted only");
        cache.offer(a, claims("a"), 0);
        assert!(cache.get(&a, 0).is_some(), "taken in");
        // b shares a's slot (4 modulo 4); c has a slot of its own.
        cache.offer(b, claims("b"), 0);
        cache.offer(c, claims("c"), 0);
        cache.offer(a, claims("a"), 0);
        cache.offer(b, claims("b"), 0);
        cache.offer(c, claims("c"), 0);
        assert!(cache.get(&b, 0).is_none(), "a took the slot back before b's second offer");
        assert!(cache.get(&c, 0).is_some());
    }

    #[test]
    fn another_key_generation_is_a_miss_and_retain_keeps_the_order_in_step() {
        let cache = VerifiedTokens::<String>::new(2).unwrap();
        cache.insert(digest("a"), claims("a"), 1);
        assert!(cache.get(&digest("a"), 1).is_some());
        assert!(cache.get(&digest("a"), 2).is_none());
        let cache = VerifiedTokens::<String>::new(1).unwrap();
        cache.insert(digest("a"), claims("a"), 0);
        cache.retain(|claims, _| claims != "a");
        assert_eq!(cache.len(), 0);
        // The order forgot "a" too: the next token fills the room without evicting anything.
        assert!(!cache.insert(digest("b"), claims("b"), 0));
        assert!(cache.insert(digest("c"), claims("c"), 0));
        assert_eq!(cache.len(), 1);
    }
}
