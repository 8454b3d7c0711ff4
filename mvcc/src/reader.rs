//! `MvccReader`: the record-level reads transaction actions make through a snapshot — a key's
//! lock, its write records by commit ts, its values, its transaction commit record, and
//! locks in a range.
//!
//! It does not apply lock rules (actions decide what a lock means to them); readers that do
//! are `PointGetter` and `Scanner`. One reader serves one thread; it keeps a write cursor
//! between calls.

use crate::commit_record::{OverlappedWrite, TxnCommitRecord};
use crate::engine::{Cf, Cursor, IterBounds, Snapshot};
use crate::error::{Error, Result};
use crate::key::Key;
use crate::lock::Lock;
use crate::timestamp::TimeStamp;
use crate::write::{Write, WriteType};

/// Record-level reads over a snapshot.
pub struct MvccReader<'a, S: Snapshot + ?Sized> {
    snapshot: &'a S,
    /// Reused across `seek_write` calls (created on first use).
    write_cursor: Option<Box<dyn Cursor + 'a>>,
}

impl<S: Snapshot + ?Sized> std::fmt::Debug for MvccReader<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MvccReader").finish_non_exhaustive()
    }
}

impl<'a, S: Snapshot + ?Sized> MvccReader<'a, S> {
    /// A reader of `snapshot`.
    pub fn new(snapshot: &'a S) -> Self {
        MvccReader {
            snapshot,
            write_cursor: None,
        }
    }

    /// The lock on `key` (encoded, no ts), if any.
    ///
    /// # Errors
    /// Engine errors; `Corruption` if the lock does not decode.
    pub fn load_lock(&mut self, key: &Key) -> Result<Option<Lock>> {
        match self.snapshot.get_cf(Cf::Lock, key.as_encoded())? {
            Some(v) => Ok(Some(Lock::parse(&v)?)),
            None => Ok(None),
        }
    }

    /// The newest write record of `key` with `commit_ts <= ts`, with its commit ts.
    ///
    /// # Errors
    /// Engine errors; `Corruption` if the record or its key does not decode.
    pub fn seek_write(&mut self, key: &Key, ts: TimeStamp) -> Result<Option<(TimeStamp, Write)>> {
        if self.write_cursor.is_none() {
            self.write_cursor = Some(self.snapshot.iter_cf(Cf::Write, IterBounds::default())?);
        }
        let Some(cursor) = self.write_cursor.as_mut() else {
            return Ok(None);
        };
        if !cursor.seek(key.clone().append_ts(ts).as_encoded())? {
            return Ok(None);
        }
        let (user_key, commit_ts) = Key::split_on_ts_for(cursor.key())?;
        if user_key != key.as_encoded() {
            return Ok(None);
        }
        Ok(Some((commit_ts, Write::parse(cursor.value())?)))
    }

    /// The newest Put of `key` visible at `ts`: Lock and Rollback records are skipped, a
    /// Delete (or nothing) gives `None`. With `gc_fence_limit` (normally the reader's ts),
    /// a record whose GC fence shows it stale gives `None` (see
    /// `Write::check_gc_fence_as_latest_version`).
    ///
    /// # Errors
    /// As [`seek_write`](Self::seek_write).
    pub fn get_write(
        &mut self,
        key: &Key,
        ts: TimeStamp,
        gc_fence_limit: Option<TimeStamp>,
    ) -> Result<Option<(TimeStamp, Write)>> {
        let mut ts = ts;
        while let Some((commit_ts, write)) = self.seek_write(key, ts)? {
            if let Some(limit) = gc_fence_limit {
                if !write.check_gc_fence_as_latest_version(limit) {
                    return Ok(None);
                }
            }
            match write.write_type {
                WriteType::Put => return Ok(Some((commit_ts, write))),
                WriteType::Delete => return Ok(None),
                WriteType::Lock | WriteType::Rollback => match commit_ts.checked_prev() {
                    Some(prev) => ts = prev,
                    None => return Ok(None),
                },
            }
        }
        Ok(None)
    }

    /// The value a Put record stands for: its short value, else the `default` CF entry at its
    /// start ts.
    ///
    /// # Errors
    /// `DefaultNotFound` if the value is missing; engine errors.
    pub fn load_data(&mut self, key: &Key, write: &Write) -> Result<Vec<u8>> {
        if let Some(v) = &write.short_value {
            return Ok(v.clone());
        }
        self.get_value(key, write.start_ts)
    }

    /// The `default` CF value of `key` written at `start_ts`.
    ///
    /// # Errors
    /// `DefaultNotFound` if it is missing; engine errors.
    pub fn get_value(&mut self, key: &Key, start_ts: TimeStamp) -> Result<Vec<u8>> {
        load_default(self.snapshot, key, start_ts)
    }

    /// The value of `key` committed at or below `ts`, without looking at locks.
    ///
    /// # Errors
    /// As [`get_write`](Self::get_write) and [`load_data`](Self::load_data).
    pub fn get(&mut self, key: &Key, ts: TimeStamp) -> Result<Option<Vec<u8>>> {
        match self.get_write(key, ts, Some(ts))? {
            Some((_, write)) => Ok(Some(self.load_data(key, &write)?)),
            None => Ok(None),
        }
    }

    /// How the transaction that started at `start_ts` ended on `key`, as far as the write CF
    /// says: committed (the record and its commit ts), rolled back on top of another
    /// transaction's commit record (overlapped rollback), or no record — with the other
    /// transaction's record occupying `key + start_ts`, if any, which a rollback must then
    /// flag instead of overwrite.
    ///
    /// Scans from the newest version down to `start_ts`: in pessimistic transactions a
    /// transaction that started earlier can commit later than one that started after it.
    ///
    /// # Errors
    /// As [`seek_write`](Self::seek_write).
    pub fn get_txn_commit_record(
        &mut self,
        key: &Key,
        start_ts: TimeStamp,
    ) -> Result<TxnCommitRecord> {
        let mut seek_ts = TimeStamp::max();
        // Commit ts of the oldest Put/Delete seen so far: the next newer data version of the
        // record at `start_ts`, recorded as its GC fence if a rollback must flag it.
        let mut gc_fence = TimeStamp::zero();
        while let Some((commit_ts, write)) = self.seek_write(key, seek_ts)? {
            if write.start_ts == start_ts {
                return Ok(TxnCommitRecord::SingleRecord { commit_ts, write });
            }
            if commit_ts == start_ts {
                if write.has_overlapped_rollback {
                    return Ok(TxnCommitRecord::OverlappedRollback { commit_ts });
                }
                return Ok(TxnCommitRecord::None {
                    overlapped_write: Some(OverlappedWrite { write, gc_fence }),
                });
            }
            if matches!(write.write_type, WriteType::Put | WriteType::Delete) {
                gc_fence = commit_ts;
            }
            match commit_ts.checked_prev() {
                Some(prev) if commit_ts > start_ts => seek_ts = prev,
                _ => break,
            }
        }
        Ok(TxnCommitRecord::None {
            overlapped_write: None,
        })
    }

    /// Locks on keys in `[start, end)` (`None`: unbounded) for which `filter` holds, in key
    /// order, at most `limit` of them (0: no limit). Returns them and whether more may remain.
    ///
    /// # Errors
    /// Engine errors; `Corruption` if a lock does not decode.
    pub fn scan_locks(
        &mut self,
        start: Option<&Key>,
        end: Option<&Key>,
        filter: impl Fn(&Key, &Lock) -> bool,
        limit: usize,
    ) -> Result<(Vec<(Key, Lock)>, bool)> {
        let bounds = IterBounds {
            lower: start.map(|k| k.as_encoded().to_vec()),
            upper: end.map(|k| k.as_encoded().to_vec()),
        };
        let mut cursor = self.snapshot.iter_cf(Cf::Lock, bounds)?;
        let mut locks = Vec::new();
        let mut valid = cursor.seek_to_first()?;
        while valid {
            let key = Key::from_encoded_slice(cursor.key());
            let lock = Lock::parse(cursor.value())?;
            if filter(&key, &lock) {
                locks.push((key, lock));
                if limit > 0 && locks.len() == limit {
                    return Ok((locks, true));
                }
            }
            valid = cursor.next()?;
        }
        Ok((locks, false))
    }
}

/// Reads the `default` CF value of `key` at `start_ts`; a missing one is `DefaultNotFound`.
pub(crate) fn load_default<S: Snapshot + ?Sized>(
    snapshot: &S,
    key: &Key,
    start_ts: TimeStamp,
) -> Result<Vec<u8>> {
    let data_key = key.clone().append_ts(start_ts);
    match snapshot.get_cf(Cf::Default, data_key.as_encoded())? {
        Some(v) => Ok(v.to_vec()),
        None => Err(Error::DefaultNotFound {
            key: key.to_raw().unwrap_or_else(|_| key.as_encoded().to_vec()),
            start_ts,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::LockType;
    use crate::testing::{commit, lock, long, put_write};
    use crate::MemEngine;

    fn k(raw: &[u8]) -> Key {
        Key::from_raw(raw)
    }

    #[test]
    fn seek_write_and_get_write_skip_lock_and_rollback_records() {
        let e = MemEngine::new();
        commit(&e, b"a", Some(b"v1"), 1, 2);
        put_write(&e, b"a", 4, &Write::new(WriteType::Lock, 3.into(), None));
        put_write(&e, b"a", 5, &Write::new_rollback(5.into(), false));
        commit(&e, b"b", Some(b"other"), 1, 2); // a neighbour must not leak in
        let s = e.snapshot();
        let mut r = MvccReader::new(&s);
        let (ts, w) = r.seek_write(&k(b"a"), 10.into()).unwrap().unwrap();
        assert_eq!((ts, w.write_type), (5.into(), WriteType::Rollback));
        assert_eq!(
            r.seek_write(&k(b"a"), 4.into()).unwrap().unwrap().0,
            4.into()
        );
        assert!(r.seek_write(&k(b"a"), 1.into()).unwrap().is_none());
        assert!(r.seek_write(&k(b"0"), 10.into()).unwrap().is_none());
        let (ts, w) = r.get_write(&k(b"a"), 10.into(), None).unwrap().unwrap();
        assert_eq!((ts, w.short_value.as_deref()), (2.into(), Some(&b"v1"[..])));
        assert_eq!(r.get(&k(b"a"), 10.into()).unwrap().unwrap(), b"v1");
        assert!(r.get(&k(b"a"), 1.into()).unwrap().is_none());
    }

    #[test]
    fn deletes_long_values_and_missing_defaults() {
        let e = MemEngine::new();
        commit(&e, b"a", Some(&long("x")), 1, 2);
        commit(&e, b"a", None, 3, 4);
        let s = e.snapshot();
        let mut r = MvccReader::new(&s);
        assert_eq!(r.get(&k(b"a"), 3.into()).unwrap().unwrap(), long("x"));
        assert!(r.get(&k(b"a"), 4.into()).unwrap().is_none());
        assert!(r.get_write(&k(b"a"), 9.into(), None).unwrap().is_none());
        // A Put record whose value is missing from the default CF.
        put_write(&e, b"z", 6, &Write::new(WriteType::Put, 5.into(), None));
        let s = e.snapshot();
        let err = MvccReader::new(&s).get(&k(b"z"), 9.into()).unwrap_err();
        assert!(
            matches!(&err, Error::DefaultNotFound { key, start_ts } if key == b"z" && *start_ts == 5.into())
        );
        assert!(err.is_corruption());
    }

    #[test]
    fn stale_record_behind_a_gc_fence_reads_as_nothing() {
        let e = MemEngine::new();
        let fenced = Write::new(WriteType::Put, 1.into(), Some(b"old".to_vec()))
            .set_overlapped_rollback(true, Some(8.into()));
        put_write(&e, b"a", 2, &fenced);
        let s = e.snapshot();
        let mut r = MvccReader::new(&s);
        assert_eq!(r.get(&k(b"a"), 7.into()).unwrap().unwrap(), b"old");
        // The version at 8 should exist (GC removed it): the record is stale at 8 and above.
        assert!(r.get(&k(b"a"), 8.into()).unwrap().is_none());
        assert!(
            r.get_write(&k(b"a"), 9.into(), None).unwrap().is_some(),
            "no limit, no check"
        );
    }

    #[test]
    fn txn_commit_record_cases() {
        let e = MemEngine::new();
        // Pessimistic order: txn 5 commits at 20 after txn 10 committed at 15.
        commit(&e, b"a", Some(b"t10"), 10, 15);
        commit(&e, b"a", Some(b"t5"), 5, 20);
        put_write(&e, b"a", 30, &Write::new_rollback(30.into(), true));
        let s = e.snapshot();
        let mut r = MvccReader::new(&s);
        let rec = r.get_txn_commit_record(&k(b"a"), 5.into()).unwrap();
        assert_eq!(rec.committed_ts(), Some(20.into()));
        assert_eq!(
            r.get_txn_commit_record(&k(b"a"), 10.into())
                .unwrap()
                .committed_ts(),
            Some(15.into())
        );
        assert!(r
            .get_txn_commit_record(&k(b"a"), 30.into())
            .unwrap()
            .is_rolled_back());
        // Nothing for txn 12; nothing occupies a+12.
        assert_eq!(
            r.get_txn_commit_record(&k(b"a"), 12.into()).unwrap(),
            TxnCommitRecord::None {
                overlapped_write: None
            }
        );
        // Txn 15 (start) collides with txn 10's commit at 15; the next newer data version is 20.
        let rec = r.get_txn_commit_record(&k(b"a"), 15.into()).unwrap();
        let ow = rec.unwrap_none().unwrap();
        assert_eq!((ow.write.start_ts, ow.gc_fence), (10.into(), 20.into()));
        // After the flagged rewrite, txn 15 reads as rolled back by overlap.
        put_write(
            &e,
            b"a",
            15,
            &ow.write.set_overlapped_rollback(true, Some(20.into())),
        );
        let s = e.snapshot();
        let mut r = MvccReader::new(&s);
        assert_eq!(
            r.get_txn_commit_record(&k(b"a"), 15.into()).unwrap(),
            TxnCommitRecord::OverlappedRollback {
                commit_ts: 15.into()
            }
        );
    }

    #[test]
    fn scan_locks_with_bounds_filter_and_limit() {
        let e = MemEngine::new();
        for (i, key) in [b"a", b"b", b"c", b"d"].iter().enumerate() {
            let l = Lock::new(LockType::Put, b"a".to_vec(), (i as u64 + 1).into(), 10);
            lock(&e, *key, &l, None);
        }
        let s = e.snapshot();
        let mut r = MvccReader::new(&s);
        let (all, more) = r.scan_locks(None, None, |_, _| true, 0).unwrap();
        assert_eq!((all.len(), more), (4, false));
        let (some, more) = r
            .scan_locks(Some(&k(b"b")), Some(&k(b"d")), |_, _| true, 0)
            .unwrap();
        let keys: Vec<_> = some.iter().map(|(k, _)| k.to_raw().unwrap()).collect();
        assert_eq!((keys, more), (vec![b"b".to_vec(), b"c".to_vec()], false));
        let (odd, more) = r
            .scan_locks(None, None, |_, l| l.ts.into_inner() % 2 == 1, 1)
            .unwrap();
        assert_eq!((odd.len(), odd[0].1.ts, more), (1, 1.into(), true));
        assert_eq!(r.load_lock(&k(b"c")).unwrap().unwrap().ts, 3.into());
        assert!(r.load_lock(&k(b"x")).unwrap().is_none());
    }

    #[test]
    fn garbage_records_are_corruption() {
        let e = MemEngine::new();
        e.write(vec![
            crate::Modify::Put {
                cf: Cf::Write,
                key: k(b"a").append_ts(3.into()).into_encoded(),
                value: vec![b'Q'],
            },
            crate::Modify::Put {
                cf: Cf::Lock,
                key: k(b"a").into_encoded(),
                value: vec![b'P', 0x09],
            },
        ])
        .unwrap();
        let s = e.snapshot();
        let mut r = MvccReader::new(&s);
        assert!(r
            .seek_write(&k(b"a"), 5.into())
            .unwrap_err()
            .is_corruption());
        assert!(r.load_lock(&k(b"a")).unwrap_err().is_corruption());
        assert!(r
            .scan_locks(None, None, |_, _| true, 0)
            .unwrap_err()
            .is_corruption());
    }
}
