//! A whole prewrite request over its keys: the part of TiKV's `commands/prewrite.rs` that
//! decides what the request as a whole answers, which 1PC and async commit need (latches and
//! scheduling stay with the command layer).
//!
//! Rules:
//! 1. Async commit: the primary's lock carries the secondaries, every other lock is an
//!    async-commit lock with none. The answer's min_commit_ts is the largest of the keys'.
//! 2. Locks of other transactions are gathered over all keys (the client resolves them
//!    together); if any, nothing is written. Any other error fails the request.
//! 3. A retried prewrite of a transaction that meanwhile committed meets a write conflict or
//!    a missing pessimistic lock; if the key has our commit record, the request succeeds
//!    with nothing written and reports that commit ts.
//! 4. If one key fell back from async commit / 1PC (max_commit_ts exceeded), the request
//!    answers min_commit_ts 0 and 1PC keys get ordinary locks: the client commits by 2PC.
//! 5. 1PC: the commit ts is the largest min_commit_ts; every key gets its commit record at
//!    it directly (a pessimistic lock replaced is removed).

use mvcc::{LockInfo, MvccReader, MvccTxn, Snapshot, TimeStamp, Write, WriteType};

use crate::actions::mutation::{CommitKind, Mutation, PessimisticAction, TxnProps};
use crate::actions::prewrite::{prewrite, OnePcLock};
use crate::concurrency_manager::{ConcurrencyManager, KeyGuard};
use crate::error::{Error, Result};
use crate::key_error::KeyError;

/// What a prewrite request answers.
#[derive(Debug, Default)]
pub struct PrewriteResult {
    /// Locks of other transactions met (nothing was written if any).
    pub locks: Vec<LockInfo>,
    /// Async commit / 1PC: the commit ts promised (0: use 2PC).
    pub min_commit_ts: TimeStamp,
    /// 1PC: the transaction is committed at this ts.
    pub one_pc_commit_ts: TimeStamp,
    /// The transaction had already committed at this ts (a retry): nothing was written.
    pub already_committed: Option<TimeStamp>,
    /// In-memory locks to hold until the write is applied.
    pub guards: Vec<KeyGuard>,
}

/// Prewrites every mutation of one request (module docs). `secondary_keys` is the async
/// commit list (only for async commit).
///
/// # Errors
/// The first error of a key other than `KeyIsLocked`; engine or corruption errors.
pub fn prewrite_request<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    cm: &ConcurrencyManager,
    props: &TxnProps,
    mutations: Vec<(Mutation, PessimisticAction)>,
    secondary_keys: Option<&[Vec<u8>]>,
) -> Result<PrewriteResult> {
    let mut result = PrewriteResult::default();
    let mut one_pc_locks = Vec::new();
    let mut fell_back = false;
    for (mutation, action) in mutations {
        let is_primary = mutation.key.to_raw()? == props.primary;
        let secondaries = secondary_keys.map(|s| if is_primary { s } else { &[][..] });
        let key = mutation.key.clone();
        match prewrite(txn, reader, cm, props, mutation, secondaries, action, None) {
            Ok(outcome) => {
                result.min_commit_ts = result.min_commit_ts.max(outcome.min_commit_ts);
                fell_back |= outcome.fell_back;
                result.guards.extend(outcome.guard);
                one_pc_locks.extend(outcome.one_pc);
            }
            Err(Error::Key(e)) if matches!(*e, KeyError::KeyIsLocked(_)) => {
                if let KeyError::KeyIsLocked(info) = *e {
                    result.locks.push(info);
                }
            }
            Err(Error::Key(e)) if may_be_committed(&e, props.start_ts) => {
                let record = reader.get_txn_commit_record(&key, props.start_ts)?;
                match record.committed_ts() {
                    Some(commit_ts) => {
                        *txn = MvccTxn::new(props.start_ts);
                        return Ok(PrewriteResult {
                            already_committed: Some(commit_ts),
                            ..PrewriteResult::default()
                        });
                    }
                    None => return Err(Error::Key(e)),
                }
            }
            Err(e) => return Err(e),
        }
    }
    if !result.locks.is_empty() {
        *txn = MvccTxn::new(props.start_ts);
        result.guards.clear();
        result.min_commit_ts = TimeStamp::zero();
        return Ok(result);
    }
    if fell_back {
        result.min_commit_ts = TimeStamp::zero();
        for l in one_pc_locks {
            let mut lock = l.lock;
            lock.use_one_pc = false;
            lock.use_async_commit = false;
            lock.secondaries.clear();
            txn.put_lock(l.key, &lock);
        }
        return Ok(result);
    }
    if matches!(props.commit_kind, CommitKind::OnePc { .. }) {
        result.one_pc_commit_ts = result.min_commit_ts;
        commit_one_pc_locks(txn, one_pc_locks, result.one_pc_commit_ts);
    }
    Ok(result)
}

/// Rule 3: errors a retry after a commit produces.
fn may_be_committed(e: &KeyError, start_ts: TimeStamp) -> bool {
    match e {
        KeyError::WriteConflict {
            conflict_commit_ts, ..
        } => *conflict_commit_ts > start_ts,
        KeyError::PessimisticLockNotFound { .. } => true,
        _ => false,
    }
}

/// Rule 5: turns prewritten 1PC locks into commit records at `commit_ts`.
fn commit_one_pc_locks(txn: &mut MvccTxn, locks: Vec<OnePcLock>, commit_ts: TimeStamp) {
    for l in locks {
        let Some(write_type) = WriteType::from_lock_type(l.lock.lock_type) else {
            continue;
        };
        let mut write = Write::new(write_type, l.lock.ts, l.lock.short_value.clone());
        if l.lock.rollback_ts.contains(&commit_ts) {
            write = write.set_overlapped_rollback(true, None);
        }
        txn.put_write(l.key.clone(), commit_ts, &write);
        if l.remove_pessimistic_lock {
            txn.unlock_key(l.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use mvcc::Key;

    use super::*;
    use crate::testing::*;

    fn request<E: crate::Engine>(
        s: &TestStore<E>,
        props: &TxnProps,
        kvs: &[(&[u8], &[u8])],
        secondaries: Option<&[Vec<u8>]>,
    ) -> Result<PrewriteResult> {
        let muts = kvs
            .iter()
            .map(|(k, v)| (Mutation::put(k, v), PessimisticAction::SkipPessimisticCheck))
            .collect();
        s.run(props.start_ts, |txn, r| {
            prewrite_request(txn, r, &s.cm, props, muts, secondaries)
        })
    }

    fn one_pc(start_ts: u64, max_commit_ts: u64) -> TxnProps {
        let mut p = TxnProps::optimistic(b"a", start_ts.into(), 100);
        p.commit_kind = CommitKind::OnePc {
            max_commit_ts: max_commit_ts.into(),
        };
        p
    }

    #[test]
    fn one_pc_commits_at_prewrite() {
        let s = TestStore::memory();
        s.cm.update_max_ts(30.into());
        let r = request(&s, &one_pc(10, 0), &[(b"a", b"1"), (b"b", b"2")], None).unwrap();
        assert_eq!(r.one_pc_commit_ts, 31.into());
        drop(r);
        for k in [b"a", b"b"] {
            must_unlocked(&s, k);
            must_written(&s, k, 10, 31, WriteType::Put);
        }
        must_get(&s, b"b", 31, b"2");
        // A retry after the commit is recognized.
        let r = request(&s, &one_pc(10, 0), &[(b"a", b"1")], None).unwrap();
        assert_eq!(r.already_committed, Some(31.into()));
    }

    #[test]
    fn one_pc_over_max_commit_ts_falls_back_to_locks() {
        let s = TestStore::memory();
        s.cm.update_max_ts(60.into());
        let r = request(&s, &one_pc(10, 50), &[(b"a", b"1"), (b"b", b"2")], None).unwrap();
        assert_eq!((r.one_pc_commit_ts, r.min_commit_ts), (0.into(), 0.into()));
        for k in [b"a", b"b"] {
            let l = must_locked(&s, k, 10);
            assert!(!l.use_async_commit && !l.use_one_pc);
        }
    }

    #[test]
    fn async_commit_secondaries_and_max_min_commit_ts() {
        let s = TestStore::memory();
        let mut props = TxnProps::optimistic(b"a", 10.into(), 100);
        props.commit_kind = CommitKind::Async {
            max_commit_ts: 0.into(),
        };
        let secondaries = vec![b"b".to_vec()];
        let r = request(
            &s,
            &props,
            &[(b"a", b"1"), (b"b", b"2")],
            Some(&secondaries),
        )
        .unwrap();
        assert_eq!(r.min_commit_ts, 11.into());
        assert_eq!(r.guards.len(), 2);
        drop(r);
        assert_eq!(must_locked(&s, b"a", 10).secondaries, secondaries);
        let b = must_locked(&s, b"b", 10);
        assert!(b.use_async_commit && b.secondaries.is_empty());
    }

    #[test]
    fn locks_met_are_gathered_and_nothing_is_written() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"b", b"x", b"b", 5);
        must_prewrite_put(&s, b"d", b"x", b"d", 6);
        let props = TxnProps::optimistic(b"a", 10.into(), 100);
        let r = request(
            &s,
            &props,
            &[(b"a", b"1"), (b"b", b"2"), (b"c", b"3"), (b"d", b"4")],
            None,
        )
        .unwrap();
        let keys: Vec<_> = r.locks.iter().map(|l| l.key.clone()).collect();
        assert_eq!(keys, vec![b"b".to_vec(), b"d".to_vec()]);
        must_unlocked(&s, b"a");
        must_unlocked(&s, b"c");
        let _ = Key::from_raw(b"a");
    }
}
