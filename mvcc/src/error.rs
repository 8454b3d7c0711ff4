//! The one error type of the `mvcc` crate.
//!
//! Three kinds of failure are kept apart, because callers react to them differently:
//! - the engine failed (`Engine`: I/O, or damage the engine itself detected);
//! - MVCC data read through a healthy engine is damaged or inconsistent (`Corruption`,
//!   `DefaultNotFound`): never retried, never turned into wrong answers;
//! - a read met a transaction's lock (`KeyIsLocked`): ordinary data the client resolves.

use crate::lock_check::LockInfo;
use crate::timestamp::TimeStamp;

/// Errors returned by this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage engine failed (I/O, or corruption found by the engine's own checksums).
    #[error("engine error: {0}")]
    Engine(#[from] lsm::Error),

    /// An MVCC record or key read from the engine does not decode.
    #[error("corrupt {what} at byte {offset}: {reason}")]
    Corruption {
        /// What was being decoded: "lock record", "write record", "key", ...
        what: &'static str,
        /// Byte offset inside that record where decoding failed.
        offset: usize,
        /// What is wrong.
        reason: String,
    },

    /// A write record points at a value in the `default` column family that is not there.
    #[error("value of key {key:02x?} written at start_ts {start_ts} not found in the default CF")]
    DefaultNotFound {
        /// The raw user key.
        key: Vec<u8>,
        /// The `start_ts` the value should be stored at.
        start_ts: TimeStamp,
    },

    /// A read at some timestamp met a lock that blocks it (see `lock_check`).
    #[error("key is locked: {0:?}")]
    KeyIsLocked(Box<LockInfo>),

    /// An argument is outside what the crate accepts (e.g. an empty delete range).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// True for damaged or inconsistent persistent state, found by this crate or the engine.
    pub fn is_corruption(&self) -> bool {
        match self {
            Error::Corruption { .. } | Error::DefaultNotFound { .. } => true,
            Error::Engine(e) => e.is_corruption(),
            _ => false,
        }
    }

    pub(crate) fn corruption(what: &'static str, offset: usize, reason: impl Into<String>) -> Self {
        Error::Corruption {
            what,
            offset,
            reason: reason.into(),
        }
    }
}

impl From<LockInfo> for Error {
    fn from(lock: LockInfo) -> Self {
        Error::KeyIsLocked(Box::new(lock))
    }
}
