//! What a transactional read is configured with, and what one key's lock means to it —
//! shared by `PointGetter` and `Scanner`, so both apply the lock rule identically.

use crate::engine::Snapshot;
use crate::error::{Error, Result};
use crate::key::Key;
use crate::lock::{Lock, LockType};
use crate::lock_check::{IsolationLevel, LockInfo};
use crate::reader::load_default;
use crate::timestamp::{TimeStamp, TsSet};

/// Options of a point get or scan at some ts.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Snapshot isolation (check locks) or read committed.
    pub isolation_level: IsolationLevel,
    /// Start ts of transactions whose locks the client resolved: they never block.
    pub bypass_locks: TsSet,
    /// Start ts of transactions the client knows committed at or below the read ts: a
    /// blocking lock of theirs is read through (its value is the value read).
    pub access_locks: TsSet,
    /// Return empty values (key-only scans, existence checks): no value is loaded.
    pub omit_value: bool,
}

/// What one key's lock means to a read.
#[derive(Debug)]
pub(crate) enum LockOutcome {
    /// The lock does not block: read committed versions.
    NotBlocking,
    /// The read fails on this key.
    Locked(LockInfo),
    /// Read through an accessible lock: this is the key's value (`None`: a Delete).
    ReadThrough(Option<Vec<u8>>),
}

/// Applies the lock rule (see `lock_check`) and `access_locks` to `lock` on `key`.
///
/// # Errors
/// `Corruption` if `key` does not decode; engine errors or `DefaultNotFound` reading through.
pub(crate) fn check_lock<S: Snapshot + ?Sized>(
    snapshot: &S,
    key: &Key,
    lock: Lock,
    ts: TimeStamp,
    options: &ReadOptions,
) -> Result<LockOutcome> {
    match lock.check_ts_conflict(key, ts, &options.bypass_locks, options.isolation_level) {
        Ok(()) => Ok(LockOutcome::NotBlocking),
        Err(Error::KeyIsLocked(_)) if options.access_locks.contains(lock.ts) => {
            let value = match lock.lock_type {
                LockType::Put if options.omit_value => Some(Vec::new()),
                LockType::Put => match lock.short_value {
                    Some(v) => Some(v),
                    None => Some(load_default(snapshot, key, lock.ts)?),
                },
                // Only Put and Delete locks block, so only they are read through.
                LockType::Delete | LockType::Lock | LockType::Pessimistic => None,
            };
            Ok(LockOutcome::ReadThrough(value))
        }
        Err(Error::KeyIsLocked(info)) => Ok(LockOutcome::Locked(*info)),
        Err(e) => Err(e),
    }
}
