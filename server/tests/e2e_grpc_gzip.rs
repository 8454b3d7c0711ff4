//! gzip on the wire: a client sending gzip-compressed requests and accepting gzip responses
//! is served; so is one that does neither.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use server::proto::kvrpcpb::{self, ApiVersion as PbApi};
use tonic::codec::CompressionEncoding;
use txn::ApiVersion;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_requests_and_responses_are_served() {
    let t = common::TestNode::start(ApiVersion::V1).await;
    let region = t.node.regions()[0].clone();
    let plain = common::grpc::kv_client(t.node.kv_addr()).await;
    let mut gzip = plain
        .clone()
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let value = vec![b'z'; 64 << 10];
    let r = gzip
        .raw_put(kvrpcpb::RawPutRequest {
            context: common::grpc::ctx(&region, PbApi::V1),
            key: b"g".to_vec(),
            value: value.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.error.is_empty() && r.region_error.is_none(), "{r:?}");
    let resp = gzip
        .raw_get(kvrpcpb::RawGetRequest {
            context: common::grpc::ctx(&region, PbApi::V1),
            key: b"g".to_vec(),
            ..Default::default()
        })
        .await
        .unwrap();
    // The server answered in gzip because the client accepts it.
    let encoding = resp
        .metadata()
        .get("grpc-encoding")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert_eq!(resp.into_inner().value, value);
    let mut plain = plain;
    assert_eq!(
        common::grpc::raw_get(&mut plain, &region, b"g").await,
        Some(value)
    );
    t.node.shutdown().await.unwrap();
}
