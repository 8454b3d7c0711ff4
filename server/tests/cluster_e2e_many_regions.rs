//! Scenario: the single-node end-to-end checks (raw API V1 with TTL, every transaction
//! protocol, the bank invariant — `common/{raw,transactions,bank}.rs`, unchanged) against
//! three node processes whose data was split into dozens of 3-replica regions.
//!
//! Filler data is placed so that region boundaries fall between the keys the checks use:
//! raw filler keys sort right after the *encoded* transactional keys (transactional region
//! keys are memcomparable-encoded in API V1), transactional filler keys right after the raw
//! keys (raw region keys are the keys themselves). Neither kind is visible to the other
//! API's reads, so the checks' expectations stay exact. Raw fillers are themselves valid
//! encoded keys (of `<key>~fillNNN`): a boundary that is not one makes the server refuse
//! region-wide transactional commands (resolve lock, GC) in that region — TiKV does not
//! support mixing raw and transactional data in API V1 either.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cluster;
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster::Cluster;
use tikv_client::KvPair;

/// The harness's fast Raft settings, TTLs for the raw checks, and low split thresholds with
/// quick split checks so a few MiB make dozens of regions.
const CONFIG: &str = "[storage]\nenable-ttl = true\n\
     [coprocessor]\nregion-split-size = \"64KiB\"\nregion-max-size = \"96KiB\"\n\
     region-split-keys = 512\nregion-max-keys = 768\n\
     [raftstore]\nraft-base-tick-interval = \"50ms\"\nraft-election-timeout-ticks = 10\n\
     raft-heartbeat-ticks = 2\npd-heartbeat-tick-interval = \"1s\"\n\
     split-region-check-tick-interval = \"1s\"\n\
     [lsm]\nwrite-buffer-size = \"4MiB\"\nblock-cache-size = \"8MiB\"\n";
const MIN_REGIONS: usize = 24;
const FILL_PER_GAP: usize = 24;
const FILL_VALUE: usize = 1024;

/// The transactional keys of the checks, whose encoded forms raw fillers follow.
fn txn_neighbours() -> Vec<String> {
    let mut keys = Vec::new();
    for name in [
        "optimistic",
        "pessimistic",
        "async",
        "1pc",
        "pessimistic-async",
    ] {
        keys.extend((0..5).map(|i| format!("{name}-{i}")));
    }
    keys.extend((0..20).map(|i| format!("scan{i:02}")));
    keys.extend((0..6).map(|i| format!("acct{i}")));
    keys.push("conflict".into());
    keys
}

/// The raw keys of the checks, which transactional fillers follow. Not among key0010 to
/// key0020: tikv-client 0.4 sends a reverse raw scan to the region of its *lower* bound
/// with the upper bound as the seek key, which TiKV (and Strata) refuse with
/// KeyNotInRegion unless one region holds the whole range; `common/raw.rs` reverse-scans
/// that range.
fn raw_neighbours() -> Vec<String> {
    let mut keys: Vec<String> = (0..50)
        .filter(|i| !(10..20).contains(i))
        .map(|i| format!("key{i:04}"))
        .collect();
    keys.extend(["a", "cas", "ttl"].map(String::from));
    keys
}

fn encoded(key: &str) -> Vec<u8> {
    mvcc::Key::from_raw(key.as_bytes()).into_encoded()
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// How many regions start inside `[from, to)` (region key space): cuts inside the range.
fn cuts_inside(regions: &[serde_json::Value], from: &[u8], to: &[u8]) -> usize {
    regions
        .iter()
        .map(|r| hex_decode(r["start_key"].as_str().unwrap()))
        .filter(|s| s.as_slice() > from && s.as_slice() < to)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn end_to_end_checks_on_three_nodes_with_many_regions() {
    let mut c = Cluster::start(3, CONFIG).await;
    c.wait_replicated(3, 1).await;

    let raw = c.raw().await;
    let txn = Arc::new(c.txn().await);
    let value = vec![b'f'; FILL_VALUE];
    for n in txn_neighbours() {
        let pairs: Vec<KvPair> = (0..FILL_PER_GAP)
            .map(|j| KvPair::new(encoded(&format!("{n}~fill{j:03}")), value.clone()))
            .collect();
        raw.batch_put(pairs).await.unwrap();
    }
    for n in raw_neighbours() {
        let mut t = txn.begin_optimistic().await.unwrap();
        for j in 0..FILL_PER_GAP {
            t.put(format!("{n}~fill{j:03}"), value.clone())
                .await
                .unwrap();
        }
        t.commit().await.unwrap();
    }

    // PD lists the splits as the leaders report them.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let n = c.regions().await.len();
        if n >= MIN_REGIONS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {n} regions after loading the filler"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    c.wait_replicated(3, MIN_REGIONS).await;
    // Every new replica joined as a learner and was promoted: none is left a learner.
    c.assert_voters_only(3).await;
    let regions = c.regions().await;
    // The checks' key ranges are cut into several regions, so they cross boundaries.
    let raw_cuts = cuts_inside(&regions, b"key0000", b"key0050");
    let txn_cuts = cuts_inside(&regions, &encoded("acct0"), &encoded("acct5"))
        + cuts_inside(&regions, &encoded("scan00"), &encoded("scan20"));
    eprintln!(
        "{} regions; {raw_cuts} cuts among the raw keys, {txn_cuts} among the bank and scan keys",
        regions.len()
    );
    assert!(raw_cuts >= 1 && txn_cuts >= 1, "{regions:#?}");

    common::raw::run(&raw).await;
    common::transactions::run(&txn).await;
    common::bank::run(txn.clone()).await;
}
