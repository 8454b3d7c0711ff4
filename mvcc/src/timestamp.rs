//! `TimeStamp`: a hybrid logical clock value handed out by the timestamp oracle (PD's TSO).
//!
//! The high 46 bits are physical time in milliseconds since the Unix epoch, the low 18 bits a
//! logical counter within that millisecond (TiKV's `TSO_PHYSICAL_SHIFT_BITS = 18`). Every
//! transaction has a `start_ts`; committed versions a `commit_ts`; both order all reads and
//! writes.

use std::fmt;
use std::sync::Arc;

/// Bits of the logical part.
const PHYSICAL_SHIFT_BITS: u32 = 18;

/// A transaction timestamp.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeStamp(u64);

impl TimeStamp {
    /// Composes a timestamp from physical milliseconds and a logical counter (< 2^18).
    pub const fn compose(physical: u64, logical: u64) -> TimeStamp {
        TimeStamp((physical << PHYSICAL_SHIFT_BITS) + logical)
    }

    /// The timestamp `ts`.
    pub const fn new(ts: u64) -> TimeStamp {
        TimeStamp(ts)
    }

    /// 0: "not set" in optional record fields.
    pub const fn zero() -> TimeStamp {
        TimeStamp(0)
    }

    /// u64::MAX: reads "at the latest"; see `lock_check` for its special lock rule.
    pub const fn max() -> TimeStamp {
        TimeStamp(u64::MAX)
    }

    /// Physical part, in milliseconds since the Unix epoch.
    pub const fn physical(self) -> u64 {
        self.0 >> PHYSICAL_SHIFT_BITS
    }

    /// Logical part.
    pub const fn logical(self) -> u64 {
        self.0 & ((1 << PHYSICAL_SHIFT_BITS) - 1)
    }

    /// The raw value.
    pub const fn into_inner(self) -> u64 {
        self.0
    }

    /// True for 0.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// True for u64::MAX.
    pub const fn is_max(self) -> bool {
        self.0 == u64::MAX
    }

    /// The next timestamp.
    ///
    /// # Panics
    /// At u64::MAX (a caller computing past the end of time is a bug).
    pub fn next(self) -> TimeStamp {
        assert!(self.0 < u64::MAX, "no timestamp after u64::MAX");
        TimeStamp(self.0 + 1)
    }

    /// The previous timestamp, or `None` at 0 (timestamps read from disk may be 0).
    pub fn checked_prev(self) -> Option<TimeStamp> {
        self.0.checked_sub(1).map(TimeStamp)
    }
}

impl From<u64> for TimeStamp {
    fn from(ts: u64) -> TimeStamp {
        TimeStamp(ts)
    }
}

impl fmt::Debug for TimeStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for TimeStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// An immutable set of timestamps (a reader's resolved/bypass or access locks), cheap to
/// clone and share between the readers of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TsSet(Arc<[TimeStamp]>);

impl TsSet {
    /// A set of `ts` (duplicates are fine).
    pub fn new(mut ts: Vec<TimeStamp>) -> TsSet {
        ts.sort_unstable();
        ts.dedup();
        TsSet(ts.into())
    }

    /// True if `ts` is in the set.
    pub fn contains(&self, ts: TimeStamp) -> bool {
        self.0.binary_search(&ts).is_ok()
    }

    /// True if the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<TimeStamp> for TsSet {
    fn from_iter<I: IntoIterator<Item = TimeStamp>>(iter: I) -> Self {
        TsSet::new(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_matches_tikv() {
        // TiKV's `test_ts`: physical 1568700549751 ms, logical 108.
        let ts = TimeStamp::compose(1_568_700_549_751, 108);
        assert_eq!(ts.into_inner(), 411_225_436_913_926_252);
        assert_eq!(ts.physical(), 1_568_700_549_751);
        assert_eq!(ts.logical(), 108);
    }

    #[test]
    fn prev_and_next_at_the_edges() {
        assert_eq!(TimeStamp::zero().checked_prev(), None);
        assert_eq!(TimeStamp::new(5).checked_prev(), Some(TimeStamp::new(4)));
        assert_eq!(TimeStamp::new(5).next(), TimeStamp::new(6));
        assert!(TimeStamp::max().is_max() && TimeStamp::zero().is_zero());
    }

    #[test]
    fn ts_set_membership() {
        let s: TsSet = [3, 1, 3, 9].into_iter().map(TimeStamp::new).collect();
        assert!(s.contains(1.into()) && s.contains(3.into()) && s.contains(9.into()));
        assert!(!s.contains(2.into()) && !s.contains(10.into()));
        assert!(TsSet::default().is_empty() && !TsSet::default().contains(0.into()));
    }
}
