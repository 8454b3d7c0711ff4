//! The one error type of the `replication` crate.
//!
//! Three kinds share it:
//! - region refusals a client acts on (`NotLeader`, `EpochNotMatch`, `RegionNotFound`,
//!   `KeyNotInRegion`, `StaleCommand`): the server maps them to TiKV's region errors
//!   (`Timeout` is not one: its outcome is unknown);
//! - failures of the storage underneath (`Lsm` I/O, `Corruption` of our own records);
//! - `Raft` (the library refused a step or a proposal) and `Stopped` (the store is shutting
//!   down).

use crate::region::{Peer, Region};

/// Errors returned by this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// This peer is not the region's leader; `leader` is the one it knows of, if any.
    #[error("region {region_id}: not leader (leader: {leader:?})")]
    NotLeader {
        /// The region asked.
        region_id: u64,
        /// The leader this peer believes in.
        leader: Option<Peer>,
    },

    /// The request's epoch is not the region's: it split, merged or changed members since.
    #[error("epoch not match: {reason}")]
    EpochNotMatch {
        /// Why.
        reason: String,
        /// The regions as this store knows them now (the region itself, and the regions a
        /// split made of it), so the client can refresh its cache at once.
        current: Vec<Region>,
    },

    /// No peer of this region on this store.
    #[error("region {0} not found")]
    RegionNotFound(u64),

    /// A key of the request is outside the region.
    #[error("key {key:02x?} is not in region {region_id}")]
    KeyNotInRegion {
        /// The key.
        key: Vec<u8>,
        /// The region.
        region_id: u64,
        /// Its first key.
        start_key: Vec<u8>,
        /// Its end (exclusive; empty: unbounded).
        end_key: Vec<u8>,
    },

    /// A proposal was dropped: leadership changed before it committed, or another entry
    /// took its place in the log. The client retries.
    #[error("region {region_id}: stale command ({reason})")]
    StaleCommand {
        /// The region.
        region_id: u64,
        /// Why.
        reason: &'static str,
    },

    /// No answer within the request timeout. Unlike `StaleCommand` this says nothing about
    /// the outcome: the proposal may still commit and apply, so it is not a region error a
    /// client would retry blindly (a re-sent write could apply twice).
    #[error(
        "region {region_id}: no answer from raft within {timeout:?}; the request may still apply"
    )]
    Timeout {
        /// The region.
        region_id: u64,
        /// How long the caller waited.
        timeout: std::time::Duration,
    },

    /// The storage engine failed (I/O, or corruption it detected).
    #[error(transparent)]
    Lsm(#[from] lsm::Error),

    /// One of this crate's records (in the `raft` column family, in a log entry, in a
    /// snapshot) does not decode.
    #[error("corrupt {what}: {reason}")]
    Corruption {
        /// The record (e.g. "apply state of region 7", "command in entry 42").
        what: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The Raft library refused (e.g. a proposal while a conf change is pending).
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),

    /// Writing or reading snapshot files.
    #[error("snapshot I/O: {0}")]
    SnapshotIo(#[from] std::io::Error),

    /// The store is shutting down; nothing more is served.
    #[error("store stopped")]
    Stopped,

    /// The transport could not take a message for another store (its queue is full, no
    /// link to it): the message is dropped and the store reports the peer unreachable.
    #[error("store {store_id} unreachable: {reason}")]
    Unreachable {
        /// The receiving store.
        store_id: u64,
        /// Why.
        reason: String,
    },

    /// An invalid request (e.g. a split key outside the region).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// A corruption error for `what`.
    pub(crate) fn corrupt(what: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Corruption {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

impl From<mvcc::Error> for Error {
    /// The engine's own errors keep their kind; MVCC's other errors (a record that does
    /// not decode) are corruption.
    fn from(e: mvcc::Error) -> Error {
        match e {
            mvcc::Error::Engine(e) => Error::Lsm(e),
            other => Error::corrupt("MVCC data", other.to_string()),
        }
    }
}

impl From<Error> for txn::Error {
    fn from(e: Error) -> txn::Error {
        txn::Error::Engine(Box::new(e))
    }
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, Error>;
