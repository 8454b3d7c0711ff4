//! Commit of one key: the second phase (TiKV's `actions/commit.rs`).
//!
//! Rules:
//! 1. Our lock is on the key: committing below its `min_commit_ts` is `CommitTsExpired`
//!    (a reader pushed it, or async commit promised a later ts). Otherwise the lock becomes a
//!    commit record at `commit_ts` (a leftover pessimistic lock commits as a Lock record);
//!    if a protected rollback of another transaction at exactly `commit_ts` was recorded in
//!    the lock's `rollback_ts`, the record carries the overlapped-rollback flag so that
//!    rollback is not lost.
//! 2. No lock of ours: a commit record of ours means a repeated commit — success, nothing
//!    written. A rollback record, or nothing at all (a collapsed rollback), means the
//!    transaction was rolled back: `TxnLockNotFound`.

use mvcc::{Key, LockType, MvccReader, MvccTxn, Snapshot, TimeStamp, Write, WriteType};

use crate::error::{Error, Result};
use crate::key_error::KeyError;

/// What a commit of one key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    /// The lock was turned into a commit record.
    Committed,
    /// The key was already committed (a retry): nothing written.
    AlreadyCommitted,
}

/// Commits `key` of the transaction `start_ts` at `commit_ts` (module docs).
///
/// # Errors
/// `CommitTsExpired`, `TxnLockNotFound` (as data); engine or corruption errors.
pub fn commit<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    key: Key,
    start_ts: TimeStamp,
    commit_ts: TimeStamp,
) -> Result<CommitOutcome> {
    let mut lock = match reader.load_lock(&key)? {
        Some(lock) if lock.ts == start_ts => lock,
        _ => {
            let record = reader.get_txn_commit_record(&key, start_ts)?;
            if record.committed_ts().is_some() {
                return Ok(CommitOutcome::AlreadyCommitted);
            }
            return Err(KeyError::TxnLockNotFound {
                start_ts,
                commit_ts,
                key: key.to_raw()?,
            }
            .into());
        }
    };
    if commit_ts < lock.min_commit_ts {
        return Err(KeyError::CommitTsExpired {
            start_ts,
            commit_ts,
            key: key.to_raw()?,
            min_commit_ts: lock.min_commit_ts,
        }
        .into());
    }
    if lock.lock_type == LockType::Pessimistic {
        // Left behind when a pessimistic rollback was lost and the transaction did not need
        // the key after all; it changed nothing, so it commits as a Lock record.
        lock.lock_type = LockType::Lock;
    }
    let write_type = WriteType::from_lock_type(lock.lock_type)
        .ok_or_else(|| Error::Internal("pessimistic lock type after conversion".into()))?;
    let mut write = Write::new(write_type, start_ts, lock.short_value.take());
    if lock.rollback_ts.contains(&commit_ts) {
        write = write.set_overlapped_rollback(true, None);
    }
    txn.put_write(key.clone(), commit_ts, &write);
    txn.unlock_key(key);
    Ok(CommitOutcome::Committed)
}
