//! Reclaiming expired raw values: a compaction filter for the LSM engine.
//!
//! Reads already hide expired values; this filter makes compactions drop them, so space
//! comes back without anyone deleting them. The engine offers the filter only values no
//! snapshot can read (see `lsm::compaction::drop`), so dropping one never changes what a live
//! reader sees: readers ignore it already, by the same clock rule.
//!
//! The filter is given to `lsm::Options::compaction_filter` before the database is opened,
//! but the raw column family's id is known only once `LsmEngine::new` created or found it, so
//! the id is bound afterwards ([`RawTtlFilter::bind`]). Until then, and for every other
//! column family, the filter keeps everything. A value that does not decode is kept too: the
//! read path reports it as corruption; a filter must never destroy evidence.

use std::sync::{Arc, OnceLock};

use lsm::compaction::{CompactionFilter, FilterDecision};
use lsm::key::CfId;
use mvcc::{Cf, LsmEngine};

use super::clock::Clock;
use super::value::RawValue;

/// Drops expired values of the raw column family during compaction.
#[derive(Debug)]
pub struct RawTtlFilter {
    /// The engine id of the raw column family; unset: keep everything.
    raw_cf: OnceLock<CfId>,
    clock: Arc<dyn Clock>,
}

impl RawTtlFilter {
    /// A filter judging expiry by `clock` (use the same clock as the `RawStorage`).
    pub fn new(clock: Arc<dyn Clock>) -> RawTtlFilter {
        RawTtlFilter {
            raw_cf: OnceLock::new(),
            clock,
        }
    }

    /// Binds the filter to `engine`'s raw column family. Binding again keeps the first id
    /// (a filter serves one database).
    pub fn bind(&self, engine: &LsmEngine) {
        self.bind_cf(engine.cf_id(Cf::Raw));
    }

    /// Binds the filter to the column family with engine id `cf`.
    pub fn bind_cf(&self, cf: CfId) {
        let _ = self.raw_cf.set(cf);
    }
}

impl CompactionFilter for RawTtlFilter {
    fn name(&self) -> &str {
        "strata.raw-ttl"
    }

    fn filter(
        &self,
        cf: CfId,
        _user_key: &[u8],
        value: &[u8],
        _bottommost: bool,
    ) -> FilterDecision {
        if self.raw_cf.get() != Some(&cf) {
            return FilterDecision::Keep;
        }
        match RawValue::decode(value) {
            Ok(v) if v.is_expired(self.clock.now_secs()) => FilterDecision::Remove,
            _ => FilterDecision::Keep,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::clock::ManualClock;
    use crate::raw::value::encode;

    #[test]
    fn drops_only_expired_raw_values_once_bound() {
        let clock = ManualClock::new(100);
        let f = RawTtlFilter::new(Arc::new(clock.clone()));
        let expired = encode(b"v", Some(100));
        let live = encode(b"v", Some(101));
        let forever = encode(b"v", None);
        assert_eq!(
            f.filter(4, b"k", &expired, true),
            FilterDecision::Keep,
            "unbound"
        );
        f.bind_cf(4);
        f.bind_cf(7);
        assert_eq!(f.filter(4, b"k", &expired, true), FilterDecision::Remove);
        assert_eq!(f.filter(4, b"k", &live, false), FilterDecision::Keep);
        assert_eq!(f.filter(4, b"k", &forever, true), FilterDecision::Keep);
        assert_eq!(
            f.filter(7, b"k", &expired, true),
            FilterDecision::Keep,
            "other cf"
        );
        assert_eq!(
            f.filter(4, b"k", &[0xff], true),
            FilterDecision::Keep,
            "corrupt kept"
        );
        clock.advance(1);
        assert_eq!(f.filter(4, b"k", &live, false), FilterDecision::Remove);
    }
}
