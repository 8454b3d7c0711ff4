//! Concurrent bank transfers through the unchanged client: optimistic and pessimistic
//! transactions move money between accounts, retrying on conflicts; the total never
//! changes and no balance goes negative (the scenario is `common/bank.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use txn::ApiVersion;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transfers_conserve_the_total() {
    let t = common::TestNode::start(ApiVersion::V1).await;
    let client = Arc::new(t.txn(ApiVersion::V1).await);
    common::bank::run(client).await;
    t.node.shutdown().await.unwrap();
}
