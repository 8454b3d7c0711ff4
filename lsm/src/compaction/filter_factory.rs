//! Compaction filters with per-compaction state.
//!
//! [`CompactionFilter`](super::CompactionFilter) decides each value on its own. Some policies
//! need what came before in the same compaction: MVCC garbage collection keeps the newest
//! version of a key at the safe point and drops the older ones, and its versions are distinct
//! engine keys (`key + ts`) that arrive one after another. A [`CompactionFilterFactory`]
//! creates one [`StatefulFilter`] per compaction run; the run offers it values in key order.
//!
//! Contract (the same offers as the stateless filter):
//! 1. Only values no snapshot can read are offered (the newest stripe); others, tombstones
//!    and values covered by range tombstones are not. A filter must therefore never infer
//!    that an unseen key does not exist: skipped entries may only make it keep more.
//! 2. Offers come in increasing `(cf, user key)` order, once per user key, from one thread.
//! 3. `Remove` above the bottom becomes a tombstone at the same key and sequence (hiding the
//!    key's older engine versions below); at the bottom without snapshots the entry is dropped.
//! 4. Flushes do not run filters.
//!
//! When both kinds are configured, the stateless filter decides first; the stateful one sees
//! only what it kept.

use std::fmt::Debug;

use super::drop::FilterDecision;
use crate::key::CfId;

/// What a stateful filter knows about its compaction run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactionFilterContext {
    /// No older data for the run's key range exists below its output.
    pub bottommost: bool,
    /// The level the run writes to.
    pub output_level: usize,
    /// Some snapshot is live: values it can read are not offered (contract 1), so a filter
    /// cannot assume it saw every older version of a key.
    pub has_snapshots: bool,
}

/// Creates a filter per compaction run.
pub trait CompactionFilterFactory: Send + Sync + Debug {
    /// A name for logs and stats.
    fn name(&self) -> &str;

    /// The filter of one run; `None` filters nothing in it.
    fn create(&self, context: &CompactionFilterContext) -> Option<Box<dyn StatefulFilter>>;
}

/// A filter living for one compaction run (see the module contract).
pub trait StatefulFilter: Send + Debug {
    /// Decides whether `value`, the newest version of `user_key` in column family `cf`, stays.
    fn filter(
        &mut self,
        cf: CfId,
        user_key: &[u8],
        value: &[u8],
        bottommost: bool,
    ) -> FilterDecision;
}
