//! `strata-bench engine`'s flags, named and defaulted as db_bench names them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::engines::{Compression, EngineConfig, EngineKind};

/// The benchmarks run when `--benchmarks` is not given, in db_bench's order.
pub const DEFAULT_BENCHMARKS: &str = "fillseq,fillsync,fillrandom,overwrite,settle,readrandom,\
     readmissing,readseq,readreverse,seekrandom,readwhilewriting,deleterandom";

/// Which engines a run compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineChoice {
    /// Strata's engine.
    Strata,
    /// RocksDB (needs the `rocksdb` feature).
    Rocksdb,
    /// fjall.
    Fjall,
    /// Each engine this build has, in turn, each in a process and directory of its own.
    All,
}

impl EngineChoice {
    /// The engines to run.
    pub fn engines(self) -> Vec<EngineKind> {
        match self {
            EngineChoice::Strata => vec![EngineKind::Strata],
            EngineChoice::Rocksdb => vec![EngineKind::Rocksdb],
            EngineChoice::Fjall => vec![EngineKind::Fjall],
            EngineChoice::All => EngineKind::available(),
        }
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    /// db_bench's lines and a comparison table.
    Text,
    /// One JSON document on stdout (progress and lines go to stderr).
    Json,
}

/// The flags of `strata-bench engine`.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
pub struct EngineArgs {
    /// Engine to run, or `all` for each in turn with a comparison table at the end.
    #[arg(long, value_enum, default_value = "strata")]
    pub engine: EngineChoice,
    /// With `--engine all`: the order the engines run in (comma-separated; default strata,
    /// rocksdb, fjall). On a shared machine the load can drift during a run: repeating it in
    /// another order shows whether a ratio comes from the engines or from their turns.
    #[arg(long, value_enum, value_delimiter = ',')]
    #[serde(default)]
    pub order: Vec<EngineKind>,
    /// Workloads to run, in order (comma-separated).
    #[arg(long, default_value = DEFAULT_BENCHMARKS)]
    pub benchmarks: String,
    /// Directory for the databases (each engine uses a fresh subdirectory, removed at the
    /// end); default: a new directory under the system's temporary directory.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Number of keys.
    #[arg(long, default_value_t = 5_000_000)]
    pub num: u64,
    /// Operations of the read workloads (default: `--num`).
    #[arg(long)]
    pub reads: Option<u64>,
    /// Threads running each workload (readwhilewriting: readers, beside one writer).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Concurrent writers of fillsync.
    #[arg(long, default_value_t = 16)]
    pub fillsync_threads: usize,
    /// Key size in bytes.
    #[arg(long, default_value_t = 16)]
    pub key_size: usize,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
    /// Values compress to about this fraction of their size.
    #[arg(long, default_value_t = 0.5)]
    pub compression_ratio: f64,
    /// Block cache bytes.
    #[arg(long, default_value_t = 64 << 20)]
    pub cache_size: u64,
    /// Memtable bytes.
    #[arg(long, default_value_t = 64 << 20)]
    pub write_buffer_size: usize,
    /// Memtables held at most, the active one included (RocksDB's default is 2).
    #[arg(long, default_value_t = 2)]
    pub max_write_buffers: usize,
    /// Data block bytes.
    #[arg(long, default_value_t = 4096)]
    pub block_size: usize,
    /// Bloom filter bits per key.
    #[arg(long, default_value_t = 10)]
    pub bloom_bits: u32,
    /// Block compression. lz4 by default: fjall has no zstd, so only lz4 (or none) compares
    /// all three engines with one codec.
    #[arg(long, value_enum, default_value = "lz4")]
    pub compression: Compression,
    /// Background threads for flushes and compactions.
    #[arg(long, default_value_t = 2)]
    pub background_threads: usize,
    /// Strata only: do not return freed heap memory to the OS after each flush and
    /// compaction (`lsm::Options::release_freed_memory`), to measure what that costs or saves.
    #[arg(long)]
    pub keep_freed_memory: bool,
    /// Open the database left in `--db` by an earlier run instead of a fresh one (for
    /// profiling one read workload); fill workloads are refused.
    #[arg(long, requires = "db")]
    pub use_existing_db: bool,
    /// Sync every write (fillsync always syncs).
    #[arg(long)]
    pub sync: bool,
    /// Stop each workload after this many seconds (0: run every operation).
    #[arg(long, default_value_t = 0)]
    pub duration: u64,
    /// Seed of keys and values: the same seed gives every engine the same operations.
    #[arg(long, default_value_t = 301)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
    /// Internal: where a child process writes its engine's report for the parent.
    #[arg(long, hide = true)]
    pub report_file: Option<PathBuf>,
}

impl EngineArgs {
    /// The engines to run, in order: `--order`'s (those this build has, each once, then any
    /// it left out) under `--engine all`, else the one chosen.
    pub fn engines(&self) -> Vec<EngineKind> {
        let chosen = self.engine.engines();
        if self.engine != EngineChoice::All {
            return chosen;
        }
        let mut ordered: Vec<EngineKind> = Vec::new();
        for kind in self.order.iter().chain(&chosen) {
            if chosen.contains(kind) && !ordered.contains(kind) {
                ordered.push(*kind);
            }
        }
        ordered
    }

    /// The settings every engine is opened with.
    pub fn engine_config(&self) -> EngineConfig {
        EngineConfig {
            write_buffer_size: self.write_buffer_size,
            max_write_buffers: self.max_write_buffers.max(2),
            block_size: self.block_size,
            cache_bytes: self.cache_size,
            bloom_bits: self.bloom_bits,
            compression: self.compression,
            background_threads: self.background_threads,
            release_freed_memory: !self.keep_freed_memory,
        }
    }

    /// Operations of the read workloads.
    pub fn reads(&self) -> u64 {
        self.reads.unwrap_or(self.num)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: EngineArgs,
    }

    fn engines(flags: &[&str]) -> Vec<EngineKind> {
        let argv = std::iter::once("strata-bench").chain(flags.iter().copied());
        Cli::parse_from(argv).args.engines()
    }

    #[test]
    fn order_applies_to_all_and_keeps_every_engine_once() {
        let available = EngineKind::available();
        assert_eq!(engines(&["--engine", "all"]), available);
        let reversed: Vec<EngineKind> = available.iter().rev().copied().collect();
        assert_eq!(
            engines(&["--engine", "all", "--order", "fjall,rocksdb,strata"]),
            reversed
        );
        // Engines left out of --order run after it, duplicates run once.
        let fjall_first = engines(&["--engine", "all", "--order", "fjall,fjall"]);
        assert_eq!(fjall_first.first(), Some(&EngineKind::Fjall));
        assert_eq!(fjall_first.len(), available.len());
    }

    #[test]
    fn order_is_ignored_for_a_single_engine() {
        assert_eq!(
            engines(&["--engine", "strata", "--order", "fjall"]),
            vec![EngineKind::Strata]
        );
    }

    #[test]
    fn args_round_trip_through_the_child_file() {
        let cli = Cli::parse_from(["strata-bench", "--engine", "all", "--order", "fjall"]);
        let json = serde_json::to_vec(&cli.args).expect("serialize");
        let back: EngineArgs = serde_json::from_slice(&json).expect("deserialize");
        assert_eq!(back.order, vec![EngineKind::Fjall]);
    }
}
