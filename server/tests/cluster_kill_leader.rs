//! Scenario: three node processes under write load from tikv-client (raw puts and 1-key
//! optimistic transactions, every key written once); the node leading the region is
//! SIGKILLed; writes resume once the others elect a leader; the killed node restarts on
//! its directory and ports and catches up. Every acknowledged write reads back through the
//! client, and the restarted node's own engine holds every acknowledged raw write (read
//! offline, so it is that replica's data, not a leader's). A write that failed or timed
//! out may or may not be there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cluster;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster::Cluster;
use parking_lot::Mutex;
use tikv_client::{RawClient, TransactionClient};

/// Acknowledged writes per phase before the test moves on.
const PER_PHASE: usize = 60;
/// How long a phase may take to collect its writes (a stuck cluster fails, never a slow one
/// on a busy machine).
const PHASE_LIMIT: Duration = Duration::from_secs(90);

#[derive(Default)]
struct Log {
    /// Acknowledged raw puts: key, value.
    raw: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
    /// Acknowledged 1-key transactions: key, value.
    txn: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
    acked: AtomicUsize,
    /// Acknowledged writes that were sent after the leader was killed.
    acked_after_kill: AtomicUsize,
    failed: AtomicUsize,
    killed: AtomicBool,
    stop: AtomicBool,
}

impl Log {
    fn ack(&self, into: &Mutex<Vec<(Vec<u8>, Vec<u8>)>>, kv: (Vec<u8>, Vec<u8>), after: bool) {
        into.lock().push(kv);
        self.acked.fetch_add(1, Ordering::SeqCst);
        if after {
            self.acked_after_kill.fetch_add(1, Ordering::SeqCst);
        }
    }
}

async fn raw_writer(w: usize, client: RawClient, log: Arc<Log>) {
    let mut seq = 0u64;
    while !log.stop.load(Ordering::SeqCst) {
        let (k, v) = (
            format!("raw-{w}-{seq:06}").into_bytes(),
            format!("value-{w}-{seq}").into_bytes(),
        );
        seq += 1;
        let after = log.killed.load(Ordering::SeqCst);
        match client.put(k.clone(), v.clone()).await {
            Ok(()) => log.ack(&log.raw, (k, v), after),
            Err(_) => {
                log.failed.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn txn_writer(w: usize, client: TransactionClient, log: Arc<Log>) {
    let mut seq = 0u64;
    while !log.stop.load(Ordering::SeqCst) {
        let (k, v) = (
            format!("txn-{w}-{seq:06}").into_bytes(),
            format!("value-{w}-{seq}").into_bytes(),
        );
        seq += 1;
        let after = log.killed.load(Ordering::SeqCst);
        let result = async {
            let mut t = client.begin_optimistic().await?;
            t.put(k.clone(), v.clone()).await?;
            t.commit().await
        }
        .await;
        match result {
            Ok(_) => log.ack(&log.txn, (k, v), after),
            Err(_) => {
                log.failed.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Waits until `count()` reaches `target`.
async fn wait_for(what: &str, target: usize, count: impl Fn() -> usize) {
    let deadline = Instant::now() + PHASE_LIMIT;
    while count() < target {
        assert!(
            Instant::now() < deadline,
            "{what}: {} of {target} within {PHASE_LIMIT:?}",
            count()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_killing_the_leader() {
    let mut c = Cluster::start(3, cluster::FAST_RAFT).await;
    c.wait_replicated(3, 1).await;

    let log = Arc::new(Log::default());
    let mut workers = Vec::new();
    for w in 0..2 {
        workers.push(tokio::spawn(raw_writer(w, c.raw().await, log.clone())));
        workers.push(tokio::spawn(txn_writer(w, c.txn().await, log.clone())));
    }
    let acked = || log.acked.load(Ordering::SeqCst);
    wait_for("writes before the kill", PER_PHASE, acked).await;

    let victim = c.busiest_leader().await;
    log.killed.store(true, Ordering::SeqCst);
    c.kill_node(victim);
    let after = || log.acked_after_kill.load(Ordering::SeqCst);
    wait_for("writes sent after killing the leader", PER_PHASE, after).await;

    c.start_node(victim).await;
    let at_restart = acked();
    wait_for("writes after the restart", at_restart + PER_PHASE, acked).await;
    log.stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }
    c.wait_replicated(3, 1).await;

    // Every acknowledged write reads back through the client.
    let raw_acked = log.raw.lock().clone();
    let txn_acked = log.txn.lock().clone();
    assert!(!raw_acked.is_empty() && !txn_acked.is_empty());
    let raw = c.raw().await;
    for (k, v) in &raw_acked {
        let got = raw.get(k.clone()).await.unwrap();
        assert_eq!(got.as_ref(), Some(v), "{}", String::from_utf8_lossy(k));
    }
    let txn = c.txn().await;
    let mut snap = txn.begin_optimistic().await.unwrap();
    for (k, v) in &txn_acked {
        let got = snap.get(k.clone()).await.unwrap();
        assert_eq!(got.as_ref(), Some(v), "{}", String::from_utf8_lossy(k));
    }
    snap.rollback().await.unwrap();

    // The restarted replica caught up: its own engine holds every acknowledged raw write.
    // It is stopped to be read; if it has not caught up yet it runs a little longer.
    let mut missing = Vec::new();
    for attempt in 1..=10u64 {
        tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
        c.kill_node(victim);
        missing = cluster::offline::missing_raw(&c.nodes[victim].db_dir(), &raw_acked);
        if missing.is_empty() {
            break;
        }
        c.start_node(victim).await;
    }
    assert!(
        missing.is_empty(),
        "the restarted node lacks {} of {} acknowledged raw writes, e.g. {:?}",
        missing.len(),
        raw_acked.len(),
        String::from_utf8_lossy(&missing[0])
    );
    eprintln!(
        "acknowledged {} raw + {} txn writes ({} after the kill), {} failed or timed out",
        raw_acked.len(),
        txn_acked.len(),
        log.acked_after_kill.load(Ordering::SeqCst),
        log.failed.load(Ordering::SeqCst)
    );
}
