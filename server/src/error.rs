//! The server crate's error type. Request-level failures (region errors, key errors) are
//! answered inside responses, as TiKV does; this enum is for what stops a component (start-up,
//! configuration, persistence) or what a handler cannot answer in-band.

use std::path::PathBuf;

/// Errors of the server crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error (bind, read, write, fsync).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// Persisted server state (PD's state, the node's identity) is damaged: never guessed at.
    #[error("corruption in {file}: {reason}")]
    Corruption {
        /// The damaged file.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The configuration is invalid (a bad value, an unknown key, conflicting settings).
    #[error("invalid configuration: {0}")]
    Config(String),

    /// The storage engine failed.
    #[error(transparent)]
    Lsm(#[from] lsm::Error),

    /// The MVCC layer failed.
    #[error(transparent)]
    Mvcc(#[from] mvcc::Error),

    /// The transaction layer failed outside a request (e.g. opening storage).
    #[error(transparent)]
    Txn(#[from] txn::Error),

    /// The replication layer failed outside a request (opening the store, a split, the
    /// Raft store stopped, a snapshot's files).
    #[error(transparent)]
    Replication(#[from] replication::Error),

    /// gRPC transport failed (serving or connecting).
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),

    /// A call to the placement driver failed or was refused.
    #[error("placement driver: {0}")]
    Pd(String),

    /// A Raft message from another store does not decode (or lacks a field it needs).
    #[error("bad raft message: {0}")]
    BadRaftMessage(String),

    /// Another store could not be reached: no address, a failed dial, a broken stream.
    #[error("store {store_id} unreachable: {reason}")]
    Unreachable {
        /// The store.
        store_id: u64,
        /// Why.
        reason: String,
    },

    /// A snapshot stream was refused: a file not in its descriptor, a size mismatch, a
    /// truncated stream. Its partial files are removed.
    #[error("snapshot {key} refused: {reason}")]
    SnapshotRefused {
        /// The snapshot (`region_term_index`).
        key: String,
        /// Why.
        reason: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
