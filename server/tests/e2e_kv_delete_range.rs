//! KvDeleteRange over gRPC: a bounded range removes exactly its keys; an empty end on the
//! last region (whose end is unbounded) removes everything from the start key on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use server::proto::kvrpcpb::{self, ApiVersion as PbApi};
use txn::ApiVersion;

fn k(i: u32) -> Vec<u8> {
    format!("k{i:03}").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kv_delete_range_bounded_and_to_the_end() {
    let t = common::TestNode::start(ApiVersion::V1).await;
    let client = t.txn(ApiVersion::V1).await;
    let mut txn = client.begin_optimistic().await.unwrap();
    for i in 0..100 {
        txn.put(k(i), vec![1]).await.unwrap();
    }
    txn.commit().await.unwrap();
    // The client commits secondaries in the background; KvDeleteRange takes no latches
    // (TiKV's callers only use it on ranges nobody writes to), so wait until a read sees
    // every key committed (reading resolves the remaining locks).
    assert_eq!(scan_all(&client).await.len(), 100);

    let region = t.node.regions()[0].clone();
    let mut kv = common::grpc::kv_client(t.node.kv_addr()).await;
    let mut delete = async |start: Vec<u8>, end: Vec<u8>| {
        let resp = kv
            .kv_delete_range(kvrpcpb::DeleteRangeRequest {
                context: common::grpc::ctx(&region, PbApi::V1),
                start_key: start,
                end_key: end,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            resp.region_error.is_none() && resp.error.is_empty(),
            "{resp:?}"
        );
    };
    delete(k(10), k(20)).await;
    delete(k(90), vec![]).await;

    let want: Vec<Vec<u8>> = (0..10).chain(20..90).map(k).collect();
    assert_eq!(scan_all(&client).await, want);
    t.node.shutdown().await.unwrap();
}

async fn scan_all(client: &tikv_client::TransactionClient) -> Vec<Vec<u8>> {
    let mut snap = client.snapshot(
        client.current_timestamp().await.unwrap(),
        tikv_client::TransactionOptions::new_optimistic(),
    );
    snap.scan_keys(k(0)..k(999), 1000)
        .await
        .unwrap()
        .map(Vec::<u8>::from)
        .collect()
}
