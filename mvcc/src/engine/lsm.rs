//! The snapshot seam over Strata's LSM engine: the MVCC column families (and the raw one) are
//! the engine's column families of the same names, opened (or created) by name.
//!
//! A [`LsmSnapshot`] pins an `lsm::Snapshot` (its sequence number: compactions keep every
//! version it can see) and holds the `Db`, so it outlives nothing it needs. Cursors borrow
//! the snapshot, so they cannot outlive it either.

use std::sync::Arc;

use bytes::Bytes;
use lsm::iter::IterOptions;
use lsm::key::CfId;
use lsm::{Db, DbIter, WriteBatch, WriteOptions};

use super::{Cf, Cursor, IterBounds, Modify, Snapshot};
use crate::error::Result;

/// MVCC storage on an LSM database.
#[derive(Debug, Clone)]
pub struct LsmEngine {
    db: Arc<Db>,
    /// Engine column family ids, indexed by [`Cf::index`].
    cfs: [CfId; Cf::COUNT],
}

impl LsmEngine {
    /// Uses `db`, creating the `default`, `lock`, `write` and `raw` column families if missing.
    ///
    /// # Errors
    /// Engine errors creating a column family.
    pub fn new(db: Arc<Db>) -> Result<LsmEngine> {
        let mut cfs = [0; Cf::COUNT];
        for cf in Cf::ALL {
            cfs[cf.index()] = db.create_cf(cf.name())?;
        }
        Ok(LsmEngine { db, cfs })
    }

    /// The database.
    pub fn db(&self) -> &Arc<Db> {
        &self.db
    }

    /// The engine's id of `cf` (e.g. for a compaction filter or `compact_range`).
    pub fn cf_id(&self, cf: Cf) -> CfId {
        self.cfs[cf.index()]
    }

    /// A snapshot of the latest state.
    pub fn snapshot(&self) -> LsmSnapshot {
        LsmSnapshot {
            snapshot: self.db.snapshot(),
            db: self.db.clone(),
            cfs: self.cfs,
        }
    }

    /// `modifies` as one engine batch, in order.
    ///
    /// # Errors
    /// `Engine(InvalidArgument)` for a range delete with `start >= end`.
    pub fn to_write_batch(&self, modifies: &[Modify]) -> Result<WriteBatch> {
        let size = modifies.iter().map(|m| m.size() + 8).sum();
        let mut batch = WriteBatch::with_capacity(size);
        for m in modifies {
            match m {
                Modify::Put { cf, key, value } => batch.put(self.cfs[cf.index()], key, value),
                Modify::Delete { cf, key } => batch.delete(self.cfs[cf.index()], key),
                Modify::DeleteRange { cf, start, end } => {
                    batch.delete_range(self.cfs[cf.index()], start, end)?;
                }
            }
        }
        Ok(batch)
    }

    /// Applies `modifies` atomically.
    ///
    /// # Errors
    /// As [`to_write_batch`](Self::to_write_batch), and engine write errors.
    pub fn write(&self, modifies: &[Modify], options: WriteOptions) -> Result<()> {
        let batch = self.to_write_batch(modifies)?;
        self.db.write(options, batch)?;
        Ok(())
    }
}

/// A snapshot of an [`LsmEngine`].
pub struct LsmSnapshot {
    snapshot: lsm::Snapshot,
    db: Arc<Db>,
    cfs: [CfId; Cf::COUNT],
}

impl std::fmt::Debug for LsmSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LsmSnapshot")
            .field("sequence", &self.snapshot.sequence())
            .finish_non_exhaustive()
    }
}

impl Snapshot for LsmSnapshot {
    fn get_cf(&self, cf: Cf, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(self
            .db
            .get(self.cfs[cf.index()], key, Some(&self.snapshot))?)
    }

    fn iter_cf(&self, cf: Cf, bounds: IterBounds) -> Result<Box<dyn Cursor + '_>> {
        let options = IterOptions {
            lower_bound: bounds.lower,
            upper_bound: bounds.upper,
        };
        let iter = self
            .db
            .iter(self.cfs[cf.index()], options, Some(&self.snapshot))?;
        Ok(Box::new(LsmCursor { iter }))
    }
}

/// A cursor over the engine's `DbIter` (which enforces the bounds itself).
#[derive(Debug)]
struct LsmCursor {
    iter: DbIter,
}

impl Cursor for LsmCursor {
    fn seek(&mut self, key: &[u8]) -> Result<bool> {
        self.iter.seek(key)?;
        Ok(self.iter.valid())
    }

    fn seek_for_prev(&mut self, key: &[u8]) -> Result<bool> {
        self.iter.seek_for_prev(key)?;
        Ok(self.iter.valid())
    }

    fn seek_to_first(&mut self) -> Result<bool> {
        self.iter.seek_to_first()?;
        Ok(self.iter.valid())
    }

    fn seek_to_last(&mut self) -> Result<bool> {
        self.iter.seek_to_last()?;
        Ok(self.iter.valid())
    }

    fn next(&mut self) -> Result<bool> {
        self.iter.next()?;
        Ok(self.iter.valid())
    }

    fn prev(&mut self) -> Result<bool> {
        self.iter.prev()?;
        Ok(self.iter.valid())
    }

    fn valid(&self) -> bool {
        self.iter.valid()
    }

    fn key(&self) -> &[u8] {
        self.iter.key()
    }

    fn value(&self) -> &[u8] {
        self.iter.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_the_engine_with_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path(), lsm::Options::default()).unwrap());
        let e = LsmEngine::new(db.clone()).unwrap();
        let put = |cf, k: &[u8], v: &[u8]| Modify::Put {
            cf,
            key: k.to_vec(),
            value: v.to_vec(),
        };
        e.write(
            &[put(Cf::Lock, b"k", b"lock"), put(Cf::Write, b"k", b"w1")],
            WriteOptions::default(),
        )
        .unwrap();
        let before = e.snapshot();
        e.write(
            &[
                Modify::Delete {
                    cf: Cf::Lock,
                    key: b"k".to_vec(),
                },
                put(Cf::Write, b"k", b"w2"),
            ],
            WriteOptions::default(),
        )
        .unwrap();
        db.flush().unwrap();
        assert_eq!(
            before.get_cf(Cf::Lock, b"k").unwrap().unwrap(),
            &b"lock"[..]
        );
        assert_eq!(before.get_cf(Cf::Write, b"k").unwrap().unwrap(), &b"w1"[..]);
        let after = e.snapshot();
        assert!(after.get_cf(Cf::Lock, b"k").unwrap().is_none());
        let mut c = after.iter_cf(Cf::Write, IterBounds::default()).unwrap();
        assert!(c.seek_to_first().unwrap());
        assert_eq!((c.key(), c.value()), (&b"k"[..], &b"w2"[..]));
        assert!(!c.next().unwrap());
        // The families are the engine's, by name.
        assert_eq!(db.cf_id("write"), Some(e.cfs[Cf::Write.index()]));
        assert_eq!(db.cf_id("raw"), Some(e.cf_id(Cf::Raw)));
        assert!(e.snapshot().get_cf(Cf::Raw, b"k").unwrap().is_none());
        let bad = Modify::DeleteRange {
            cf: Cf::Write,
            start: b"b".to_vec(),
            end: b"a".to_vec(),
        };
        assert!(e.write(&[bad], WriteOptions::default()).is_err());
    }
}
