#![doc = include_str!("../FORMAT.md")]
//!
//! # Crate map (in progress: see the issue «The LSM engine»)
//! - `key`: internal keys (cf, user key, sequence, kind) and their comparator.
//! - `fs`: the file-system seam, with the real and the fault-injecting implementations.
//! - `batch`: [`WriteBatch`], a group of writes kept in its WAL encoding.
//! - `memtable`: [`MemTable`], the concurrent in-memory table, and its cursor.
//! - `error`: the crate's error type.

mod batch;
mod error;
pub mod fs;
pub mod key;
mod memtable;
mod varint;

pub use batch::{BatchCorruption, BatchIter, BatchOp, WriteBatch, BATCH_HEADER_LEN};
pub use error::{Error, Result};
pub use memtable::{MemTable, MemTableIter, MemValue, RangeTombstone};
