//! Drives the load: `--clients` tokio tasks, each owning its own client, each repeating one
//! kind of request until the workload's deadline, with a latency histogram per task merged
//! at the end.
//!
//! Contract: [`preload`] writes every key of the key space, raw and transactional, before
//! the workloads run, so reads find their key and writes overwrite. Clients are connected
//! before the clock starts (connecting is not the workload's cost), and every task has ended
//! when [`run_workload`] returns. Must run inside a tokio runtime.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tikv_client::{CheckLevel, Config, KvPair, RawClient, TransactionClient, TransactionOptions};

use super::ceiling::EmptyCaller;
use super::report::ServerResult;
use super::workload::{KeyGen, ServerWorkload};
use crate::error::{Error, Result};
use crate::procstat::ProcSample;
use crate::tasks::{join_all, latency_histogram};

/// Keys per preload request (raw batch put, or one transaction).
pub const PRELOAD_CHUNK: u64 = 1000;

/// Where the load goes and how it is shaped.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// PD's endpoint, as clients are given it.
    pub pd: String,
    /// The empty service, for `empty_call`.
    pub empty: Option<SocketAddr>,
    /// Concurrent clients.
    pub clients: usize,
    /// How long each workload runs.
    pub duration: Duration,
    /// Preloaded keys.
    pub keys: u64,
    /// Key size in bytes.
    pub key_size: usize,
    /// Value size in bytes.
    pub value_size: usize,
    /// Seed of every client's keys and values.
    pub seed: u64,
}

impl LoadConfig {
    /// Every request's timeout (tikv-client's, and the empty callers').
    pub const TIMEOUT: Duration = Duration::from_secs(10);

    fn client_config(&self) -> Config {
        Config::default().with_timeout(Self::TIMEOUT)
    }

    fn key_gen(&self, workload: ServerWorkload, client: usize) -> KeyGen {
        let seed = self.seed
            ^ xxhash_rust::xxh3::xxh3_64(workload.to_string().as_bytes())
            ^ (client as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        KeyGen::new(self.keys, self.key_size, self.value_size, seed)
    }
}

/// One client: what it talks through.
enum Caller {
    Raw(RawClient),
    Txn(TransactionClient),
    /// Boxed: it holds the request it repeats, ten times a tikv-client handle's size.
    Empty(Box<EmptyCaller>),
}

/// The outcome of one operation that did not fail.
enum Done {
    Ok,
    /// A transaction whose commit failed (a write conflict, most likely), rolled back.
    Aborted(String),
}

impl Caller {
    async fn connect(cfg: &LoadConfig, workload: ServerWorkload, gen: &mut KeyGen) -> Result<Self> {
        let pd = vec![cfg.pd.clone()];
        Ok(match workload {
            ServerWorkload::RawGet | ServerWorkload::RawPut => {
                Caller::Raw(RawClient::new_with_config(pd, cfg.client_config()).await?)
            }
            ServerWorkload::Txn(_) => {
                Caller::Txn(TransactionClient::new_with_config(pd, cfg.client_config()).await?)
            }
            ServerWorkload::EmptyCall => {
                let addr = cfg
                    .empty
                    .ok_or_else(|| Error::Usage("empty_call needs the empty service".into()))?;
                let caller = EmptyCaller::connect(addr, gen.random_key(), LoadConfig::TIMEOUT);
                Caller::Empty(Box::new(caller.await?))
            }
        })
    }

    async fn op(&mut self, workload: ServerWorkload, gen: &mut KeyGen) -> Result<Done> {
        match (self, workload) {
            (Caller::Raw(c), ServerWorkload::RawGet) => {
                if c.get(gen.random_key()).await?.is_none() {
                    return Err(Error::Usage("raw_get missed a preloaded key".into()));
                }
            }
            (Caller::Raw(c), _) => c.put(gen.random_key(), gen.value()).await?,
            (Caller::Txn(c), ServerWorkload::Txn(n)) => return txn(c, gen, n).await,
            (Caller::Empty(c), _) => c.call().await?,
            (_, w) => return Err(Error::Usage(format!("{w}: wrong kind of client"))),
        }
        Ok(Done::Ok)
    }
}

/// An optimistic transaction over `n` random keys: read them (one `get`, or one `batch_get`
/// when n > 1), put each, commit (prewrite and commit, with a timestamp from PD for each
/// of start and commit).
async fn txn(client: &TransactionClient, gen: &mut KeyGen, n: usize) -> Result<Done> {
    // Dropped only after commit or rollback; no check needed (and none may panic a task).
    let options = TransactionOptions::new_optimistic().drop_check(CheckLevel::None);
    let mut t = client.begin_with_options(options).await?;
    let keys = gen.distinct_keys(n);
    if let [key] = keys.as_slice() {
        t.get(key.clone()).await?;
    } else {
        t.batch_get(keys.clone()).await?.for_each(drop);
    }
    for key in keys {
        t.put(key, gen.value()).await?;
    }
    match t.commit().await {
        Ok(_) => Ok(Done::Ok),
        Err(e) => {
            let _ = t.rollback().await;
            Ok(Done::Aborted(e.to_string()))
        }
    }
}

/// Writes every key `[0, keys)`: raw batch puts, then optimistic transactions, of
/// [`PRELOAD_CHUNK`] consecutive keys each.
///
/// Returns the requests made and the seconds they took.
///
/// # Errors
/// A request failed.
pub async fn preload(cfg: &LoadConfig) -> Result<(u64, f64)> {
    let started = Instant::now();
    let mut gen = cfg.key_gen(ServerWorkload::RawPut, usize::MAX);
    let raw = RawClient::new_with_config(vec![cfg.pd.clone()], cfg.client_config()).await?;
    let txns =
        TransactionClient::new_with_config(vec![cfg.pd.clone()], cfg.client_config()).await?;
    let mut ops = 0;
    for first in (0..cfg.keys).step_by(PRELOAD_CHUNK as usize) {
        let range = first..(first + PRELOAD_CHUNK).min(cfg.keys);
        let pairs: Vec<KvPair> = range
            .clone()
            .map(|n| KvPair::new(gen.key(n), gen.value()))
            .collect();
        raw.batch_put(pairs).await?;
        let mut t = txns.begin_optimistic().await?;
        for n in range {
            t.put(gen.key(n), gen.value()).await?;
        }
        t.commit().await?;
        ops += 2;
    }
    Ok((ops, started.elapsed().as_secs_f64()))
}

/// Runs `workload` for the configured duration.
///
/// # Errors
/// A client could not connect, or a request failed (other than a counted aborted commit).
pub async fn run_workload(cfg: &LoadConfig, workload: ServerWorkload) -> Result<ServerResult> {
    let mut callers = Vec::with_capacity(cfg.clients);
    for c in 0..cfg.clients.max(1) {
        let mut gen = cfg.key_gen(workload, c);
        let caller = Caller::connect(cfg, workload, &mut gen).await?;
        callers.push((caller, gen));
    }
    let before = ProcSample::now()?;
    let started = Instant::now();
    let deadline = started + cfg.duration;
    let tasks: Vec<_> = callers
        .into_iter()
        .map(|(caller, gen)| tokio::spawn(run_task(caller, gen, workload, deadline)))
        .collect();
    let mut merged = TaskOutcome::new()?;
    let joined = join_all(tasks, |outcome| merged.merge(outcome)).await;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_secs = ProcSample::now()?.since(&before).cpu_secs;
    joined?;
    let us = |q: f64| merged.latency.value_at_quantile(q) as f64 / 1000.0;
    Ok(ServerResult {
        name: workload.to_string(),
        ops: merged.ops,
        seconds,
        aborted: merged.aborted,
        first_abort: merged.first_abort,
        p50_us: us(0.5),
        p99_us: us(0.99),
        cpu_us_per_op: cpu_secs * 1e6 / merged.ops.max(1) as f64,
    })
}

/// What one task did.
struct TaskOutcome {
    ops: u64,
    aborted: u64,
    first_abort: Option<String>,
    latency: Histogram<u64>,
}

impl TaskOutcome {
    fn new() -> Result<TaskOutcome> {
        let latency = latency_histogram()?;
        Ok(TaskOutcome {
            ops: 0,
            aborted: 0,
            first_abort: None,
            latency,
        })
    }

    fn merge(&mut self, other: TaskOutcome) -> Result<()> {
        self.ops += other.ops;
        self.aborted += other.aborted;
        if self.first_abort.is_none() {
            self.first_abort = other.first_abort;
        }
        self.latency
            .add(&other.latency)
            .map_err(|e| Error::Usage(e.to_string()))
    }
}

/// One client's loop. Aborted transactions are counted, not timed.
async fn run_task(
    mut caller: Caller,
    mut gen: KeyGen,
    workload: ServerWorkload,
    deadline: Instant,
) -> Result<TaskOutcome> {
    let mut out = TaskOutcome::new()?;
    while Instant::now() < deadline {
        let lap = Instant::now();
        match caller.op(workload, &mut gen).await? {
            Done::Ok => {
                let nanos = u64::try_from(lap.elapsed().as_nanos()).unwrap_or(u64::MAX);
                out.latency.saturating_record(nanos.max(1));
                out.ops += 1;
            }
            Done::Aborted(why) => {
                out.aborted += 1;
                out.first_abort.get_or_insert(why);
            }
        }
    }
    Ok(out)
}
