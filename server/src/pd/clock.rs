//! The clock PD's scheduling measures time against (store liveness, operator timeouts),
//! behind a seam so tests move time instead of waiting.
//!
//! Wall-clock time, as PD's: store heartbeat times are also shown in the HTTP API. A clock
//! that steps backwards only makes stores look fresher and operators younger for a while.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of "now". Thread safety: shared by PD's tasks.
pub trait Clock: Send + Sync + Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told to (tests); clones share the same time. Millisecond
/// resolution.
#[derive(Debug, Clone)]
pub struct ManualClock {
    ms: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock reading the system time now, from then on moved only by [`advance`].
    ///
    /// [`advance`]: ManualClock::advance
    pub fn new() -> ManualClock {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        ManualClock {
            ms: Arc::new(AtomicU64::new(ms)),
        }
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.ms.fetch_add(by, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.ms.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced_and_clones_share_it() {
        let c = ManualClock::new();
        let shared = c.clone();
        let t0 = c.now();
        assert_eq!(c.now(), t0);
        shared.advance(Duration::from_secs(90));
        assert_eq!(c.now().duration_since(t0).unwrap(), Duration::from_secs(90));
    }
}
