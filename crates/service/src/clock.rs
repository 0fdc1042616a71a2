//! Time: the injected wall clock, and the lifetime clock every lifetime is measured on.

use std::sync::Arc;

/// The source of time. Injected so that nothing below reads the clock itself.
pub trait Clock: Send + Sync + 'static {
    /// Wall time, Unix seconds: for values that leave the process (`iat`, `exp`, `auth_time`)
    /// and the audit log.
    fn now(&self) -> i64;
    /// Wall time in Unix milliseconds: where the lifetime clock starts, to the millisecond so
    /// that it does not run up to a second behind the wall clock.
    fn now_millis(&self) -> i64 {
        self.now().saturating_mul(1000)
    }
    /// Milliseconds from an arbitrary origin on a clock that is never stepped (the system's
    /// monotonic clock): what the lifetimes kept by this process are measured on.
    fn monotonic_millis(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        self.now_millis().div_euclid(1000)
    }

    fn now_millis(&self) -> i64 {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        wall.saturating_add(test_clock_ahead_millis())
    }

    fn monotonic_millis(&self) -> i64 {
        static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let elapsed = i64::try_from(ORIGIN.get_or_init(std::time::Instant::now).elapsed().as_millis()).unwrap_or(i64::MAX);
        elapsed.saturating_add(test_clock_ahead_millis())
    }
}

/// The environment variable naming the test clock's file (the `test-clock` feature).
pub const TEST_CLOCK_ENV: &str = "TESSERA_TEST_CLOCK_FILE";

/// How far a test has moved this process's clocks forwards: with the `test-clock` feature (test
/// builds only), the whole seconds written in the file [`TEST_CLOCK_ENV`] names, so end-to-end
/// tests see codes, sessions and refresh tokens expire without sleeping. Both readings move
/// alike, so the lifetime clock moves with the wall clock. Without the feature: nothing, and
/// the environment is not read.
fn test_clock_ahead_millis() -> i64 {
    #[cfg(feature = "test-clock")]
    if let Some(path) = std::env::var_os(TEST_CLOCK_ENV) {
        let seconds = std::fs::read_to_string(path).ok().and_then(|text| text.trim().parse::<i64>().ok()).unwrap_or(0);
        return seconds.max(0).saturating_mul(1000);
    }
    0
}

/// The time lifetimes are measured on (SPEC §12): the wall time when the service opened plus
/// the monotonic time since. Codes, device codes, pushed requests, sessions and lock-outs are
/// stored in these seconds, so a wall-clock step backwards extends none of them and a step
/// forwards ends none early; the values stay close to wall time, so other processes on the
/// same store read them right up to the size of a step made since this one started.
#[derive(Clone)]
pub(crate) struct Timeline {
    clock: Arc<dyn Clock>,
    /// Both in milliseconds: whole seconds on both sides would let the lifetime clock lag the
    /// wall clock by up to two seconds, and a link made "24 hours ago" by another process
    /// would still work for them.
    wall_millis_at_open: i64,
    monotonic_millis_at_open: i64,
}

impl Timeline {
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Self {
        let (wall_millis_at_open, monotonic_millis_at_open) = (clock.now_millis(), clock.monotonic_millis());
        Timeline { clock, wall_millis_at_open, monotonic_millis_at_open }
    }

    /// Lifetime seconds now.
    pub(crate) fn now(&self) -> i64 {
        let elapsed = self.clock.monotonic_millis().saturating_sub(self.monotonic_millis_at_open);
        self.wall_millis_at_open.saturating_add(elapsed).div_euclid(1000)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;

    /// A clock at a set wall millisecond whose monotonic reading the test moves.
    struct Fixed {
        wall_millis: i64,
        monotonic_millis: AtomicI64,
    }

    impl Clock for Fixed {
        fn now(&self) -> i64 {
            self.wall_millis.div_euclid(1000)
        }
        fn now_millis(&self) -> i64 {
            self.wall_millis
        }
        fn monotonic_millis(&self) -> i64 {
            self.monotonic_millis.load(Ordering::SeqCst)
        }
    }

    #[test]
    fn the_lifetime_clock_turns_the_second_with_the_wall_clock() {
        // Opened 1 ms before a whole second: 1 ms later both clocks read the next second (in
        // whole seconds the lifetime clock would stay a second behind for the process's life).
        let clock = Arc::new(Fixed { wall_millis: 1_999, monotonic_millis: AtomicI64::new(50_000) });
        let timeline = Timeline::new(clock.clone());
        assert_eq!(timeline.now(), 1);
        clock.monotonic_millis.store(50_001, Ordering::SeqCst);
        assert_eq!(timeline.now(), 2);
        clock.monotonic_millis.store(50_000 + 86_400_000, Ordering::SeqCst);
        assert_eq!(timeline.now(), 86_401);
    }
}
