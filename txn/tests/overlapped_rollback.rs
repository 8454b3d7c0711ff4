//! Scenario: commit ts are not unique across transactions, so a rollback record of one
//! transaction can land exactly where another committed. A protected rollback (pessimistic
//! primary, or async-commit resolution) must survive: it flags the other record instead of
//! overwriting it, and a late prewrite of the rolled-back transaction then fails, while the
//! other transaction's value stays readable. Runs on both engines.
#![allow(clippy::unwrap_used)]

use mvcc::WriteType;
use txn::actions::mutation::PessimisticAction::DoPessimisticCheck;
use txn::testing::*;
use txn::{Engine, KeyError, WriteConflictReason};

fn scenario<E: Engine>(s: &TestStore<E>) {
    // Txn 10 commits k at 20. Pessimistic txn 20 (primary k) is rolled back by a resolver.
    must_prewrite_put(s, b"k", b"v10", b"k", 10);
    must_commit(s, b"k", 10, 20);
    must_cleanup(s, b"k", 20, 0);
    let w = must_written(s, b"k", 10, 20, WriteType::Put);
    assert!(w.has_overlapped_rollback, "flag instead of overwrite");
    assert_eq!(w.gc_fence, Some(0.into()), "no newer version yet");
    must_get(s, b"k", 25, b"v10");

    // Txn 20's late requests fail.
    assert!(matches!(
        must_acquire_pessimistic_lock_err(s, b"k", b"k", 20, 20),
        KeyError::PessimisticLockRolledBack { .. }
    ));
    let e = must_prewrite_put_err(s, b"k", b"v20", b"k", 20);
    assert!(matches!(
        e,
        KeyError::WriteConflict {
            reason: WriteConflictReason::SelfRolledBack,
            ..
        }
    ));

    // Txn 30 writes over it; a later protected rollback at 30's commit ts gets the fence of
    // the next version.
    must_acquire_pessimistic_lock(s, b"k", b"k", 30, 30);
    must_pessimistic_prewrite_put(s, b"k", b"v30", b"k", 30, 30, DoPessimisticCheck);
    must_commit(s, b"k", 30, 40);
    must_prewrite_put(s, b"k", b"v50", b"k", 50);
    must_commit(s, b"k", 50, 60);
    must_cleanup(s, b"k", 40, 0);
    let w = must_written(s, b"k", 30, 40, WriteType::Put);
    assert!(w.has_overlapped_rollback);
    assert_eq!(w.gc_fence, Some(60.into()));
    must_get(s, b"k", 45, b"v30");
    must_get(s, b"k", 60, b"v50");
    must_get_commit_ts(s, b"k", 30, 40);
}

#[test]
fn on_memory() {
    scenario(&TestStore::memory());
}

#[test]
fn on_local_lsm() {
    scenario(&TestStore::local());
}
