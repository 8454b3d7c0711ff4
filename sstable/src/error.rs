//! The one error type of the `sstable` crate.
//!
//! Corruption (the bytes on disk are not what we wrote) is always a distinct variant from I/O
//! (the operating system failed us): callers react differently to the two — an I/O error may be
//! transient or environmental, a corruption error means the file must not be trusted.

use std::io;

/// Errors returned by table building, opening and reading.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system reported an error while reading or writing `file`.
    #[error("I/O error on {file}: {source}")]
    Io {
        /// The file being accessed.
        file: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The file's bytes do not describe a valid table: a checksum mismatch, a handle that
    /// points outside the file, an entry that runs past its block, a bad magic number, ...
    #[error("corruption in {file} at offset {offset}: {reason}")]
    Corruption {
        /// The damaged file.
        file: String,
        /// Byte offset of the damaged structure (a block's start, or the footer's).
        offset: u64,
        /// What is wrong.
        reason: String,
    },

    /// The table was written with a format version this code does not read.
    #[error("{file}: unsupported table format version {version}")]
    UnsupportedVersion {
        /// The table file.
        file: String,
        /// The version found in its footer.
        version: u32,
    },

    /// The table orders its keys with another comparator than the one it was opened with;
    /// reading it would return entries in an order the caller does not expect.
    #[error("{file}: written with comparator {found:?}, opened with {expected:?}")]
    ComparatorMismatch {
        /// The table file.
        file: String,
        /// The caller's comparator.
        expected: String,
        /// The comparator named in the table's properties.
        found: String,
    },

    /// A key passed to the builder is not greater than the previous one.
    #[error("key out of order: {key:?} is not greater than the previous key {previous:?}")]
    OutOfOrder {
        /// The last key accepted.
        previous: Vec<u8>,
        /// The rejected key.
        key: Vec<u8>,
    },

    /// An argument is outside what the format can represent (e.g. an oversized value).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(file: &str, source: io::Error) -> Self {
        Error::Io {
            file: file.to_owned(),
            source,
        }
    }

    pub(crate) fn corruption(file: &str, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corruption {
            file: file.to_owned(),
            offset,
            reason: reason.into(),
        }
    }

    /// True for damage to the file's contents (as opposed to I/O failures or misuse).
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            Error::Corruption { .. } | Error::UnsupportedVersion { .. }
        )
    }
}
