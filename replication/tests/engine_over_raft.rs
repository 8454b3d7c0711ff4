//! The Raft-backed `txn::Engine` on three stores with their Raft threads running: the raw
//! API's concurrent writes through the leader apply on every replica (rounds batch them);
//! a follower refuses with NotLeader naming the leader, as a typed error the server can
//! map.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::threaded::{self, wait_leader};
use mvcc::Snapshot as _;
use replication::{RaftKv, StoreConfig};
use txn::{ApiVersion, RawStorage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_api_over_raft_engine() {
    let region = common::first_region(&[1, 2, 3]);
    let cluster = threaded::start(3, &region, 1, StoreConfig::new, |_| {});
    let kvs = &cluster.kvs;
    let leader = wait_leader(kvs, 1).await;
    let info = kvs[leader].meta().get(1).unwrap();
    let raw = Arc::new(RawStorage::new(
        kvs[leader].region(1, info.region.epoch),
        ApiVersion::V1,
    ));

    let mut tasks = Vec::new();
    for t in 0..8u32 {
        let (mut raw, kvs) = (raw.clone(), kvs.to_vec());
        tasks.push(tokio::spawn(async move {
            for i in 0..25u32 {
                let key = format!("t{t}-{i:02}").into_bytes();
                // Leadership may move while the group settles (a node that saw itself
                // leader of an old term can be found first): a NotLeader answer is retried
                // on the leader found again, as a client would.
                let mut tries = 0;
                while let Err(e) = raw.put(key.clone(), b"v".to_vec(), 0).await {
                    assert!(is_not_leader(&e) && tries < 20, "{e:?}");
                    tries += 1;
                    let leader = wait_leader(&kvs, 1).await;
                    let epoch = kvs[leader].meta().get(1).unwrap().region.epoch;
                    raw = Arc::new(RawStorage::new(
                        kvs[leader].region(1, epoch),
                        ApiVersion::V1,
                    ));
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let leader = wait_leader(kvs, 1).await;
    let info = kvs[leader].meta().get(1).unwrap();
    let raw = RawStorage::new(kvs[leader].region(1, info.region.epoch), ApiVersion::V1);
    assert_eq!(raw.get(b"t7-24").await.unwrap(), Some(b"v".to_vec()));

    // A follower refuses, naming the leader.
    let follower = (leader + 1) % 3;
    let f = RawStorage::new(kvs[follower].region(1, info.region.epoch), ApiVersion::V1);
    let err = f.get(b"t0-00").await.unwrap_err();
    let txn::Error::Engine(e) = err else {
        panic!("{err:?}")
    };
    match e.downcast_ref::<replication::Error>() {
        Some(replication::Error::NotLeader {
            leader: Some(l), ..
        }) => {
            assert_eq!(l.store_id, leader as u64 + 1);
        }
        other => panic!("{other:?}"),
    }

    // Every replica applied every write (followers apply shortly after the leader).
    for kv in kvs {
        let mut seen = 0;
        for _ in 0..500 {
            seen = (0..8u32)
                .flat_map(|t| (0..25u32).map(move |i| format!("t{t}-{i:02}")))
                .filter(|k| local_get(kv, k))
                .count();
            if seen == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(seen, 200);
    }
}

fn is_not_leader(e: &txn::Error) -> bool {
    matches!(e, txn::Error::Engine(e)
        if matches!(e.downcast_ref::<replication::Error>(), Some(replication::Error::NotLeader { .. })))
}

fn local_get(kv: &RaftKv, key: &str) -> bool {
    kv.local_snapshot()
        .get_cf(mvcc::Cf::Raw, key.as_bytes())
        .unwrap()
        .is_some()
}
