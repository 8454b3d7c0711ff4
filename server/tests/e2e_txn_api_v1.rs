//! Transactions through the unchanged `tikv-client` against a node in API V1: every commit
//! protocol, conflicts, scans; the commands show in the scheduler metrics.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use txn::ApiVersion;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transactions_through_tikv_client_api_v1() {
    let t = common::TestNode::start(ApiVersion::V1).await;
    let client = t.txn(ApiVersion::V1).await;
    common::transactions::run(&client).await;
    // The commands were timed in the transaction layer under TiKV's scheduler labels.
    let metrics = t.node.metrics().render().unwrap();
    for label in ["prewrite", "commit", "acquire_pessimistic_lock", "get"] {
        let count = format!("tikv_scheduler_command_duration_seconds_count{{type=\"{label}\"}}");
        assert!(metrics.contains(&count), "no {count} in\n{metrics}");
    }
    t.node.shutdown().await.unwrap();
}
