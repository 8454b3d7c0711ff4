//! Helpers for tests (this crate's unit tests, and its scenario tests through the
//! `test-util` feature): the records a committed transaction leaves, written the way
//! transactions would.

#![allow(clippy::unwrap_used)]

use crate::{Key, Modify, MvccTxn, Write, WriteType, SHORT_VALUE_MAX_LEN};
#[cfg(test)]
use crate::{Lock, MemEngine, TimeStamp};

/// A value that does not fit inline (goes to the default CF).
pub fn long(tag: &str) -> Vec<u8> {
    let mut v = tag.as_bytes().to_vec();
    v.resize(SHORT_VALUE_MAX_LEN + 1, b'.');
    v
}

/// The modifications of a committed Put of `value` (`None`: a Delete) on `key`, started at
/// `start`, committed at `commit`: the write record, and a long value in the default CF.
pub fn committed(key: &[u8], value: Option<&[u8]>, start: u64, commit: u64) -> Vec<Modify> {
    let k = Key::from_raw(key);
    let mut txn = MvccTxn::new(start.into());
    let write = match value {
        Some(v) if v.len() <= SHORT_VALUE_MAX_LEN => {
            Write::new(WriteType::Put, start.into(), Some(v.to_vec()))
        }
        Some(v) => {
            txn.put_value(k.clone(), start.into(), v.to_vec());
            Write::new(WriteType::Put, start.into(), None)
        }
        None => Write::new(WriteType::Delete, start.into(), None),
    };
    txn.put_write(k, commit.into(), &write);
    txn.into_modifies()
}

/// Writes [`committed`]'s records into `e`.
#[cfg(test)]
pub(crate) fn commit(e: &MemEngine, key: &[u8], value: Option<&[u8]>, start: u64, commit: u64) {
    e.write(committed(key, value, start, commit)).unwrap();
}

/// Writes a raw write record at `key + ts`.
#[cfg(test)]
pub(crate) fn put_write(e: &MemEngine, key: &[u8], ts: u64, write: &Write) {
    let mut txn = MvccTxn::new(TimeStamp::zero());
    txn.put_write(Key::from_raw(key), ts.into(), write);
    e.write(txn.into_modifies()).unwrap();
}

/// Puts `lock` on `key`, storing a long value of a Put lock in the default CF.
#[cfg(test)]
pub(crate) fn lock(e: &MemEngine, key: &[u8], lock: &Lock, long_value: Option<&[u8]>) {
    let k = Key::from_raw(key);
    let mut txn = MvccTxn::new(lock.ts);
    if let Some(v) = long_value {
        txn.put_value(k.clone(), lock.ts, v.to_vec());
    }
    txn.put_lock(k, lock);
    e.write(txn.into_modifies()).unwrap();
}
