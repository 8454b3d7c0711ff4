//! Transactions through the unchanged `tikv-client` against a node in API V2: every commit
//! protocol, conflicts, scans.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use txn::ApiVersion;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transactions_through_tikv_client_api_v2() {
    let t = common::TestNode::start(ApiVersion::V2).await;
    let client = t.txn(ApiVersion::V2).await;
    common::transactions::run(&client).await;
    t.node.shutdown().await.unwrap();
}
