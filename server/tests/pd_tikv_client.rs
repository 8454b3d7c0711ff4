//! Scenario: the unchanged `tikv-client` 0.4 connects to PD (GetMembers, LoadKeyspace) and
//! takes timestamps through its batching TSO stream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pd_common;

use pd_common::Pd;
use tikv_client::{Config, TimestampExt, TransactionClient};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tikv_client_gets_increasing_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let pd = Pd::start(dir.path()).await;
    let endpoint = pd.addr.to_string();

    let client = TransactionClient::new_with_config(
        vec![endpoint.clone()],
        Config::default().with_default_keyspace(),
    )
    .await
    .unwrap();
    let mut last = client.current_timestamp().await.unwrap().version();
    for _ in 0..50 {
        let ts = client.current_timestamp().await.unwrap().version();
        assert!(ts > last);
        last = ts;
    }

    let unknown = TransactionClient::new_with_config(
        vec![endpoint],
        Config::default().with_keyspace("no-such-keyspace"),
    )
    .await;
    assert!(unknown.is_err());
    drop(client);
    pd.stop().await;
}
