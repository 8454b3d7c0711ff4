//! A one-replica region (a single node's) leads as soon as its store opens — no election
//! timeout — so a single node serves at once; a write through it survives a stop and a
//! reopen (replayed from the Raft log), and `StoreHandle::stop` ends the Raft thread even
//! while other handles (a transport's, the node's) still exist.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mvcc::{Cf, Modify, Snapshot as _};
use replication::transport::ChannelNetwork;
use replication::{Engines, KeySpace, RaftKv, Request, SnapManager, Store, StoreConfig};

fn open(dir: &std::path::Path, bootstrap: bool) -> Store {
    let db = Arc::new(lsm::Db::open(dir.join("db"), lsm::Options::default()).unwrap());
    let engines = Engines::new(db, KeySpace::default()).unwrap();
    if bootstrap {
        Store::bootstrap_region(&engines, &common::first_region(&[1])).unwrap();
    }
    Store::open(
        StoreConfig::new(1),
        engines,
        SnapManager::new(dir.join("snap")),
        Arc::new(ChannelNetwork::new(1)),
        replication::tracing_logger(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sole_replica_leads_at_once_and_stops_on_request() {
    let dir = tempfile::tempdir().unwrap();
    // A tick of an hour: only the immediate campaign can elect within the test.
    let hour = Duration::from_secs(3600);
    for round in 0..2 {
        let store = open(dir.path(), round == 0);
        let meta = store.meta();
        let kv = store.engines().kv.clone();
        let (handle, thread) = replication::spawn(store, hour).unwrap();
        let raft = RaftKv::new(handle.clone(), meta.clone(), kv, Duration::from_secs(10));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !meta.get(1).is_some_and(|i| i.is_leader()) {
            assert!(
                Instant::now() < deadline,
                "no leader without an election timeout"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let epoch = meta.get(1).unwrap().region.epoch;
        if round == 0 {
            let put = Modify::Put {
                cf: Cf::Raw,
                key: b"k".to_vec(),
                value: b"v".to_vec(),
            };
            raft.propose(1, epoch, Request::Write(vec![put]))
                .await
                .unwrap();
        }
        let snap = raft.read(1, epoch).await.unwrap();
        assert_eq!(
            snap.get_cf(Cf::Raw, b"k").unwrap().as_deref(),
            Some(&b"v"[..])
        );
        // `raft` and `handle` still hold the inbox open: only the stop message ends it.
        handle.stop();
        tokio::task::spawn_blocking(move || thread.join().unwrap())
            .await
            .unwrap();
        assert!(matches!(
            raft.read(1, epoch).await,
            Err(replication::Error::Stopped)
        ));
    }
}
