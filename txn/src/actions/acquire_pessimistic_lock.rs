//! `acquire_pessimistic_lock`: a pessimistic transaction locks keys before it prewrites them
//! (TiKV's `actions/acquire_pessimistic_lock.rs` and the command around it).
//!
//! Rules per key:
//! 1. Another transaction's lock: `KeyIsLocked` (the command layer waits on it later).
//!    Our own prewrite lock: `LockTypeNotMatch`. Our own pessimistic lock: a retry — it is
//!    rewritten only when the new for_update_ts is larger (the request's TTL and
//!    min_commit_ts go with it); the answer is computed as below, reading at for_update_ts.
//! 2. The key's newest record committed after for_update_ts: `WriteConflict`
//!    (PessimisticRetry) — the statement read older data and must retry with a newer
//!    for_update_ts.
//! 3. Our own rollback at start ts (a Rollback record or the overlapped flag on another
//!    commit): `PessimisticLockRolledBack` — the transaction was rolled back by a resolver
//!    and must not lock again.
//! 4. `should_not_exist` (Insert on a unique key): a live value is `AlreadyExist`; `max_ts`
//!    rises to for_update_ts, as the check is a read.
//! 5. The lock written is a Pessimistic lock with for_update_ts, TTL and min_commit_ts;
//!    `lock_only_if_exists` skips keys without a value.
//! 6. Values (`need_value`) or existence (`need_check_existence`) are returned aligned with
//!    the request's keys, read at for_update_ts; such reads raise `max_ts` to it.
//! 7. All or nothing: an error on any key fails the request, and the buffer is emptied so
//!    nothing is written.

use mvcc::{Key, Lock, LockType, MvccReader, MvccTxn, Snapshot, TimeStamp, WriteType};

use crate::concurrency_manager::ConcurrencyManager;
use crate::error::Result;
use crate::key_error::{KeyError, WriteConflictReason};

/// A request to lock keys pessimistically.
#[derive(Debug, Clone)]
pub struct AcquirePessimisticLockRequest {
    /// The keys, each with its `should_not_exist` flag (rule 4).
    pub keys: Vec<(Key, bool)>,
    /// The raw primary key.
    pub primary: Vec<u8>,
    /// The transaction's start ts.
    pub start_ts: TimeStamp,
    /// The ts the statement reads at: newer commits conflict.
    pub for_update_ts: TimeStamp,
    /// Lock TTL in milliseconds.
    pub lock_ttl: u64,
    /// A floor for the commit ts (large transactions).
    pub min_commit_ts: TimeStamp,
    /// Return each key's value at for_update_ts.
    pub need_value: bool,
    /// Return whether each key has a value at for_update_ts.
    pub need_check_existence: bool,
    /// Lock only keys that have a value.
    pub lock_only_if_exists: bool,
}

/// What a request answers for one key (aligned with the request's keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PessimisticLockKeyResult {
    /// Nothing was asked.
    Empty,
    /// The value at for_update_ts (`None`: not found).
    Value(Option<Vec<u8>>),
    /// Whether the key has a value at for_update_ts.
    Existence(bool),
}

/// Locks every key of `req` (module docs).
///
/// # Errors
/// `KeyIsLocked`, `WriteConflict`, `PessimisticLockRolledBack`, `AlreadyExist`,
/// `LockTypeNotMatch` (as data); engine or corruption errors. On error `txn` is emptied.
pub fn acquire_pessimistic_lock<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    cm: &ConcurrencyManager,
    req: &AcquirePessimisticLockRequest,
) -> Result<Vec<PessimisticLockKeyResult>> {
    let mut results = Vec::with_capacity(req.keys.len());
    for (key, should_not_exist) in &req.keys {
        match acquire_one(txn, reader, cm, req, key, *should_not_exist) {
            Ok(r) => results.push(r),
            Err(e) => {
                *txn = MvccTxn::new(txn.start_ts);
                return Err(e);
            }
        }
    }
    if req.need_value || req.need_check_existence {
        cm.update_max_ts(req.for_update_ts);
    }
    Ok(results)
}

fn acquire_one<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    cm: &ConcurrencyManager,
    req: &AcquirePessimisticLockRequest,
    key: &Key,
    should_not_exist: bool,
) -> Result<PessimisticLockKeyResult> {
    if should_not_exist {
        cm.update_max_ts(req.for_update_ts);
    }
    let answer = |value: Option<Vec<u8>>| {
        if req.need_value {
            PessimisticLockKeyResult::Value(value)
        } else if req.need_check_existence {
            PessimisticLockKeyResult::Existence(value.is_some())
        } else {
            PessimisticLockKeyResult::Empty
        }
    };
    let new_lock = || {
        let mut lock = Lock::new(
            LockType::Pessimistic,
            req.primary.clone(),
            req.start_ts,
            req.lock_ttl,
        );
        lock.for_update_ts = req.for_update_ts;
        lock.min_commit_ts = req.min_commit_ts;
        lock
    };
    if let Some(lock) = reader.load_lock(key)? {
        if lock.ts != req.start_ts {
            return Err(KeyError::KeyIsLocked(lock.into_lock_info(key.to_raw()?)).into());
        }
        if lock.lock_type != LockType::Pessimistic {
            return Err(KeyError::LockTypeNotMatch {
                start_ts: req.start_ts,
                key: key.to_raw()?,
                pessimistic: false,
            }
            .into());
        }
        let value = read_value(reader, req, key)?;
        if req.for_update_ts > lock.for_update_ts {
            txn.put_lock(key.clone(), &new_lock());
        }
        return Ok(answer(value));
    }

    if let Some((commit_ts, write)) = reader.seek_write(key, TimeStamp::max())? {
        if commit_ts > req.for_update_ts {
            return Err(KeyError::write_conflict(
                req.start_ts,
                write.start_ts,
                commit_ts,
                key.to_raw()?,
                req.primary.clone(),
                WriteConflictReason::PessimisticRetry,
            )
            .into());
        }
        // Our rollback may lie below newer commits of others (at or below for_update_ts).
        let own = if commit_ts == req.start_ts {
            Some(write)
        } else if commit_ts > req.start_ts {
            reader
                .seek_write(key, req.start_ts)?
                .filter(|(ts, _)| *ts == req.start_ts)
                .map(|(_, w)| w)
        } else {
            None
        };
        if own.is_some_and(|w| w.write_type == WriteType::Rollback || w.has_overlapped_rollback) {
            return Err(KeyError::PessimisticLockRolledBack {
                start_ts: req.start_ts,
                key: key.to_raw()?,
            }
            .into());
        }
        if should_not_exist {
            if let Some((_, w)) = reader.get_write(key, TimeStamp::max(), Some(TimeStamp::max()))? {
                return Err(KeyError::AlreadyExist {
                    key: key.to_raw()?,
                    existing_start_ts: w.start_ts,
                }
                .into());
            }
        }
    }
    let value = read_value(reader, req, key)?;
    let exists = match &value {
        Some(_) => true,
        None if req.lock_only_if_exists && !req.need_value && !req.need_check_existence => reader
            .get_write(key, req.for_update_ts, Some(req.for_update_ts))?
            .is_some(),
        None => false,
    };
    if !req.lock_only_if_exists || exists {
        txn.put_lock(key.clone(), &new_lock());
    }
    Ok(answer(value))
}

/// The key's value (or, when only existence is asked, an empty placeholder) at
/// for_update_ts; `None` when nothing is asked.
fn read_value<S: Snapshot + ?Sized>(
    reader: &mut MvccReader<'_, S>,
    req: &AcquirePessimisticLockRequest,
    key: &Key,
) -> Result<Option<Vec<u8>>> {
    let ts = req.for_update_ts;
    if req.need_value {
        Ok(reader.get(key, ts)?)
    } else if req.need_check_existence {
        Ok(reader.get_write(key, ts, Some(ts))?.map(|_| Vec::new()))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn locks_and_conflicts() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"k", b"v", b"k", 5);
        must_commit(&s, b"k", 5, 10);
        let e = must_acquire_pessimistic_lock_err(&s, b"k", b"k", 8, 8);
        assert_eq!(
            e,
            KeyError::WriteConflict {
                start_ts: 8.into(),
                conflict_start_ts: 5.into(),
                conflict_commit_ts: 10.into(),
                key: b"k".to_vec(),
                primary: b"k".to_vec(),
                reason: WriteConflictReason::PessimisticRetry,
            }
        );
        must_acquire_pessimistic_lock(&s, b"k", b"k", 8, 12);
        must_pessimistic_locked(&s, b"k", 8, 12);
        // Retries: an older for_update_ts changes nothing, a newer one is written.
        must_acquire_pessimistic_lock(&s, b"k", b"k", 8, 11);
        must_pessimistic_locked(&s, b"k", 8, 12);
        must_acquire_pessimistic_lock(&s, b"k", b"k", 8, 13);
        must_pessimistic_locked(&s, b"k", 8, 13);
        // Others meet the lock.
        match must_acquire_pessimistic_lock_err(&s, b"k", b"k", 9, 14) {
            KeyError::KeyIsLocked(info) => assert_eq!(info.lock_version, 8.into()),
            e => panic!("{e:?}"),
        }
        // Our own prewrite lock.
        must_pessimistic_prewrite_put(
            &s,
            b"k",
            b"v2",
            b"k",
            8,
            13,
            crate::actions::mutation::PessimisticAction::DoPessimisticCheck,
        );
        assert!(matches!(
            must_acquire_pessimistic_lock_err(&s, b"k", b"k", 8, 14),
            KeyError::LockTypeNotMatch {
                pessimistic: false,
                ..
            }
        ));
    }

    #[test]
    fn rolled_back_transaction_cannot_lock_again() {
        let s = TestStore::memory();
        must_cleanup(&s, b"k", 10, 0);
        assert_eq!(
            must_acquire_pessimistic_lock_err(&s, b"k", b"k", 10, 10),
            KeyError::PessimisticLockRolledBack {
                start_ts: 10.into(),
                key: b"k".to_vec()
            }
        );
        // Also when newer commits (within for_update_ts) lie above the rollback.
        must_prewrite_put(&s, b"k", b"v", b"k", 11);
        must_commit(&s, b"k", 11, 12);
        assert!(matches!(
            must_acquire_pessimistic_lock_err(&s, b"k", b"k", 10, 15),
            KeyError::PessimisticLockRolledBack { .. }
        ));
    }

    #[test]
    fn values_existence_and_all_or_nothing() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"a", b"va", b"a", 5);
        must_commit(&s, b"a", 5, 6);
        let mut req = lock_request(b"a", b"a", 10, 10);
        req.keys.push((Key::from_raw(b"b"), false));
        req.need_value = true;
        let got = try_acquire(&s, &req).unwrap();
        assert_eq!(
            got,
            vec![
                PessimisticLockKeyResult::Value(Some(b"va".to_vec())),
                PessimisticLockKeyResult::Value(None)
            ]
        );
        assert!(s.cm.max_ts() >= 10.into(), "values read raise max_ts");
        req.need_value = false;
        req.need_check_existence = true;
        req.for_update_ts = 11.into();
        let got = try_acquire(&s, &req).unwrap();
        assert_eq!(
            got,
            vec![
                PessimisticLockKeyResult::Existence(true),
                PessimisticLockKeyResult::Existence(false)
            ]
        );
        // Insert on a unique key that exists: AlreadyExist, and nothing of the request written.
        must_pessimistic_rollback(&s, b"a", 10, 11);
        let mut ins = lock_request(b"c", b"c", 20, 20);
        ins.keys.push((Key::from_raw(b"a"), true));
        assert_eq!(
            key_err(try_acquire(&s, &ins).unwrap_err()),
            KeyError::AlreadyExist {
                key: b"a".to_vec(),
                existing_start_ts: 5.into()
            }
        );
        must_unlocked(&s, b"c");
        // lock_only_if_exists skips keys without a value.
        let mut only = lock_request(b"a", b"a", 30, 30);
        only.keys = vec![(Key::from_raw(b"x"), false)];
        only.lock_only_if_exists = true;
        only.need_value = true;
        only.keys.push((Key::from_raw(b"a"), false));
        let got = try_acquire(&s, &only).unwrap();
        assert_eq!(
            got,
            vec![
                PessimisticLockKeyResult::Value(None),
                PessimisticLockKeyResult::Value(Some(b"va".to_vec()))
            ]
        );
        must_unlocked(&s, b"x");
        must_pessimistic_locked(&s, b"a", 30, 30);
    }
}
