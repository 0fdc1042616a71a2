//! DPoP-bound tokens at the protected API (RFC 9449 §7): the proof's signature through
//! `tessera_jose::dpop`, its claims through `tessera_core::dpop` (`htm` = the request's method,
//! `htu` = [`GuardConfig::api_base_url`](crate::GuardConfig::api_base_url) plus the request's
//! path, `ath` = the hash of the token, the key = the token's `cnf.jkt`), and its `jti` spent
//! in [`ReplayCache`], in this process's memory.
//!
//! The cache holds at most [`GuardConfig::dpop_replay_capacity`](crate::GuardConfig::dpop_replay_capacity)
//! ids, each only while its proof could pass the `iat` window (`tessera_core::dpop::MAX_AGE`
//! plus `MAX_SKEW`). When it is full of live ids, further proofs are refused
//! (`invalid_dpop_proof`) until some expire: the guard never forgets a live id to make room.
//! Several guard processes do not share it: behind a load balancer, a proof replayed to
//! another process within its window passes there.

use std::collections::HashMap;

use tessera_core::dpop::{Expected, check};

use crate::http::GuardError;

/// Spent proof ids, `(jkt, jti)` → until when they must be remembered.
#[derive(Debug)]
pub(crate) struct ReplayCache {
    capacity: usize,
    seen: HashMap<(String, String), i64>,
}

impl ReplayCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { capacity, seen: HashMap::new() }
    }

    /// Spends `jti` of key `jkt`; false when it was spent before or the cache is full of live ids.
    pub(crate) fn consume(&mut self, jkt: &str, jti: &str, remember_until: i64, now: i64) -> bool {
        let key = (jkt.to_owned(), jti.to_owned());
        if self.seen.get(&key).is_some_and(|&until| until > now) {
            return false;
        }
        if self.seen.len() >= self.capacity {
            self.seen.retain(|_, until| *until > now);
            if self.seen.len() >= self.capacity {
                tracing::warn!(capacity = self.capacity, "DPoP replay cache full; proof refused");
                return false;
            }
        }
        self.seen.insert(key, remember_until);
        true
    }
}

/// The proof of one request, checked except for its `jti`: returns `(jkt, jti, remember_until)`.
pub(crate) fn check_proof(
    proofs: &[&str],
    method: &str,
    url: &str,
    token: &str,
    bound_jkt: &str,
    now: i64,
) -> Result<(String, String, i64), GuardError> {
    let [proof] = proofs else {
        return Err(GuardError::InvalidDpopProof("exactly one DPoP proof header is required"));
    };
    let verified = tessera_jose::dpop::verify_proof(proof)
        .map_err(|_| GuardError::InvalidDpopProof("the DPoP proof is malformed or its signature does not verify"))?;
    let ath = tessera_jose::dpop::access_token_hash(token);
    let expected =
        Expected { method, url, now, access_token_hash: Some(&ath), nonces: None, bound_jkt: Some(bound_jkt), jkt: &verified.jkt };
    let accepted = check(&verified.payload, &expected).map_err(|failure| {
        tracing::info!(failure = failure.as_str(), "DPoP proof refused");
        GuardError::InvalidDpopProof("the DPoP proof does not fit this request and token")
    })?;
    Ok((verified.jkt, accepted.jti, accepted.remember_until))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_is_spent_once_while_live_and_the_cache_stays_bounded() {
        let mut cache = ReplayCache::new(2);
        assert!(cache.consume("k", "a", 100, 10));
        assert!(!cache.consume("k", "a", 100, 50), "replay within the window");
        assert!(cache.consume("other", "a", 100, 50), "the same jti of another key");
        // Full of live ids: refused rather than forgetting one.
        assert!(!cache.consume("k", "b", 100, 50));
        // Once they expire there is room again, and an expired id may be reused.
        assert!(cache.consume("k", "b", 300, 100));
        assert!(cache.consume("k", "a", 300, 100));
        assert!(cache.seen.len() <= 2);
    }
}
