//! What the service counts for `/metrics`: aggregates only, never an id, a token or an address.
//!
//! Counting must not slow the token endpoint down: a counter every core increments is one cache
//! line that moves between cores on every request. So every value here is kept per thread
//! ([`PerThread`]: one slot, on a cache line of its own, per thread that counts) and summed only
//! when `/metrics` is read. Each HTTP worker is one thread (`server::listener`), so a request
//! writes only lines its own core already holds.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Slots per value: a thread takes the next one the first time it counts anything, so with up to
/// this many threads (the HTTP workers, the main runtime's, the hashers) no two share a line.
const SLOTS: usize = 64;

/// A value kept per thread, summed on reading.
pub struct PerThread<T> {
    slots: Box<[Padded<T>]>,
}

/// One slot on a cache line of its own (128 bytes: two lines, as the adjacent-line prefetcher
/// of x86 moves them in pairs).
#[repr(align(128))]
struct Padded<T>(T);

thread_local! {
    /// This thread's slot in every [`PerThread`].
    static SLOT: usize = {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS
    };
}

fn my_slot() -> usize {
    SLOT.with(|slot| *slot)
}

impl<T: Default> Default for PerThread<T> {
    fn default() -> Self {
        PerThread { slots: (0..SLOTS).map(|_| Padded(T::default())).collect() }
    }
}

impl<T> PerThread<T> {
    /// This thread's slot.
    pub fn mine(&self) -> &T {
        &self.slots[my_slot()].0
    }

    /// Every slot, to sum them.
    pub fn all(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().map(|slot| &slot.0)
    }
}

impl<T> std::fmt::Debug for PerThread<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PerThread")
    }
}

/// A counter that only grows.
#[derive(Debug, Default)]
pub struct Counter(PerThread<AtomicU64>);

impl Counter {
    pub fn add(&self, n: u64) {
        // Only this thread writes its slot; the atomic is for the reader of `/metrics`.
        self.0.mine().fetch_add(n, Ordering::Relaxed);
    }

    pub fn increment(&self) {
        self.add(1);
    }

    pub fn get(&self) -> u64 {
        self.0.all().map(|slot| slot.load(Ordering::Relaxed)).sum()
    }
}

/// A map per thread behind a lock only that thread takes, except the reader of `/metrics`: the
/// lock is uncontended and its line stays on the thread's core.
#[derive(Debug)]
pub struct PerThreadMap<T>(PerThread<Mutex<T>>);

impl<T: Default> Default for PerThreadMap<T> {
    fn default() -> Self {
        PerThreadMap(PerThread::default())
    }
}

impl<T> PerThreadMap<T> {
    pub fn update<R>(&self, change: impl FnOnce(&mut T) -> R) -> R {
        change(&mut self.0.mine().lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Every thread's map, one after the other.
    pub fn each(&self, mut read: impl FnMut(&T)) {
        for slot in self.0.all() {
            read(&slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        }
    }
}

/// The service's counters.
#[derive(Debug, Default)]
pub struct Counters {
    /// Access tokens signed, by every path that issues one (the token endpoint's grants, the
    /// implicit answer, the session API, the token generator, token exchange).
    pub tokens_issued: Counter,
    /// Failed sign-ins (a wrong password, second factor or passkey), by the login page and
    /// `POST /sessions`.
    pub login_failures: Counter,
    /// Lock-outs that began, of an account and of an address.
    pub account_lockouts: Counter,
    pub address_lockouts: Counter,
    /// Failed client authentications at the token, introspection, revocation and PAR endpoints.
    pub client_auth_failures: Counter,
}

impl Counters {
    /// The Prometheus text exposition of these counters.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write as _;
        fn counter(out: &mut String, name: &str, help: &str, lines: &[(&str, u64)]) {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, value) in lines {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        }
        counter(out, "tessera_tokens_issued_total", "Access tokens issued, by every grant and path.", &[("", self.tokens_issued.get())]);
        counter(
            out,
            "tessera_login_failures_total",
            "Failed sign-ins of people (pages and the session API).",
            &[("", self.login_failures.get())],
        );
        counter(
            out,
            "tessera_login_lockouts_total",
            "Sign-in lock-outs that began, by what was locked.",
            &[("{scope=\"account\"}", self.account_lockouts.get()), ("{scope=\"address\"}", self.address_lockouts.get())],
        );
        counter(
            out,
            "tessera_client_auth_failures_total",
            "Failed client authentications (token, introspection, revocation, PAR).",
            &[("", self.client_auth_failures.get())],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_many_threads_add_up() {
        let counter = std::sync::Arc::new(Counter::default());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let counter = counter.clone();
                std::thread::spawn(move || (0..1000).for_each(|_| counter.increment()))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(counter.get(), 8000);
    }

    #[test]
    fn per_thread_maps_are_read_together() {
        let maps = std::sync::Arc::new(PerThreadMap::<Vec<u32>>::default());
        let threads: Vec<_> = (0..4u32)
            .map(|i| {
                let maps = maps.clone();
                std::thread::spawn(move || maps.update(|v| v.push(i)))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let mut seen: Vec<u32> = Vec::new();
        maps.each(|v| seen.extend(v.iter().copied()));
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2, 3]);
    }

    #[test]
    fn a_slot_is_a_line_of_its_own() {
        assert_eq!(std::mem::align_of::<Padded<AtomicU64>>(), 128);
        assert_eq!(std::mem::size_of::<Padded<AtomicU64>>(), 128);
    }
}
