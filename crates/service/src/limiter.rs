//! Counts failed authentications per key (a client id) in fixed windows and locks the key
//! once it reaches the limit, until the window ends (A19). In memory: per node.

use std::collections::HashMap;
use std::sync::Mutex;

/// The most keys tracked; past it, windows that have ended are dropped first.
const MAX_KEYS: usize = 50_000;

#[derive(Debug)]
pub struct FailureLimiter {
    limit: u32,
    window: i64,
    entries: Mutex<HashMap<String, (i64, u32)>>,
}

impl FailureLimiter {
    pub fn new(limit: u32, window_seconds: i64) -> Self {
        Self { limit, window: window_seconds.max(1), entries: Mutex::new(HashMap::new()) }
    }

    /// Seconds until `key` may try again, when it is locked.
    pub fn locked_for(&self, key: &str, now: i64) -> Option<u64> {
        if self.limit == 0 {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (start, count) = *entries.get(key)?;
        let end = start + self.window;
        (count >= self.limit && now < end).then(|| u64::try_from(end - now).unwrap_or(1).max(1))
    }

    /// Records a failure; returns true when this failure reached the limit (lock starts).
    pub fn record_failure(&self, key: &str, now: i64) -> bool {
        if self.limit == 0 {
            return false;
        }
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_KEYS {
            let window = self.window;
            entries.retain(|_, (start, _)| *start + window > now);
            if entries.len() >= MAX_KEYS {
                entries.clear();
            }
        }
        let entry = entries.entry(key.to_owned()).or_insert((now, 0));
        if entry.0 + self.window <= now {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 == self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_at_the_limit_until_the_window_ends() {
        let limiter = FailureLimiter::new(3, 60);
        assert!(!limiter.record_failure("c", 100));
        assert!(!limiter.record_failure("c", 101));
        assert_eq!(limiter.locked_for("c", 101), None);
        assert!(limiter.record_failure("c", 102));
        assert_eq!(limiter.locked_for("c", 102), Some(58));
        assert_eq!(limiter.locked_for("other", 102), None);
        assert_eq!(limiter.locked_for("c", 160), None);
        assert!(!limiter.record_failure("c", 160));
    }
}
