//! What the write CF says about one transaction on one key (`TxnCommitRecord`), and the
//! rollback record that follows from it (`make_rollback`), with overlapped-rollback
//! protection.
//!
//! # Overlapped rollbacks
//! A rollback of transaction T on key k is stored at `k + T.start_ts`. Commit ts are not
//! unique across transactions, so another transaction U may already have committed at
//! `U.commit_ts == T.start_ts`, and its commit record sits in exactly that slot. Overwriting
//! it would lose U's write; so instead U's record is rewritten with `has_overlapped_rollback`
//! set — it then stands for both — and with a GC fence (see `Write::gc_fence`). This is only
//! needed when T's rollback must be *protected* (it guards a pessimistic primary key against a
//! late prewrite); an unprotected rollback that collides is simply dropped.

use crate::timestamp::TimeStamp;
use crate::write::Write;

/// Another transaction's record found where a rollback would be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverlappedWrite {
    /// The record at `key + start_ts` (a commit of another transaction).
    pub write: Write,
    /// Commit ts of the key's next newer Put/Delete (0: none): the GC fence to set on it.
    pub gc_fence: TimeStamp,
}

/// How a transaction ended on a key, per the write CF (TiKV's `TxnCommitRecord`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnCommitRecord {
    /// No record of the transaction; `overlapped_write` is another transaction's commit
    /// record occupying `key + start_ts`, if any.
    None {
        /// See [`OverlappedWrite`].
        overlapped_write: Option<OverlappedWrite>,
    },
    /// The transaction's own record: committed at `commit_ts` (Put/Delete/Lock), or rolled
    /// back (a Rollback record, with `commit_ts == start_ts`).
    SingleRecord {
        /// The record's commit ts.
        commit_ts: TimeStamp,
        /// The record.
        write: Write,
    },
    /// The transaction was rolled back, recorded as a flag on another transaction's commit
    /// record at `commit_ts` (`== start_ts`).
    OverlappedRollback {
        /// Where the flagged record is.
        commit_ts: TimeStamp,
    },
}

impl TxnCommitRecord {
    /// True if the transaction is known to be rolled back on this key.
    pub fn is_rolled_back(&self) -> bool {
        match self {
            TxnCommitRecord::SingleRecord { write, .. } => {
                write.write_type == crate::write::WriteType::Rollback
            }
            TxnCommitRecord::OverlappedRollback { .. } => true,
            TxnCommitRecord::None { .. } => false,
        }
    }

    /// The commit ts, if the transaction committed on this key.
    pub fn committed_ts(&self) -> Option<TimeStamp> {
        match self {
            TxnCommitRecord::SingleRecord { commit_ts, write }
                if write.write_type != crate::write::WriteType::Rollback =>
            {
                Some(*commit_ts)
            }
            _ => None,
        }
    }

    /// Takes the overlapped write, if any (for `make_rollback`).
    pub fn unwrap_none(self) -> Option<OverlappedWrite> {
        match self {
            TxnCommitRecord::None { overlapped_write } => overlapped_write,
            _ => None,
        }
    }
}

/// The write record to put at `key + start_ts` to roll the transaction back, or `None` if
/// nothing needs writing (module docs): a collision with an unprotected rollback keeps the
/// other transaction's record unchanged; a protected one flags it, with its GC fence.
///
/// REQUIRES: `overlapped_write` comes from `get_txn_commit_record` for this `start_ts`, so its
/// record belongs to a transaction that started earlier.
pub fn make_rollback(
    start_ts: TimeStamp,
    protected: bool,
    overlapped_write: Option<OverlappedWrite>,
) -> Option<Write> {
    match overlapped_write {
        Some(OverlappedWrite { write, gc_fence }) => {
            debug_assert!(write.start_ts < start_ts);
            protected.then(|| write.set_overlapped_rollback(true, Some(gc_fence)))
        }
        None => Some(Write::new_rollback(start_ts, protected)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::WriteType;

    #[test]
    fn rollback_without_collision_is_a_rollback_record() {
        let w = make_rollback(10.into(), false, None).unwrap();
        assert_eq!(w, Write::new_rollback(10.into(), false));
        assert!(make_rollback(10.into(), true, None).unwrap().is_protected());
    }

    #[test]
    fn collision_flags_the_other_record_only_when_protected() {
        let other = Write::new(WriteType::Put, 5.into(), Some(b"v".to_vec()));
        let overlapped = OverlappedWrite {
            write: other.clone(),
            gc_fence: 12.into(),
        };
        assert_eq!(
            make_rollback(10.into(), false, Some(overlapped.clone())),
            None
        );
        let flagged = make_rollback(10.into(), true, Some(overlapped)).unwrap();
        // The other transaction's commit survives, value and all.
        assert_eq!(
            (flagged.write_type, flagged.start_ts),
            (WriteType::Put, 5.into())
        );
        assert_eq!(flagged.short_value, other.short_value);
        assert!(flagged.has_overlapped_rollback);
        assert_eq!(flagged.gc_fence, Some(12.into()));
    }

    #[test]
    fn record_queries() {
        let rb = TxnCommitRecord::SingleRecord {
            commit_ts: 3.into(),
            write: Write::new_rollback(3.into(), false),
        };
        assert!(rb.is_rolled_back() && rb.committed_ts().is_none());
        let c = TxnCommitRecord::SingleRecord {
            commit_ts: 4.into(),
            write: Write::new(WriteType::Put, 3.into(), None),
        };
        assert_eq!(c.committed_ts(), Some(4.into()));
        assert!(TxnCommitRecord::OverlappedRollback {
            commit_ts: 3.into()
        }
        .is_rolled_back());
    }
}
