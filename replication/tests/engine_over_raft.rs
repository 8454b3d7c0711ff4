//! The Raft-backed `txn::Engine` on three stores with their Raft threads running: the raw
//! API's concurrent writes through the leader apply on every replica (rounds batch them);
//! a follower refuses with NotLeader naming the leader, as a typed error the server can
//! map.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use mvcc::Snapshot as _;
use replication::transport::ChannelNetwork;
use replication::{Engines, KeySpace, RaftKv, SnapManager, Store, StoreConfig, StoreMsg};
use txn::{ApiVersion, RawStorage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_api_over_raft_engine() {
    let net = ChannelNetwork::new(1);
    let region = common::first_region(&[1, 2, 3]);
    let mut kvs = Vec::new();
    let mut dirs = Vec::new();
    for id in 1..=3u64 {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(lsm::Db::open(dir.path().join("db"), lsm::Options::default()).unwrap());
        let engines = Engines::new(db, KeySpace::default()).unwrap();
        Store::bootstrap_region(&engines, &region).unwrap();
        let snaps = SnapManager::new(dir.path().join("snap"));
        let store = Store::open(
            StoreConfig::new(id),
            engines,
            snaps.clone(),
            Arc::new(net.clone()),
            replication::tracing_logger(),
        )
        .unwrap();
        let meta = store.meta();
        let lsm_kv = store.engines().kv.clone();
        let (handle, _thread) = replication::spawn(store, Duration::from_millis(10)).unwrap();
        let h = handle.clone();
        net.register(
            id,
            snaps,
            Arc::new(move |m| {
                let _ = h.send(StoreMsg::Raft(Box::new(m)));
            }),
        );
        kvs.push(RaftKv::new(handle, meta, lsm_kv, Duration::from_secs(10)));
        dirs.push(dir);
    }
    let leader = wait_leader(&kvs).await;
    let info = kvs[leader].meta().get(1).unwrap();
    let raw = Arc::new(RawStorage::new(
        kvs[leader].region(1, info.region.epoch),
        ApiVersion::V1,
    ));

    let mut tasks = Vec::new();
    for t in 0..8u32 {
        let raw = raw.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25u32 {
                raw.put(format!("t{t}-{i:02}").into_bytes(), b"v".to_vec(), 0)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
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
    for kv in &kvs {
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

fn local_get(kv: &RaftKv, key: &str) -> bool {
    kv.local_snapshot()
        .get_cf(mvcc::Cf::Raw, key.as_bytes())
        .unwrap()
        .is_some()
}

async fn wait_leader(kvs: &[RaftKv]) -> usize {
    for _ in 0..1000 {
        if let Some(i) = kvs
            .iter()
            .position(|kv| kv.meta().get(1).is_some_and(|r| r.is_leader()))
        {
            return i;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no leader");
}
