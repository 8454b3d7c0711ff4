//! Scenario: an async-commit transaction whose client died after prewrite. A reader meets
//! its lock; check_txn_status must not roll the primary back (it may already be committed
//! by its secondaries), check_secondary_locks finds every key prewritten, and resolve_lock
//! commits them at the largest min_commit_ts. A second transaction, missing one
//! prewrite, is rolled back for good. Runs on both engines.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use mvcc::{Key, TimeStamp, WriteType};
use txn::actions::check_secondary_locks::{check_secondary_locks, SecondaryLocksStatus};
use txn::actions::check_txn_status::TxnStatus;
use txn::actions::resolve_lock::resolve_lock;
use txn::testing::*;
use txn::{Engine, KeyError};

fn t(physical: u64) -> TimeStamp {
    TimeStamp::compose(physical, 0)
}

fn scenario<E: Engine>(s: &TestStore<E>) {
    s.cm.update_max_ts(t(50));
    let secondaries = vec![b"s1".to_vec(), b"s2".to_vec()];
    let m1 = must_prewrite_put_async_commit(s, b"p", b"vp", b"p", &secondaries, t(10), 0);
    s.cm.update_max_ts(t(60)); // a read happened in between
    let m2 = must_prewrite_put_async_commit(s, b"s1", b"v1", b"p", &[], t(10), 0);
    let m3 = must_prewrite_put_async_commit(s, b"s2", b"v2", b"p", &[], t(10), 0);
    assert_eq!((m1, m2, m3), (t(50).next(), t(60).next(), t(60).next()));

    // A reader at 100 meets the lock (min_commit_ts is below it).
    match must_get_err(s, b"s1", t(100)) {
        KeyError::KeyIsLocked(info) => assert!(info.use_async_commit),
        e => panic!("{e:?}"),
    }
    // Long after the TTL: still not rolled back, not pushed.
    let st = must_check_txn_status(s, b"p", &status_args(t(10), t(100), t(10_000)));
    let TxnStatus::Uncommitted {
        lock,
        min_commit_ts_pushed,
    } = st
    else {
        panic!("{st:?}")
    };
    assert!(!min_commit_ts_pushed);
    assert_eq!(lock.secondaries, secondaries);

    // Every secondary prewritten: the transaction is committed at the largest min_commit_ts.
    let keys: Vec<Key> = secondaries.iter().map(|k| Key::from_raw(k)).collect();
    let status = s
        .run(t(10), |txn, r| {
            check_secondary_locks(txn, r, &s.cm, keys, t(10))
        })
        .unwrap();
    let SecondaryLocksStatus::Locked(locks) = status else {
        panic!("{status:?}")
    };
    let commit_ts = locks
        .iter()
        .map(|l| l.min_commit_ts)
        .chain([lock.min_commit_ts])
        .max()
        .unwrap();
    assert_eq!(commit_ts, t(60).next());
    let txn_status: HashMap<TimeStamp, TimeStamp> = [(t(10), commit_ts)].into();
    let out = s
        .run(0, |txn, r| resolve_lock(txn, r, &txn_status, None, None, 0))
        .unwrap();
    assert_eq!(out.resolved, 3);
    for (k, v) in [(&b"p"[..], b"vp"), (b"s1", b"v1"), (b"s2", b"v2")] {
        must_written(s, k, t(10), commit_ts, WriteType::Put);
        must_get(s, k, t(100), v);
    }
    let st = must_check_txn_status(s, b"p", &status_args(t(10), t(100), t(10_000)));
    assert_eq!(st.committed_ts(), Some(commit_ts));

    // Transaction 70 lost its prewrite of s2: rolled back, and the late prewrite fails.
    must_prewrite_put_async_commit(s, b"p", b"x", b"p", &secondaries, t(70), 0);
    must_prewrite_put_async_commit(s, b"s1", b"x", b"p", &[], t(70), 0);
    let keys: Vec<Key> = secondaries.iter().map(|k| Key::from_raw(k)).collect();
    let status = s
        .run(t(70), |txn, r| {
            check_secondary_locks(txn, r, &s.cm, keys, t(70))
        })
        .unwrap();
    assert_eq!(status, SecondaryLocksStatus::RolledBack);
    let txn_status: HashMap<TimeStamp, TimeStamp> = [(t(70), TimeStamp::zero())].into();
    s.run(0, |txn, r| resolve_lock(txn, r, &txn_status, None, None, 0))
        .unwrap();
    for k in [&b"p"[..], b"s1"] {
        must_unlocked(s, k);
        must_get_rollback_ts(s, k, t(70));
    }
    must_get_rollback_protected(s, b"s2", t(70), true);
    assert!(matches!(
        must_prewrite_put_err(s, b"s2", b"x", b"p", t(70)),
        KeyError::WriteConflict { .. }
    ));
    must_get(s, b"p", t(100), b"vp");
}

#[test]
fn on_memory() {
    scenario(&TestStore::memory());
}

#[test]
fn on_local_lsm() {
    scenario(&TestStore::local());
}
