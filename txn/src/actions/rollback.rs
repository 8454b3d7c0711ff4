//! Rolling a transaction back on one key: the machinery `cleanup`, `check_txn_status`,
//! `check_secondary_locks` and `resolve_lock` share (TiKV keeps it in
//! `actions/check_txn_status.rs`).
//!
//! Rules:
//! 1. A rollback leaves a Rollback record at `key + start_ts`, so a prewrite of the same
//!    transaction arriving late (the network reorders) fails instead of resurrecting it.
//! 2. A rollback is *protected* when it guards the primary key of a pessimistic transaction
//!    (or when the lock is missing and the caller cannot know the transaction's kind):
//!    protected records are never collapsed, because a pessimistic primary may be locked
//!    again later by an acquire of the same transaction.
//! 3. Unprotected rollbacks collapse: writing one deletes the key's previous record if that
//!    is an unprotected rollback too, so repeated cleanups do not pile records up.
//! 4. When `key + start_ts` already holds another transaction's commit record, the rollback
//!    flags that record instead of overwriting it (protected) or is skipped (unprotected):
//!    `mvcc::make_rollback`.
//! 5. A protected rollback on a key locked by another *async-commit* transaction that may
//!    still commit at `start_ts` is recorded in that lock's `rollback_ts`, so its commit
//!    sets the overlapped-rollback flag instead of erasing the rollback.

use mvcc::{make_rollback, Key, Lock, LockType, MvccReader, MvccTxn, Snapshot, TimeStamp};
use mvcc::{TxnCommitRecord, WriteType};

use crate::actions::check_txn_status::TxnStatus;
use crate::error::{Error, Result};
use crate::key_error::KeyError;

/// What to do when the transaction's lock is not on the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingLockAction {
    /// Write an unprotected rollback (collapsing the previous one).
    Rollback,
    /// Write a protected rollback.
    ProtectedRollback,
    /// Answer `TxnNotFound`.
    ReturnError,
}

impl MissingLockAction {
    /// `ProtectedRollback` when asked to protect, else `Rollback`.
    pub fn rollback_protect(protect: bool) -> MissingLockAction {
        if protect {
            MissingLockAction::ProtectedRollback
        } else {
            MissingLockAction::Rollback
        }
    }
}

/// Rolls back `lock` (the transaction's own lock on `key`): deletes its long value, writes
/// the rollback record (rules 2–4), collapses the previous rollback if asked, unlocks.
///
/// # Errors
/// Engine or corruption errors while reading the key's records.
pub fn rollback_lock<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    key: Key,
    lock: &Lock,
    collapse_rollback: bool,
) -> Result<()> {
    let overlapped_write = match reader.get_txn_commit_record(&key, lock.ts)? {
        TxnCommitRecord::None { overlapped_write } => overlapped_write,
        TxnCommitRecord::SingleRecord { write, commit_ts }
            if write.write_type != WriteType::Rollback =>
        {
            // A lock and a commit record of one transaction on one key cannot both exist.
            return Err(Error::Internal(format!(
                "lock of txn {} on {key:?} coexists with its commit at {commit_ts}",
                lock.ts
            )));
        }
        // Already rolled back: only the stale lock is left to remove.
        _ => {
            txn.unlock_key(key);
            return Ok(());
        }
    };
    if lock.short_value.is_none() && lock.lock_type == LockType::Put {
        txn.delete_value(key.clone(), lock.ts);
    }
    let protected =
        lock.is_pessimistic_txn() && key.as_encoded() == Key::from_raw(&lock.primary).as_encoded();
    if let Some(write) = make_rollback(lock.ts, protected, overlapped_write) {
        txn.put_write(key.clone(), lock.ts, &write);
    }
    if collapse_rollback {
        collapse_prev_rollback(txn, reader, &key, lock.ts)?;
    }
    txn.unlock_key(key);
    Ok(())
}

/// Deletes the key's newest record below `start_ts` if it is an unprotected rollback (rule 3).
///
/// # Errors
/// Engine or corruption errors.
pub fn collapse_prev_rollback<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    key: &Key,
    start_ts: TimeStamp,
) -> Result<()> {
    let Some(below) = start_ts.checked_prev() else {
        return Ok(());
    };
    if let Some((commit_ts, write)) = reader.seek_write(key, below)? {
        if write.write_type == WriteType::Rollback && !write.is_protected() {
            txn.delete_write(key.clone(), commit_ts);
        }
    }
    Ok(())
}

/// Records a protected rollback of `start_ts` in another transaction's `lock` on `key` when
/// that transaction could still commit exactly at `start_ts` (rule 5).
pub fn mark_rollback_on_mismatching_lock(
    txn: &mut MvccTxn,
    key: &Key,
    mut lock: Lock,
    start_ts: TimeStamp,
    protected: bool,
) {
    debug_assert_ne!(lock.ts, start_ts);
    // Only async commit computes its commit ts from max_ts; other transactions' commit ts
    // come from the oracle and cannot equal another transaction's start ts.
    if !protected || start_ts < lock.min_commit_ts || !lock.use_async_commit {
        return;
    }
    lock.rollback_ts.push(start_ts);
    txn.put_lock(key.clone(), &lock);
}

/// Decides the status of transaction `start_ts` on `key` when its lock is not there
/// (`mismatch_lock`: another transaction's lock, if any): committed or rolled back per the
/// write CF; otherwise acts as `action` says, or, when `resolving_pessimistic_lock`, does
/// nothing (a pessimistic lock that never got written needs no rollback record).
///
/// # Errors
/// `TxnNotFound` under [`MissingLockAction::ReturnError`]; engine or corruption errors.
pub fn check_txn_status_missing_lock<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    key: Key,
    start_ts: TimeStamp,
    mismatch_lock: Option<Lock>,
    action: MissingLockAction,
    resolving_pessimistic_lock: bool,
) -> Result<TxnStatus> {
    match reader.get_txn_commit_record(&key, start_ts)? {
        TxnCommitRecord::SingleRecord { commit_ts, write } => {
            if write.write_type == WriteType::Rollback {
                Ok(TxnStatus::RolledBack)
            } else {
                Ok(TxnStatus::Committed { commit_ts })
            }
        }
        TxnCommitRecord::OverlappedRollback { .. } => Ok(TxnStatus::RolledBack),
        TxnCommitRecord::None { overlapped_write } => {
            if action == MissingLockAction::ReturnError {
                return Err(KeyError::TxnNotFound {
                    start_ts,
                    key: key.to_raw()?,
                }
                .into());
            }
            if resolving_pessimistic_lock {
                return Ok(TxnStatus::LockNotExistDoNothing);
            }
            let protected = action == MissingLockAction::ProtectedRollback;
            if !protected {
                collapse_prev_rollback(txn, reader, &key, start_ts)?;
            }
            if let (Some(l), None) = (mismatch_lock, overlapped_write.as_ref()) {
                mark_rollback_on_mismatching_lock(txn, &key, l, start_ts, protected);
            }
            // Rule 1: a stale prewrite arriving after this cleanup must fail.
            if let Some(write) = make_rollback(start_ts, protected, overlapped_write) {
                txn.put_write(key, start_ts, &write);
            }
            Ok(TxnStatus::LockNotExist)
        }
    }
}
