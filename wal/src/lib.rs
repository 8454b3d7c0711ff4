#![doc = include_str!("../FORMAT.md")]
//!
//! # Code map
//!
//! - `format` — block and header sizes, fragment types, header encoding and
//!   checksum: the only place the byte layout is written down in code.
//! - `file` — [`LogFile`], the storage seam the writer appends through.
//! - `writer` — [`Writer`]: frames and buffers records; flush/sync;
//!   poisoning.
//! - `fragment` — block-by-block reading and fragment validation.
//! - `reader` — [`Reader`]: record assembly and [`RecoveryMode`]s.
//! - `scan` — [`intact_fragment_after`]: torn tail or damaged middle?
//! - `error` — [`enum@Error`], [`Corruption`], [`CorruptionReason`].
//!
//! # Example
//!
//! ```
//! use wal::{Reader, RecoveryMode, Writer};
//!
//! let mut writer = Writer::new(Vec::new());
//! let first = writer.add_record(b"put k1 v1")?;
//! let second = writer.add_record(&[0u8; 100_000])?; // spans four blocks
//! writer.sync()?; // one fsync for both records (a no-op for Vec)
//! let log = writer.into_inner()?;
//!
//! let mut reader = Reader::new(&log[..], "000001.log", RecoveryMode::PointInTime);
//! let mut record = Vec::new();
//! assert_eq!(reader.read_record(&mut record)?, Some(first));
//! assert_eq!(record, b"put k1 v1");
//! assert_eq!(reader.read_record(&mut record)?, Some(second));
//! assert_eq!(record.len(), 100_000);
//! assert_eq!(reader.read_record(&mut record)?, None);
//! assert!(reader.stopped_at().is_none()); // ended cleanly
//! # Ok::<(), wal::Error>(())
//! ```

mod error;
mod file;
mod format;
mod fragment;
mod reader;
mod scan;
mod writer;

pub use error::{Corruption, CorruptionReason, Error, Result};
pub use file::LogFile;
pub use format::{FragmentType, BLOCK_SIZE, HEADER_SIZE};
pub use reader::{Reader, RecoveryMode};
pub use scan::intact_fragment_after;
pub use writer::Writer;
