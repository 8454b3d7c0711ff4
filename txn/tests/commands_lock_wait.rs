//! Scenario: pessimistic lock waiting. B waits on A's lock: A commits → B is woken and,
//! retrying at its old for_update_ts, gets a WriteConflict; A rolls back → B gets the lock.
//! Waiters are served in FIFO order, one release at a time. A wait times out with
//! KeyIsLocked (the current lock); a negative wait_timeout answers at once. Both engines.
#![allow(clippy::unwrap_used)]

mod cmd_common;

use std::time::{Duration, Instant};

use cmd_common::*;
use mvcc::Key;
use txn::{Engine, KeyError, TxnStorage, WriteConflictReason};

/// Lets spawned requests reach their wait.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

async fn scenario<E: Engine>(s: &TxnStorage<E>) {
    let k = Key::from_raw(b"k").into_encoded();

    // A (10) locks k; B (20) waits for it.
    s.acquire_pessimistic_lock(lock_req(&[b"k"], b"k", 10, 10), -1)
        .await
        .unwrap();
    let b = {
        let s = s.clone();
        tokio::spawn(async move {
            s.acquire_pessimistic_lock(lock_req(&[b"k"], b"k", 20, 20), 5000)
                .await
        })
    };
    settle().await;
    assert!(!b.is_finished(), "B waits");
    assert_eq!(s.lock_waits().waiters(&k), 1);
    assert_eq!(s.lock_waits().wait_edges(), 1);
    // A commits at 30 > B's for_update_ts 20: B must retry its statement.
    let r = s
        .prewrite(pessimistic_put_req(b"k", 10, 10, &[(b"k", b"v1")]))
        .await
        .unwrap();
    assert!(r.errors.is_empty());
    s.commit(&[b"k".to_vec()], ts(10), ts(30)).await.unwrap();
    let e = key_err(
        tokio::time::timeout(Duration::from_secs(2), b)
            .await
            .unwrap()
            .unwrap()
            .unwrap_err(),
    );
    assert!(matches!(
        e,
        KeyError::WriteConflict { conflict_commit_ts, reason: WriteConflictReason::PessimisticRetry, .. }
            if conflict_commit_ts == ts(30)
    ));
    assert_eq!(s.lock_waits().wait_edges(), 0);

    // A (40) locks k again; B (50) and C (60) queue behind it.
    s.acquire_pessimistic_lock(lock_req(&[b"k"], b"k", 40, 40), -1)
        .await
        .unwrap();
    let spawn = |start: u64| {
        let s = s.clone();
        tokio::spawn(async move {
            s.acquire_pessimistic_lock(lock_req(&[b"k"], b"k", start, start), 5000)
                .await
        })
    };
    let b = spawn(50);
    settle().await;
    let c = spawn(60);
    settle().await;
    assert_eq!(s.lock_waits().waiters(&k), 2);
    // A gives up k: B (first in line) gets the lock; C keeps waiting, now for B.
    assert_eq!(
        s.pessimistic_rollback(&[b"k".to_vec()], ts(40), ts(40))
            .await
            .unwrap(),
        1
    );
    tokio::time::timeout(Duration::from_secs(2), b)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    settle().await;
    assert!(!c.is_finished(), "one release wakes one waiter");
    assert_eq!(s.lock_waits().waiters(&k), 1);
    // B rolls back too: C gets it.
    s.pessimistic_rollback(&[b"k".to_vec()], ts(50), ts(50))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(2), c)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    // Timeout: D waits 100 ms on C's lock, then is told of the lock.
    let start = Instant::now();
    let e = key_err(
        s.acquire_pessimistic_lock(lock_req(&[b"k"], b"k", 70, 70), 100)
            .await
            .unwrap_err(),
    );
    assert!(start.elapsed() >= Duration::from_millis(100));
    assert!(matches!(e, KeyError::KeyIsLocked(l) if l.lock_version == ts(60)));
    assert_eq!(
        s.lock_waits().waiters(&k),
        0,
        "a timed-out waiter leaves the queue"
    );
    assert_eq!(s.lock_waits().wait_edges(), 0);

    // wait_timeout < 0: no wait at all.
    let start = Instant::now();
    let e = key_err(
        s.acquire_pessimistic_lock(lock_req(&[b"k"], b"k", 80, 80), -1)
            .await
            .unwrap_err(),
    );
    assert!(start.elapsed() < Duration::from_millis(100));
    assert!(matches!(e, KeyError::KeyIsLocked(l) if l.lock_version == ts(60)));

    // wait_timeout 0: the default wait (shortened for the test to 150 ms).
    let s2 = s.clone().with_default_lock_wait(Duration::from_millis(150));
    let start = Instant::now();
    assert!(s2
        .acquire_pessimistic_lock(lock_req(&[b"k"], b"k", 90, 90), 0)
        .await
        .is_err());
    assert!(start.elapsed() >= Duration::from_millis(150));

    // An optimistic prewrite is not a waiter: it reports the lock at once.
    let r = s
        .prewrite(put_req(b"k", 95, &[(b"k", b"x")]))
        .await
        .unwrap();
    assert_eq!(r.errors.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_wait_on_memory_engine() {
    scenario(&memory().s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_wait_on_local_engine() {
    let env = local();
    scenario(&env.s).await;
}
