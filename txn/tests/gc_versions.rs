//! Scenario: a key with a history of puts, deletes, lock records and rollbacks is
//! garbage-collected at successive safe points; every read at or above the safe point sees
//! exactly what it saw before. Runs on both engines.
#![allow(clippy::unwrap_used)]

use txn::testing::*;
use txn::Engine;

fn scenario<E: Engine>(s: &TestStore<E>) {
    let long = vec![b'L'; 400];
    // ts: put@2, lock@4, put(long)@6, rollback@7, delete@9, put@12, rollback@13
    must_prewrite_put(s, b"k", b"v1", b"k", 1);
    must_commit(s, b"k", 1, 2);
    must_prewrite_lock(s, b"k", b"k", 3);
    must_commit(s, b"k", 3, 4);
    must_prewrite_put(s, b"k", &long, b"k", 5);
    must_commit(s, b"k", 5, 6);
    must_rollback(s, b"k", 7);
    must_prewrite_delete(s, b"k", b"k", 8);
    must_commit(s, b"k", 8, 9);
    must_prewrite_put(s, b"k", b"v3", b"k", 11);
    must_commit(s, b"k", 11, 12);
    must_rollback(s, b"k", 13);

    let expect = |ts: u64| -> Option<Vec<u8>> {
        match ts {
            0..=1 => None,
            2..=5 => Some(b"v1".to_vec()),
            6..=8 => Some(long.clone()),
            9..=11 => None,
            _ => Some(b"v3".to_vec()),
        }
    };
    for safe_point in [3, 6, 8, 10, 14] {
        must_gc(s, b"k", safe_point);
        for ts in safe_point..20 {
            assert_eq!(
                try_get(s, b"k", ts).unwrap(),
                expect(ts),
                "read at {ts} after gc at {safe_point}"
            );
        }
    }
    // At 14 only the put at 12 is left.
    for ts in [2, 4, 6, 7, 9, 13] {
        must_not_have_write(s, b"k", ts);
    }
    assert_eq!(must_gc(s, b"k", 14).found_versions, 1);
}

#[test]
fn on_memory() {
    scenario(&TestStore::memory());
}

#[test]
fn on_local_lsm() {
    scenario(&TestStore::local());
}
