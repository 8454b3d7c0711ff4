#![doc = include_str!("../FORMAT.md")]
//!
//! Strata's transaction layer: TiKV's Percolator transactions and raw key-value API as
//! libraries over the [`Engine`] seam. No wire types here: requests, results and errors are
//! plain Rust data; the server maps them to TiKV's protocol.
//!
//! # Crate map (in progress: see the issue «MVCC, Percolator transactions and raw KV»)
//! - `engine`: the [`Engine`] seam, with the local LSM and in-memory implementations.
//! - `latch`: [`Latches`], deadlock-free FIFO key latches that serialise commands on the same
//!   keys.
//! - `raw`: TiKV's raw key-value API ([`RawStorage`]): TTLs, compare-and-swap, scans,
//!   checksums, API V1/V2 key modes, and the TTL compaction filter ([`RawTtlFilter`]).
//! - `error`, `key_error`: the crate's [`Error`]; transaction outcomes as data
//!   ([`KeyError`], carried as `Error::Key`).
//! - `concurrency_manager`: [`ConcurrencyManager`] — `max_ts` and the in-memory lock table
//!   async commit and 1PC rely on.
//! - [`actions`]: the Percolator actions, one per file: `prewrite` (with `mutation` and
//!   `prewrite_request`), `commit`, `cleanup`, `rollback`, `check_txn_status`,
//!   `txn_heart_beat`, `check_secondary_locks`, `resolve_lock`, `scan_lock`,
//!   `acquire_pessimistic_lock`, `pessimistic_rollback`, `gc`.
//! - `commands`: [`TxnStorage`], the command layer — one async method per transactional
//!   request (reads, prewrite/commit, status checks, resolve in chunks, pessimistic locks
//!   with waiting, gc, delete_range): latches, one snapshot and one engine batch per
//!   command; request/response types ([`PrewriteRequest`], [`ScanRequest`], …).
//! - [`lock_wait`]: waiting for pessimistic locks — the pure `WaitForGraph` (deadlock
//!   detection) and per-key FIFO waiter queues, joined in [`LockWaitManager`].
//! - `gc_filter`: [`GcCompactionFilterFactory`], the `gc` policy inside LSM compactions.
//! - `oracle`: [`Oracle`], a strictly increasing timestamp source in TiKV's layout (PD's TSO
//!   in one process).
//! - [`testing`] (feature `test-util`): a synchronous harness running actions against an
//!   engine, TiKV-style `must_*` helpers, and a Percolator client with lock resolution (`testing::Client`) plus a history recorder for isolation checks.

pub mod actions;
mod commands;
mod concurrency_manager;
mod engine;
mod error;
mod gc_filter;
mod key_error;
mod latch;
pub mod lock_wait;
mod oracle;
mod raw;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use commands::types::{
    GcStats, PrewriteRequest, PrewriteResponse, ReadOptions, ScanRequest, TxnKvPair,
};
pub use commands::{TxnStorage, DEFAULT_LOCK_WAIT_TIMEOUT, GC_BATCH_SIZE, RESOLVE_LOCK_BATCH_SIZE};
pub use concurrency_manager::{async_commit_timestamps, ConcurrencyManager, KeyGuard};
pub use engine::{Engine, LocalEngine, MemoryEngine};
pub use error::{Error, Result};
pub use gc_filter::GcCompactionFilterFactory;
pub use key_error::{
    Assertion, KeyError, PessimisticLockNotFoundReason, WaitForEntry, WriteConflictReason,
};
pub use latch::{LatchGuard, Latches, DEFAULT_LATCH_SLOTS};
pub use lock_wait::{key_hash, LockWaitManager};
pub use oracle::Oracle;
pub use raw::{
    keyspace_end, ApiVersion, CasResult, Checksum, Clock, KeyRange, KvPair, ManualClock,
    RawStorage, RawTtlFilter, SystemClock, KEYSPACE_PREFIX_LEN, RAW_KEY_PREFIX, TXN_KEY_PREFIX,
};
