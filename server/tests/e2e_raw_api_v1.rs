//! Raw KV through the unchanged `tikv-client` against a node in API V1 (with TTL).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use txn::ApiVersion;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn raw_api_through_tikv_client_v1_ttl() {
    let t = common::TestNode::start(ApiVersion::V1Ttl).await;
    let client = t.raw(ApiVersion::V1Ttl).await;
    common::raw::run(&client).await;
    t.node.shutdown().await.unwrap();
}
