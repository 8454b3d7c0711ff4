//! A timestamp oracle: PD's TSO in one process (the test client, the transaction benchmark,
//! and a single-node store's embedded PD).
//!
//! Invariants:
//! 1. Every timestamp handed out is larger than every one handed out before (strictly
//!    monotonic across threads).
//! 2. The physical part follows the wall clock in milliseconds, as PD's does, because lock
//!    TTLs are measured from a start ts's physical part against `current_ts`: an oracle
//!    counting from 0 would make every lock look fresh (or expired) forever.
//! 3. When the wall clock stalls or steps back, the logical part counts up instead.
//!
//! Concurrency: shared as `Arc<Oracle>`; `now` is one atomic loop, no lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use mvcc::TimeStamp;

/// The oracle (module docs).
#[derive(Debug, Default)]
pub struct Oracle {
    /// The last timestamp handed out (raw).
    last: AtomicU64,
}

impl Oracle {
    /// An oracle starting at the current wall-clock time.
    pub fn new() -> Oracle {
        Oracle::default()
    }

    /// A new timestamp, larger than every earlier one (invariants 1–3).
    pub fn now(&self) -> TimeStamp {
        let wall = TimeStamp::compose(wall_clock_ms(), 0).into_inner();
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = wall.max(last + 1);
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return TimeStamp::new(next),
                Err(seen) => last = seen,
            }
        }
    }

    /// The last timestamp handed out, without taking a new one (0 before the first).
    pub fn last(&self) -> TimeStamp {
        TimeStamp::new(self.last.load(Ordering::Acquire))
    }
}

fn wall_clock_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX >> 18))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn strictly_monotonic_across_threads_and_physical() {
        let oracle = Arc::new(Oracle::new());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let o = oracle.clone();
                std::thread::spawn(move || (0..10_000).map(|_| o.now()).collect::<Vec<_>>())
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            let v = h.join().unwrap();
            assert!(v.windows(2).all(|w| w[0] < w[1]), "per thread");
            all.extend(v);
        }
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "no timestamp handed out twice");
        // The physical part is wall-clock milliseconds (within a minute of now).
        let wall = wall_clock_ms();
        let physical = oracle.last().physical();
        assert!(physical.abs_diff(wall) < 60_000, "{physical} vs {wall}");
    }
}
