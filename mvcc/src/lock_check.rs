//! When a lock blocks a read, and what the reader is told about it.
//!
//! TiKV's rule (`txn_types::lock::Lock::check_ts_conflict`, snapshot isolation): a lock on a
//! key blocks a read of that key at `ts` exactly when all of these hold:
//! 1. `lock.ts <= ts` — a transaction that started later cannot commit at or below `ts`;
//! 2. the lock is of type Put or Delete — Lock and Pessimistic locks never change the value;
//! 3. `lock.min_commit_ts <= ts` — the transaction promised to commit above `min_commit_ts`;
//! 4. `lock.ts` is not in the reader's `bypass_locks` (locks the client already resolved as
//!    committed above `ts` or rolled back);
//! 5. not this exception: a read at `ts == u64::MAX` ("latest committed") of the lock's own
//!    primary key passes, unless the transaction uses async commit or 1PC (those may commit
//!    at any ts, so the primary's lock says nothing about what is committed).
//!
//! Under read committed (`Rc`) no lock blocks. A blocking lock whose ts is in the reader's
//! `access_locks` is not an error: the reader reads the locked value itself (the client knows
//! the transaction committed at or below `ts`); see `PointGetter` and `Scanner`.
//!
//! Not carried over from TiKV: `RcCheckTs` and the replica-read variant (no replica reads yet).

use crate::error::{Error, Result};
use crate::key::Key;
use crate::lock::{Lock, LockType};
use crate::timestamp::{TimeStamp, TsSet};

/// The isolation level of a read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IsolationLevel {
    /// Snapshot isolation: reads check locks.
    #[default]
    Si,
    /// Read committed: reads ignore locks.
    Rc,
}

/// A lock as reported to the client that met it (TiKV's `kvrpcpb::LockInfo`, as plain data;
/// field names follow the wire so the server maps them one to one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    /// The raw primary key of the lock's transaction.
    pub primary_lock: Vec<u8>,
    /// The transaction's start ts.
    pub lock_version: TimeStamp,
    /// The raw key that is locked.
    pub key: Vec<u8>,
    /// The lock's TTL in milliseconds.
    pub lock_ttl: u64,
    /// Keys in the transaction (0 = unknown).
    pub txn_size: u64,
    /// What the lock is for.
    pub lock_type: LockType,
    /// Non-zero for pessimistic transactions.
    pub lock_for_update_ts: TimeStamp,
    /// The transaction commits asynchronously.
    pub use_async_commit: bool,
    /// The lock's min commit ts.
    pub min_commit_ts: TimeStamp,
    /// Async commit: the transaction's other keys (on the primary lock only).
    pub secondaries: Vec<Vec<u8>>,
}

impl Lock {
    /// What a client is told about this lock on `raw_key`.
    pub fn into_lock_info(self, raw_key: Vec<u8>) -> LockInfo {
        LockInfo {
            primary_lock: self.primary,
            lock_version: self.ts,
            key: raw_key,
            lock_ttl: self.ttl,
            txn_size: self.txn_size,
            lock_type: self.lock_type,
            lock_for_update_ts: self.for_update_ts,
            use_async_commit: self.use_async_commit,
            min_commit_ts: self.min_commit_ts,
            secondaries: self.secondaries,
        }
    }

    /// Checks whether this lock on `key` (encoded, no ts) blocks a read at `ts` (module docs).
    ///
    /// # Errors
    /// `KeyIsLocked` with the lock's info if it blocks; `Corruption` if `key` does not decode.
    pub fn check_ts_conflict(
        &self,
        key: &Key,
        ts: TimeStamp,
        bypass_locks: &TsSet,
        isolation_level: IsolationLevel,
    ) -> Result<()> {
        if isolation_level == IsolationLevel::Rc
            || self.ts > ts
            || matches!(self.lock_type, LockType::Lock | LockType::Pessimistic)
            || self.min_commit_ts > ts
            || bypass_locks.contains(self.ts)
        {
            return Ok(());
        }
        let raw_key = key.to_raw()?;
        if ts.is_max() && raw_key == self.primary && !self.use_async_commit && !self.use_one_pc {
            return Ok(());
        }
        Err(Error::from(self.clone().into_lock_info(raw_key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(lock: &Lock, key: &[u8], ts: u64, bypass: &[u64]) -> bool {
        let bypass: TsSet = bypass.iter().map(|&t| TimeStamp::new(t)).collect();
        match lock.check_ts_conflict(&Key::from_raw(key), ts.into(), &bypass, IsolationLevel::Si) {
            Ok(()) => false,
            Err(Error::KeyIsLocked(info)) => {
                assert_eq!(info.key, key);
                assert_eq!(info.lock_version, lock.ts);
                true
            }
            Err(e) => panic!("{e}"),
        }
    }

    fn put_lock(ts: u64) -> Lock {
        Lock::new(LockType::Put, b"pk".to_vec(), ts.into(), 100)
    }

    #[test]
    fn each_clause_of_the_rule() {
        let l = put_lock(10);
        // 1. lock.ts <= ts.
        assert!(blocks(&l, b"k", 10, &[]) && blocks(&l, b"k", 11, &[]));
        assert!(!blocks(&l, b"k", 9, &[]));
        // 2. Only Put and Delete block.
        for (t, expected) in [
            (LockType::Put, true),
            (LockType::Delete, true),
            (LockType::Lock, false),
            (LockType::Pessimistic, false),
        ] {
            let l = Lock {
                lock_type: t,
                ..put_lock(10)
            };
            assert_eq!(blocks(&l, b"k", 20, &[]), expected, "{t:?}");
        }
        // 3. min_commit_ts <= ts.
        let l = Lock {
            min_commit_ts: 15.into(),
            ..put_lock(10)
        };
        assert!(!blocks(&l, b"k", 14, &[]) && blocks(&l, b"k", 15, &[]));
        // 4. Bypassed (resolved) locks.
        assert!(!blocks(&put_lock(10), b"k", 20, &[3, 10]));
        assert!(blocks(&put_lock(10), b"k", 20, &[3, 11]));
    }

    #[test]
    fn max_ts_reads_pass_the_primary_lock_only_without_async_commit_or_1pc() {
        let l = put_lock(10);
        assert!(!blocks(&l, b"pk", u64::MAX, &[]));
        assert!(blocks(&l, b"other", u64::MAX, &[]));
        assert!(blocks(&l, b"pk", u64::MAX - 1, &[]));
        let async_commit = Lock {
            use_async_commit: true,
            ..put_lock(10)
        };
        assert!(blocks(&async_commit, b"pk", u64::MAX, &[]));
        let one_pc = Lock {
            use_one_pc: true,
            ..put_lock(10)
        };
        assert!(blocks(&one_pc, b"pk", u64::MAX, &[]));
    }

    #[test]
    fn read_committed_ignores_locks_and_info_carries_every_field() {
        let key = Key::from_raw(b"k");
        let mut l = put_lock(1);
        assert!(l
            .check_ts_conflict(&key, 5.into(), &TsSet::default(), IsolationLevel::Rc)
            .is_ok());
        l.use_async_commit = true;
        l.secondaries = vec![b"s1".to_vec()];
        l.txn_size = 3;
        l.for_update_ts = 2.into();
        l.min_commit_ts = 4.into();
        let Err(Error::KeyIsLocked(info)) =
            l.check_ts_conflict(&key, 5.into(), &TsSet::default(), IsolationLevel::Si)
        else {
            panic!("expected KeyIsLocked");
        };
        let expected = LockInfo {
            primary_lock: b"pk".to_vec(),
            lock_version: 1.into(),
            key: b"k".to_vec(),
            lock_ttl: 100,
            txn_size: 3,
            lock_type: LockType::Put,
            lock_for_update_ts: 2.into(),
            use_async_commit: true,
            min_commit_ts: 4.into(),
            secondaries: vec![b"s1".to_vec()],
        };
        assert_eq!(*info, expected);
    }
}
