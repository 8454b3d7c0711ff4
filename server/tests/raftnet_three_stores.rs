//! Three Raft stores connected only by the gRPC transport on loopback: a 3-peer region
//! elects a leader, the raw API's writes through it reach every replica, and when the
//! leader's store stops (server and Raft thread), the other two elect a new leader and
//! take writes that reach the surviving follower.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod raftnet_common;

use raftnet_common::{eventually, leader, region, TestStore};
use replication::StoreConfig;
use server::raftnet::{StaticAddrs, TransportConfig};
use txn::{ApiVersion, RawStorage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_replicate_over_grpc_and_survive_the_leader_stopping() {
    let addrs = StaticAddrs::new();
    let r = region(&[1, 2, 3]);
    let mut stores = Vec::new();
    for id in 1..=3 {
        let s = TestStore::start(
            id,
            Some(&r),
            &addrs,
            StoreConfig::new(id),
            TransportConfig::default(),
        )
        .await;
        stores.push(s);
    }

    let first = leader(&stores).await;
    let epoch = stores[first].kv().meta().get(1).unwrap().region.epoch;
    let raw = RawStorage::new(stores[first].kv().region(1, epoch), ApiVersion::V1);
    for i in 0..50u32 {
        raw.put(format!("k{i:02}").into_bytes(), b"v1".to_vec(), 0)
            .await
            .unwrap();
    }
    assert_eq!(raw.get(b"k49").await.unwrap(), Some(b"v1".to_vec()));
    for s in &stores {
        eventually(&format!("store {} applies every write", s.id), || {
            (0..50u32).all(|i| s.has(format!("k{i:02}").as_bytes()))
        })
        .await;
    }

    // The leader goes away; the other two go on.
    drop(raw);
    let old = stores[first].id;
    stores[first].stop().await;
    let survivors: Vec<TestStore> = stores.into_iter().filter(|s| s.id != old).collect();
    let next = leader(&survivors).await;
    let epoch = survivors[next].kv().meta().get(1).unwrap().region.epoch;
    let raw = RawStorage::new(survivors[next].kv().region(1, epoch), ApiVersion::V1);
    for i in 0..20u32 {
        raw.put(format!("after{i:02}").into_bytes(), b"v2".to_vec(), 0)
            .await
            .unwrap();
    }
    assert_eq!(raw.get(b"k00").await.unwrap(), Some(b"v1".to_vec()));
    let follower = &survivors[1 - next];
    eventually("the surviving follower applies the new writes", || {
        (0..20u32).all(|i| follower.has(format!("after{i:02}").as_bytes()))
    })
    .await;
}
