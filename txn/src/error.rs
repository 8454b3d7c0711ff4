//! The one error type of the `txn` crate.
//!
//! Two kinds of error share this type, so actions use `?` throughout:
//! - failures: the engine or the MVCC data went wrong, or the caller asked for something
//!   malformed (`Mvcc`, `InvalidArgument`, `Internal`);
//! - transaction outcomes a client acts on (a key is locked, a write conflict, …), carried as
//!   data in `Key(KeyError)`; the server maps them to TiKV's `KeyError` wire fields.

use crate::key_error::KeyError;

/// Errors returned by this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A transaction outcome for the client (see [`KeyError`]).
    #[error("{0}")]
    Key(Box<KeyError>),

    /// Reading or decoding MVCC data failed (engine I/O, or corruption).
    #[error(transparent)]
    Mvcc(mvcc::Error),

    /// A request is malformed (e.g. an empty key range, a key of the wrong API mode).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A raw request's key is not a raw key of the storage's API version (V2: it lacks the
    /// `'r'` + keyspace prefix, or is a transactional `'x'` key). TiKV's `InvalidKeyMode`.
    #[error("API {api_version:?} refuses key {key:02x?}: {reason}")]
    InvalidKeyMode {
        /// The storage's API version.
        api_version: crate::raw::ApiVersion,
        /// The offending key (or range end).
        key: Vec<u8>,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A raw request gave a TTL but the API version keeps none (V1). TiKV's `TtlNotEnabled`.
    #[error("TTL is not enabled (API V1 without enable_ttl)")]
    TtlNotEnabled,

    /// The engine underneath refused the request or could not serve it, for a reason of
    /// its own (e.g. the Raft-backed engine: this node is not the region's leader, the
    /// region's epoch changed). Boxed so this crate need not know the engine's types: the
    /// server downcasts it to answer with the matching region error.
    #[error("engine: {0}")]
    Engine(Box<dyn std::error::Error + Send + Sync + 'static>),

    /// A bug or a lost task, never a client's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The transaction outcome, if this is one.
    pub fn key_error(&self) -> Option<&KeyError> {
        match self {
            Error::Key(e) => Some(e),
            _ => None,
        }
    }
}

impl From<KeyError> for Error {
    fn from(e: KeyError) -> Self {
        Error::Key(Box::new(e))
    }
}

impl From<mvcc::Error> for Error {
    fn from(e: mvcc::Error) -> Self {
        match e {
            // A read that met a lock is an outcome, not a failure.
            mvcc::Error::KeyIsLocked(info) => Error::Key(Box::new(KeyError::KeyIsLocked(*info))),
            e => Error::Mvcc(e),
        }
    }
}

impl From<lsm::Error> for Error {
    fn from(e: lsm::Error) -> Self {
        Error::Mvcc(mvcc::Error::Engine(e))
    }
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
