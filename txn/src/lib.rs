#![doc = include_str!("../FORMAT.md")]
//!
//! Strata's transaction layer: TiKV's Percolator transactions and raw key-value API as
//! libraries over the [`Engine`] seam. No wire types here: requests, results and errors are
//! plain Rust data; the server maps them to TiKV's protocol.
//!
//! # Crate map (in progress: see the issue «MVCC, Percolator transactions and raw KV»)
//! - `engine`: the [`Engine`] seam, with the local LSM and in-memory implementations.
//! - `error`: the crate's error type.
//! - `latch`: [`Latches`], deadlock-free FIFO key latches that serialise commands on the same
//!   keys.
//! - `raw`: TiKV's raw key-value API ([`RawStorage`]): TTLs, compare-and-swap, scans,
//!   checksums, API V1/V2 key modes, and the TTL compaction filter ([`RawTtlFilter`]).

mod engine;
mod error;
mod latch;
mod raw;

pub use engine::{Engine, LocalEngine, MemoryEngine};
pub use error::{Error, Result};
pub use latch::{LatchGuard, Latches, DEFAULT_LATCH_SLOTS};
pub use raw::{
    keyspace_end, ApiVersion, CasResult, Checksum, Clock, KeyRange, KvPair, ManualClock,
    RawStorage, RawTtlFilter, SystemClock, KEYSPACE_PREFIX_LEN, RAW_KEY_PREFIX, TXN_KEY_PREFIX,
};
