//! Raw KV through the unchanged `tikv-client` against a node in API V2 (the client's default
//! keyspace: keys travel with the `r` + keyspace prefix, regions are looked up encoded).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use txn::ApiVersion;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn raw_api_through_tikv_client_v2() {
    let t = common::TestNode::start(ApiVersion::V2).await;
    let client = t.raw(ApiVersion::V2).await;
    common::raw::run(&client).await;
    t.node.shutdown().await.unwrap();
}
