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
