//! Counts failed authentications per key (a client id, a login account, an address) in fixed
//! windows and locks the key once it reaches the limit, until the window ends (A19, L01).
//!
//! [`FailureLimiter`] counts in memory, per node: it guards the token endpoint, whose hot path
//! must not wait for the database. Each failure is also counted in the store (the failure path
//! writes an audit entry anyway), and a node takes over the count of all nodes at its own
//! failures: the nodes together lock a client id once the limit is reached, and a node that
//! has not seen a failure of it yet locks it at its next one. [`SharedLimiter`] counts in the store, so every node on one
//! database sees the same count: it guards logins, which cost an Argon2 check anyway.

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tessera_store::Store;

/// A failure limiter whose counts live in the store, shared by every process on it.
pub struct SharedLimiter {
    store: Arc<dyn Store>,
    /// Names this limiter's keys in the store (`login-account`, `login-address`).
    kind: &'static str,
    limit: u32,
    window: i64,
}

impl std::fmt::Debug for SharedLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLimiter").field("kind", &self.kind).field("limit", &self.limit).finish_non_exhaustive()
    }
}

impl SharedLimiter {
    pub fn new(store: Arc<dyn Store>, kind: &'static str, limit: u32, window_seconds: i64) -> Self {
        Self { store, kind, limit, window: window_seconds.max(1) }
    }

    fn key(&self, key: &impl Display) -> String {
        format!("{}:{key}", self.kind)
    }

    /// Seconds until `key` may try again, when it is locked.
    pub async fn locked_for(&self, key: &impl Display, now: i64) -> tessera_store::Result<Option<u64>> {
        if self.limit == 0 {
            return Ok(None);
        }
        let counted = self.store.failures(&self.key(key), now).await?;
        Ok(counted.and_then(|(count, end)| (count >= self.limit && now < end).then(|| u64::try_from(end - now).unwrap_or(1).max(1))))
    }

    /// Forgets `key`'s failures (a success ends a run of consecutive failures).
    pub async fn clear(&self, key: &impl Display) -> tessera_store::Result<()> {
        if self.limit == 0 {
            return Ok(());
        }
        self.store.clear_failures(&self.key(key)).await
    }

    /// Records a failure; returns true when this failure reached the limit (lock starts).
    pub async fn record_failure(&self, key: &impl Display, now: i64) -> tessera_store::Result<bool> {
        if self.limit == 0 {
            return Ok(false);
        }
        Ok(self.store.record_failure(&self.key(key), now, self.window).await? == self.limit)
    }
}

/// The most keys tracked; past it, windows that have ended are dropped first.
const MAX_KEYS: usize = 50_000;

#[derive(Debug)]
pub struct FailureLimiter<K> {
    limit: u32,
    window: i64,
    entries: Mutex<HashMap<K, (i64, u32)>>,
    /// How many keys are tracked, read without the lock: the common case (no failures at all)
    /// costs one atomic load on the hot path.
    tracked: AtomicUsize,
}

impl<K: Hash + Eq + Clone> FailureLimiter<K> {
    pub fn new(limit: u32, window_seconds: i64) -> Self {
        Self { limit, window: window_seconds.max(1), entries: Mutex::new(HashMap::new()), tracked: AtomicUsize::new(0) }
    }

    /// Seconds until `key` may try again, when it is locked.
    pub fn locked_for(&self, key: &K, now: i64) -> Option<u64> {
        if self.limit == 0 || self.tracked.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (start, count) = *entries.get(key)?;
        let end = start + self.window;
        (count >= self.limit && now < end).then(|| u64::try_from(end - now).unwrap_or(1).max(1))
    }

    /// Forgets `key`'s failures (a success ends a run of consecutive failures).
    pub fn clear(&self, key: &K) {
        if self.tracked.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.remove(key);
        self.tracked.store(entries.len(), Ordering::Relaxed);
    }

    /// Forgets windows that have ended, so the hot path is lock-free again after an attack.
    pub fn prune(&self, now: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = self.window;
        entries.retain(|_, (start, _)| *start + window > now);
        self.tracked.store(entries.len(), Ordering::Relaxed);
    }

    /// Records a failure that the store counted too, `shared` being the count of every node
    /// in its window: this node then holds at least that count, and locks once the nodes
    /// together reach the limit. Returns true when this failure reached it (lock starts).
    pub fn record_shared_failure(&self, key: &K, now: i64, shared: u32) -> bool {
        if self.limit == 0 {
            return false;
        }
        self.record_failure(key, now);
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = entries.get_mut(key) {
            entry.1 = entry.1.max(shared);
        }
        // The store returns each count once per window: exactly one node sees the limit.
        shared == self.limit
    }

    /// Records a failure; returns true when this failure reached the limit (lock starts).
    pub fn record_failure(&self, key: &K, now: i64) -> bool {
        if self.limit == 0 {
            return false;
        }
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_KEYS && !entries.contains_key(key) {
            // Make room without ever lifting a lock-out: a flood of fresh keys must not free a
            // locked one. Ended windows go first, then unlocked counts; if every tracked key is
            // locked, the new key is not tracked this time.
            let (window, limit) = (self.window, self.limit);
            entries.retain(|_, (start, _)| *start + window > now);
            if entries.len() >= MAX_KEYS {
                entries.retain(|_, (_, count)| *count >= limit);
            }
            if entries.len() >= MAX_KEYS {
                self.tracked.store(entries.len(), Ordering::Relaxed);
                return false;
            }
        }
        let entry = entries.entry(key.clone()).or_insert((now, 0));
        if entry.0 + self.window <= now {
            *entry = (now, 0);
        }
        entry.1 += 1;
        let reached = entry.1 == self.limit;
        self.tracked.store(entries.len(), Ordering::Relaxed);
        reached
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_at_the_limit_until_the_window_ends() {
        let limiter = FailureLimiter::new(3, 60);
        let (c, other) = ("c".to_owned(), "other".to_owned());
        assert_eq!(limiter.locked_for(&c, 100), None);
        assert!(!limiter.record_failure(&c, 100));
        assert!(!limiter.record_failure(&c, 101));
        assert_eq!(limiter.locked_for(&c, 101), None);
        assert!(limiter.record_failure(&c, 102));
        assert_eq!(limiter.locked_for(&c, 102), Some(58));
        assert_eq!(limiter.locked_for(&other, 102), None);
        assert_eq!(limiter.locked_for(&c, 160), None);
        assert!(!limiter.record_failure(&c, 160));
    }

    #[test]
    fn a_node_takes_over_the_count_of_all_nodes_at_its_own_failure() {
        let limiter = FailureLimiter::new(5, 60);
        let c = "c".to_owned();
        // Four failures elsewhere; this node's first one is the fifth of the window.
        assert!(limiter.record_shared_failure(&c, 100, 5), "the lock starts here");
        assert_eq!(limiter.locked_for(&c, 101), Some(59));
        // Past the limit, no node starts the lock again.
        assert!(!limiter.record_shared_failure(&c, 102, 6));
        let other = "other".to_owned();
        assert!(!limiter.record_shared_failure(&other, 100, 2));
        assert_eq!(limiter.locked_for(&other, 100), None);
    }
}
