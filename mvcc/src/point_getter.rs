//! `PointGetter`: the value of single keys at a read ts, as TiKV's `PointGetter`.
//!
//! Per key: under snapshot isolation, look up the key's lock and apply the lock rule
//! (`lock_check`, `ReadOptions::access_locks`); then seek the write CF to `key + ts` and walk
//! the key's versions newest first, skipping Lock and Rollback records, to the first Put
//! (value: inlined short value, else `default` at its start ts) or Delete (no value). A
//! version whose GC fence shows it stale reads as no value.

use crate::engine::{Cf, Cursor, IterBounds, Snapshot};
use crate::error::{Error, Result};
use crate::key::Key;
use crate::lock::Lock;
use crate::lock_check::IsolationLevel;
use crate::read_options::{check_lock, LockOutcome, ReadOptions};
use crate::reader::load_default;
use crate::timestamp::TimeStamp;
use crate::write::{Write, WriteType};

/// Point reads at one ts over a snapshot. Reusable for many keys; one thread.
pub struct PointGetter<'a, S: Snapshot + ?Sized> {
    snapshot: &'a S,
    ts: TimeStamp,
    options: ReadOptions,
    write_cursor: Option<Box<dyn Cursor + 'a>>,
}

impl<S: Snapshot + ?Sized> std::fmt::Debug for PointGetter<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PointGetter")
            .field("ts", &self.ts)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<'a, S: Snapshot + ?Sized> PointGetter<'a, S> {
    /// A getter reading `snapshot` at `ts`.
    pub fn new(snapshot: &'a S, ts: TimeStamp, options: ReadOptions) -> Self {
        PointGetter {
            snapshot,
            ts,
            options,
            write_cursor: None,
        }
    }

    /// The value of `key` (encoded, no ts) at the getter's ts; empty if `omit_value`.
    ///
    /// # Errors
    /// `KeyIsLocked` if a lock blocks the read; `Corruption`, `DefaultNotFound`, engine errors.
    pub fn get(&mut self, key: &Key) -> Result<Option<Vec<u8>>> {
        if self.options.isolation_level == IsolationLevel::Si {
            if let Some(lock) = self.snapshot.get_cf(Cf::Lock, key.as_encoded())? {
                let lock = Lock::parse(&lock)?;
                match check_lock(self.snapshot, key, lock, self.ts, &self.options)? {
                    LockOutcome::NotBlocking => {}
                    LockOutcome::Locked(info) => return Err(Error::from(info)),
                    LockOutcome::ReadThrough(value) => return Ok(value),
                }
            }
        }
        self.load_data(key)
    }

    fn load_data(&mut self, key: &Key) -> Result<Option<Vec<u8>>> {
        if self.write_cursor.is_none() {
            self.write_cursor = Some(self.snapshot.iter_cf(Cf::Write, IterBounds::default())?);
        }
        match self.write_cursor.as_mut() {
            Some(cursor) => read_versions(
                &mut **cursor,
                self.snapshot,
                key,
                self.ts,
                self.options.omit_value,
            ),
            None => Ok(None),
        }
    }
}

/// Seeks `cursor` (over the write CF) to `key + ts` and resolves the key's value there: the
/// versions walk of the module docs. Leaves the cursor somewhere among the key's versions or
/// past them.
pub(crate) fn read_versions<S: Snapshot + ?Sized>(
    cursor: &mut dyn Cursor,
    snapshot: &S,
    key: &Key,
    ts: TimeStamp,
    omit_value: bool,
) -> Result<Option<Vec<u8>>> {
    let mut valid = cursor.seek(key.clone().append_ts(ts).as_encoded())?;
    while valid && Key::is_user_key_eq(cursor.key(), key.as_encoded()) {
        let write = Write::parse(cursor.value())?;
        if !write.check_gc_fence_as_latest_version(ts) {
            return Ok(None);
        }
        match write.write_type {
            WriteType::Put if omit_value => return Ok(Some(Vec::new())),
            WriteType::Put => {
                return match write.short_value {
                    Some(v) => Ok(Some(v)),
                    None => load_default(snapshot, key, write.start_ts).map(Some),
                };
            }
            WriteType::Delete => return Ok(None),
            WriteType::Lock | WriteType::Rollback => valid = cursor.next()?,
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock::LockType;
    use crate::testing::{commit, lock, long, put_write};
    use crate::timestamp::TsSet;
    use crate::MemEngine;

    fn get(e: &MemEngine, key: &[u8], ts: u64, options: ReadOptions) -> Result<Option<Vec<u8>>> {
        let s = e.snapshot();
        let mut getter = PointGetter::new(&s, ts.into(), options);
        getter.get(&Key::from_raw(key))
    }

    fn value(e: &MemEngine, key: &[u8], ts: u64) -> Option<Vec<u8>> {
        get(e, key, ts, ReadOptions::default()).unwrap()
    }

    #[test]
    fn versions_are_resolved_at_the_read_ts() {
        let e = MemEngine::new();
        commit(&e, b"k", Some(b"v2"), 1, 2);
        commit(&e, b"k", Some(&long("v4")), 3, 4);
        put_write(&e, b"k", 6, &Write::new(WriteType::Lock, 5.into(), None));
        put_write(&e, b"k", 7, &Write::new_rollback(7.into(), false));
        commit(&e, b"k", None, 8, 9);
        assert_eq!(value(&e, b"k", 1), None);
        assert_eq!(value(&e, b"k", 2).as_deref(), Some(&b"v2"[..]));
        assert_eq!(value(&e, b"k", 3).as_deref(), Some(&b"v2"[..]));
        assert_eq!(value(&e, b"k", 4), Some(long("v4")));
        assert_eq!(
            value(&e, b"k", 8),
            Some(long("v4")),
            "over the lock and rollback records"
        );
        assert_eq!(value(&e, b"k", 9), None);
        assert_eq!(value(&e, b"j", 9), None);
        let key_only = ReadOptions {
            omit_value: true,
            ..ReadOptions::default()
        };
        assert_eq!(
            get(&e, b"k", 5, key_only.clone()).unwrap(),
            Some(Vec::new())
        );
        assert_eq!(get(&e, b"k", 9, key_only).unwrap(), None);
    }

    #[test]
    fn locks_block_are_bypassed_or_read_through() {
        let e = MemEngine::new();
        commit(&e, b"k", Some(b"old"), 1, 2);
        lock(
            &e,
            b"k",
            &Lock::new(LockType::Put, b"k".to_vec(), 5.into(), 100),
            Some(&long("new")),
        );
        let Err(Error::KeyIsLocked(info)) = get(&e, b"k", 6, ReadOptions::default()) else {
            panic!("expected KeyIsLocked");
        };
        assert_eq!(
            (info.key.as_slice(), info.lock_version),
            (&b"k"[..], 5.into())
        );
        assert_eq!(value(&e, b"k", 4).as_deref(), Some(&b"old"[..]));
        let rc = ReadOptions {
            isolation_level: IsolationLevel::Rc,
            ..ReadOptions::default()
        };
        assert_eq!(get(&e, b"k", 6, rc).unwrap().as_deref(), Some(&b"old"[..]));
        let five = TsSet::new(vec![5.into()]);
        let bypass = ReadOptions {
            bypass_locks: five.clone(),
            ..ReadOptions::default()
        };
        assert_eq!(
            get(&e, b"k", 6, bypass).unwrap().as_deref(),
            Some(&b"old"[..])
        );
        let access = ReadOptions {
            access_locks: five.clone(),
            ..ReadOptions::default()
        };
        assert_eq!(get(&e, b"k", 6, access).unwrap(), Some(long("new")));
        // A Delete lock read through reads as deleted.
        lock(
            &e,
            b"d",
            &Lock::new(LockType::Delete, b"k".to_vec(), 5.into(), 100),
            None,
        );
        commit(&e, b"d", Some(b"old"), 1, 2);
        let access = ReadOptions {
            access_locks: five,
            ..ReadOptions::default()
        };
        assert_eq!(get(&e, b"d", 6, access).unwrap(), None);
    }

    #[test]
    fn corrupt_lock_or_write_is_an_error() {
        let e = MemEngine::new();
        e.write(vec![crate::Modify::Put {
            cf: Cf::Lock,
            key: Key::from_raw(b"k").into_encoded(),
            value: b"?".to_vec(),
        }])
        .unwrap();
        assert!(get(&e, b"k", 6, ReadOptions::default())
            .unwrap_err()
            .is_corruption());
        e.write(vec![crate::Modify::Put {
            cf: Cf::Write,
            key: Key::from_raw(b"w").append_ts(3.into()).into_encoded(),
            value: vec![b'P'],
        }])
        .unwrap();
        assert!(get(&e, b"w", 6, ReadOptions::default())
            .unwrap_err()
            .is_corruption());
    }
}
