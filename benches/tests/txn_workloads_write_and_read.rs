//! `strata-bench txn`'s workloads, each tiny, on both engines: after the preload every key
//! reads back; after each write workload the last committed transaction's values read back
//! at a later ts (and not before its commit ts), every transaction counted has ended and no
//! lock is left; the read workloads find every key. A small key space makes 10- and 100-key
//! transactions conflict, so the retry paths run too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use mvcc::{LsmEngine, TimeStamp};
use strata_benches::txn::client::KeySpace;
use strata_benches::txn::workload::{parse_workloads, DEFAULT_WORKLOADS};
use strata_benches::txn::{BenchConfig, TxnBench};
use strata_benches::workload::make_key;
use txn::{ConcurrencyManager, Engine, LocalEngine, MemoryEngine, ReadOptions, TxnStorage};

const KEYS: u64 = 2000;
const TXNS: u64 = 20;

fn config() -> BenchConfig {
    BenchConfig {
        space: KeySpace {
            keys: KEYS,
            key_size: 16,
            value_size: 100,
        },
        threads: 4,
        duration: None,
        txns: Some(TXNS),
        seed: 7,
        progress: false,
    }
}

async fn scenario<E: Engine>(storage: TxnStorage<E>) {
    let bench = TxnBench::new(storage, config());
    let s = bench.storage();
    let preload = bench.preload().await.unwrap();
    assert_eq!(preload.txns, KEYS.div_ceil(100));
    let read_ts = bench.oracle().now();
    let mut key = Vec::new();
    for n in 0..KEYS {
        make_key(n, 16, &mut key);
        let value = s.get(&key, read_ts, ReadOptions::default()).await.unwrap();
        assert_eq!(
            value.map(|v| v.len()),
            Some(100),
            "key {n} after the preload"
        );
    }

    for workload in parse_workloads(DEFAULT_WORKLOADS).unwrap() {
        let r = bench.run(workload).await.unwrap();
        // Every transaction handed out ended: committed (or answered), or aborted.
        assert_eq!(r.txns + r.aborted, TXNS, "{workload}");
        assert!(r.txns > 0, "{workload}");
        let no_locks = s.scan_lock(TimeStamp::max(), None, None, 0).await.unwrap();
        assert!(
            no_locks.is_empty(),
            "{workload} left {} locks, first {:?}",
            no_locks.len(),
            no_locks.first()
        );
        if !workload.writes() {
            assert_eq!(r.found, Some(r.txns * workload.keys() as u64), "{workload}");
            assert!(r.last_committed.is_none());
            continue;
        }
        let last = r.last_committed.expect("a write workload commits");
        assert_eq!(last.keys.len(), workload.keys(), "{workload}");
        let later = bench.oracle().now();
        let before = TimeStamp::new(last.commit_ts.into_inner() - 1);
        for (k, v) in last.keys.iter().zip(&last.values) {
            // The value names the attempt that wrote it.
            assert_eq!(
                &v[..8],
                &last.start_ts.into_inner().to_be_bytes(),
                "{workload}"
            );
            let now = s.get(k, later, ReadOptions::default()).await.unwrap();
            assert_eq!(
                now.as_ref(),
                Some(v),
                "{workload}: key {k:02x?} at a later ts"
            );
            let old = s.get(k, before, ReadOptions::default()).await.unwrap();
            assert_ne!(
                old.as_ref(),
                Some(v),
                "{workload}: visible before its commit ts"
            );
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn on_memory() {
    let storage = TxnStorage::new(
        MemoryEngine::new(),
        ConcurrencyManager::new(TimeStamp::zero()),
    );
    runtime().block_on(scenario(storage));
}

#[test]
fn on_local_lsm() {
    let dir = tempfile::tempdir().unwrap();
    let options = lsm::Options {
        background_threads: 1,
        ..lsm::Options::default()
    };
    let db = Arc::new(lsm::Db::open(dir.path(), options).unwrap());
    let engine = LocalEngine::new(LsmEngine::new(db).unwrap());
    let storage =
        TxnStorage::new(engine, ConcurrencyManager::new(TimeStamp::zero())).with_sync(false);
    runtime().block_on(scenario(storage));
}
