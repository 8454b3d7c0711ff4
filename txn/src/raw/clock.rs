//! The wall clock TTLs are measured against, behind a seam so tests can move time.
//!
//! TTL expiry is in whole unix seconds, as TiKV's (`expire_ts = now + ttl`, expired when
//! `expire_ts <= now`). Reads take `now` once per request, so one request sees one instant.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of "now" in unix seconds. Thread safety: shared across tasks.
pub trait Clock: Send + Sync + Debug {
    /// Seconds since the unix epoch.
    fn now_secs(&self) -> u64;
}

/// The system's wall clock. A clock before 1970 reads as 0 (nothing written then expires
/// early: expiry times only grow with the clock).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_secs(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock that moves only when told to; clones share the same time (tests).
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock reading `now` seconds.
    pub fn new(now: u64) -> ManualClock {
        ManualClock {
            now: Arc::new(AtomicU64::new(now)),
        }
    }

    /// Sets the time.
    pub fn set(&self, now: u64) {
        self.now.store(now, Ordering::SeqCst);
    }

    /// Moves the time forward by `secs`.
    pub fn advance(&self, secs: u64) {
        self.now.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_secs(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_is_shared_by_clones() {
        let c = ManualClock::new(10);
        let d = c.clone();
        c.advance(5);
        assert_eq!(d.now_secs(), 15);
        d.set(3);
        assert_eq!(c.now_secs(), 3);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_secs() > 1_577_836_800);
    }
}
