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
//! Two places.
//!
//! 1. glibc's allocator, two calls: `mallopt` in [`malloc::pin_mmap_threshold`] and
//!    `malloc_trim` in [`malloc::release_free_memory`]. They are sound because each takes only
//!    integers — `mallopt` sets allocator parameters, `malloc_trim` returns glibc's own free
//!    pages to the OS under glibc's locks — and nothing they are given points to memory.
//! 2. The memtable's arena (`memtable/arena.rs`, `memtable/entry.rs`): skiplist keys hold a
//!    raw pointer to their entry's bytes instead of a refcounted buffer, which makes every
//!    node 24 bytes smaller. Sound because (a) the arena hands out disjoint, zeroed regions
//!    that never move and are freed only when the arena is dropped; (b) an entry's bytes are
//!    written before its key exists and never change, and the skiplist's insert publishes the
//!    key to readers (release/acquire), so the key's `Send`/`Sync` share immutable bytes; (c)
//!    keys are dereferenced only while the arena is alive: they are created only by the
//!    memtable for its own arena and live only in its skiplists and in cursors that hold the
//!    memtable (`Arc`), the key type is private to the memtable module, and values leave the
//!    memtable as copies. Reads decode lengths the memtable wrote itself.

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
