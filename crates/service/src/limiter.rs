//! Counts failed authentications per key (a client id, or a client address) in fixed windows
//! and locks the key once it reaches the limit, until the window ends (A19). In memory: per
//! node.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

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
}
