#![doc = include_str!("../FORMAT.md")]
//!
//! # Crate map (in progress: see the issue «The LSM engine»)
//! - `key`: internal keys (cf, user key, sequence, kind) and their comparator.
//! - `fs`: the file-system seam, with the real and the fault-injecting implementations.
//! - `iter`: the internal-iterator seam and the merging iterator.
//! - `table_cache`: open tables by file number, bounded.
//! - `version`: version edits, the manifest's records.
//! - `compaction`: the leveled policy (pure) that picks compactions.
//! - `error`: the crate's error type.

pub mod compaction;
mod error;
pub mod filename;
pub mod fs;
pub mod iter;
pub mod key;
pub mod table_cache;
pub mod version;

pub use error::{Error, Result};
