//! Scenario: a pessimistic transaction's lock is removed behind its back (its TTL ran out
//! and a resolver unlocked it without a trace), another transaction commits the key, and the
//! first reads the key for update again and writes it (or, read-only, reads another key). Locking the key a second time would
//! succeed at a newer for_update_ts and hide the commit in between (a lost update); the
//! test client locks a key once per transaction, so the missing lock surfaces at prewrite
//! and the transaction aborts. The write in between survives.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cmd_common;

use std::sync::Arc;

use mvcc::TimeStamp;
use txn::actions::check_txn_status::{CheckTxnStatusArgs, TxnStatus};
use txn::testing::{Client, ClientConfig, ClientError, Flavour, Oracle, Protocol};
use txn::{Engine, KeyError, TxnStorage};

/// What a resolver does to a pessimistic primary whose TTL ran out: unlocks it, leaving no
/// record.
async fn unlock_behind_its_back<E: Engine>(
    client: &Client<E>,
    primary: &[u8],
    start_ts: TimeStamp,
) {
    let far_future = client.oracle().now().physical() + 3_600_000;
    let status = client
        .storage()
        .check_txn_status(
            primary,
            CheckTxnStatusArgs {
                lock_ts: start_ts,
                caller_start_ts: client.oracle().now(),
                current_ts: TimeStamp::compose(far_future, 0),
                rollback_if_not_exist: false,
                force_sync_commit: false,
                resolving_pessimistic_lock: true,
                verify_is_primary: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(status, TxnStatus::PessimisticRollBack);
}

fn assert_lock_not_found(outcome: Result<Option<TimeStamp>, ClientError>) {
    match outcome {
        Err(ClientError::Aborted(e)) => assert!(
            matches!(*e, KeyError::PessimisticLockNotFound { .. }),
            "{e:?}"
        ),
        other => panic!("the transaction must abort, got {other:?}"),
    }
}

async fn scenario<E: Engine>(storage: TxnStorage<E>) {
    let client = Client::new(storage, Arc::new(Oracle::new()), ClientConfig::default());
    let pessimistic = Flavour::new(true, Protocol::TwoPc);

    let mut seed = client.begin(Flavour::new(false, Protocol::TwoPc));
    seed.put(b"k", b"0");
    seed.commit().await.unwrap();

    let mut t1 = client.begin(pessimistic);
    assert_eq!(
        t1.get_for_update(&[b"k".to_vec()]).await.unwrap(),
        vec![Some(b"0".to_vec())]
    );

    unlock_behind_its_back(&client, b"k", t1.start_ts()).await;

    let mut t2 = client.begin(pessimistic);
    t2.get_for_update(&[b"k".to_vec()]).await.unwrap();
    t2.put(b"k", b"t2");
    t2.commit().await.unwrap();

    // t1 reads for update again: the answer is its first locked read, not a new lock.
    assert_eq!(
        t1.get_for_update(&[b"k".to_vec()]).await.unwrap(),
        vec![Some(b"0".to_vec())]
    );
    t1.put(b"k", b"t1");
    assert_lock_not_found(t1.commit().await);
    let mut reader = client.begin(Flavour::new(false, Protocol::TwoPc));
    assert_eq!(reader.get(b"k").await.unwrap(), Some(b"t2".to_vec()));
}

/// A read-only pessimistic transaction whose first lock was lost: its two reads for update
/// come from different points in time, so it must not commit (its locks are prewritten as
/// Lock records, which finds the loss).
async fn read_only_scenario<E: Engine>(storage: TxnStorage<E>) {
    let client = Client::new(storage, Arc::new(Oracle::new()), ClientConfig::default());
    let pessimistic = Flavour::new(true, Protocol::OnePc);
    let mut seed = client.begin(Flavour::new(false, Protocol::TwoPc));
    seed.put(b"a", b"0");
    seed.put(b"b", b"0");
    seed.commit().await.unwrap();

    let mut t1 = client.begin(pessimistic);
    t1.get_for_update(&[b"a".to_vec()]).await.unwrap();
    unlock_behind_its_back(&client, b"a", t1.start_ts()).await;
    let mut t2 = client.begin(Flavour::new(false, Protocol::TwoPc));
    t2.put(b"a", b"1");
    t2.put(b"b", b"1");
    t2.commit().await.unwrap();
    assert_eq!(
        t1.get_for_update(&[b"b".to_vec()]).await.unwrap(),
        vec![Some(b"1".to_vec())],
        "b is locked (and read) only now"
    );
    assert_lock_not_found(t1.commit().await);
}

#[tokio::test]
async fn a_read_only_transaction_with_a_lost_lock_aborts() {
    let memory = cmd_common::memory();
    read_only_scenario(memory.s.clone()).await;
    let local = cmd_common::local();
    read_only_scenario(local.s.clone()).await;
}

#[tokio::test]
async fn a_lost_pessimistic_lock_aborts_instead_of_losing_an_update() {
    let memory = cmd_common::memory();
    scenario(memory.s.clone()).await;
    let local = cmd_common::local();
    scenario(local.s.clone()).await;
}
