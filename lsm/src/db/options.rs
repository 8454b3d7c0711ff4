//! Options of a database.

use std::collections::HashMap;
use std::sync::Arc;

use crate::compaction::{CompactionFilter, CompactionFilterFactory, CompactionOptions};
use crate::fs::{FileSystem, StdFs};

/// How a database is opened and run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Create the directory and an empty database if there is none (default true).
    pub create_if_missing: bool,
    /// The file system (default: the operating system's).
    pub fs: Arc<dyn FileSystem>,
    /// Memtable size at which it becomes immutable and a new one starts (default 64 MiB).
    pub write_buffer_size: usize,
    /// Immutable memtables waiting for flush before writes wait (default 2).
    pub max_immutable_memtables: usize,
    /// L0 files at which each write group is delayed by a millisecond (default 20).
    pub l0_slowdown_trigger: usize,
    /// L0 files at which writes wait for compaction (default 36).
    pub l0_stop_trigger: usize,
    /// Estimated bytes of pending compaction at which each write group is delayed by a
    /// millisecond (default 64 GiB).
    pub soft_pending_compaction_bytes: u64,
    /// Estimated bytes of pending compaction at which writes wait (default 256 GiB).
    pub hard_pending_compaction_bytes: u64,
    /// The leveled compaction policy.
    pub compaction: CompactionOptions,
    /// Block size, compression and bloom bits of new tables (key order and filter key are
    /// always the engine's).
    pub table: sstable::TableOptions,
    /// Table options of particular column families, by name (the others use `table`). Every
    /// table holds one column family, so e.g. `raft` can skip compression and `write` keep a
    /// denser bloom filter.
    pub cf_table_options: HashMap<String, sstable::TableOptions>,
    /// Bytes of decoded blocks cached, shared by all tables (default 256 MiB).
    pub block_cache_bytes: u64,
    /// Tables kept open (default 1000).
    pub max_open_files: usize,
    /// The manifest is rewritten once larger than this (default 64 MiB).
    pub manifest_rewrite_bytes: u64,
    /// Background threads for flushes and compactions (default 2, for two cores).
    pub background_threads: usize,
    /// Called for each unprotected value during compaction (MVCC GC, TTL).
    pub compaction_filter: Option<Arc<dyn CompactionFilter>>,
    /// Creates a filter with per-run state for each compaction (MVCC GC); offered the values
    /// `compaction_filter` keeps, in key order.
    pub compaction_filter_factory: Option<Arc<dyn CompactionFilterFactory>>,
    /// Largest group of writes committed with one WAL write (default 1 MiB).
    pub max_write_group_bytes: usize,
    /// After each flush and compaction, return the allocator's free heap pages to the OS
    /// ([`crate::malloc::release_free_memory`]; default true). What a dropped memtable or a
    /// finished compaction freed otherwise stays resident between live allocations.
    pub release_freed_memory: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            create_if_missing: true,
            fs: Arc::new(StdFs::new()),
            write_buffer_size: 64 << 20,
            max_immutable_memtables: 2,
            l0_slowdown_trigger: 20,
            l0_stop_trigger: 36,
            soft_pending_compaction_bytes: 64 << 30,
            hard_pending_compaction_bytes: 256 << 30,
            compaction: CompactionOptions::default(),
            table: sstable::TableOptions::default(),
            cf_table_options: HashMap::new(),
            block_cache_bytes: 256 << 20,
            max_open_files: 1000,
            manifest_rewrite_bytes: 64 << 20,
            background_threads: 2,
            compaction_filter: None,
            compaction_filter_factory: None,
            max_write_group_bytes: 1 << 20,
            release_freed_memory: true,
        }
    }
}

/// Options of one write.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// Return only once the write is durable (fdatasync of the WAL). Without it a write
    /// survives a process crash but not a power loss.
    pub sync: bool,
}
