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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn commit_turns_locks_into_records_and_repeats_succeed() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"a", b"v", b"a", 10);
        must_prewrite_lock(&s, b"b", b"a", 10);
        must_prewrite_delete(&s, b"c", b"a", 10);
        for k in [b"a", b"b", b"c"] {
            must_commit(&s, k, 10, 15);
            must_unlocked(&s, k);
        }
        must_written(&s, b"a", 10, 15, WriteType::Put);
        must_written(&s, b"b", 10, 15, WriteType::Lock);
        must_written(&s, b"c", 10, 15, WriteType::Delete);
        assert_eq!(
            try_commit(&s, b"a", 10, 15).ok(),
            Some(CommitOutcome::AlreadyCommitted)
        );
    }

    #[test]
    fn missing_or_rolled_back_lock_is_txn_lock_not_found() {
        let s = TestStore::memory();
        let e = must_commit_err(&s, b"k", 1, 2);
        assert_eq!(
            e,
            KeyError::TxnLockNotFound {
                start_ts: 1.into(),
                commit_ts: 2.into(),
                key: b"k".to_vec()
            }
        );
        must_prewrite_put(&s, b"k", b"v", b"k", 5);
        assert!(matches!(
            must_commit_err(&s, b"k", 4, 6),
            KeyError::TxnLockNotFound { .. }
        ));
        must_rollback(&s, b"k", 5);
        assert!(matches!(
            must_commit_err(&s, b"k", 5, 6),
            KeyError::TxnLockNotFound { .. }
        ));
    }

    #[test]
    fn commit_below_min_commit_ts_is_expired() {
        let s = TestStore::memory();
        must_prewrite_put_async_commit(&s, b"k", b"v", b"k", &[], 10, 0);
        let min = must_locked(&s, b"k", 10).min_commit_ts;
        assert_eq!(min, 11.into());
        s.cm.update_max_ts(0.into());
        let e = must_commit_err(&s, b"k", 10, 10);
        assert_eq!(
            e,
            KeyError::CommitTsExpired {
                start_ts: 10.into(),
                commit_ts: 10.into(),
                key: b"k".to_vec(),
                min_commit_ts: min
            }
        );
        must_commit(&s, b"k", 10, 11);
        must_get(&s, b"k", 11, b"v");
    }

    #[test]
    fn leftover_pessimistic_lock_commits_as_lock_record() {
        let s = TestStore::memory();
        must_acquire_pessimistic_lock(&s, b"k", b"k", 10, 10);
        must_commit(&s, b"k", 10, 20);
        must_written(&s, b"k", 10, 20, WriteType::Lock);
    }

    #[test]
    fn commit_over_a_recorded_rollback_sets_the_overlap_flag() {
        let s = TestStore::memory();
        let mut lock = mvcc::Lock::new(LockType::Put, b"k".to_vec(), 10.into(), 100);
        lock.rollback_ts = vec![20.into()];
        lock.short_value = Some(b"v".to_vec());
        let mut txn = mvcc::MvccTxn::new(10.into());
        txn.put_lock(Key::from_raw(b"k"), &lock);
        s.write(txn.into_modifies());
        must_commit(&s, b"k", 10, 20);
        let w = must_written(&s, b"k", 10, 20, WriteType::Put);
        assert!(w.has_overlapped_rollback);
        let w = must_written(&s, b"k", 10, 20, WriteType::Put);
        assert_eq!(w.gc_fence, None);
    }
}
