//! The seam the node uses, with the Raft threads running: raw writes through `RaftKv` make
//! the leader's split-check worker call the store's observer; the test plays the node (ids
//! as PD would hand them out) and calls `RaftKv::split`, which answers with the regions the
//! split made — what the node reports to PD. Those regions serve their keys under the
//! returned epoch; the old epoch is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::threaded::{self, wait_leader};
use replication::{SplitConfig, SplitRequest, SplitSuggestion, StoreConfig};
use tokio::sync::mpsc;
use txn::{ApiVersion, RawStorage};

fn config(store_id: u64) -> StoreConfig {
    let mut c = StoreConfig::new(store_id);
    c.split_check_tick_interval = 1;
    c.split = SplitConfig {
        region_max_size: 8 << 10,
        region_split_size: 4 << 10,
        region_max_keys: u64::MAX,
        region_split_keys: u64::MAX,
        batch_split_limit: 10,
        split_check_diff: 1,
    };
    c
}

fn key(i: usize) -> Vec<u8> {
    format!("key-{i:03}").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggestion_to_raft_kv_split_returns_the_new_regions() {
    let region = common::first_region(&[1, 2, 3]);
    let (tx, mut suggestions) = mpsc::unbounded_channel::<SplitSuggestion>();
    let cluster = threaded::start(3, &region, 7, config, |store| {
        let tx = tx.clone();
        store
            .set_split_observer(Box::new(move |s| {
                let _ = tx.send(s);
            }))
            .unwrap();
    });
    let kvs = &cluster.kvs;
    let leader = wait_leader(kvs, 1).await;
    let old = kvs[leader].meta().get(1).unwrap().region.epoch;
    let raw = RawStorage::new(kvs[leader].region(1, old), ApiVersion::V1);
    for i in 0..60 {
        raw.put(key(i), vec![b'v'; 200], 0).await.unwrap();
    }

    let s = tokio::time::timeout(Duration::from_secs(60), suggestions.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((s.region_id, s.epoch), (1, old));
    assert!(!s.split_keys.is_empty());
    let splits: Vec<SplitRequest> = s
        .split_keys
        .iter()
        .enumerate()
        .map(|(n, k)| SplitRequest {
            split_key: k.clone(),
            new_region_id: 10 + n as u64,
            new_peer_ids: (1..=3).map(|st| (10 + n as u64) * 10 + st).collect(),
        })
        .collect();
    let regions = kvs[leader].split(1, s.epoch, splits.clone()).await.unwrap();

    let ids: Vec<u64> = regions.iter().map(|r| r.id).collect();
    let mut expected_ids = vec![1];
    expected_ids.extend(splits.iter().map(|s| s.new_region_id));
    assert_eq!(ids, expected_ids);
    assert!(regions[0].start_key.is_empty() && regions.last().unwrap().end_key.is_empty());
    for (w, cut) in regions.windows(2).zip(&s.split_keys) {
        assert_eq!((&w[0].end_key, &w[1].start_key), (cut, cut));
    }
    let n = splits.len() as u64;
    assert!(regions.iter().all(|r| r.epoch.version == old.version + n));

    // Every region serves its keys under the returned epoch.
    for r in &regions {
        let at = wait_leader(kvs, r.id).await;
        let raw = RawStorage::new(kvs[at].region(r.id, r.epoch), ApiVersion::V1);
        let inside: Vec<usize> = (0..60).filter(|&i| r.contains(&key(i))).collect();
        assert!(!inside.is_empty(), "region {} holds no key", r.id);
        for i in inside {
            assert_eq!(raw.get(&key(i)).await.unwrap(), Some(vec![b'v'; 200]));
        }
    }
    // The old epoch is refused: for writes, and for the same split again.
    let stale = RawStorage::new(kvs[leader].region(1, old), ApiVersion::V1);
    let err = stale
        .put(b"key-000".to_vec(), b"x".to_vec(), 0)
        .await
        .unwrap_err();
    let txn::Error::Engine(e) = err else {
        panic!("{err:?}")
    };
    assert!(matches!(
        e.downcast_ref::<replication::Error>(),
        Some(replication::Error::EpochNotMatch { .. })
    ));
    assert!(matches!(
        kvs[leader].split(1, old, splits).await,
        Err(replication::Error::EpochNotMatch { .. })
    ));
}
