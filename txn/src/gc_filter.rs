//! MVCC garbage collection inside compactions: the `gc` action's policy as an engine
//! [`CompactionFilterFactory`], so old versions go away as tables are rewritten anyway,
//! without a scan.
//!
//! Write-CF engine keys are `key + !commit_ts`, so a compaction offers one MVCC key's
//! versions newest first, one after another; the per-run filter remembers the current key
//! and whether its version at the safe point was already seen (`gc` rules 1–4). What differs
//! from the `gc` action, because a filter sees only part of the data:
//! 1. A value a snapshot can read is never offered; the filter then sees an older version
//!    first and keeps it — more garbage, never a lost version.
//! 2. A Delete at the safe point is removed only at the bottom of the tree and with no live
//!    snapshot: elsewhere an older version may exist that this run does not remove (below,
//!    or not offered), and without the Delete it would reappear.
//! 3. A dropped Put whose value lives in the default CF leaves that value behind; its key is
//!    queued, and [`take_orphan_deletes`](GcCompactionFilterFactory::take_orphan_deletes)
//!    hands the deletions to a GC worker to write through the engine. Deleting one is safe
//!    even if the compaction then fails: the version is older than the key's version at the
//!    safe point, so no permitted reader (at or above the safe point) reads it.
//!
//! The safe point is read from a shared `AtomicU64` at the start of each run (0: GC off).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use lsm::compaction::{
    CompactionFilterContext, CompactionFilterFactory, FilterDecision, StatefulFilter,
};
use lsm::key::CfId;
use mvcc::{Cf, Key, Modify, TimeStamp, Write, WriteType};

/// No column family known yet.
const UNKNOWN_CF: u32 = u32::MAX;

/// Creates a GC filter per compaction run; install it in `lsm::Options` and [`attach`] it
/// once the database is open.
///
/// [`attach`]: GcCompactionFilterFactory::attach
#[derive(Debug)]
pub struct GcCompactionFilterFactory {
    safe_point: Arc<AtomicU64>,
    /// The engine id of the write CF (known once the database is open and the CF exists).
    write_cf: AtomicU32,
    /// Default-CF keys of values whose Put record was dropped (rule 3).
    orphans: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl GcCompactionFilterFactory {
    /// A factory reading the safe point from `safe_point`.
    pub fn new(safe_point: Arc<AtomicU64>) -> GcCompactionFilterFactory {
        GcCompactionFilterFactory {
            safe_point,
            write_cf: AtomicU32::new(UNKNOWN_CF),
            orphans: Arc::default(),
        }
    }

    /// Learns the write CF's id from the open database (until then nothing is filtered).
    pub fn attach(&self, db: &lsm::Db) {
        if let Some(id) = db.cf_id(Cf::Write.name()) {
            self.write_cf.store(u32::from(id), Ordering::SeqCst);
        }
    }

    /// Deletions of the default-CF values left behind by dropped Puts, for the caller to
    /// write (rule 3).
    pub fn take_orphan_deletes(&self) -> Vec<Modify> {
        let keys =
            std::mem::take(&mut *self.orphans.lock().unwrap_or_else(PoisonError::into_inner));
        keys.into_iter()
            .map(|key| Modify::Delete {
                cf: Cf::Default,
                key,
            })
            .collect()
    }
}

impl CompactionFilterFactory for GcCompactionFilterFactory {
    fn name(&self) -> &str {
        "strata.mvcc-gc"
    }

    fn create(&self, context: &CompactionFilterContext) -> Option<Box<dyn StatefulFilter>> {
        let safe_point = TimeStamp::new(self.safe_point.load(Ordering::SeqCst));
        let write_cf = CfId::try_from(self.write_cf.load(Ordering::SeqCst)).ok()?;
        if safe_point.is_zero() {
            return None;
        }
        Some(Box::new(GcFilter {
            safe_point,
            write_cf,
            may_drop_deletes: context.bottommost && !context.has_snapshots,
            current: Vec::new(),
            remove_older: false,
            orphans: self.orphans.clone(),
        }))
    }
}

#[derive(Debug)]
struct GcFilter {
    safe_point: TimeStamp,
    write_cf: CfId,
    /// Rule 2.
    may_drop_deletes: bool,
    /// The encoded MVCC key (no ts) whose versions are being offered.
    current: Vec<u8>,
    /// The version at the safe point of `current` was seen: older ones go.
    remove_older: bool,
    orphans: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl StatefulFilter for GcFilter {
    fn filter(
        &mut self,
        cf: CfId,
        user_key: &[u8],
        value: &[u8],
        _bottommost: bool,
    ) -> FilterDecision {
        if cf != self.write_cf {
            return FilterDecision::Keep;
        }
        // Anything that does not decode is kept: the filter never destroys what it cannot read.
        let Ok((key, commit_ts)) = Key::split_on_ts_for(user_key) else {
            return FilterDecision::Keep;
        };
        if key != self.current.as_slice() {
            self.current.clear();
            self.current.extend_from_slice(key);
            self.remove_older = false;
        }
        if commit_ts > self.safe_point {
            return FilterDecision::Keep;
        }
        let Ok(write) = Write::parse(value) else {
            return FilterDecision::Keep;
        };
        if self.remove_older {
            if write.write_type == WriteType::Put && write.short_value.is_none() {
                let data_key = Key::from_encoded_slice(key).append_ts(write.start_ts);
                self.orphans
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(data_key.into_encoded());
            }
            return FilterDecision::Remove;
        }
        match write.write_type {
            WriteType::Put => {
                self.remove_older = true;
                FilterDecision::Keep
            }
            WriteType::Delete => {
                self.remove_older = true;
                if self.may_drop_deletes {
                    FilterDecision::Remove
                } else {
                    FilterDecision::Keep
                }
            }
            WriteType::Lock | WriteType::Rollback => FilterDecision::Remove,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn compaction_drops_versions_below_the_safe_point() {
        let safe_point = Arc::new(AtomicU64::new(0));
        let factory = Arc::new(GcCompactionFilterFactory::new(safe_point.clone()));
        let options = lsm::Options {
            compaction_filter_factory: Some(factory.clone()),
            ..lsm::Options::default()
        };
        let (s, db) = TestStore::local_with(options);
        factory.attach(&db);
        let long = vec![b'x'; 300];
        must_prewrite_put(&s, b"k", &long, b"k", 5);
        must_commit(&s, b"k", 5, 6);
        must_rollback(&s, b"k", 7);
        must_prewrite_put(&s, b"k", b"v2", b"k", 10);
        must_commit(&s, b"k", 10, 11);
        must_prewrite_lock(&s, b"k", b"k", 12);
        must_commit(&s, b"k", 12, 13);
        must_prewrite_put(&s, b"k", b"v3", b"k", 20);
        must_commit(&s, b"k", 20, 21);
        must_prewrite_delete(&s, b"d", b"d", 5);
        must_commit(&s, b"d", 5, 6);
        let write_cf = db.cf_id("write").unwrap();
        // Safe point 0: GC off.
        db.flush().unwrap();
        db.compact_range(write_cf, None, None).unwrap();
        assert!(write_at(&s, b"k", 6).is_some());

        safe_point.store(15, Ordering::SeqCst);
        db.compact_range(write_cf, None, None).unwrap();
        for ts in [6, 7, 13] {
            must_not_have_write(&s, b"k", ts);
        }
        must_get(&s, b"k", 15, b"v2");
        must_get(&s, b"k", 21, b"v3");
        // The Delete at the bottom, with no snapshot, goes too.
        must_not_have_write(&s, b"d", 6);
        // The long value of the dropped Put is handed over for deletion.
        let orphans = factory.take_orphan_deletes();
        assert_eq!(
            orphans,
            vec![Modify::Delete {
                cf: Cf::Default,
                key: Key::from_raw(b"k").append_ts(5.into()).into_encoded()
            }]
        );
        s.write(orphans);
        assert!(factory.take_orphan_deletes().is_empty());
    }
}
