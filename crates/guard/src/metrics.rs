//! The guard's counters, rendered in the Prometheus text format for the API's `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use crate::check::Reason;

/// Counters shared by every request; relaxed atomics, no lock.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) accepted: AtomicU64,
    pub(crate) missing: AtomicU64,
    pub(crate) insufficient_scope: AtomicU64,
    pub(crate) unavailable: AtomicU64,
    pub(crate) rejected: [AtomicU64; Reason::ALL.len()],
    pub(crate) jwks_fetches: AtomicU64,
    pub(crate) jwks_failures: AtomicU64,
    pub(crate) feed_polls: AtomicU64,
    pub(crate) feed_failures: AtomicU64,
    /// Whether the last poll of the revocation feed succeeded.
    pub(crate) feed_up: AtomicBool,
    /// Unix seconds of the last successful poll (0: never).
    pub(crate) feed_last_success: AtomicI64,
    /// Lookups in the cache of verified tokens that found the token, and that did not.
    pub(crate) cache_hits: AtomicU64,
    pub(crate) cache_misses: AtomicU64,
    /// Tokens forgotten to make room for another.
    pub(crate) cache_evictions: AtomicU64,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A point-in-time copy of the guard's state, for programs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub accepted: u64,
    /// Requests without a bearer token.
    pub missing: u64,
    pub insufficient_scope: u64,
    /// Requests answered 503 because the revocation knowledge was too old.
    pub unavailable: u64,
    /// Refused tokens by reason label (see [`Reason::as_str`]).
    pub rejected: Vec<(&'static str, u64)>,
    pub jwks_fetches: u64,
    pub jwks_failures: u64,
    pub feed_polls: u64,
    pub feed_failures: u64,
    /// False while the issuer's revocation feed cannot be reached: the guard then works on
    /// what it last learned.
    pub feed_up: bool,
    /// Seconds since the revocation feed was last read successfully.
    pub feed_age_seconds: i64,
    /// Denylist entries: tokens, grants, clients, users.
    pub denylist: [usize; 4],
    /// Tokens found in the cache of verified tokens: no signature check (0 when the cache is off).
    pub token_cache_hits: u64,
    /// Tokens looked up in the cache and not found there: verified in full.
    pub token_cache_misses: u64,
    /// Tokens the cache forgot to make room for another (first in, first out).
    pub token_cache_evictions: u64,
    /// Tokens the cache holds.
    pub token_cache_entries: usize,
}

impl Snapshot {
    /// Refusals for `reason`.
    pub fn rejected(&self, reason: Reason) -> u64 {
        self.rejected.iter().find(|(label, _)| *label == reason.as_str()).map_or(0, |(_, n)| *n)
    }

    /// The Prometheus text exposition of this snapshot.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::with_capacity(2048);
        let _ = writeln!(out, "# HELP tessera_guard_requests_total Requests the guard decided on, by outcome.");
        let _ = writeln!(out, "# TYPE tessera_guard_requests_total counter");
        let _ = writeln!(out, "tessera_guard_requests_total{{outcome=\"accepted\"}} {}", self.accepted);
        let _ = writeln!(out, "tessera_guard_requests_total{{outcome=\"missing_token\"}} {}", self.missing);
        let _ = writeln!(out, "tessera_guard_requests_total{{outcome=\"insufficient_scope\"}} {}", self.insufficient_scope);
        let _ = writeln!(out, "tessera_guard_requests_total{{outcome=\"unavailable\"}} {}", self.unavailable);
        for (label, n) in &self.rejected {
            let _ = writeln!(out, "tessera_guard_requests_total{{outcome=\"invalid_token\",reason=\"{label}\"}} {n}");
        }
        let _ = writeln!(out, "# TYPE tessera_guard_jwks_fetches_total counter");
        let _ = writeln!(out, "tessera_guard_jwks_fetches_total {}", self.jwks_fetches);
        let _ = writeln!(out, "# TYPE tessera_guard_jwks_failures_total counter");
        let _ = writeln!(out, "tessera_guard_jwks_failures_total {}", self.jwks_failures);
        let _ = writeln!(out, "# TYPE tessera_guard_feed_polls_total counter");
        let _ = writeln!(out, "tessera_guard_feed_polls_total {}", self.feed_polls);
        let _ = writeln!(out, "# TYPE tessera_guard_feed_failures_total counter");
        let _ = writeln!(out, "tessera_guard_feed_failures_total {}", self.feed_failures);
        let _ = writeln!(
            out,
            "# HELP tessera_guard_feed_up 1 when the last poll of the revocation feed succeeded; 0 while the guard works on its cache."
        );
        let _ = writeln!(out, "# TYPE tessera_guard_feed_up gauge");
        let _ = writeln!(out, "tessera_guard_feed_up {}", u8::from(self.feed_up));
        let _ = writeln!(out, "# TYPE tessera_guard_feed_age_seconds gauge");
        let _ = writeln!(out, "tessera_guard_feed_age_seconds {}", self.feed_age_seconds);
        let _ = writeln!(out, "# TYPE tessera_guard_denylist_entries gauge");
        for (kind, n) in ["token", "grant", "client", "user"].iter().zip(self.denylist) {
            let _ = writeln!(out, "tessera_guard_denylist_entries{{kind=\"{kind}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP tessera_guard_token_cache_lookups_total Tokens looked up among those verified before: a hit costs no signature check."
        );
        let _ = writeln!(out, "# TYPE tessera_guard_token_cache_lookups_total counter");
        let _ = writeln!(out, "tessera_guard_token_cache_lookups_total{{result=\"hit\"}} {}", self.token_cache_hits);
        let _ = writeln!(out, "tessera_guard_token_cache_lookups_total{{result=\"miss\"}} {}", self.token_cache_misses);
        let _ = writeln!(out, "# TYPE tessera_guard_token_cache_evictions_total counter");
        let _ = writeln!(out, "tessera_guard_token_cache_evictions_total {}", self.token_cache_evictions);
        let _ = writeln!(out, "# TYPE tessera_guard_token_cache_entries gauge");
        let _ = writeln!(out, "tessera_guard_token_cache_entries {}", self.token_cache_entries);
        out
    }
}
