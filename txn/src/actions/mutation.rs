//! What a prewrite request carries: the mutations and the transaction's properties (TiKV's
//! `txn_types::Mutation` and `actions/prewrite.rs`' `TransactionProperties`), as plain data.

use mvcc::{Key, LockType, TimeStamp};

use crate::key_error::Assertion;

/// The change a prewrite makes to one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MutationOp {
    /// Write a value.
    Put(Vec<u8>),
    /// Delete the key.
    Delete,
    /// Lock the key without changing it (committed as a Lock record).
    Lock,
    /// Write a value the key must not have yet (`AlreadyExist` otherwise).
    Insert(Vec<u8>),
    /// Only check that the key has no value; writes nothing.
    CheckNotExists,
}

/// One key's mutation in a prewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    /// The key (encoded, no ts).
    pub key: Key,
    /// What to do with it.
    pub op: MutationOp,
    /// What the client asserts about the key's current state (checked per
    /// [`AssertionLevel`]).
    pub assertion: Assertion,
}

impl Mutation {
    /// A mutation with no assertion.
    pub fn new(raw_key: &[u8], op: MutationOp) -> Mutation {
        Mutation {
            key: Key::from_raw(raw_key),
            op,
            assertion: Assertion::None,
        }
    }

    /// Put `value` on `raw_key`.
    pub fn put(raw_key: &[u8], value: &[u8]) -> Mutation {
        Mutation::new(raw_key, MutationOp::Put(value.to_vec()))
    }

    /// This mutation with an assertion.
    #[must_use]
    pub fn with_assertion(mut self, assertion: Assertion) -> Mutation {
        self.assertion = assertion;
        self
    }

    /// The lock type it leaves (`None`: CheckNotExists writes no lock).
    pub fn lock_type(&self) -> Option<LockType> {
        match self.op {
            MutationOp::Put(_) | MutationOp::Insert(_) => Some(LockType::Put),
            MutationOp::Delete => Some(LockType::Delete),
            MutationOp::Lock => Some(LockType::Lock),
            MutationOp::CheckNotExists => None,
        }
    }

    /// Insert and CheckNotExists require the key to have no value.
    pub fn should_not_exist(&self) -> bool {
        matches!(self.op, MutationOp::Insert(_) | MutationOp::CheckNotExists)
    }
}

/// Optimistic or pessimistic, with what each needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnKind {
    /// Conflicts are found at prewrite; `skip_constraint_check` skips them (and the
    /// Insert check) when the client knows the keys are new (e.g. bulk import).
    Optimistic { skip_constraint_check: bool },
    /// Keys were locked before prewrite at `for_update_ts`.
    Pessimistic { for_update_ts: TimeStamp },
}

/// How the transaction commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitKind {
    /// Prewrite, then commit at a ts from the oracle.
    TwoPc,
    /// Committed once every key is prewritten, at a ts decided at prewrite
    /// (`max_commit_ts` 0: no upper bound).
    Async { max_commit_ts: TimeStamp },
    /// All keys in one request: committed at prewrite, no locks left.
    OnePc { max_commit_ts: TimeStamp },
}

impl CommitKind {
    /// The bound on a computed commit ts (0: none, or not computed).
    pub fn max_commit_ts(self) -> TimeStamp {
        match self {
            CommitKind::TwoPc => TimeStamp::zero(),
            CommitKind::Async { max_commit_ts } | CommitKind::OnePc { max_commit_ts } => {
                max_commit_ts
            }
        }
    }
}

/// How strictly assertions are checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AssertionLevel {
    /// Not checked.
    #[default]
    Off,
    /// Checked (TiKV checks only when the record was read anyway; here every asserted key
    /// is read, as under `Strict`).
    Fast,
    /// Checked, reading the key's records when needed.
    Strict,
}

/// How a pessimistic prewrite treats one key (TiKV's `PessimisticAction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PessimisticAction {
    /// The key was not locked pessimistically (e.g. a non-unique index key): it must not
    /// have changed after for_update_ts.
    SkipPessimisticCheck,
    /// The key must hold this transaction's pessimistic lock.
    DoPessimisticCheck,
    /// Not locked pessimistically, but uniqueness was deferred to prewrite: check as an
    /// optimistic prewrite would (newer than start_ts conflicts; Insert must not exist).
    DoConstraintCheck,
}

/// Properties of the transaction a prewrite belongs to.
#[derive(Debug, Clone)]
pub struct TxnProps {
    /// The transaction's start ts.
    pub start_ts: TimeStamp,
    /// The raw primary key.
    pub primary: Vec<u8>,
    /// Optimistic or pessimistic.
    pub kind: TxnKind,
    /// 2PC, async commit or 1PC.
    pub commit_kind: CommitKind,
    /// Milliseconds after start ts's physical time until the lock may be rolled back.
    pub lock_ttl: u64,
    /// Keys in the transaction (a resolver's hint).
    pub txn_size: u64,
    /// A floor for the commit ts (large transactions, or pushed by readers).
    pub min_commit_ts: TimeStamp,
    /// How assertions are checked.
    pub assertion_level: AssertionLevel,
}

impl TxnProps {
    /// An optimistic 2PC transaction with the given primary, start ts and TTL.
    pub fn optimistic(primary: &[u8], start_ts: TimeStamp, lock_ttl: u64) -> TxnProps {
        TxnProps {
            start_ts,
            primary: primary.to_vec(),
            kind: TxnKind::Optimistic {
                skip_constraint_check: false,
            },
            commit_kind: CommitKind::TwoPc,
            lock_ttl,
            txn_size: 0,
            min_commit_ts: TimeStamp::zero(),
            assertion_level: AssertionLevel::Off,
        }
    }

    /// The for_update_ts (0 for optimistic transactions).
    pub fn for_update_ts(&self) -> TimeStamp {
        match self.kind {
            TxnKind::Optimistic { .. } => TimeStamp::zero(),
            TxnKind::Pessimistic { for_update_ts } => for_update_ts,
        }
    }

    /// True for pessimistic transactions.
    pub fn is_pessimistic(&self) -> bool {
        matches!(self.kind, TxnKind::Pessimistic { .. })
    }
}
