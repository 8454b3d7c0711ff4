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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use crate::KeyError;

    fn check<E: crate::Engine>(
        s: &TestStore<E>,
        keys: &[&[u8]],
        start_ts: u64,
    ) -> SecondaryLocksStatus {
        let keys = keys.iter().map(|k| Key::from_raw(k)).collect();
        s.run(start_ts, |txn, r| {
            check_secondary_locks(txn, r, &s.cm, keys, start_ts.into())
        })
        .unwrap()
    }

    #[test]
    fn locked_committed_and_rolled_back() {
        let s = TestStore::memory();
        must_prewrite_put_async_commit(
            &s,
            b"p",
            b"v",
            b"p",
            &[b"s1".to_vec(), b"s2".to_vec()],
            10,
            0,
        );
        must_prewrite_put_async_commit(&s, b"s1", b"v", b"p", &[], 10, 0);
        must_prewrite_put_async_commit(&s, b"s2", b"v", b"p", &[], 10, 0);
        match check(&s, &[b"s1", b"s2"], 10) {
            SecondaryLocksStatus::Locked(locks) => {
                let keys: Vec<_> = locks.iter().map(|l| l.key.clone()).collect();
                assert_eq!(keys, vec![b"s1".to_vec(), b"s2".to_vec()]);
            }
            st => panic!("{st:?}"),
        }
        assert!(s.cm.max_ts() >= 10.into());
        must_commit(&s, b"s1", 10, 20);
        assert_eq!(
            check(&s, &[b"s2", b"s1"], 10),
            SecondaryLocksStatus::Committed(20.into())
        );
    }

    #[test]
    fn a_missing_prewrite_rolls_the_transaction_back_for_good() {
        let s = TestStore::memory();
        must_prewrite_put_async_commit(&s, b"s1", b"v", b"p", &[], 10, 0);
        assert_eq!(
            check(&s, &[b"s1", b"s2"], 10),
            SecondaryLocksStatus::RolledBack
        );
        must_get_rollback_protected(&s, b"s2", 10, true);
        must_locked(&s, b"s1", 10); // resolve_lock removes it later
        assert!(matches!(
            must_prewrite_put_err(&s, b"s2", b"v", b"p", 10),
            KeyError::WriteConflict { .. }
        ));
        assert_eq!(check(&s, &[b"s2"], 10), SecondaryLocksStatus::RolledBack);
    }

    #[test]
    fn a_pessimistic_lock_means_never_prewritten() {
        let s = TestStore::memory();
        must_acquire_pessimistic_lock(&s, b"s", b"p", 10, 10);
        assert_eq!(check(&s, &[b"s"], 10), SecondaryLocksStatus::RolledBack);
        must_unlocked(&s, b"s");
        must_get_rollback_protected(&s, b"s", 10, true);
    }

    #[test]
    fn rollback_under_another_async_lock_is_recorded_in_it() {
        let s = TestStore::memory();
        // Txn 5 (async) holds the key; checking txn 10 writes a protected rollback at 10,
        // which txn 5 could overwrite by committing at 10: recorded in its lock.
        must_prewrite_put_async_commit(&s, b"s", b"v", b"s", &[], 5, 0);
        assert_eq!(check(&s, &[b"s"], 10), SecondaryLocksStatus::RolledBack);
        assert_eq!(must_locked(&s, b"s", 5).rollback_ts, vec![10.into()]);
        must_commit(&s, b"s", 5, 10);
        assert!(must_written(&s, b"s", 5, 10, mvcc::WriteType::Put).has_overlapped_rollback);
    }
}
