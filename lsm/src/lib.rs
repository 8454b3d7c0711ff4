#![doc = include_str!("../FORMAT.md")]
//!
//! # Crate map (in progress: see the issue «The LSM engine»)
//! - `db`: [`Db`], the engine: open/recovery, group commit, reads, background work.
//! - `key`: internal keys (cf, user key, sequence, kind) and their comparator.
//! - `batch`: [`WriteBatch`], a group of writes kept in its WAL encoding.
//! - `memtable`: [`MemTable`], the concurrent in-memory table, and its cursor.
//! - `fs`: the file-system seam, with the real and the fault-injecting implementations.
//! - `iter`: the internal-iterator seam, the merging iterator and the level iterator.
//! - `flush`: writing sorted entries to a table (temp, fsync, rename, fsync dir).
//! - `range_del`: a table's range tombstones, kept in its properties.
//! - `table_cache`: open tables by file number, bounded.
//! - `version`: version edits (the manifest's records), versions and the version set.
//! - `compaction`: the leveled policy (pure) that picks compactions.
//! - `inspect`: offline dumps (manifest, WAL) for tools.
//! - `filename`: names of the files in a database directory.
//! - `malloc`: glibc's allocator: process set-up for binaries, returning freed memory.
//! - `error`: the crate's error type.
//!
//! # Unsafe code
//! Two `unsafe` calls, both into glibc's allocator: `mallopt` in
//! [`malloc::pin_mmap_threshold`] and `malloc_trim` in [`malloc::release_free_memory`]. They
//! are sound because each takes only integers — `mallopt` sets allocator parameters,
//! `malloc_trim` returns glibc's own free pages to the OS under glibc's locks — and nothing
//! they are given points to memory.

mod batch;
pub mod compaction;
mod db;
mod error;
pub mod filename;
pub mod flush;
pub mod fs;
pub mod inspect;
pub mod iter;
pub mod key;
pub mod malloc;
mod memtable;
pub mod range_del;
pub mod table_cache;
mod varint;
pub mod version;

pub use batch::{BatchCorruption, BatchIter, BatchOp, WriteBatch, BATCH_HEADER_LEN};
pub use db::{
    Db, DbIter, LevelCompactions, Options, RangeSample, RangeStats, Snapshot, Stats, WriteOptions,
};
pub use error::{Error, Result};
pub use memtable::{MemTable, MemTableIter, MemValue, RangeTombstone};
