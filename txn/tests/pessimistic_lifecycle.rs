//! Scenario: a pessimistic transaction from first lock to commit, with a statement retry on
//! a write conflict, a pessimistic rollback of a key it no longer needs, a competing
//! optimistic writer, and a resolver rolling back an abandoned pessimistic transaction whose
//! late requests must then fail. Runs on both engines.
#![allow(clippy::unwrap_used)]

use mvcc::WriteType;
use txn::actions::check_txn_status::TxnStatus;
use txn::actions::mutation::PessimisticAction::DoPessimisticCheck;
use txn::testing::*;
use txn::{Engine, KeyError, WriteConflictReason};

fn scenario<E: Engine>(s: &TestStore<E>) {
    must_prewrite_put(s, b"b", b"b0", b"b", 1);
    must_commit(s, b"b", 1, 2);

    // Txn 10 locks a; b changed after 10 (by txn 11, committed at 12): retry at 13.
    must_acquire_pessimistic_lock(s, b"a", b"a", 10, 10);
    must_prewrite_put(s, b"b", b"b1", b"b", 11);
    must_commit(s, b"b", 11, 12);
    let e = must_acquire_pessimistic_lock_err(s, b"b", b"a", 10, 10);
    assert!(matches!(
        e,
        KeyError::WriteConflict { reason: WriteConflictReason::PessimisticRetry, conflict_commit_ts, .. }
            if conflict_commit_ts == 12.into()
    ));
    must_acquire_pessimistic_lock(s, b"b", b"a", 10, 13);
    must_acquire_pessimistic_lock(s, b"c", b"a", 10, 13);
    // Optimistic writers meet the locks.
    assert!(matches!(
        must_prewrite_put_err(s, b"b", b"x", b"b", 14),
        KeyError::KeyIsLocked(_)
    ));
    // c is not needed after all.
    assert_eq!(must_pessimistic_rollback(s, b"c", 10, 13), 1);
    must_unlocked(s, b"c");

    must_pessimistic_prewrite_put(s, b"a", b"a1", b"a", 10, 13, DoPessimisticCheck);
    must_pessimistic_prewrite_put(s, b"b", b"b2", b"a", 10, 13, DoPessimisticCheck);
    must_commit(s, b"a", 10, 20);
    must_commit(s, b"b", 10, 20);
    must_get(s, b"b", 20, b"b2");
    must_get(s, b"b", 19, b"b1");
    must_written(s, b"a", 10, 20, WriteType::Put);

    // Txn 30 is abandoned after locking; a resolver (caller 40) finds it expired.
    let t = mvcc::TimeStamp::compose;
    must_acquire_pessimistic_lock(s, b"a", b"a", t(30, 0), t(30, 0));
    let st = must_check_txn_status(s, b"a", &status_args(t(30, 0), t(40, 0), t(40, 0)));
    assert_eq!(st, TxnStatus::TtlExpire);
    must_get_rollback_protected(s, b"a", t(30, 0), true);
    // Its late acquire and prewrite fail.
    assert!(matches!(
        must_acquire_pessimistic_lock_err(s, b"a", b"a", t(30, 0), t(30, 0)),
        KeyError::PessimisticLockRolledBack { .. }
    ));
    assert!(matches!(
        must_pessimistic_prewrite_put_err(
            s,
            b"a",
            b"x",
            b"a",
            t(30, 0),
            t(30, 0),
            DoPessimisticCheck
        ),
        KeyError::PessimisticLockNotFound { .. }
    ));
    must_get(s, b"a", t(50, 0), b"a1");
}

#[test]
fn on_memory() {
    scenario(&TestStore::memory());
}

#[test]
fn on_local_lsm() {
    scenario(&TestStore::local());
}
