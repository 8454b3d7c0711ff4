//! Restart: write through the client, SIGKILL the server process, start it again on the
//! same directory and ports, and read back everything that was acknowledged; PD's
//! timestamps never go backwards across the restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tikv_client::{Config, KvPair, RawClient, Timestamp, TransactionClient};

#[path = "cluster/ports.rs"]
mod ports;

fn free_port() -> u16 {
    ports::free_addr().port()
}

fn spawn(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_strata-server"))
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn version(ts: &Timestamp) -> u64 {
    (u64::try_from(ts.physical).unwrap() << 18) + u64::try_from(ts.logical).unwrap()
}

/// Clients, once the server answers (it may still be starting).
async fn connect(pd: &str) -> (RawClient, TransactionClient) {
    let config = Config::default().with_timeout(Duration::from_secs(5));
    for _ in 0..100 {
        if let (Ok(raw), Ok(txn)) = (
            RawClient::new_with_config(vec![pd], config.clone()).await,
            TransactionClient::new_with_config(vec![pd], config.clone()).await,
        ) {
            if raw.get(b"probe".to_vec()).await.is_ok() {
                return (raw, txn);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server at {pd} did not come up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill_and_tso_never_goes_back() {
    let dir = tempfile::tempdir().unwrap();
    let (pd_port, kv_port, status_port) = (free_port(), free_port(), free_port());
    let config = dir.path().join("strata.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\naddr = \"127.0.0.1:{kv_port}\"\nstatus-addr = \"127.0.0.1:{status_port}\"\n\
             [storage]\ndata-dir = {:?}\n[pd]\nendpoints = [\"127.0.0.1:{pd_port}\"]\n",
            dir.path().join("data")
        ),
    )
    .unwrap();
    let pd = format!("127.0.0.1:{pd_port}");

    let mut child = spawn(&config);
    let (raw, txn) = connect(&pd).await;
    let pairs: Vec<KvPair> = (0..200u32)
        .map(|i| KvPair::new(format!("raw{i:03}").into_bytes(), vec![i as u8]))
        .collect();
    raw.batch_put(pairs).await.unwrap();
    for i in 0..20u32 {
        let mut t = txn.begin_optimistic().await.unwrap();
        t.put(format!("txn{i:02}").into_bytes(), vec![i as u8])
            .await
            .unwrap();
        t.commit().await.unwrap();
    }
    let before = version(&txn.current_timestamp().await.unwrap());
    child.kill().unwrap(); // SIGKILL: no shutdown path runs.
    child.wait().unwrap();
    drop((raw, txn));

    let mut child = spawn(&config);
    let (raw, txn) = connect(&pd).await;
    let after = version(&txn.current_timestamp().await.unwrap());
    assert!(after > before, "TSO went back: {after} after {before}");
    for i in 0..200u32 {
        let got = raw.get(format!("raw{i:03}").into_bytes()).await.unwrap();
        assert_eq!(got, Some(vec![i as u8]), "raw{i:03}");
    }
    let mut r = txn.begin_optimistic().await.unwrap();
    for i in 0..20u32 {
        let got = r.get(format!("txn{i:02}").into_bytes()).await.unwrap();
        assert_eq!(got, Some(vec![i as u8]), "txn{i:02}");
    }
    r.rollback().await.unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
}
