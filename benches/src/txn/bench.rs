//! Runs the transaction workloads: client tasks on a tokio runtime, each repeating one kind
//! of transaction until the workload's count or deadline, with a latency histogram per task
//! merged at the end.
//!
//! Contract: [`TxnBench::preload`] writes every key of the key space before the workloads
//! run, so reads find every key and writes overwrite. Workloads run one after another; the
//! tasks of one workload run concurrently on the storage, and every transaction has ended
//! (committed, or rolled back and counted as aborted) when [`TxnBench::run`] returns, so no
//! lock outlives a workload.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use txn::{Engine, TxnStorage};

use super::client::{Client, CommittedTxn, KeySpace, TxnOutcome};
use super::report::TxnResult;
use super::workload::TxnWorkload;
use crate::error::{Error, Result};
use crate::procstat::ProcSample;
use crate::tasks::{join_all, latency_histogram};
use txn::Oracle;

/// Consecutive keys per preload transaction.
pub const PRELOAD_KEYS_PER_TXN: u64 = 100;

/// How a run is shaped.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// The keys and values.
    pub space: KeySpace,
    /// Concurrent client tasks.
    pub threads: usize,
    /// Stop each workload after this long.
    pub duration: Option<Duration>,
    /// Stop each workload after this many transactions.
    pub txns: Option<u64>,
    /// Seed of every task's keys and values.
    pub seed: u64,
    /// Draw a progress bar on stderr (hidden anyway when stderr is not a terminal).
    pub progress: bool,
}

/// The benchmark over one storage.
#[derive(Debug)]
pub struct TxnBench<E: Engine> {
    storage: TxnStorage<E>,
    oracle: Arc<Oracle>,
    config: BenchConfig,
}

/// What a workload runs: the preload, or one of the workloads.
#[derive(Debug, Clone, Copy)]
enum Job {
    Preload,
    Workload(TxnWorkload),
}

impl Job {
    fn name(self) -> String {
        match self {
            Job::Preload => "preload".into(),
            Job::Workload(w) => w.to_string(),
        }
    }
}

/// Shared by the tasks of one workload.
#[derive(Debug)]
struct Shared {
    /// Transactions handed out so far (each task takes the next number).
    issued: AtomicU64,
    /// At most this many.
    limit: Option<u64>,
    deadline: Option<Instant>,
    progress: ProgressBar,
}

impl Shared {
    /// The next transaction's number, or `None` when the workload is over.
    fn take(&self) -> Option<u64> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        self.limit.is_none_or(|l| n < l).then_some(n)
    }
}

/// What one task did.
struct TaskOutcome {
    txns: u64,
    bytes: u64,
    retries: u64,
    aborted: u64,
    found: u64,
    latency: Histogram<u64>,
    last: Option<CommittedTxn>,
}

impl TaskOutcome {
    fn new() -> Result<TaskOutcome> {
        let latency = latency_histogram()?;
        Ok(TaskOutcome {
            txns: 0,
            bytes: 0,
            retries: 0,
            aborted: 0,
            found: 0,
            latency,
            last: None,
        })
    }

    fn record(&mut self, outcome: TxnOutcome, nanos: u64) {
        self.retries += outcome.retries;
        if outcome.aborted {
            self.aborted += 1;
            return;
        }
        self.txns += 1;
        self.bytes += outcome.bytes;
        self.found += outcome.found;
        self.latency.saturating_record(nanos.max(1));
        if let Some(c) = outcome.committed {
            keep_latest(&mut self.last, c);
        }
    }

    fn merge(&mut self, other: TaskOutcome) -> Result<()> {
        self.txns += other.txns;
        self.bytes += other.bytes;
        self.retries += other.retries;
        self.aborted += other.aborted;
        self.found += other.found;
        self.latency
            .add(&other.latency)
            .map_err(|e| Error::Usage(e.to_string()))?;
        if let Some(c) = other.last {
            keep_latest(&mut self.last, c);
        }
        Ok(())
    }
}

fn keep_latest(slot: &mut Option<CommittedTxn>, c: CommittedTxn) {
    if slot.as_ref().is_none_or(|l| l.commit_ts < c.commit_ts) {
        *slot = Some(c);
    }
}

impl<E: Engine> TxnBench<E> {
    /// A benchmark over `storage` with a fresh timestamp oracle.
    pub fn new(storage: TxnStorage<E>, config: BenchConfig) -> TxnBench<E> {
        TxnBench {
            storage,
            oracle: Arc::new(Oracle::new()),
            config,
        }
    }

    /// The storage (to read results back).
    pub fn storage(&self) -> &TxnStorage<E> {
        &self.storage
    }

    /// The oracle every transaction took its timestamps from.
    pub fn oracle(&self) -> &Oracle {
        &self.oracle
    }

    /// Writes every key of the key space in optimistic transactions of
    /// [`PRELOAD_KEYS_PER_TXN`] consecutive keys. Must run inside a tokio runtime.
    ///
    /// # Errors
    /// Storage errors; `Usage` if a transaction aborted (a key would be missing).
    pub async fn preload(&self) -> Result<TxnResult> {
        let chunks = self.config.space.keys.div_ceil(PRELOAD_KEYS_PER_TXN);
        let result = self.run_job(Job::Preload, Some(chunks), None).await?;
        if result.aborted > 0 {
            return Err(Error::Usage(format!(
                "the preload aborted {} transactions",
                result.aborted
            )));
        }
        Ok(result)
    }

    /// Runs `workload` until `--txns` or `--duration`. Must run inside a tokio runtime.
    ///
    /// # Errors
    /// Storage errors other than counted conflicts; `Usage` if a transaction names more keys
    /// than the key space has.
    pub async fn run(&self, workload: TxnWorkload) -> Result<TxnResult> {
        if workload.keys() as u64 > self.config.space.keys {
            return Err(Error::Usage(format!(
                "{workload} needs {} distinct keys; the key space has {}",
                workload.keys(),
                self.config.space.keys
            )));
        }
        let deadline = self.config.duration.map(|d| Instant::now() + d);
        self.run_job(Job::Workload(workload), self.config.txns, deadline)
            .await
    }

    async fn run_job(
        &self,
        job: Job,
        limit: Option<u64>,
        deadline: Option<Instant>,
    ) -> Result<TxnResult> {
        let shared = Arc::new(Shared {
            issued: AtomicU64::new(0),
            limit,
            deadline,
            progress: self.progress_bar(&job.name(), limit),
        });
        // Clients first: each fills a 1 MiB value buffer, which is not the workload's cost.
        let clients: Vec<Client<E>> = (0..self.config.threads.max(1))
            .map(|t| {
                Client::new(
                    self.storage.clone(),
                    self.oracle.clone(),
                    self.config.space,
                    task_seed(self.config.seed, &job.name(), t),
                )
            })
            .collect();
        let before = ProcSample::now()?;
        let started = Instant::now();
        let tasks: Vec<_> = clients
            .into_iter()
            .map(|client| tokio::spawn(run_task(client, job, shared.clone())))
            .collect();
        let mut merged = TaskOutcome::new()?;
        let joined = join_all(tasks, |outcome| merged.merge(outcome)).await;
        let seconds = started.elapsed().as_secs_f64();
        let used = ProcSample::now()?.since(&before);
        shared.progress.finish_and_clear();
        joined?;
        let us = |q: f64| merged.latency.value_at_quantile(q) as f64 / 1000.0;
        let (keys_per_txn, reads) = match job {
            Job::Preload => (PRELOAD_KEYS_PER_TXN as usize, false),
            Job::Workload(w) => (w.keys(), !w.writes()),
        };
        Ok(TxnResult {
            name: job.name(),
            keys_per_txn,
            txns: merged.txns,
            seconds,
            bytes: merged.bytes,
            retries: merged.retries,
            aborted: merged.aborted,
            found: reads.then_some(merged.found),
            p50_us: us(0.5),
            p99_us: us(0.99),
            p999_us: us(0.999),
            cpu_us_per_txn: used.cpu_secs * 1e6 / merged.txns.max(1) as f64,
            last_committed: merged.last,
        })
    }

    fn progress_bar(&self, name: &str, total: Option<u64>) -> ProgressBar {
        if !self.config.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        let template = if total.is_some() {
            "{prefix:>16} [{bar:30}] {human_pos}/{human_len} {per_sec} eta {eta}"
        } else {
            "{prefix:>16} {human_pos} txns {per_sec} {elapsed}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(name.to_string());
        bar
    }
}

/// One task: transactions until the workload is over. The preload's transaction number
/// `n` writes keys `[n * 100, n * 100 + 100)` (fewer in the last).
async fn run_task<E: Engine>(
    mut client: Client<E>,
    job: Job,
    shared: Arc<Shared>,
) -> Result<TaskOutcome> {
    let mut out = TaskOutcome::new()?;
    let keys = client.key_space().keys;
    while let Some(n) = shared.take() {
        let lap = Instant::now();
        let outcome = match job {
            Job::Preload => {
                let first = n * PRELOAD_KEYS_PER_TXN;
                let count = PRELOAD_KEYS_PER_TXN.min(keys - first);
                client.write_range(first, count).await?
            }
            Job::Workload(w) => client.run(w).await?,
        };
        let nanos = u64::try_from(lap.elapsed().as_nanos()).unwrap_or(u64::MAX);
        out.record(outcome, nanos);
        shared.progress.inc(1);
    }
    Ok(out)
}

fn task_seed(seed: u64, name: &str, task: usize) -> u64 {
    seed ^ xxhash_rust::xxh3::xxh3_64(name.as_bytes())
        ^ (task as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}
