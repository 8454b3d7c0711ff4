//! After splits, the unchanged client follows the regions (EpochNotMatch → PD → retry), and
//! a scan sent to one region stops at its end even when the request's range goes further.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use server::proto::kvrpcpb::{self, ApiVersion as PbApi};
use tikv_client::KvPair;
use txn::ApiVersion;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_follow_splits_and_scans_stop_at_the_region_end() {
    let t = common::TestNode::start(ApiVersion::V1).await;
    let raw = t.raw(ApiVersion::V1).await;
    let pairs: Vec<KvPair> = (0..100u32)
        .map(|i| KvPair::new(format!("k{i:03}").into_bytes(), vec![1]))
        .collect();
    raw.batch_put(pairs).await.unwrap();
    let old = t.node.regions()[0].clone();

    // Raw V1 regions are cut at raw keys.
    let (left, right) = t.node.split_region(b"k050").await.unwrap();
    assert_eq!(left.end_key, b"k050");
    assert_eq!(right.start_key, b"k050");
    let (_, right2) = t.node.split_region(b"k075").await.unwrap();
    assert_eq!(t.node.regions().len(), 3);

    // The client's cached region is stale: it learns the new ones and still sees everything.
    // (A limit the data fills: see common/raw.rs on tikv-client 0.4's last-region loop.)
    let all = raw
        .scan(b"k000".to_vec()..b"k999".to_vec(), 100)
        .await
        .unwrap();
    let keys: Vec<Vec<u8>> = all.iter().map(|p| p.key().clone().into()).collect();
    let want: Vec<Vec<u8>> = (0..100u32)
        .map(|i| format!("k{i:03}").into_bytes())
        .collect();
    assert_eq!(keys, want);
    assert_eq!(raw.get(b"k080".to_vec()).await.unwrap(), Some(vec![1]));

    // A request with the old epoch is refused with the current regions.
    let mut kv = common::grpc::kv_client(t.node.kv_addr()).await;
    let r = kv
        .raw_get(kvrpcpb::RawGetRequest {
            context: common::grpc::ctx(&old, PbApi::V1),
            key: b"k060".to_vec(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.region_error.unwrap().epoch_not_match.is_some());

    // A scan on the middle region with a range reaching past its end stops at the end.
    let middle = t
        .node
        .regions()
        .into_iter()
        .find(|r| r.start_key == b"k050")
        .unwrap();
    assert_eq!(middle.end_key, right2.start_key);
    let r = kv
        .raw_scan(kvrpcpb::RawScanRequest {
            context: common::grpc::ctx(&middle, PbApi::V1),
            start_key: b"k050".to_vec(),
            end_key: b"k999".to_vec(),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.kvs.len(), 25, "{:?}", r.kvs.last().map(|p| &p.key));
    // A key outside the region is refused.
    let r = kv
        .raw_get(kvrpcpb::RawGetRequest {
            context: common::grpc::ctx(&middle, PbApi::V1),
            key: b"k010".to_vec(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.region_error.unwrap().key_not_in_region.is_some());
    t.node.shutdown().await.unwrap();
}
