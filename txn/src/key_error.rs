//! Transaction outcomes a client acts on, as plain data: TiKV's `mvcc::ErrorInner` variants
//! (`src/storage/mvcc/mod.rs`) that travel to the client as a `KeyError`, with the same fields.
//!
//! They are not failures of this node: a key is locked by another transaction, a newer
//! commit conflicts, a lock is gone… Actions return them as `Error::Key(KeyError)`, so `?`
//! works through one error type; the server maps each variant to TiKV's wire fields.

use std::fmt;

use mvcc::{LockInfo, TimeStamp};

/// Why a write conflict was reported (TiKV's `WriteConflict.Reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteConflictReason {
    /// Not known.
    Unknown,
    /// An optimistic prewrite met a commit newer than its start ts.
    Optimistic,
    /// A pessimistic lock request met a commit newer than its for_update_ts.
    PessimisticRetry,
    /// The transaction's own rollback record sits at its start ts.
    SelfRolledBack,
    /// Read-committed read-ts check (not produced here yet).
    RcCheckTs,
    /// A deferred uniqueness check at prewrite (`DoConstraintCheck`).
    LazyUniquenessCheck,
    /// A key the transaction did not lock pessimistically changed.
    NotLockedKeyConflict,
}

/// Why a pessimistic prewrite found no lock of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PessimisticLockNotFoundReason {
    /// Another transaction's lock is on the key.
    LockTsMismatch,
    /// No lock, and the key changed since the transaction started (cannot amend).
    LockMissingAmendFail,
    /// The lock's for_update_ts is not the one the request expects.
    LockForUpdateTsMismatch,
    /// A key not locked pessimistically changed after for_update_ts.
    NonLockKeyConflict,
}

/// What a prewrite mutation asserts about the key's current state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Assertion {
    /// Nothing.
    #[default]
    None,
    /// The key has a value.
    Exist,
    /// The key has no value.
    NotExist,
}

/// One edge of a deadlock cycle (declared for the lock manager that comes later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitForEntry {
    /// The waiting transaction.
    pub txn: TimeStamp,
    /// The transaction it waits for.
    pub wait_for_txn: TimeStamp,
    /// Hash of the key it waits on.
    pub key_hash: u64,
    /// The key it waits on.
    pub key: Vec<u8>,
}

/// A transaction outcome reported to the client. Keys are raw user keys.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// Another transaction's lock stands in the way.
    KeyIsLocked(LockInfo),
    /// A transaction committed the key after this one's start ts (or for_update_ts).
    WriteConflict {
        start_ts: TimeStamp,
        conflict_start_ts: TimeStamp,
        conflict_commit_ts: TimeStamp,
        key: Vec<u8>,
        primary: Vec<u8>,
        reason: WriteConflictReason,
    },
    /// Insert / CheckNotExists met a committed value.
    AlreadyExist {
        key: Vec<u8>,
        existing_start_ts: TimeStamp,
    },
    /// Waiting for the lock would close a cycle (answered by the lock manager, later).
    Deadlock {
        start_ts: TimeStamp,
        lock_ts: TimeStamp,
        lock_key: Vec<u8>,
        deadlock_key_hash: u64,
        wait_chain: Vec<WaitForEntry>,
    },
    /// Commit below the lock's min_commit_ts.
    CommitTsExpired {
        start_ts: TimeStamp,
        commit_ts: TimeStamp,
        key: Vec<u8>,
        min_commit_ts: TimeStamp,
    },
    /// Commit found neither the lock nor a commit record (rolled back, or never prewritten).
    TxnLockNotFound {
        start_ts: TimeStamp,
        commit_ts: TimeStamp,
        key: Vec<u8>,
    },
    /// check_txn_status found no trace of the transaction and was told not to roll back.
    TxnNotFound { start_ts: TimeStamp, key: Vec<u8> },
    /// Async commit / 1PC could not pick a commit ts at or below max_commit_ts.
    CommitTsTooLarge {
        start_ts: TimeStamp,
        min_commit_ts: TimeStamp,
        max_commit_ts: TimeStamp,
    },
    /// A prewrite assertion does not hold.
    AssertionFailed {
        start_ts: TimeStamp,
        key: Vec<u8>,
        assertion: Assertion,
        existing_start_ts: TimeStamp,
        existing_commit_ts: TimeStamp,
    },
    /// The lock on the key names another primary than the request.
    PrimaryMismatch(LockInfo),
    /// The pessimistic lock was rolled back (a later acquire met its rollback).
    PessimisticLockRolledBack { start_ts: TimeStamp, key: Vec<u8> },
    /// A pessimistic prewrite found no pessimistic lock of its own.
    PessimisticLockNotFound {
        start_ts: TimeStamp,
        key: Vec<u8>,
        reason: PessimisticLockNotFoundReason,
    },
    /// A pessimistic lock met by a non-pessimistic request (or the reverse).
    LockTypeNotMatch {
        start_ts: TimeStamp,
        key: Vec<u8>,
        pessimistic: bool,
    },
    /// A rollback/cleanup of a transaction that already committed the key.
    Committed {
        start_ts: TimeStamp,
        commit_ts: TimeStamp,
        key: Vec<u8>,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug names every field; the server builds its own messages from the fields.
        write!(f, "{self:?}")
    }
}

impl KeyError {
    /// The write-conflict error of `start_ts` meeting the record written by
    /// `conflict_start_ts` at `conflict_commit_ts`.
    pub(crate) fn write_conflict(
        start_ts: TimeStamp,
        conflict_start_ts: TimeStamp,
        conflict_commit_ts: TimeStamp,
        key: Vec<u8>,
        primary: Vec<u8>,
        reason: WriteConflictReason,
    ) -> KeyError {
        KeyError::WriteConflict {
            start_ts,
            conflict_start_ts,
            conflict_commit_ts,
            key,
            primary,
            reason,
        }
    }
}
