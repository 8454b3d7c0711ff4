//! The benchmark's timestamp oracle: PD's TSO in one process.
//!
//! Timestamps have TiKV's layout (`mvcc::TimeStamp`: physical milliseconds << 18 | logical).
//! Invariant: every timestamp handed out is strictly greater than every one handed out
//! before it, whatever the wall clock does; the physical part follows the wall clock while
//! fewer than 2^18 timestamps are asked for per millisecond, and runs ahead of it otherwise
//! (the logical part carries into the physical part, as PD's would after a wait).
//!
//! Thread-safe: one atomic, shared by every client task.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use mvcc::TimeStamp;

/// Hands out strictly increasing timestamps.
#[derive(Debug, Default)]
pub struct Oracle {
    /// The last timestamp handed out.
    last: AtomicU64,
}

impl Oracle {
    /// An oracle whose first timestamp is at the current wall-clock millisecond.
    pub fn new() -> Oracle {
        Oracle::default()
    }

    /// The next timestamp: the later of "now, logical 0" and one past the last one.
    pub fn next(&self) -> TimeStamp {
        let now = TimeStamp::compose(wall_clock_ms(), 0).into_inner();
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = now.max(last + 1);
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return TimeStamp::new(next),
                Err(seen) => last = seen,
            }
        }
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it: the oracle then counts
/// from its last value, which keeps the invariant).
fn wall_clock_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| {
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX >> 18)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictly_increasing_and_physical_is_the_wall_clock() {
        let oracle = Oracle::new();
        let before = wall_clock_ms();
        let mut last = TimeStamp::zero();
        for _ in 0..10_000 {
            let ts = oracle.next();
            assert!(ts > last, "{ts:?} after {last:?}");
            last = ts;
        }
        let after = wall_clock_ms();
        // 10,000 timestamps fit in a millisecond's logical range: no run-ahead.
        assert!(last.physical() >= before && last.physical() <= after);
    }

    #[test]
    fn concurrent_callers_never_share_a_timestamp() {
        let oracle = Oracle::new();
        let mut all: Vec<u64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (0..5_000)
                            .map(|_| oracle.next().into_inner())
                            .collect::<Vec<u64>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect::<Vec<u64>>()
        });
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
        assert_eq!(n, 20_000);
    }
}
