//! The timestamp oracle: strictly increasing hybrid timestamps (physical milliseconds,
//! logical counter below 2^18), across restarts and wall-clock steps backwards.
//!
//! Pure logic: the caller passes the wall clock (`now_ms`) and a `persist` callback, so tests
//! drive any clock they like. The caller serialises calls (PD holds it under a mutex).
//!
//! Invariants:
//! 1. Every timestamp handed out has `physical <= bound`, and `bound` was durably saved
//!    (through `persist`) before that timestamp was returned.
//! 2. After a restart the allocator starts at `saved bound + 1 ms`, so every new timestamp
//!    is above every one handed out before (by 1).
//! 3. `(physical, logical)` only grows: `physical` never decreases (the wall clock only
//!    raises it) and, at equal physical, `logical` grows by each request's count.

/// Logical values stay below this (TiKV's layout: `physical << 18 | logical`).
pub(crate) const MAX_LOGICAL: i64 = 1 << 18;

/// How far ahead of the timestamps handed out the saved bound is placed.
const WINDOW_MS: i64 = 3_000;

/// When fewer than this many milliseconds of the window are left, a new bound is saved.
const REFRESH_MARGIN_MS: i64 = 1_000;

/// Why no timestamp was allocated.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TsoError {
    /// `count` is 0, or too large to fit one physical millisecond.
    #[error("tso count should be in 1..{MAX_LOGICAL}, got {0}")]
    InvalidCount(u32),
    /// Saving the new bound failed; nothing was handed out.
    #[error("saving the timestamp window failed: {0}")]
    Persist(#[from] crate::Error),
}

/// The allocator's state.
#[derive(Debug)]
pub(crate) struct TsoAllocator {
    /// Physical part of the last timestamp handed out (or the restart floor).
    physical: i64,
    /// Logical part of the last timestamp handed out at `physical`.
    logical: i64,
    /// The durable upper bound on `physical` (invariant 1).
    bound: i64,
}

impl TsoAllocator {
    /// The allocator after (re)start, given the bound saved by the previous run (if any).
    pub fn recover(saved_bound: Option<i64>) -> Self {
        let bound = saved_bound.unwrap_or(0);
        TsoAllocator {
            // Timestamps at `bound` may have been handed out: start one millisecond above,
            // with logical 0 never handed out (every allocation adds at least 1).
            physical: if saved_bound.is_some() { bound + 1 } else { 0 },
            logical: 0,
            bound,
        }
    }

    /// Allocates `count` consecutive timestamps and returns the last, `(physical, logical)`:
    /// the batch is `logical - count + 1 ..= logical` at that physical time (as PD answers).
    ///
    /// # Errors
    /// `InvalidCount` if `count` is 0 or `>= MAX_LOGICAL`; `Persist` if a new bound had to
    /// be saved and saving failed (the state is then unchanged).
    pub fn allocate(
        &mut self,
        count: u32,
        now_ms: i64,
        persist: impl FnOnce(i64) -> crate::Result<()>,
    ) -> Result<(i64, i64), TsoError> {
        let count_i = i64::from(count);
        if count == 0 || count_i >= MAX_LOGICAL {
            return Err(TsoError::InvalidCount(count));
        }
        let (mut physical, mut logical) = if now_ms > self.physical {
            (now_ms, 0)
        } else {
            // The clock has not moved on (or went back): keep counting at our physical time.
            (self.physical, self.logical)
        };
        if logical + count_i >= MAX_LOGICAL {
            // This millisecond is used up: move to the next rather than wait for the clock.
            physical += 1;
            logical = 0;
        }
        logical += count_i;
        if physical + REFRESH_MARGIN_MS > self.bound {
            let bound = physical + WINDOW_MS;
            persist(bound)?;
            self.bound = bound;
        }
        self.physical = physical;
        self.logical = logical;
        Ok((physical, logical))
    }

    /// The durable bound (for tests and diagnostics).
    #[cfg(test)]
    pub fn bound(&self) -> i64 {
        self.bound
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn alloc(t: &mut TsoAllocator, count: u32, now: i64, saved: &Cell<i64>) -> (i64, i64) {
        t.allocate(count, now, |b| {
            saved.set(b);
            Ok(())
        })
        .unwrap()
    }

    #[test]
    fn increases_within_and_across_milliseconds() {
        let saved = Cell::new(0);
        let mut t = TsoAllocator::recover(None);
        let a = alloc(&mut t, 1, 100, &saved);
        let b = alloc(&mut t, 5, 100, &saved);
        let c = alloc(&mut t, 1, 101, &saved);
        assert_eq!(a, (100, 1));
        assert_eq!(b, (100, 6));
        assert_eq!(c, (101, 1));
        assert!(saved.get() >= 101, "bound saved before handing out");
    }

    #[test]
    fn clock_going_back_never_lowers_timestamps() {
        let saved = Cell::new(0);
        let mut t = TsoAllocator::recover(None);
        let mut last = alloc(&mut t, 1, 10_000, &saved);
        for now in [9_000, 5_000, 10_000, 9_999] {
            let ts = alloc(&mut t, 3, now, &saved);
            assert!(ts > last, "{ts:?} after {last:?}");
            last = ts;
        }
        assert_eq!(last.0, 10_000);
    }

    #[test]
    fn logical_overflow_moves_to_the_next_millisecond() {
        let saved = Cell::new(0);
        let mut t = TsoAllocator::recover(None);
        let max = u32::try_from(MAX_LOGICAL - 1).unwrap();
        let a = alloc(&mut t, max, 50, &saved);
        assert_eq!(a, (50, MAX_LOGICAL - 1));
        let b = alloc(&mut t, 1, 50, &saved);
        assert_eq!(b, (51, 1));
        let c = alloc(&mut t, max, 51, &saved);
        assert_eq!(
            c,
            (52, MAX_LOGICAL - 1),
            "batch never straddles milliseconds"
        );
        assert!(matches!(
            t.allocate(0, 60, |_| Ok(())),
            Err(TsoError::InvalidCount(0))
        ));
        assert!(t.allocate(max + 1, 60, |_| Ok(())).is_err());
    }

    #[test]
    fn window_is_saved_ahead_and_refreshed_before_it_runs_out() {
        let saved = Cell::new(0);
        let mut t = TsoAllocator::recover(None);
        alloc(&mut t, 1, 1_000, &saved);
        assert_eq!(saved.get(), 1_000 + WINDOW_MS);
        // Inside the window, with margin left: no save.
        saved.set(-1);
        alloc(&mut t, 1, 2_000, &saved);
        assert_eq!(saved.get(), -1);
        // Near the end: saved again, further ahead.
        alloc(&mut t, 1, 1_000 + WINDOW_MS - REFRESH_MARGIN_MS + 1, &saved);
        assert!(saved.get() > 1_000 + WINDOW_MS);
        assert_eq!(t.bound(), saved.get());
    }

    #[test]
    fn restart_starts_above_everything_handed_out() {
        let saved = Cell::new(0);
        let mut t = TsoAllocator::recover(None);
        let mut last = (0, 0);
        for now in 0..5_000 {
            last = alloc(&mut t, 7, 10_000 + now / 3, &saved);
        }
        // Restart with the wall clock behind what was handed out.
        let mut t2 = TsoAllocator::recover(Some(saved.get()));
        let first = alloc(&mut t2, 1, 0, &saved);
        assert!(first > last, "{first:?} after {last:?}");
        assert!(first.0 > t.physical);
    }

    #[test]
    fn failed_persist_hands_out_nothing_and_changes_nothing() {
        let mut t = TsoAllocator::recover(Some(500));
        let err = t.allocate(1, 100, |_| Err(crate::Error::Pd("disk full".into())));
        assert!(matches!(err, Err(TsoError::Persist(_))));
        let saved = Cell::new(0);
        let ts = alloc(&mut t, 1, 100, &saved);
        assert_eq!(ts, (501, 1));
    }
}
