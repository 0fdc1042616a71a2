//! Prometheus metrics: aggregates only (counts and latency histograms per route and status),
//! never an id, a token or an address.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Latency bucket bounds in seconds.
const BUCKETS: [f64; 10] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0];

#[derive(Debug, Default)]
struct RouteStats {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, RouteStats>>,
    tokens_issued: AtomicU64,
}

impl Metrics {
    pub fn token_issued(&self) {
        self.tokens_issued.fetch_add(1, Ordering::Relaxed);
    }

    pub fn observe(&self, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        {
            let mut requests = self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match requests.get_mut(&(route.to_owned(), status)) {
                Some(count) => *count += 1,
                None => {
                    requests.insert((route.to_owned(), status), 1);
                }
            }
        }
        let mut latency = self.latency.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let stats = match latency.get_mut(route) {
            Some(stats) => stats,
            None => latency.entry(route.to_owned()).or_default(),
        };
        stats.count += 1;
        stats.sum += seconds;
        for (bucket, bound) in stats.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP tessera_http_requests_total HTTP requests by route and status.\n# TYPE tessera_http_requests_total counter\n");
        for ((route, status), count) in self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            let _ = writeln!(out, "tessera_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}");
        }
        out.push_str("# HELP tessera_http_request_duration_seconds Request latency by route.\n# TYPE tessera_http_request_duration_seconds histogram\n");
        for (route, stats) in self.latency.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            for (bound, count) in BUCKETS.iter().zip(stats.buckets) {
                let _ = writeln!(out, "tessera_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}");
            }
            let _ = writeln!(out, "tessera_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", stats.count);
            let _ = writeln!(out, "tessera_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", stats.sum);
            let _ = writeln!(out, "tessera_http_request_duration_seconds_count{{route=\"{route}\"}} {}", stats.count);
        }
        out.push_str("# HELP tessera_tokens_issued_total Access tokens issued.\n# TYPE tessera_tokens_issued_total counter\n");
        let _ = writeln!(out, "tessera_tokens_issued_total {}", self.tokens_issued.load(Ordering::Relaxed));
        out
    }
}
