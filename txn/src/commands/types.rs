//! Requests and responses of the transactional command API, as plain Rust data (the server
//! converts TiKV's protobuf messages to and from these).

use mvcc::{IsolationLevel, LockInfo, TimeStamp, TsSet};

use crate::actions::mutation::{Mutation, PessimisticAction, TxnProps};
use crate::key_error::KeyError;

/// How a read treats locks (TiKV's `Context` fields of a read request).
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Transactions whose locks the client has resolved: they never block the read.
    pub bypass_locks: TsSet,
    /// Transactions the client knows committed at or below the read ts: their locks are
    /// read through.
    pub access_locks: TsSet,
    /// Snapshot isolation checks locks; read committed ignores them.
    pub isolation: IsolationLevel,
}

impl ReadOptions {
    pub(crate) fn to_mvcc(&self, omit_value: bool) -> mvcc::ReadOptions {
        mvcc::ReadOptions {
            isolation_level: self.isolation,
            bypass_locks: self.bypass_locks.clone(),
            access_locks: self.access_locks.clone(),
            omit_value,
        }
    }
}

/// One key of a batch get or scan: its value, or the lock that blocks reading it (TiKV's
/// `KvPair` with a `locked` error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnKvPair {
    /// The raw key.
    pub key: Vec<u8>,
    /// The value (empty for key-only scans), or the blocking lock.
    pub value: Result<Vec<u8>, LockInfo>,
}

/// A range scan (TiKV's `ScanRequest`).
#[derive(Debug, Clone, Default)]
pub struct ScanRequest {
    /// Where the scan begins: the first key (inclusive) forward; the upper bound
    /// (exclusive) in reverse, as TiKV's `start_key`. Empty: unbounded.
    pub start_key: Vec<u8>,
    /// Where it ends (`None`: unbounded): exclusive forward, inclusive in reverse.
    pub end_key: Option<Vec<u8>>,
    /// At most this many entries (locked keys count).
    pub limit: usize,
    /// The read ts.
    pub ts: TimeStamp,
    /// Return keys with empty values.
    pub key_only: bool,
    /// Scan from `start_key` downwards.
    pub reverse: bool,
    /// Lock handling.
    pub read: ReadOptions,
}

/// A prewrite (TiKV's `PrewriteRequest`).
#[derive(Debug, Clone)]
pub struct PrewriteRequest {
    /// The transaction: start ts, primary, optimistic or pessimistic, 2PC / async / 1PC.
    pub props: TxnProps,
    /// The keys and what to do with each.
    pub mutations: Vec<(Mutation, PessimisticAction)>,
    /// Async commit: every key of the transaction but the primary (set on the primary lock).
    pub secondary_keys: Option<Vec<Vec<u8>>>,
}

/// What a prewrite answers (TiKV's `PrewriteResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrewriteResponse {
    /// One `KeyIsLocked` per lock of another transaction met; if any, nothing was written.
    pub errors: Vec<KeyError>,
    /// Async commit / 1PC: the commit ts promised; 0 if the request fell back to 2PC
    /// (max_commit_ts exceeded) or used 2PC. A retry of a committed transaction: its
    /// commit ts.
    pub min_commit_ts: TimeStamp,
    /// 1PC: the transaction is committed at this ts (0: not committed by this request).
    pub one_pc_commit_ts: TimeStamp,
}

/// What a GC pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcStats {
    /// User keys visited.
    pub keys: usize,
    /// Write records deleted.
    pub deleted_versions: usize,
    /// Engine batches written.
    pub batches: usize,
}
