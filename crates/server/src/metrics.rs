//! Prometheus metrics: aggregates only (counts and latency histograms per route and status, the
//! service's counters), never an id, a token or an address.
//!
//! Like the service's counters, the per-route figures are kept per thread
//! ([`tessera_service::metrics::PerThreadMap`]) and summed when `/metrics` is read, so a request
//! writes no cache line another core is writing too.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use tessera_service::metrics::{Counter, PerThreadMap};

/// Latency bucket bounds in seconds.
const BUCKETS: [f64; 10] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0];

#[derive(Debug, Default, Clone)]
struct RouteStats {
    /// Requests by response status.
    statuses: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl RouteStats {
    fn add(&mut self, other: &RouteStats) {
        for (status, count) in &other.statuses {
            *self.statuses.entry(*status).or_default() += count;
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            *mine += theirs;
        }
        self.count += other.count;
        self.sum += other.sum;
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    /// By route pattern, per thread. No allocation once a thread has seen a route.
    routes: PerThreadMap<BTreeMap<String, RouteStats>>,
    /// Requests answered 5xx (also in the per-route figures; here for a quick alert).
    pub server_errors: Counter,
}

impl Metrics {
    pub fn observe(&self, route: &str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if status >= 500 {
            self.server_errors.increment();
        }
        self.routes.update(|routes| {
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
        });
    }

    /// The Prometheus text exposition: the HTTP figures, then the service's counters and gauges.
    pub fn render(&self, service: &tessera_service::Tessera) -> String {
        let mut routes = BTreeMap::<String, RouteStats>::new();
        self.routes.each(|mine| {
            for (route, stats) in mine {
                routes.entry(route.clone()).or_default().add(stats);
            }
        });
        let mut out = String::new();
        out.push_str("# HELP tessera_http_requests_total HTTP requests by route and status.\n# TYPE tessera_http_requests_total counter\n");
        for (route, stats) in &routes {
            for (status, count) in &stats.statuses {
                let _ = writeln!(out, "tessera_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}");
            }
        }
        out.push_str("# HELP tessera_http_request_duration_seconds Request latency by route.\n# TYPE tessera_http_request_duration_seconds histogram\n");
        for (route, stats) in &routes {
            for (bound, count) in BUCKETS.iter().zip(stats.buckets) {
                let _ = writeln!(out, "tessera_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}");
            }
            let _ = writeln!(out, "tessera_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", stats.count);
            let _ = writeln!(out, "tessera_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", stats.sum);
            let _ = writeln!(out, "tessera_http_request_duration_seconds_count{{route=\"{route}\"}} {}", stats.count);
        }
        let _ = writeln!(
            out,
            "# HELP tessera_http_server_errors_total Requests answered with a 5xx status.\n# TYPE tessera_http_server_errors_total counter\ntessera_http_server_errors_total {}",
            self.server_errors.get()
        );
        service.counters().render(&mut out);
        let (revocations, complete) = service.revocations_in_memory();
        let _ = writeln!(
            out,
            "# HELP tessera_revocations_in_memory Revoked token and grant ids this node holds in memory.\n# TYPE tessera_revocations_in_memory gauge\ntessera_revocations_in_memory {revocations}\n# HELP tessera_revocation_memory_complete Whether that is every live revocation (0: over --revocation-memory, introspection asks the store).\n# TYPE tessera_revocation_memory_complete gauge\ntessera_revocation_memory_complete {}",
            u8::from(complete)
        );
        let (entries, bytes) = service.cache_size();
        let _ = writeln!(
            out,
            "# HELP tessera_cache_entries Clients, users and scope catalogues this node holds in memory (at most --cache-entries).\n# TYPE tessera_cache_entries gauge\ntessera_cache_entries {entries}\n# HELP tessera_cache_bytes Their estimated size (at most --cache-memory).\n# TYPE tessera_cache_bytes gauge\ntessera_cache_bytes {bytes}"
        );
        // Whether this node hears other processes' changes at once (PostgreSQL's LISTEN
        // connection; SQLite's WAL index): 0 means every request reads the change feed.
        let feed_up = u8::from(service.store().change_stamp().is_some());
        let _ = writeln!(
            out,
            "# HELP tessera_change_feed_up Whether this node is notified of changes committed elsewhere (0: it reads the feed on every request).\n# TYPE tessera_change_feed_up gauge\ntessera_change_feed_up {feed_up}"
        );
        let dropped = crate::telemetry::log_lines_dropped();
        let _ = writeln!(
            out,
            "# HELP tessera_log_lines_dropped_total Log lines dropped because the log output fell behind.\n# TYPE tessera_log_lines_dropped_total counter\ntessera_log_lines_dropped_total {dropped}"
        );
        out
    }
}
