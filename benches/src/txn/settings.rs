//! `strata-bench txn`'s flags.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::workload::DEFAULT_WORKLOADS;
use crate::settings::Output;

/// The engine under the transaction layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TxnEngine {
    /// Strata's LSM (`lsm::Db` → `mvcc::LsmEngine` → `txn::LocalEngine`) on `--db`.
    Local,
    /// The in-memory engine (`txn::MemoryEngine`), for tests and read workloads: it copies
    /// its maps on a write while any snapshot is alive, so under concurrent tasks a write
    /// costs O(versions stored) and write figures measure that copy, not the transaction
    /// layer.
    Memory,
}

/// The flags of `strata-bench txn`.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
pub struct TxnArgs {
    /// Engine under the transaction layer.
    #[arg(long, value_enum, default_value = "local")]
    pub engine: TxnEngine,
    /// Directory for the database (a fresh `txn` subdirectory, removed at the end);
    /// default: a new directory under the system's temporary directory.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Workloads to run, in order (comma-separated): optN, pessN (N keys per
    /// transaction), point_get, batch_getN.
    #[arg(long, default_value = DEFAULT_WORKLOADS)]
    pub workloads: String,
    /// Concurrent client tasks. Four keep both cores of a 2-core machine busy while some
    /// tasks wait on a write (group commit gathers their batches).
    #[arg(long, default_value_t = 4)]
    pub threads: usize,
    /// Tokio worker threads running the tasks (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub runtime_threads: usize,
    /// Stop each workload after this many seconds (0: no time limit).
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Stop each workload after this many transactions (0: no count limit). With
    /// `--duration`, whichever comes first.
    #[arg(long, default_value_t = 0)]
    pub txns: u64,
    /// Keys in the key space, all written by the preload before the workloads run.
    #[arg(long, default_value_t = 1_000_000)]
    pub keys: u64,
    /// Key size in bytes (db_bench's layout: the key number big-endian, padded with '0').
    #[arg(long, default_value_t = 16)]
    pub key_size: usize,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
    /// Make every write durable before it returns (fdatasync; group commit shares it).
    #[arg(long)]
    pub sync: bool,
    /// Seed of keys and values.
    #[arg(long, default_value_t = 301)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}
