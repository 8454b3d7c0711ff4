//! `check_txn_status`: a client that met a lock asks the transaction's primary key what
//! became of it (TiKV's `actions/check_txn_status.rs` and `commands/check_txn_status.rs`).
//!
//! Rules:
//! 1. `max_ts` rises to the largest of lock ts, current ts and caller start ts (the caller
//!    is about to read at its start ts; an async commit must land above it).
//! 2. The primary's own lock:
//!    - belongs to an async-commit transaction: never rolled back nor pushed here (its fate is
//!      decided by its secondaries: `check_secondary_locks` then `resolve_lock`), unless
//!      `force_sync_commit` makes it count as an ordinary 2PC lock;
//!    - expired (`lock.ts.physical() + ttl < current_ts.physical()`: the TTL runs from the
//!      start ts's physical time): rolled back (`TtlExpire`), except that a pessimistic lock
//!      checked while `resolving_pessimistic_lock` is only removed (`PessimisticRollBack`);
//!    - alive: its `min_commit_ts` is pushed past `caller_start_ts` when the caller's ts is at
//!      or above it (and the lock has one: zero means a client too old to cope), so the
//!      caller can read without waiting; answered `Uncommitted` with whether it now lies
//!      above the caller.
//! 3. No lock of the transaction: the write CF says committed or rolled back; otherwise a
//!    protected rollback is written when `rollback_if_not_exist` (`LockNotExist`), else
//!    `TxnNotFound` (`rollback::check_txn_status_missing_lock`).

use mvcc::{Key, Lock, MvccReader, MvccTxn, Snapshot, TimeStamp};

use crate::actions::rollback::{check_txn_status_missing_lock, rollback_lock, MissingLockAction};
use crate::concurrency_manager::ConcurrencyManager;
use crate::error::Result;
use crate::key_error::KeyError;

/// What became of a transaction (TiKV's `TxnStatus`): rolled back (with why), committed, or
/// still locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnStatus {
    /// It had already been rolled back.
    RolledBack,
    /// Its lock expired and was rolled back now.
    TtlExpire,
    /// No trace of it: a rollback record was written now.
    LockNotExist,
    /// It committed at `commit_ts`.
    Committed { commit_ts: TimeStamp },
    /// Still locked; `min_commit_ts_pushed` says the caller may read past it.
    Uncommitted {
        lock: Lock,
        min_commit_ts_pushed: bool,
    },
    /// Its expired pessimistic primary lock was removed (no rollback record).
    PessimisticRollBack,
    /// No trace of it while resolving a pessimistic lock: nothing written.
    LockNotExistDoNothing,
}

impl TxnStatus {
    /// The commit ts when committed.
    pub fn committed_ts(&self) -> Option<TimeStamp> {
        match self {
            TxnStatus::Committed { commit_ts } => Some(*commit_ts),
            _ => None,
        }
    }
}

/// The request's arguments.
#[derive(Debug, Clone)]
pub struct CheckTxnStatusArgs {
    /// The transaction asked about (the lock's ts).
    pub lock_ts: TimeStamp,
    /// The asking transaction's start ts (`u64::MAX`: an auto-commit point read; 0: none).
    pub caller_start_ts: TimeStamp,
    /// Now, per the oracle: TTLs are measured against it.
    pub current_ts: TimeStamp,
    /// Write a protected rollback if there is no trace of the transaction.
    pub rollback_if_not_exist: bool,
    /// Treat an async-commit lock as an ordinary one (the client gave up on async commit).
    pub force_sync_commit: bool,
    /// The caller met a pessimistic lock (rule 2, rule 3).
    pub resolving_pessimistic_lock: bool,
    /// Fail with `PrimaryMismatch` if the lock says `primary_key` is not its primary.
    pub verify_is_primary: bool,
}

/// Checks the transaction `args.lock_ts` on its primary key (module docs).
///
/// # Errors
/// `TxnNotFound`, `PrimaryMismatch` (as data); engine or corruption errors.
pub fn check_txn_status<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    cm: &ConcurrencyManager,
    primary_key: Key,
    args: &CheckTxnStatusArgs,
) -> Result<TxnStatus> {
    let mut new_max_ts = args.lock_ts;
    for ts in [args.current_ts, args.caller_start_ts] {
        if !ts.is_max() {
            new_max_ts = new_max_ts.max(ts);
        }
    }
    cm.update_max_ts(new_max_ts);

    match reader.load_lock(&primary_key)? {
        Some(lock) if lock.ts == args.lock_ts => {
            if args.verify_is_primary && Key::from_raw(&lock.primary) != primary_key {
                return Err(
                    KeyError::PrimaryMismatch(lock.into_lock_info(primary_key.to_raw()?)).into(),
                );
            }
            lock_exists(txn, reader, primary_key, lock, args)
        }
        other => {
            let action = if args.rollback_if_not_exist {
                MissingLockAction::ProtectedRollback
            } else {
                MissingLockAction::ReturnError
            };
            check_txn_status_missing_lock(
                txn,
                reader,
                primary_key,
                args.lock_ts,
                other,
                action,
                args.resolving_pessimistic_lock,
            )
        }
    }
}

fn lock_exists<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    primary_key: Key,
    mut lock: Lock,
    args: &CheckTxnStatusArgs,
) -> Result<TxnStatus> {
    if lock.use_async_commit && !args.force_sync_commit {
        return Ok(TxnStatus::Uncommitted {
            lock,
            min_commit_ts_pushed: false,
        });
    }
    if lock.ts.physical() + lock.ttl < args.current_ts.physical() {
        if args.resolving_pessimistic_lock && lock.is_pessimistic_lock() {
            txn.unlock_key(primary_key);
            return Ok(TxnStatus::PessimisticRollBack);
        }
        rollback_lock(txn, reader, primary_key, &lock, true)?;
        return Ok(TxnStatus::TtlExpire);
    }
    let caller = args.caller_start_ts;
    if !lock.min_commit_ts.is_zero() && !caller.is_max() && caller >= lock.min_commit_ts {
        // Push past the caller, and to now at least: a later reader need not push again.
        lock.min_commit_ts = caller.next().max(args.current_ts);
        txn.put_lock(primary_key, &lock);
    }
    // A point read at u64::MAX ignores the lock next time without pushing it.
    let min_commit_ts_pushed =
        (!caller.is_zero() && lock.min_commit_ts > caller) || caller.is_max();
    Ok(TxnStatus::Uncommitted {
        lock,
        min_commit_ts_pushed,
    })
}

#[cfg(test)]
mod tests {
    use mvcc::WriteType;

    use super::*;
    use crate::testing::*;

    fn t(physical: u64, logical: u64) -> TimeStamp {
        TimeStamp::compose(physical, logical)
    }

    #[test]
    fn alive_lock_is_uncommitted_and_expired_lock_is_rolled_back() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"k", b"v", b"k", t(10, 0));
        must_txn_heart_beat(&s, b"k", t(10, 0), 100);
        let st = must_check_txn_status(&s, b"k", &status_args(t(10, 0), t(20, 0), t(105, 0)));
        match st {
            TxnStatus::Uncommitted {
                lock,
                min_commit_ts_pushed,
            } => {
                // The lock has no min_commit_ts: it is not pushed (old clients), nor reported so.
                assert_eq!((lock.ttl, min_commit_ts_pushed), (100, false));
            }
            s => panic!("{s:?}"),
        }
        assert_eq!(s.cm.max_ts(), t(105, 0), "max_ts rises to current ts");
        // TTL runs from start ts's physical time: 10 + 100 < 111.
        let st = must_check_txn_status(&s, b"k", &status_args(t(10, 0), t(20, 0), t(111, 0)));
        assert_eq!(st, TxnStatus::TtlExpire);
        must_unlocked(&s, b"k");
        must_get_rollback_protected(&s, b"k", t(10, 0), false);
        // Asked again: rolled back.
        let st = must_check_txn_status(&s, b"k", &status_args(t(10, 0), t(20, 0), t(111, 0)));
        assert_eq!(st, TxnStatus::RolledBack);
    }

    #[test]
    fn pushes_min_commit_ts_past_the_caller() {
        let s = TestStore::memory();
        // A lock with min_commit_ts (large transaction): pushed when the caller is at or above.
        let mut props = crate::actions::mutation::TxnProps::optimistic(b"k", t(10, 0), 100);
        props.min_commit_ts = t(10, 1);
        try_prewrite(
            &s,
            &props,
            crate::actions::mutation::Mutation::put(b"k", b"v"),
            None,
            crate::actions::mutation::PessimisticAction::SkipPessimisticCheck,
        )
        .unwrap();
        let st = must_check_txn_status(&s, b"k", &status_args(t(10, 0), t(20, 0), t(15, 0)));
        match st {
            TxnStatus::Uncommitted {
                lock,
                min_commit_ts_pushed,
            } => {
                assert_eq!(lock.min_commit_ts, t(20, 1));
                assert!(min_commit_ts_pushed);
            }
            s => panic!("{s:?}"),
        }
        assert_eq!(must_locked(&s, b"k", t(10, 0)).min_commit_ts, t(20, 1));
        // Pushed to current ts when that is larger.
        must_check_txn_status(&s, b"k", &status_args(t(10, 0), t(21, 0), t(30, 0)));
        assert_eq!(must_locked(&s, b"k", t(10, 0)).min_commit_ts, t(30, 0));
        // A caller below min_commit_ts: nothing to push, but it may read past.
        let st = must_check_txn_status(&s, b"k", &status_args(t(10, 0), t(25, 0), t(30, 0)));
        assert!(matches!(
            st,
            TxnStatus::Uncommitted {
                min_commit_ts_pushed: true,
                ..
            }
        ));
        // u64::MAX (auto-commit point read): never pushed, reported as pushed.
        let st =
            must_check_txn_status(&s, b"k", &status_args(t(10, 0), TimeStamp::max(), t(30, 0)));
        assert!(matches!(
            st,
            TxnStatus::Uncommitted {
                min_commit_ts_pushed: true,
                ..
            }
        ));
        assert_eq!(must_locked(&s, b"k", t(10, 0)).min_commit_ts, t(30, 0));
        must_commit(&s, b"k", t(10, 0), t(31, 0));
        let st = must_check_txn_status(&s, b"k", &status_args(t(10, 0), t(40, 0), t(40, 0)));
        assert_eq!(st.committed_ts(), Some(t(31, 0)));
    }

    #[test]
    fn async_commit_locks_are_never_rolled_back_unless_forced() {
        let s = TestStore::memory();
        must_prewrite_put_async_commit(&s, b"k", b"v", b"k", &[b"s".to_vec()], t(10, 0), 0);
        let min = must_locked(&s, b"k", t(10, 0)).min_commit_ts;
        let args = status_args(t(10, 0), t(50, 0), t(500, 0));
        let st = must_check_txn_status(&s, b"k", &args);
        assert!(
            matches!(st, TxnStatus::Uncommitted { ref lock, min_commit_ts_pushed: false } if lock.min_commit_ts == min)
        );
        must_locked(&s, b"k", t(10, 0));
        let forced = CheckTxnStatusArgs {
            force_sync_commit: true,
            ..args
        };
        assert_eq!(
            must_check_txn_status(&s, b"k", &forced),
            TxnStatus::TtlExpire
        );
        must_unlocked(&s, b"k");
    }

    #[test]
    fn missing_lock_rollback_if_not_exist_and_txn_not_found() {
        let s = TestStore::memory();
        let args = status_args(5, 6, 6);
        assert_eq!(
            must_check_txn_status_err(&s, b"k", &args),
            KeyError::TxnNotFound {
                start_ts: 5.into(),
                key: b"k".to_vec()
            }
        );
        let resolving = CheckTxnStatusArgs {
            rollback_if_not_exist: true,
            resolving_pessimistic_lock: true,
            ..args.clone()
        };
        assert_eq!(
            must_check_txn_status(&s, b"k", &resolving),
            TxnStatus::LockNotExistDoNothing
        );
        must_not_have_write(&s, b"k", 5);
        let rollback = CheckTxnStatusArgs {
            rollback_if_not_exist: true,
            ..args
        };
        assert_eq!(
            must_check_txn_status(&s, b"k", &rollback),
            TxnStatus::LockNotExist
        );
        must_get_rollback_protected(&s, b"k", 5, true);
        // The late prewrite now fails.
        assert!(matches!(
            must_prewrite_put_err(&s, b"k", b"v", b"k", 5),
            KeyError::WriteConflict { .. }
        ));
    }

    #[test]
    fn expired_pessimistic_primary_is_only_unlocked_when_resolving() {
        let s = TestStore::memory();
        must_acquire_pessimistic_lock(&s, b"k", b"k", t(10, 0), t(10, 0));
        let args = CheckTxnStatusArgs {
            resolving_pessimistic_lock: true,
            ..status_args(t(10, 0), t(20, 0), t(100, 0))
        };
        assert_eq!(
            must_check_txn_status(&s, b"k", &args),
            TxnStatus::PessimisticRollBack
        );
        must_unlocked(&s, b"k");
        must_not_have_write(&s, b"k", t(10, 0));
        // Not resolving: a protected rollback.
        must_acquire_pessimistic_lock(&s, b"k", b"k", t(11, 0), t(11, 0));
        let st = must_check_txn_status(&s, b"k", &status_args(t(11, 0), t(20, 0), t(100, 0)));
        assert_eq!(st, TxnStatus::TtlExpire);
        must_get_rollback_protected(&s, b"k", t(11, 0), true);
        let w = must_written(&s, b"k", t(11, 0), t(11, 0), WriteType::Rollback);
        assert!(w.is_protected());
    }

    #[test]
    fn primary_mismatch_when_verifying() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"s", b"v", b"p", 10);
        let args = CheckTxnStatusArgs {
            verify_is_primary: true,
            ..status_args(10, 11, 11)
        };
        match must_check_txn_status_err(&s, b"s", &args) {
            KeyError::PrimaryMismatch(info) => {
                assert_eq!(
                    (info.key, info.primary_lock),
                    (b"s".to_vec(), b"p".to_vec())
                )
            }
            e => panic!("{e:?}"),
        }
    }
}
