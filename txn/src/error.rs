//! The one error type of the `txn` crate.
//!
//! Only failures live here: the engine or the MVCC data went wrong, or the caller asked for
//! something malformed. Transaction outcomes a client acts on (a key is locked, a write
//! conflict, a deadlock, …) are data, returned as the crate's key-error type by the actions.

/// Errors returned by this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or decoding MVCC data failed (engine I/O, or corruption).
    #[error(transparent)]
    Mvcc(#[from] mvcc::Error),

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

    /// A bug or a lost task, never a client's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<lsm::Error> for Error {
    fn from(e: lsm::Error) -> Self {
        Error::Mvcc(mvcc::Error::Engine(e))
    }
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
