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
    /// Requests by response status.
    statuses: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    /// By route pattern. One lock per request, and no allocation once a route has been seen.
    routes: Mutex<BTreeMap<String, RouteStats>>,
    tokens_issued: AtomicU64,
}

impl Metrics {
    pub fn token_issued(&self) {
        self.tokens_issued.fetch_add(1, Ordering::Relaxed);
    }

    pub fn observe(&self, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut routes = self.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let stats = match routes.get_mut(route) {
            Some(stats) => stats,
            None => routes.entry(route.to_owned()).or_default(),
        };
        *stats.statuses.entry(status).or_default() += 1;
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
        let routes = self.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        out.push_str("# HELP tessera_http_requests_total HTTP requests by route and status.\n# TYPE tessera_http_requests_total counter\n");
        for (route, stats) in routes.iter() {
            for (status, count) in &stats.statuses {
                let _ = writeln!(out, "tessera_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}");
            }
        }
        out.push_str("# HELP tessera_http_request_duration_seconds Request latency by route.\n# TYPE tessera_http_request_duration_seconds histogram\n");
        for (route, stats) in routes.iter() {
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
