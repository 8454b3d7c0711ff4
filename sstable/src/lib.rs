#![doc = include_str!("../FORMAT.md")]
//!
//! # Crate map
//! - [`TableBuilder`] writes a table; [`Table`] reads one; [`TableIter`] walks it.
//! - [`BlockCache`] is shared by all tables of an engine; [`ReadOptions`] / [`TableOptions`]
//!   configure reading and writing; [`Comparator`] and [`KeyExtractor`] let an engine store
//!   internal keys while filtering on user keys.
//! - [`dump`] is everything `sst-dump` does.
//!
//! This crate knows nothing of levels, memtables or sequence numbers: keys and values are
//! opaque bytes.
//!
//! # Unsafe code
//! One `unsafe` call: mapping a table file into memory (`file.rs`). It is sound because a
//! finished table file is never modified or truncated while open (see "What we assume of the
//! disk" above); [`ReadOptions::use_mmap`] = false avoids it entirely.

mod block;
mod block_builder;
mod builder;
mod cache;
mod codec;
mod coding;
mod comparator;
mod dump;
mod error;
mod file;
mod filter;
mod format;
mod iter;
mod options;
mod properties;
mod restart_sample;
mod table;

pub use builder::{TableBuilder, MAX_KEY_SIZE, MAX_VALUE_SIZE};
pub use cache::{BlockCache, CacheStats};
pub use comparator::{Bytewise, Comparator, KeyExtractor, WholeKey};
pub use dump::{dump, escape, parse_key, DumpCommand, DumpOptions, DumpReport, OutputFormat};
pub use error::{Error, Result};
pub use file::{open_file, MmapFile, PreadFile, RandomAccessFile, SyncWrite};
pub use filter::filter_key_hash;
pub use format::{BlockHandle, Footer, FORMAT_VERSION, TABLE_MAGIC};
pub use iter::TableIter;
pub use options::{Compression, ReadOptions, TableOptions};
pub use properties::TableProperties;
pub use table::Table;
