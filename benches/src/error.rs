//! The benchmark harness's error type.

use thiserror::Error;

/// Why a benchmark could not run.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Strata's engine failed.
    #[error("strata: {0}")]
    Strata(#[from] lsm::Error),
    /// fjall failed.
    #[error("fjall: {0}")]
    Fjall(#[from] fjall::Error),
    /// Strata's transaction layer failed (not a conflict: those are retried and counted).
    #[error("txn: {0}")]
    Txn(#[from] txn::Error),
    /// RocksDB failed (its error is a message).
    #[error("rocksdb: {0}")]
    RocksDb(String),
    /// Strata's server failed to start or stop.
    #[error("server: {0}")]
    Server(#[from] server::Error),
    /// tikv-client failed (not a counted conflict). Boxed: its error is hundreds of bytes and
    /// would make every `Result` of the harness as large.
    #[error("tikv-client: {0}")]
    Client(Box<tikv_client::Error>),
    /// A gRPC call or connection of the empty service failed.
    #[error("grpc: {0}")]
    Rpc(String),
    /// File system or process I/O outside the engines.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A flag or combination of flags the harness cannot run.
    #[error("{0}")]
    Usage(String),
    /// A child benchmark process failed or wrote a report we cannot read.
    #[error("child run of {engine}: {reason}")]
    Child {
        /// The engine the child ran.
        engine: String,
        /// What went wrong.
        reason: String,
    },
}

impl From<tikv_client::Error> for Error {
    fn from(e: tikv_client::Error) -> Error {
        Error::Client(Box::new(e))
    }
}

/// The harness's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
