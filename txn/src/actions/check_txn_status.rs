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
