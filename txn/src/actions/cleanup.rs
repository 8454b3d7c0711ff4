//! Cleanup and rollback of one key (TiKV's `actions/cleanup.rs`; the `Rollback` command is a
//! cleanup without the TTL check and without protection).
//!
//! Rules:
//! 1. Our lock is on the key: with a non-zero `current_ts`, a lock whose TTL has not run out
//!    (`lock.ts.physical() + ttl >= current_ts.physical()`) is left alone and answered
//!    `KeyIsLocked`; otherwise it is rolled back (`rollback::rollback_lock`), collapsing the
//!    previous rollback unless protection is asked for.
//! 2. No lock of ours: committed is `Committed` (a rollback cannot undo a commit); already
//!    rolled back is success; no trace writes a rollback record — protected when asked, since
//!    without the lock we cannot tell whether a pessimistic primary is concerned.

use mvcc::{Key, MvccReader, MvccTxn, Snapshot, TimeStamp};

use crate::actions::check_txn_status::TxnStatus;
use crate::actions::rollback::{check_txn_status_missing_lock, rollback_lock, MissingLockAction};
use crate::error::{Error, Result};
use crate::key_error::KeyError;

/// Cleans up `key` of the transaction `start_ts` (module docs). `current_ts` 0 skips the
/// TTL check.
///
/// # Errors
/// `KeyIsLocked` (TTL not expired), `Committed` (as data); engine or corruption errors.
pub fn cleanup<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    key: Key,
    start_ts: TimeStamp,
    current_ts: TimeStamp,
    protect_rollback: bool,
) -> Result<()> {
    match reader.load_lock(&key)? {
        Some(lock) if lock.ts == start_ts => {
            if !current_ts.is_zero() && lock.ts.physical() + lock.ttl >= current_ts.physical() {
                return Err(KeyError::KeyIsLocked(lock.into_lock_info(key.to_raw()?)).into());
            }
            rollback_lock(txn, reader, key, &lock, !protect_rollback)
        }
        other => {
            let action = MissingLockAction::rollback_protect(protect_rollback);
            let status = check_txn_status_missing_lock(
                txn,
                reader,
                key.clone(),
                start_ts,
                other,
                action,
                false,
            )?;
            match status {
                TxnStatus::Committed { commit_ts } => Err(KeyError::Committed {
                    start_ts,
                    commit_ts,
                    key: key.to_raw()?,
                }
                .into()),
                TxnStatus::RolledBack | TxnStatus::LockNotExist => Ok(()),
                s => Err(Error::Internal(format!(
                    "unexpected status {s:?} in cleanup"
                ))),
            }
        }
    }
}

/// Rolls back `keys` of the transaction `start_ts` (the `Rollback` request): cleanup
/// without TTL check or protection (a pessimistic primary is still protected by its lock).
///
/// # Errors
/// As [`cleanup`]; the first failing key fails the request.
pub fn rollback<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    keys: Vec<Key>,
    start_ts: TimeStamp,
) -> Result<()> {
    for key in keys {
        cleanup(txn, reader, key, start_ts, TimeStamp::zero(), false)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use mvcc::WriteType;

    use super::*;
    use crate::testing::*;

    #[test]
    fn cleanup_respects_ttl_and_protection() {
        let s = TestStore::memory();
        let t = TimeStamp::compose;
        must_prewrite_put(&s, b"k", b"v", b"k", t(10, 0));
        must_txn_heart_beat(&s, b"k", t(10, 0), 100);
        // Not expired: left alone, reported locked.
        match must_cleanup_err(&s, b"k", t(10, 0), t(20, 0)) {
            KeyError::KeyIsLocked(info) => assert_eq!(info.lock_ttl, 100),
            e => panic!("{e:?}"),
        }
        must_locked(&s, b"k", t(10, 0));
        // Another transaction's cleanup: a protected rollback of its own, our lock stays.
        must_cleanup(&s, b"k", t(10, 1), t(120, 0));
        must_get_rollback_protected(&s, b"k", t(10, 1), true);
        must_locked(&s, b"k", t(10, 0));
        // Expired: rolled back; optimistic rollbacks are not protected.
        must_cleanup(&s, b"k", t(10, 0), t(120, 0));
        must_unlocked(&s, b"k");
        must_get_rollback_protected(&s, b"k", t(10, 0), false);
        // Pessimistic primaries are protected, locked or prewritten.
        must_acquire_pessimistic_lock(&s, b"k", b"k", t(11, 1), t(12, 1));
        must_cleanup(&s, b"k", t(11, 1), t(120, 0));
        must_get_rollback_protected(&s, b"k", t(11, 1), true);
        // Repeated cleanup of a rolled-back transaction succeeds.
        must_cleanup(&s, b"k", t(11, 1), t(120, 0));
    }

    #[test]
    fn cleanup_of_a_committed_transaction_fails() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"k", b"v", b"k", 5);
        must_commit(&s, b"k", 5, 7);
        assert_eq!(
            must_rollback_err(&s, b"k", 5),
            KeyError::Committed {
                start_ts: 5.into(),
                commit_ts: 7.into(),
                key: b"k".to_vec()
            }
        );
    }

    #[test]
    fn unprotected_rollbacks_collapse() {
        let s = TestStore::memory();
        must_rollback(&s, b"k", 5);
        must_rollback(&s, b"k", 6);
        // The rollback at 5 was collapsed by the one at 6.
        must_not_have_write(&s, b"k", 5);
        must_get_rollback_ts(&s, b"k", 6);
        // Protected rollbacks are never collapsed.
        must_cleanup(&s, b"k", 7, 0);
        must_rollback(&s, b"k", 8);
        must_get_rollback_protected(&s, b"k", 7, true);
    }

    #[test]
    fn rollback_removes_the_long_value() {
        let s = TestStore::memory();
        let long = vec![b'v'; 300];
        must_prewrite_put(&s, b"k", &long, b"k", 5);
        must_rollback(&s, b"k", 5);
        let snap = s.snapshot();
        let err = MvccReader::new(&snap).get_value(&Key::from_raw(b"k"), 5.into());
        assert!(matches!(err, Err(mvcc::Error::DefaultNotFound { .. })));
        must_written(&s, b"k", 5, 5, WriteType::Rollback);
    }

    #[test]
    fn protected_rollback_over_another_commit_flags_it() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"k", b"v", b"k", 10);
        must_commit(&s, b"k", 10, 20);
        must_prewrite_put(&s, b"k", b"v2", b"k", 25);
        must_commit(&s, b"k", 25, 30);
        // Txn 20 rolls back; slot k+20 holds txn 10's commit: flagged, with the next fence.
        must_cleanup(&s, b"k", 20, 0);
        let w = must_written(&s, b"k", 10, 20, WriteType::Put);
        assert!(w.has_overlapped_rollback);
        assert_eq!(w.gc_fence, Some(30.into()));
        // Unprotected: the commit record is left as it is.
        must_prewrite_put(&s, b"j", b"v", b"j", 10);
        must_commit(&s, b"j", 10, 20);
        must_rollback(&s, b"j", 20);
        assert!(!must_written(&s, b"j", 10, 20, WriteType::Put).has_overlapped_rollback);
    }
}
