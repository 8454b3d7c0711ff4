//! `resolve_lock`: commit or roll back every lock of one or several transactions whose fate
//! is known (TiKV's `commands/resolve_lock.rs` and `resolve_lock_lite.rs`).
//!
//! The caller knows each transaction's status: `txn_status` maps start ts → commit ts, with
//! 0 for rolled back. Rules per lock:
//! 1. Commit ts 0: the key is cleaned up (rolled back, no TTL check, unprotected: the
//!    transaction's fate is already decided, so no late prewrite can matter beyond what the
//!    rollback record blocks).
//! 2. Commit ts above the lock's ts: the key is committed. A leftover *pessimistic* lock
//!    that cannot be committed (`TxnLockNotFound`) is skipped: such locks remain when a
//!    committed transaction retried a statement and never needed the key.
//! 3. Commit ts at or below the lock's ts is a malformed request.
//!
//! A range resolve scans the lock CF in `[start, end)` for locks of the listed transactions,
//! at most `limit` per call (0: all), and returns where to continue, so a command can bound
//! its batch size.

use std::collections::HashMap;

use mvcc::{Key, Lock, LockType, MvccReader, MvccTxn, Snapshot, TimeStamp};

use crate::actions::cleanup::cleanup;
use crate::actions::commit::commit;
use crate::error::{Error, Result};
use crate::key_error::KeyError;

/// What a range resolve did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveLockOutcome {
    /// Locks resolved in this call.
    pub resolved: usize,
    /// Where the next call should start (`None`: the range is done).
    pub next_key: Option<Key>,
}

/// Resolves the locks of the transactions in `txn_status` on keys in `[start, end)`.
///
/// # Errors
/// `InvalidArgument` for a commit ts at or below a lock's ts; the first other error of a
/// key; engine or corruption errors.
pub fn resolve_lock<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    txn_status: &HashMap<TimeStamp, TimeStamp>,
    start: Option<&Key>,
    end: Option<&Key>,
    limit: usize,
) -> Result<ResolveLockOutcome> {
    let (locks, has_more) =
        reader.scan_locks(start, end, |_, l| txn_status.contains_key(&l.ts), limit)?;
    let next_key = if has_more {
        // Resume just after the last key resolved: `key + 0x00` is its successor.
        locks.last().map(|(k, _)| {
            let mut next = k.as_encoded().to_vec();
            next.push(0);
            Key::from_encoded(next)
        })
    } else {
        None
    };
    let resolved = locks.len();
    for (key, lock) in locks {
        let commit_ts = txn_status.get(&lock.ts).copied().unwrap_or_default();
        resolve_one(txn, reader, key, &lock, commit_ts)?;
    }
    Ok(ResolveLockOutcome { resolved, next_key })
}

/// Resolves `keys` of the one transaction `start_ts` (the "lite" form: the client names
/// the keys, no scan).
///
/// # Errors
/// As [`resolve_lock`].
pub fn resolve_lock_lite<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    start_ts: TimeStamp,
    commit_ts: TimeStamp,
    keys: Vec<Key>,
) -> Result<()> {
    for key in keys {
        if commit_ts.is_zero() {
            cleanup(txn, reader, key, start_ts, TimeStamp::zero(), false)?;
        } else {
            commit(txn, reader, key, start_ts, commit_ts)?;
        }
    }
    Ok(())
}

/// Resolves the lock on `key` if it belongs to a transaction in `txn_status` (the write
/// phase of a range resolve: the command read the keys earlier, without latches, so each
/// lock is read again under them). Returns whether a lock was resolved.
///
/// # Errors
/// As [`resolve_lock`].
pub fn resolve_key<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    txn_status: &HashMap<TimeStamp, TimeStamp>,
    key: Key,
) -> Result<bool> {
    let Some(lock) = reader.load_lock(&key)? else {
        return Ok(false);
    };
    let Some(commit_ts) = txn_status.get(&lock.ts).copied() else {
        return Ok(false);
    };
    resolve_one(txn, reader, key, &lock, commit_ts)?;
    Ok(true)
}

fn resolve_one<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    key: Key,
    lock: &Lock,
    commit_ts: TimeStamp,
) -> Result<()> {
    if commit_ts.is_zero() {
        return cleanup(txn, reader, key, lock.ts, TimeStamp::zero(), false);
    }
    if commit_ts <= lock.ts {
        return Err(Error::InvalidArgument(format!(
            "commit ts {commit_ts} is not above start ts {}",
            lock.ts
        )));
    }
    match commit(txn, reader, key, lock.ts, commit_ts) {
        Ok(_) => Ok(()),
        Err(Error::Key(e))
            if lock.lock_type == LockType::Pessimistic
                && matches!(*e, KeyError::TxnLockNotFound { .. }) =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use mvcc::WriteType;

    use super::*;
    use crate::testing::*;

    #[test]
    fn resolves_several_transactions_in_a_range_in_batches() {
        let s = TestStore::memory();
        for k in [b"a", b"b", b"c", b"d"] {
            must_prewrite_put(&s, k, b"v", b"a", 10);
        }
        must_prewrite_put(&s, b"e", b"v", b"e", 20);
        must_prewrite_put(&s, b"f", b"v", b"f", 30); // not listed: untouched
        let status: HashMap<TimeStamp, TimeStamp> =
            [(10.into(), 15.into()), (20.into(), TimeStamp::zero())].into();
        let mut start = None;
        let mut calls = 0;
        loop {
            let out = s
                .run(0, |txn, r| {
                    resolve_lock(txn, r, &status, start.as_ref(), None, 2)
                })
                .unwrap();
            calls += 1;
            match out.next_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        assert_eq!(calls, 3);
        for k in [b"a", b"b", b"c", b"d"] {
            must_written(&s, k, 10, 15, WriteType::Put);
        }
        must_get_rollback_ts(&s, b"e", 20);
        must_locked(&s, b"f", 30);
    }

    #[test]
    fn lite_and_invalid_and_leftover_pessimistic_locks() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"a", b"v", b"a", 10);
        must_prewrite_put(&s, b"b", b"v", b"a", 10);
        let keys = vec![Key::from_raw(b"a"), Key::from_raw(b"b")];
        s.run(10, |txn, r| {
            resolve_lock_lite(txn, r, 10.into(), 12.into(), keys)
        })
        .unwrap();
        must_get(&s, b"b", 12, b"v");
        must_prewrite_put(&s, b"c", b"v", b"c", 20);
        let bad: HashMap<TimeStamp, TimeStamp> = [(20.into(), 20.into())].into();
        let e = s
            .run(0, |txn, r| resolve_lock(txn, r, &bad, None, None, 0))
            .unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)));
        // A committed transaction's leftover pessimistic lock commits as a Lock record.
        must_acquire_pessimistic_lock(&s, b"d", b"c", 20, 20);
        let ok: HashMap<TimeStamp, TimeStamp> = [(20.into(), 25.into())].into();
        s.run(0, |txn, r| resolve_lock(txn, r, &ok, None, None, 0))
            .unwrap();
        must_written(&s, b"c", 20, 25, WriteType::Put);
        must_written(&s, b"d", 20, 25, WriteType::Lock);
    }
}
