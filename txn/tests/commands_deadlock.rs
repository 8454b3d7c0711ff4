//! Scenario: deadlock detection. A holds k1 and waits for k2; B holds k2 and asks for k1:
//! B is answered Deadlock at once, with the cycle; after B gives k2 up, A gets it. Then a
//! cycle of three transactions. Both engines.
#![allow(clippy::unwrap_used)]

mod cmd_common;

use std::time::Duration;

use cmd_common::*;
use txn::{key_hash, Engine, KeyError, TxnStorage};

async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

async fn scenario<E: Engine>(s: &TxnStorage<E>) {
    // A = 10 holds k1, B = 20 holds k2.
    s.acquire_pessimistic_lock(lock_req(&[b"k1"], b"k1", 10, 10), -1)
        .await
        .unwrap();
    s.acquire_pessimistic_lock(lock_req(&[b"k2"], b"k2", 20, 20), -1)
        .await
        .unwrap();
    let a = {
        let s = s.clone();
        tokio::spawn(async move {
            s.acquire_pessimistic_lock(lock_req(&[b"k2"], b"k1", 10, 10), 5000)
                .await
        })
    };
    settle().await;
    assert!(!a.is_finished());
    let e = key_err(
        s.acquire_pessimistic_lock(lock_req(&[b"k1"], b"k2", 20, 20), 5000)
            .await
            .unwrap_err(),
    );
    match e {
        KeyError::Deadlock {
            start_ts,
            lock_ts,
            lock_key,
            deadlock_key_hash,
            wait_chain,
        } => {
            assert_eq!(
                (start_ts, lock_ts, lock_key),
                (ts(20), ts(10), b"k1".to_vec())
            );
            assert_eq!(deadlock_key_hash, key_hash(b"k2"));
            let chain: Vec<_> = wait_chain
                .iter()
                .map(|e| (e.txn, e.wait_for_txn, e.key.clone()))
                .collect();
            assert_eq!(
                chain,
                vec![
                    (ts(20), ts(10), b"k1".to_vec()),
                    (ts(10), ts(20), b"k2".to_vec())
                ]
            );
        }
        e => panic!("expected a deadlock, got {e:?}"),
    }
    // B gives up: A proceeds.
    s.pessimistic_rollback(&[b"k2".to_vec()], ts(20), ts(20))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(2), a)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let locks = s.scan_lock(ts(10), None, None, 0).await.unwrap();
    assert_eq!(
        locks.iter().map(|l| l.lock_version).collect::<Vec<_>>(),
        vec![ts(10), ts(10)]
    );
    assert_eq!(s.lock_waits().wait_edges(), 0);

    // Three transactions: 30 holds x, 40 holds y, 50 holds z; 30 → y, 40 → z wait; 50 → x
    // closes the cycle.
    for (t, k) in [(30, b"x"), (40, b"y"), (50, b"z")] {
        s.acquire_pessimistic_lock(lock_req(&[k], k, t, t), -1)
            .await
            .unwrap();
    }
    let mut waiters = Vec::new();
    for (t, k, p) in [(30, b"y", b"x"), (40, b"z", b"y")] {
        let s = s.clone();
        waiters.push(tokio::spawn(async move {
            s.acquire_pessimistic_lock(lock_req(&[k], p, t, t), 5000)
                .await
        }));
        settle().await;
    }
    let e = key_err(
        s.acquire_pessimistic_lock(lock_req(&[b"x"], b"z", 50, 50), 5000)
            .await
            .unwrap_err(),
    );
    match e {
        KeyError::Deadlock {
            wait_chain,
            deadlock_key_hash,
            ..
        } => {
            let txns: Vec<_> = wait_chain.iter().map(|e| (e.txn, e.wait_for_txn)).collect();
            assert_eq!(
                txns,
                vec![(ts(50), ts(30)), (ts(30), ts(40)), (ts(40), ts(50))]
            );
            assert_eq!(deadlock_key_hash, key_hash(b"z"));
        }
        e => panic!("expected a deadlock, got {e:?}"),
    }
    // 50 rolls back z: 40 gets z; 40 commits… here simply rolls back, and 30 gets y.
    s.pessimistic_rollback(&[b"z".to_vec()], ts(50), ts(50))
        .await
        .unwrap();
    settle().await;
    s.pessimistic_rollback(&[b"y".to_vec(), b"z".to_vec()], ts(40), ts(40))
        .await
        .unwrap();
    for w in waiters {
        tokio::time::timeout(Duration::from_secs(2), w)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlock_on_memory_engine() {
    scenario(&memory().s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlock_on_local_engine() {
    let env = local();
    scenario(&env.s).await;
}
