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
//! - `malloc`: process set-up of glibc's allocator for binaries running the engine.
//! - `error`: the crate's error type.
//!
//! # Unsafe code
//! One `unsafe` call: glibc's `mallopt` in [`malloc::pin_mmap_threshold`]. It is sound
//! because `mallopt` takes two integers and only sets allocator parameters; nothing it is
//! given points to memory.

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
