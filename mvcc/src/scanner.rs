//! `Scanner`: the keys of a range and their values at a read ts, forward or backward, with the
//! same lock rules as `PointGetter`.
//!
//! Two cursors advance together in the scan direction: one over the `write` CF (each user
//! key's versions, newest first), one over the `lock` CF (only under snapshot isolation).
//! The next user key is the nearer of the two. Its lock, if any, is checked first: a blocking
//! lock yields a `LockInfo` entry for the key (the scan goes on past it, as TiKV's scanner
//! does; such entries count toward the limit), an accessible one is read through. Otherwise
//! the key's value is resolved exactly as a point get does (`point_getter::read_versions`),
//! by a seek to `key + ts` — in both directions, which keeps backward scans simple at the
//! cost of a seek per key. Keys whose visible version is a Delete, or that have none, are
//! skipped.
//!
//! Bounds are encoded user keys: `[lower, upper)`. Since encoded keys are prefix-free, all
//! versions of a key inside the bounds are inside them too.

use crate::engine::{Cf, Cursor, IterBounds, Snapshot};
use crate::error::Result;
use crate::key::Key;
use crate::lock::Lock;
use crate::lock_check::{IsolationLevel, LockInfo};
use crate::point_getter::read_versions;
use crate::read_options::{check_lock, LockOutcome, ReadOptions};
use crate::timestamp::TimeStamp;

/// Options of a scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Lock handling and key-only (`omit_value`).
    pub read: ReadOptions,
    /// First key of the range (inclusive; `None`: unbounded).
    pub lower: Option<Key>,
    /// End of the range (exclusive; `None`: unbounded).
    pub upper: Option<Key>,
    /// Scan from the upper end down.
    pub desc: bool,
}

/// One key of a scan: its value, or the lock that blocks reading it.
pub type ScanEntry = (Key, std::result::Result<Vec<u8>, LockInfo>);

/// A range read at one ts. One thread.
pub struct Scanner<'a, S: Snapshot + ?Sized> {
    snapshot: &'a S,
    ts: TimeStamp,
    read: ReadOptions,
    desc: bool,
    write: Box<dyn Cursor + 'a>,
    /// `None` under read committed.
    lock: Option<Box<dyn Cursor + 'a>>,
    started: bool,
}

impl<S: Snapshot + ?Sized> std::fmt::Debug for Scanner<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("ts", &self.ts)
            .field("desc", &self.desc)
            .finish_non_exhaustive()
    }
}

impl<'a, S: Snapshot + ?Sized> Scanner<'a, S> {
    /// A scanner of `snapshot` at `ts`.
    ///
    /// # Errors
    /// Engine errors creating cursors.
    pub fn new(snapshot: &'a S, ts: TimeStamp, options: ScanOptions) -> Result<Self> {
        let bounds = IterBounds {
            lower: options.lower.map(Key::into_encoded),
            upper: options.upper.map(Key::into_encoded),
        };
        let lock = match options.read.isolation_level {
            IsolationLevel::Si => Some(snapshot.iter_cf(Cf::Lock, bounds.clone())?),
            IsolationLevel::Rc => None,
        };
        Ok(Scanner {
            snapshot,
            ts,
            read: options.read,
            desc: options.desc,
            write: snapshot.iter_cf(Cf::Write, bounds)?,
            lock,
            started: false,
        })
    }

    /// Up to `limit` entries (fewer at the end of the range).
    ///
    /// # Errors
    /// As [`next_entry`](Self::next_entry).
    pub fn scan(&mut self, limit: usize) -> Result<Vec<ScanEntry>> {
        let mut out = Vec::new();
        while out.len() < limit {
            match self.next_entry()? {
                Some(e) => out.push(e),
                None => break,
            }
        }
        Ok(out)
    }

    /// The next key with a value (or a blocking lock), or `None` at the end of the range.
    ///
    /// # Errors
    /// `Corruption`, `DefaultNotFound` and engine errors; the scanner is then unusable.
    pub fn next_entry(&mut self) -> Result<Option<ScanEntry>> {
        if !self.started {
            self.started = true;
            for c in std::iter::once(&mut self.write).chain(self.lock.as_mut()) {
                if self.desc {
                    c.seek_to_last()?;
                } else {
                    c.seek_to_first()?;
                }
            }
        }
        loop {
            let write_key = match self.write.valid() {
                true => Some(Key::truncate_ts_for(self.write.key())?),
                false => None,
            };
            let lock_key = self.lock.as_ref().filter(|c| c.valid()).map(|c| c.key());
            let current = match (write_key, lock_key) {
                (None, None) => return Ok(None),
                (Some(k), None) | (None, Some(k)) => k,
                (Some(w), Some(l)) if self.desc => w.max(l),
                (Some(w), Some(l)) => w.min(l),
            };
            let has_write = write_key == Some(current);
            let has_lock = lock_key == Some(current);
            let key = Key::from_encoded_slice(current);
            let mut outcome = LockOutcome::NotBlocking;
            if let Some(cursor) = self.lock.as_mut().filter(|_| has_lock) {
                let lock = Lock::parse(cursor.value())?;
                if self.desc {
                    cursor.prev()?;
                } else {
                    cursor.next()?;
                }
                outcome = check_lock(self.snapshot, &key, lock, self.ts, &self.read)?;
            }
            let value = match outcome {
                LockOutcome::Locked(info) => Err(info),
                LockOutcome::ReadThrough(v) => Ok(v),
                LockOutcome::NotBlocking if has_write => Ok(read_versions(
                    &mut *self.write,
                    self.snapshot,
                    &key,
                    self.ts,
                    self.read.omit_value,
                )?),
                LockOutcome::NotBlocking => Ok(None),
            };
            if has_write {
                self.move_write_past(&key)?;
            }
            match value {
                Ok(Some(v)) => return Ok(Some((key, Ok(v)))),
                Ok(None) => continue,
                Err(info) => return Ok(Some((key, Err(info)))),
            }
        }
    }

    /// Positions the write cursor at the first version of the next user key in the scan
    /// direction (or invalid), wherever among `key`'s versions it is now.
    fn move_write_past(&mut self, key: &Key) -> Result<()> {
        if self.desc {
            // `key + u64::MAX` is the smallest version key of `key`.
            let first = key.clone().append_ts(TimeStamp::max());
            if self.write.seek_for_prev(first.as_encoded())?
                && Key::is_user_key_eq(self.write.key(), key.as_encoded())
            {
                self.write.prev()?;
            }
        } else {
            // `key + 0` is the largest version key of `key`.
            let last = key.clone().append_ts(TimeStamp::zero());
            if self.write.seek(last.as_encoded())?
                && Key::is_user_key_eq(self.write.key(), key.as_encoded())
            {
                self.write.next()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::LockType;
    use crate::testing::{commit, lock, long};
    use crate::timestamp::TsSet;
    use crate::MemEngine;

    type Row = (Vec<u8>, std::result::Result<Vec<u8>, TimeStamp>);

    fn scan(e: &MemEngine, ts: u64, options: ScanOptions, limit: usize) -> Vec<Row> {
        let s = e.snapshot();
        let mut scanner = Scanner::new(&s, ts.into(), options).unwrap();
        scanner
            .scan(limit)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k.to_raw().unwrap(), v.map_err(|info| info.lock_version)))
            .collect()
    }

    fn sample() -> MemEngine {
        let e = MemEngine::new();
        commit(&e, b"a", Some(b"a1"), 1, 2);
        commit(&e, b"b", Some(&long("b")), 1, 2);
        commit(&e, b"c", Some(b"c1"), 1, 2);
        commit(&e, b"c", None, 3, 4);
        commit(&e, b"d", Some(b"d5"), 4, 5);
        // A blocking lock on a key with a version, and one on a key without.
        lock(
            &e,
            b"a",
            &Lock::new(LockType::Put, b"a".to_vec(), 6.into(), 1),
            None,
        );
        lock(
            &e,
            b"e",
            &Lock::new(LockType::Put, b"a".to_vec(), 6.into(), 1),
            Some(&long("e")),
        );
        e
    }

    fn ok(k: &[u8], v: &[u8]) -> Row {
        (k.to_vec(), Ok(v.to_vec()))
    }

    #[test]
    fn forward_and_backward_with_locks_as_entries() {
        let e = sample();
        let locked = |k: &[u8]| (k.to_vec(), Err(TimeStamp::new(6)));
        let fwd = scan(&e, 10, ScanOptions::default(), 100);
        assert_eq!(
            fwd,
            vec![
                locked(b"a"),
                ok(b"b", &long("b")),
                ok(b"d", b"d5"),
                locked(b"e")
            ]
        );
        let mut back = scan(
            &e,
            10,
            ScanOptions {
                desc: true,
                ..ScanOptions::default()
            },
            100,
        );
        back.reverse();
        assert_eq!(back, fwd);
        // Below the locks and the later versions.
        let early = scan(&e, 3, ScanOptions::default(), 100);
        assert_eq!(
            early,
            vec![ok(b"a", b"a1"), ok(b"b", &long("b")), ok(b"c", b"c1")]
        );
    }

    #[test]
    fn bounds_limit_key_only_and_lock_options() {
        let e = sample();
        let range = |lo: &[u8], hi: &[u8], desc| ScanOptions {
            lower: Some(Key::from_raw(lo)),
            upper: Some(Key::from_raw(hi)),
            desc,
            ..ScanOptions::default()
        };
        assert_eq!(
            scan(&e, 10, range(b"b", b"e", false), 100),
            vec![ok(b"b", &long("b")), ok(b"d", b"d5")]
        );
        assert_eq!(
            scan(&e, 10, range(b"b", b"e", true), 1),
            vec![ok(b"d", b"d5")]
        );
        assert!(scan(&e, 10, ScanOptions::default(), 0).is_empty());
        let key_only = ScanOptions {
            read: ReadOptions {
                omit_value: true,
                isolation_level: IsolationLevel::Rc,
                ..ReadOptions::default()
            },
            ..ScanOptions::default()
        };
        assert_eq!(
            scan(&e, 10, key_only, 100),
            vec![ok(b"a", b""), ok(b"b", b""), ok(b"d", b"")]
        );
        let access = ScanOptions {
            read: ReadOptions {
                access_locks: TsSet::new(vec![6.into()]),
                ..ReadOptions::default()
            },
            ..ScanOptions::default()
        };
        let expected = vec![
            ok(b"a", b""),
            ok(b"b", &long("b")),
            ok(b"d", b"d5"),
            ok(b"e", &long("e")),
        ];
        // Lock "a" has no value (a Put lock with no short value and nothing in default: that
        // is DefaultNotFound), so give it one first.
        lock(
            &e,
            b"a",
            &Lock {
                short_value: Some(Vec::new()),
                ..Lock::new(LockType::Put, b"a".to_vec(), 6.into(), 1)
            },
            None,
        );
        assert_eq!(scan(&e, 10, access, 100), expected);
    }
}
