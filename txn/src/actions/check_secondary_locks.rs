//! `check_secondary_locks`: the status of an async-commit transaction from its secondaries
//! (TiKV's `commands/check_secondary_locks.rs`). An async-commit transaction is committed
//! once every key is prewritten, so a resolver decides its fate from all its locks:
//! committed if any key committed, rolled back if any key was rolled back or never
//! prewritten, else still locked (all keys prewritten: it can be committed at the largest
//! min_commit_ts).
//!
//! Rules, per key until one decides:
//! 1. Our prewrite lock: reported (locked).
//! 2. Our pessimistic lock: the key was never prewritten, so the transaction cannot have
//!    committed: the lock is removed and a rollback written — rolled back.
//! 3. No lock of ours: a commit record decides committed; a rollback record rolled back;
//!    nothing at all means the prewrite never arrived, and a rollback is written so it can
//!    never arrive later — rolled back.
//! 4. Rollbacks written here are protected: a collapsed one would let a stale prewrite
//!    succeed, and the resolver has already told others the transaction is rolled back.
//!
//! `max_ts` is raised to start ts first, as TiKV does: the check is a read of the
//! transaction's state at that ts.

use mvcc::{make_rollback, Key, LockInfo, LockType, MvccReader, MvccTxn, Snapshot, TimeStamp};
use mvcc::{TxnCommitRecord, WriteType};

use crate::actions::rollback::{collapse_prev_rollback, mark_rollback_on_mismatching_lock};
use crate::concurrency_manager::ConcurrencyManager;
use crate::error::Result;

/// The transaction's status as its secondaries tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondaryLocksStatus {
    /// Every key checked is locked by it; its locks.
    Locked(Vec<LockInfo>),
    /// A key is committed at this ts.
    Committed(TimeStamp),
    /// A key is (now) rolled back.
    RolledBack,
}

/// Checks `keys` of the async-commit transaction `start_ts` (module docs).
///
/// # Errors
/// Engine or corruption errors.
pub fn check_secondary_locks<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    cm: &ConcurrencyManager,
    keys: Vec<Key>,
    start_ts: TimeStamp,
) -> Result<SecondaryLocksStatus> {
    cm.update_max_ts(start_ts);
    let mut locks = Vec::new();
    for key in keys {
        let mut mismatch_lock = None;
        let (rolled_back, overlapped_write) = match reader.load_lock(&key)? {
            Some(lock) if lock.ts == start_ts => {
                if lock.lock_type != LockType::Pessimistic {
                    let raw = key.to_raw()?;
                    locks.push(lock.into_lock_info(raw));
                    continue;
                }
                txn.unlock_key(key.clone());
                let record = reader.get_txn_commit_record(&key, start_ts)?;
                (true, record.unwrap_none())
            }
            other => {
                mismatch_lock = other;
                match reader.get_txn_commit_record(&key, start_ts)? {
                    TxnCommitRecord::SingleRecord { commit_ts, write } => {
                        if write.write_type != WriteType::Rollback {
                            return Ok(SecondaryLocksStatus::Committed(commit_ts));
                        }
                        return Ok(SecondaryLocksStatus::RolledBack);
                    }
                    TxnCommitRecord::OverlappedRollback { .. } => {
                        return Ok(SecondaryLocksStatus::RolledBack);
                    }
                    TxnCommitRecord::None { overlapped_write } => (true, overlapped_write),
                }
            }
        };
        if rolled_back {
            if let (Some(l), None) = (mismatch_lock, overlapped_write.as_ref()) {
                mark_rollback_on_mismatching_lock(txn, &key, l, start_ts, true);
            }
            if let Some(write) = make_rollback(start_ts, true, overlapped_write) {
                txn.put_write(key.clone(), start_ts, &write);
                collapse_prev_rollback(txn, reader, &key, start_ts)?;
            }
            return Ok(SecondaryLocksStatus::RolledBack);
        }
    }
    Ok(SecondaryLocksStatus::Locked(locks))
}
