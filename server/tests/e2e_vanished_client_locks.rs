//! Locks left by a client that vanished after prewrite are resolved by later readers: the
//! reader (unchanged `tikv-client`) checks the primary, rolls the expired transaction back
//! and reads the previous value; a secondary whose primary committed is committed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use server::proto::kvrpcpb::{self, ApiVersion as PbApi};
use tikv_client::Timestamp;
use txn::ApiVersion;

fn mutation(key: &[u8], value: &[u8]) -> kvrpcpb::Mutation {
    kvrpcpb::Mutation {
        op: kvrpcpb::Op::Put as i32,
        key: key.to_vec(),
        value: value.to_vec(),
        ..Default::default()
    }
}

fn version(ts: &Timestamp) -> u64 {
    (u64::try_from(ts.physical).unwrap() << 18) + u64::try_from(ts.logical).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_resolve_locks_of_a_vanished_client() {
    let t = common::TestNode::start(ApiVersion::V1).await;
    let client = t.txn(ApiVersion::V1).await;
    let region = t.node.regions()[0].clone();
    let mut kv = common::grpc::kv_client(t.node.kv_addr()).await;

    let mut w = client.begin_optimistic().await.unwrap();
    w.put(b"a".to_vec(), b"old-a".to_vec()).await.unwrap();
    w.put(b"b".to_vec(), b"old-b".to_vec()).await.unwrap();
    w.commit().await.unwrap();
    // tikv-client commits secondaries in a task of its own after `commit` returns: read `b`
    // once so its lock is committed (by that task or by this read resolving it) before the
    // prewrites below, which would otherwise meet it.
    let mut settle = client.begin_optimistic().await.unwrap();
    assert_eq!(
        settle.get(b"b".to_vec()).await.unwrap(),
        Some(b"old-b".to_vec())
    );
    settle.rollback().await.unwrap();

    // Transaction 1 prewrites a and b with a 100 ms TTL, then its client disappears.
    let start = version(&client.current_timestamp().await.unwrap());
    let r = kv
        .kv_prewrite(kvrpcpb::PrewriteRequest {
            context: common::grpc::ctx(&region, PbApi::V1),
            mutations: vec![mutation(b"a", b"new-a"), mutation(b"b", b"new-b")],
            primary_lock: b"a".to_vec(),
            start_version: start,
            lock_ttl: 100,
            txn_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.errors.is_empty() && r.region_error.is_none(), "{r:?}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    // A reader meets the locks, finds the primary expired, rolls back, reads the old values.
    let mut reader = client.begin_optimistic().await.unwrap();
    assert_eq!(
        reader.get(b"b".to_vec()).await.unwrap(),
        Some(b"old-b".to_vec())
    );
    assert_eq!(
        reader.get(b"a".to_vec()).await.unwrap(),
        Some(b"old-a".to_vec())
    );
    reader.rollback().await.unwrap();

    // Transaction 2 prewrites both, commits only its primary, and vanishes: the reader
    // commits the secondary from the primary's status.
    let start = version(&client.current_timestamp().await.unwrap());
    let r = kv
        .kv_prewrite(kvrpcpb::PrewriteRequest {
            context: common::grpc::ctx(&region, PbApi::V1),
            mutations: vec![mutation(b"a", b"2a"), mutation(b"b", b"2b")],
            primary_lock: b"a".to_vec(),
            start_version: start,
            lock_ttl: 60_000,
            txn_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.errors.is_empty(), "{r:?}");
    let commit = version(&client.current_timestamp().await.unwrap());
    let r = kv
        .kv_commit(kvrpcpb::CommitRequest {
            context: common::grpc::ctx(&region, PbApi::V1),
            start_version: start,
            keys: vec![b"a".to_vec()],
            commit_version: commit,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.error.is_none(), "{r:?}");
    let mut reader = client.begin_optimistic().await.unwrap();
    assert_eq!(
        reader.get(b"b".to_vec()).await.unwrap(),
        Some(b"2b".to_vec())
    );
    reader.rollback().await.unwrap();
    // The lock on b is gone for good: a scan of locks finds nothing.
    let locks = kv
        .kv_scan_lock(kvrpcpb::ScanLockRequest {
            context: common::grpc::ctx(&region, PbApi::V1),
            max_version: u64::MAX,
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(locks.locks.is_empty(), "{locks:?}");
    t.node.shutdown().await.unwrap();
}
