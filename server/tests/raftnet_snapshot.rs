//! A store that joins late gets its data by a snapshot streamed over gRPC: a one-replica
//! region takes writes (its log compacted eagerly), then a peer on a second store is added;
//! the new peer starts empty below the leader's log, so only a snapshot can bring it up,
//! and the snapshot's files are larger than one chunk (small chunks set here). Afterwards
//! it follows by log.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod raftnet_common;

use raftnet_common::{eventually, leader, region, TestStore};
use replication::{ConfChangeType, Peer, StoreConfig, StoreMsg};
use server::raftnet::{StaticAddrs, TransportConfig};
use txn::{ApiVersion, RawStorage};

const CHUNK: usize = 4096;

fn eager_gc(store_id: u64) -> StoreConfig {
    let mut cfg = StoreConfig::new(store_id);
    cfg.log_gc_tick_interval = 1;
    cfg.log_gc_threshold = 5;
    cfg.log_gc_count_limit = 20;
    cfg
}

/// Bytes of the generated snapshot files of region 1 on `store`.
fn generated_bytes(store: &TestStore) -> u64 {
    let gen = store.dir.path().join("snap").join("gen");
    let mut total = 0;
    for dir in std::fs::read_dir(gen).unwrap() {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            total += f.unwrap().metadata().unwrap().len();
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_peer_catches_up_by_a_streamed_snapshot() {
    let addrs = StaticAddrs::new();
    let transport = TransportConfig {
        snapshot_chunk: CHUNK,
        ..TransportConfig::default()
    };
    let first = TestStore::start(
        1,
        Some(&region(&[1])),
        &addrs,
        eager_gc(1),
        transport.clone(),
    )
    .await;
    let late = TestStore::start(2, None, &addrs, eager_gc(2), transport).await;
    let stores = vec![first, late];
    assert_eq!(leader(&stores).await, 0);

    let epoch = stores[0].kv().meta().get(1).unwrap().region.epoch;
    let raw = RawStorage::new(stores[0].kv().region(1, epoch), ApiVersion::V1);
    // Incompressible values (the tables compress), so the files span several chunks.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..200u32 {
        let value: Vec<u8> = (0..200)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        raw.put(format!("k{i:03}").into_bytes(), value, 0)
            .await
            .unwrap();
    }

    let new_peer = Peer::new(102, 2);
    stores[0]
        .kv()
        .call(1, |cb| StoreMsg::ChangePeer {
            region_id: 1,
            epoch,
            change: ConfChangeType::AddNode,
            peer: new_peer,
            cb,
        })
        .await
        .unwrap();

    eventually("the late store holds every key", || {
        stores[1].kv().meta().get(1).is_some()
            && (0..200u32).all(|i| stores[1].has(format!("k{i:03}").as_bytes()))
    })
    .await;
    let region = stores[1].kv().meta().get(1).unwrap().region;
    assert_eq!(region.peers.len(), 2);
    let sent = generated_bytes(&stores[0]);
    assert!(
        sent > 2 * CHUNK as u64,
        "the snapshot spans several chunks ({sent} bytes)"
    );
    // Applied, the received files are gone; nothing is left staged or held. The sender
    // drops its held copy when the stream's reply arrives, which may be just after the
    // receiver applied, so this settles eventually rather than at once.
    eventually("no snapshot files left staged or held", || {
        stores.iter().all(|s| {
            let snap = s.dir.path().join("snap");
            ["recv", "send"]
                .iter()
                .all(|sub| std::fs::read_dir(snap.join(sub)).map_or(0, |d| d.count()) == 0)
        })
    })
    .await;

    // And it follows by log from here.
    let epoch = stores[0].kv().meta().get(1).unwrap().region.epoch;
    let raw = RawStorage::new(stores[0].kv().region(1, epoch), ApiVersion::V1);
    raw.put(b"after".to_vec(), b"1".to_vec(), 0).await.unwrap();
    eventually("the new peer applies a later write", || {
        stores[1].has(b"after")
    })
    .await;
}
