//! `strata-bench server`'s flags.

use std::path::PathBuf;

use clap::ArgAction;

use super::workload::DEFAULT_WORKLOADS;

/// The flags of `strata-bench server`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Measure an already running cluster through this PD endpoint (e.g. one started with
    /// `strata-server playground --nodes 3`) instead of starting a node in process; `--db`
    /// and `--sync` then do not apply (the cluster's own configuration does).
    #[arg(long, value_name = "ADDR")]
    pub pd: Option<String>,
    /// Directory for the node's data (a fresh `node` subdirectory, removed at the end);
    /// default: a new directory under the system's temporary directory.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Workloads to run, in order (comma-separated): raw_get, raw_put, txn1, txn10 (txnN: N
    /// random keys per optimistic transaction), empty_call (the transport's ceiling).
    #[arg(long, default_value = DEFAULT_WORKLOADS)]
    pub workloads: String,
    /// Concurrent clients: tokio tasks, each with its own tikv-client client (so its own PD
    /// connection and its own channel to the store) or, for empty_call, its own channel.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Seconds each workload runs.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Keys preloaded (raw and transactional) before the workloads run.
    #[arg(long, default_value_t = 100_000)]
    pub keys: u64,
    /// Key size in bytes (db_bench's layout: the key number big-endian, padded with '0').
    #[arg(long, default_value_t = 16)]
    pub key_size: usize,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
    /// The node fsyncs every write before acknowledging it (the server's default).
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub sync: bool,
    /// The node (and the empty service) gzip responses for clients that accept gzip, as
    /// tikv-client does (the server's default).
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub compress_responses: bool,
    /// Tokio worker threads of the server's runtime (node, PD, empty service); 0: one per core.
    #[arg(long, default_value_t = 0)]
    pub server_threads: usize,
    /// Tokio worker threads of the clients' runtime; 0: one per core.
    #[arg(long, default_value_t = 0)]
    pub client_threads: usize,
    /// Seed of keys and values.
    #[arg(long, default_value_t = 301)]
    pub seed: u64,
}

impl ServerArgs {
    /// `n`, or one per core when 0.
    pub fn threads(n: usize) -> usize {
        match n {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}
