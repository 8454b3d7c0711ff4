//! `strata-bench txn`: transactions per second through Strata's transaction layer, in
//! process — optimistic and pessimistic commits of N keys, point and batch reads — over the
//! local LSM or the in-memory engine.
//!
//! A run: open a fresh storage, preload every key of the key space (optimistic
//! transactions of 100 consecutive keys), then run each workload in turn with `--threads`
//! client tasks on a tokio runtime, each task repeating one transaction on keys drawn
//! uniformly until `--txns` or `--duration`. Timestamps come from an in-process oracle with
//! TiKV's layout ([`txn::Oracle`]); how each transaction talks to the storage, and how conflicts
//! are retried and counted, is in [`client`].
//!
//! - `settings`: the flags ([`TxnArgs`]).
//! - [`workload`]: the workload names.
//! - [`client`]: one task's transactions.
//! - [`bench`]: tasks, deadlines, histograms ([`TxnBench`], usable from tests).
//! - [`report`]: the result lines and the JSON report.

pub mod bench;
pub mod client;
pub mod report;
mod settings;
pub mod workload;

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mvcc::{LsmEngine, TimeStamp};
use txn::{ConcurrencyManager, Engine, LocalEngine, MemoryEngine, TxnStorage};

pub use bench::{BenchConfig, TxnBench};
pub use report::{TxnResult, TxnRunReport};
pub use settings::{TxnArgs, TxnEngine};
pub use workload::TxnWorkload;

use crate::error::{Error, Result};
use crate::procstat::{machine_description, peak_rss_bytes};
use crate::settings::Output;
use client::KeySpace;
use workload::parse_workloads;

/// Runs `strata-bench txn` with `args`.
///
/// # Errors
/// `Usage` for bad flags; storage and I/O errors.
pub fn run(args: TxnArgs) -> Result<()> {
    let list = parse_workloads(&args.workloads)?;
    check_args(&args, &list)?;
    let text = args.output == Output::Text;
    let say = |line: &str| {
        if text {
            println!("{line}");
        } else {
            eprintln!("{line}");
        }
    };
    let (base, temporary) = match &args.db {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!("strata-bench-txn-{}", std::process::id())),
            true,
        ),
    };
    let dir = base.join("txn");
    let machine = machine_description();
    say(&format!("Machine:    {machine}"));
    say(&format!(
        "Keys:       {} keys of {} bytes, preloaded; values {} bytes (about 50% after \
         compression)",
        args.keys, args.key_size, args.value_size
    ));
    let limit = match (args.duration, args.txns) {
        (0, n) => format!("{n} txns"),
        (s, 0) => format!("{s} s"),
        (s, n) => format!("{n} txns or {s} s, whichever first"),
    };
    say(&format!(
        "Settings:   engine {:?}, {} client tasks on {} runtime threads, each workload {limit}, \
         sync {}, seed {}, lock wait {} ms, at most {} tries per txn",
        args.engine,
        args.threads,
        runtime_threads(&args),
        args.sync,
        args.seed,
        client::LOCK_WAIT_MS,
        client::MAX_ATTEMPTS
    ));
    say(&format!("Workloads:  {}", args.workloads));
    if args.engine == TxnEngine::Memory && list.iter().any(|w| w.writes()) {
        say(
            "Warning:    the memory engine copies its maps on writes under concurrent \
             snapshots; write figures measure that copy (see --help)",
        );
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(runtime_threads(&args))
        .enable_time()
        .build()?;
    let config = BenchConfig {
        space: KeySpace {
            keys: args.keys,
            key_size: args.key_size,
            value_size: args.value_size,
        },
        threads: args.threads,
        duration: (args.duration > 0).then(|| Duration::from_secs(args.duration)),
        txns: (args.txns > 0).then_some(args.txns),
        seed: args.seed,
        progress: true,
    };
    let out = &mut |line: &str| say(line);
    let (preload, workloads) = match args.engine {
        TxnEngine::Memory => {
            let storage = TxnStorage::new(MemoryEngine::new(), cm()).with_sync(args.sync);
            runtime.block_on(run_all(storage, config, &list, out))?
        }
        TxnEngine::Local => {
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            std::fs::create_dir_all(&dir)?;
            let outcome = open_local(&dir, out).and_then(|engine| {
                let storage = TxnStorage::new(engine, cm()).with_sync(args.sync);
                runtime.block_on(run_all(storage, config, &list, out))
            });
            let _ = std::fs::remove_dir_all(&dir);
            if temporary {
                let _ = std::fs::remove_dir_all(&base);
            }
            outcome?
        }
    };
    drop(runtime);
    let peak_rss_bytes = peak_rss_bytes()?;
    say(&format!(
        "{:<16} : peak RSS {:.1} MiB",
        "txn",
        peak_rss_bytes as f64 / 1048576.0
    ));
    if !text {
        let report = TxnRunReport {
            machine,
            args,
            preload: Some(preload),
            workloads,
            peak_rss_bytes,
        };
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, &report)
            .map_err(|e| Error::Usage(e.to_string()))?;
        writeln!(stdout)?;
    }
    Ok(())
}

fn check_args(args: &TxnArgs, list: &[TxnWorkload]) -> Result<()> {
    let usage = |m: &str| Err(Error::Usage(m.into()));
    if list.is_empty() {
        return usage("--workloads names no workload");
    }
    if args.duration == 0 && args.txns == 0 {
        return usage("give --duration or --txns (both 0 would never stop)");
    }
    if args.threads == 0 || args.keys == 0 {
        return usage("--threads and --keys must be positive");
    }
    // make_key keeps the low `key_size` bytes of the key number: they must tell keys apart.
    if args.key_size < 8 && args.keys > 1u64 << (8 * args.key_size) {
        return usage("--key-size too small for --keys distinct keys");
    }
    if let Some(w) = list.iter().find(|w| w.keys() as u64 > args.keys) {
        return Err(Error::Usage(format!(
            "{w} needs {} distinct keys; --keys is {}",
            w.keys(),
            args.keys
        )));
    }
    Ok(())
}

fn runtime_threads(args: &TxnArgs) -> usize {
    match args.runtime_threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

fn cm() -> ConcurrencyManager {
    ConcurrencyManager::new(TimeStamp::zero())
}

/// Strata's LSM with its default options, under the MVCC and transaction layers.
fn open_local(dir: &Path, out: &mut dyn FnMut(&str)) -> Result<LocalEngine> {
    let options = lsm::Options::default();
    out(&format!(
        "LSM:        memtable {} MiB (at most {} immutable), cache {} MiB, {:?} compression, \
         {} background threads, WAL on",
        options.write_buffer_size >> 20,
        options.max_immutable_memtables,
        options.block_cache_bytes >> 20,
        options.table.compression,
        options.background_threads
    ));
    let db = Arc::new(lsm::Db::open(dir, options)?);
    let engine = LsmEngine::new(db).map_err(txn::Error::from)?;
    Ok(LocalEngine::new(engine))
}

/// The preload, then every workload, printing each result line.
async fn run_all<E: Engine>(
    storage: TxnStorage<E>,
    config: BenchConfig,
    list: &[TxnWorkload],
    out: &mut dyn FnMut(&str),
) -> Result<(TxnResult, Vec<TxnResult>)> {
    let bench = TxnBench::new(storage, config);
    let preload = bench.preload().await?;
    out(&preload.line());
    let mut results = Vec::with_capacity(list.len());
    for &w in list {
        let result = bench.run(w).await?;
        out(&result.line());
        results.push(result);
    }
    Ok((preload, results))
}
