//! When to try a request again, and how long to wait first.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

/// Retries of 429, 5xx and connection failures: exponential backoff with jitter, or the
/// server's `Retry-After` when it gives one.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 4).
    pub max_retries: u32,
    /// The first backoff (default 250 ms); doubled on every retry.
    pub base_delay: Duration,
    /// The longest backoff (default 20 s).
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured (default 60 s); a server asking for more gets its
    /// error returned at once rather than a hung caller.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self { max_retries: 0, ..Self::default() }
    }

    /// The wait before retry number `attempt + 1`: `Retry-After` (never less, plus up to 10 %
    /// jitter) when given, else `base * 2^attempt` capped at `max_delay`, jittered into its
    /// upper half. `None`: the server asks for a longer wait than `max_retry_after`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if let Some(wait) = retry_after {
            if wait > self.max_retry_after {
                return None;
            }
            return Some(wait + wait.mul_f64(0.1 * unit_random()) + Duration::from_millis(5));
        }
        let backoff = self.base_delay.saturating_mul(1u32.checked_shl(attempt.min(30)).unwrap_or(u32::MAX)).min(self.max_delay);
        Some(backoff.mul_f64(0.5 + 0.5 * unit_random()))
    }
}

/// `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP date.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// A number in [0, 1) that differs from call to call (std's per-instance random hash keys).
fn unit_random() -> f64 {
    let bits = std::collections::hash_map::RandomState::new().build_hasher().finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let policy = RetryPolicy { base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1), ..RetryPolicy::default() };
        for attempt in 0..8 {
            let delay = policy.delay(attempt, None).unwrap();
            let full = Duration::from_millis(100 * 2u64.pow(attempt)).min(Duration::from_secs(1));
            assert!(delay >= full / 2 && delay <= full, "attempt {attempt}: {delay:?} not within [{:?}, {full:?}]", full / 2);
        }
        let wait = policy.delay(0, Some(Duration::from_secs(2))).unwrap();
        assert!(wait >= Duration::from_secs(2) && wait <= Duration::from_millis(2206), "{wait:?}");
        assert_eq!(policy.delay(0, Some(Duration::from_secs(61))), None);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(reqwest::header::RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::ZERO), "a date in the past: retry now");
        headers.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
