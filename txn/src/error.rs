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
