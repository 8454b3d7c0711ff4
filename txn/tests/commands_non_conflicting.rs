//! Scenario: transactions on disjoint keys never wait on each other. One transaction's
//! command is held mid-flight (its latch held, as if its write were slow), and another is
//! parked waiting for a pessimistic lock; meanwhile many concurrent transactions on other
//! keys prewrite, commit and read, and all finish. Then the held one proceeds. Both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cmd_common;

use std::time::Duration;

use cmd_common::*;
use txn::{Engine, TxnStorage};

async fn scenario<E: Engine>(s: &TxnStorage<E>) {
    let held_key = b"held".to_vec();
    let held_slot = s
        .latches()
        .slot_of(&mvcc::Key::from_raw(&held_key).into_encoded());
    // Keys whose latch slot differs from the held one (distinct keys may share a slot).
    let keys: Vec<Vec<u8>> = (0..400)
        .map(|i| format!("key{i:04}").into_bytes())
        .filter(|k| s.latches().slot_of(&mvcc::Key::from_raw(k).into_encoded()) != held_slot)
        .take(64)
        .collect();

    // A stalled command on `held`, and a request waiting for a lock on `parked`.
    let stall = s
        .latches()
        .acquire([mvcc::Key::from_raw(&held_key).into_encoded()])
        .await;
    let stalled = {
        let (s, k) = (s.clone(), held_key.clone());
        tokio::spawn(async move { must_put(&s, &[(&k, b"v")], 1, 2).await })
    };
    s.acquire_pessimistic_lock(lock_req(&[b"parked"], b"parked", 3, 3), -1)
        .await
        .unwrap();
    let parked = {
        let s = s.clone();
        tokio::spawn(async move {
            s.acquire_pessimistic_lock(lock_req(&[b"parked"], b"parked", 4, 4), 10_000)
                .await
        })
    };

    // 32 concurrent transactions of two keys each, plus readers.
    let mut tasks = Vec::new();
    for (i, pair) in keys.chunks(2).enumerate() {
        let s = s.clone();
        let pair = pair.to_vec();
        tasks.push(tokio::spawn(async move {
            let start = 10 + 10 * i as u64;
            must_put(&s, &[(&pair[0], b"x"), (&pair[1], b"y")], start, start + 5).await;
            assert_eq!(get(&s, &pair[1], start + 5).await, Some(b"y".to_vec()));
        }));
    }
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(10), t)
            .await
            .expect("a non-conflicting transaction waited")
            .unwrap();
    }
    assert!(!stalled.is_finished() && !parked.is_finished());

    // Release the stall: the held transaction completes.
    drop(stall);
    tokio::time::timeout(Duration::from_secs(5), stalled)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(get(s, &held_key, 2).await, Some(b"v".to_vec()));
    s.pessimistic_rollback(&[b"parked".to_vec()], ts(3), ts(3))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), parked)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn non_conflicting_on_memory_engine() {
    scenario(&memory().s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn non_conflicting_on_local_engine() {
    let env = local();
    scenario(&env.s).await;
}
