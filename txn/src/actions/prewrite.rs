//! Prewrite of one key: the first phase of Percolator's two-phase commit (TiKV's
//! `actions/prewrite.rs`).
//!
//! Rules, in the order they are applied:
//! 1. Insert / CheckNotExists raise `max_ts` to start ts: the existence check is a read.
//! 2. A lock of another transaction: `KeyIsLocked` (or `PessimisticLockNotFound` when the key
//!    must hold our pessimistic lock). Our own lock: a pessimistic one is overwritten (its
//!    TTL and min_commit_ts carried over; an optimistic request meeting it is
//!    `LockTypeNotMatch`); any other is a retried prewrite: nothing is written and the
//!    answer is the lock's min_commit_ts (async commit) or 0 — prewrite is idempotent.
//! 3. No lock where our pessimistic lock must be: the lock may have been lost (pipelined
//!    acquire, region moved). It is *amended* — prewritten as if optimistic — only if no
//!    record at or above start ts exists; else `PessimisticLockNotFound`.
//! 4. Newer records (unless the constraint check is skipped): a record of our own rollback at
//!    start ts is `WriteConflict(SelfRolledBack)`; the newest record committed after start ts
//!    (optimistic, DoConstraintCheck) or after for_update_ts (a key not locked
//!    pessimistically) is a `WriteConflict`. Insert / CheckNotExists meeting a live value:
//!    `AlreadyExist`.
//! 5. CheckNotExists stops here: it writes nothing.
//! 6. Assertions (level not Off): Exist on a missing key or NotExist on a present one is
//!    `AssertionFailed`.
//! 7. The lock is written; a value of at most 255 bytes is inlined in it, a longer one goes
//!    to the default CF at `key + start_ts`. Async commit stores the secondaries on the
//!    primary's lock; async commit and 1PC take min_commit_ts from the concurrency manager
//!    (`max(max_ts, start_ts, for_update_ts) + 1`), publishing the lock in memory until it
//!    is written. Above `max_commit_ts` the key falls back to an ordinary 2PC lock (as
//!    TiKV, which reports `CommitTsTooLarge` and carries on). A 1PC lock is not written but
//!    returned, for `prewrite_request` to commit.

use mvcc::SHORT_VALUE_MAX_LEN;
use mvcc::{Key, Lock, MvccReader, MvccTxn, Snapshot, TimeStamp, Write, WriteType};

use crate::actions::mutation::{
    AssertionLevel, CommitKind, Mutation, MutationOp, PessimisticAction, TxnKind, TxnProps,
};
use crate::concurrency_manager::{async_commit_timestamps, ConcurrencyManager, KeyGuard};
use crate::error::Result;
use crate::key_error::{Assertion, KeyError, PessimisticLockNotFoundReason, WriteConflictReason};

/// A 1PC key prewritten but not yet committed.
#[derive(Debug)]
pub struct OnePcLock {
    /// The key.
    pub key: Key,
    /// The lock it would have had; becomes the commit record.
    pub lock: Lock,
    /// It replaces our pessimistic lock, which the commit must remove.
    pub remove_pessimistic_lock: bool,
}

/// What a prewrite of one key produced.
#[derive(Debug, Default)]
pub struct PrewriteOutcome {
    /// Async commit / 1PC: the key's min commit ts (0 otherwise, or after a fallback).
    pub min_commit_ts: TimeStamp,
    /// Async commit / 1PC was asked for but max_commit_ts was exceeded: a 2PC lock was
    /// written instead.
    pub fell_back: bool,
    /// Holds the lock in the concurrency manager's table; drop only after the write.
    pub guard: Option<KeyGuard>,
    /// The 1PC lock to commit (1PC only).
    pub one_pc: Option<OnePcLock>,
}

/// State of the key's lock as far as this prewrite is concerned.
enum LockStatus {
    /// Nothing of ours (or amended after a lost pessimistic lock).
    None,
    /// Our pessimistic lock (replaced by the prewrite lock).
    Pessimistic,
    /// Our prewrite lock: a retry.
    Locked(TimeStamp),
}

/// Prewrites `mutation` of the transaction `props` (module docs).
///
/// `secondary_keys` is set on the primary of an async-commit transaction (empty on its
/// secondaries); `expected_for_update_ts` (if any) must match our pessimistic lock's.
///
/// # Errors
/// `KeyIsLocked`, `WriteConflict`, `AlreadyExist`, `AssertionFailed`,
/// `PessimisticLockNotFound`, `LockTypeNotMatch` (as data); engine or corruption errors.
#[allow(clippy::too_many_arguments)]
pub fn prewrite<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    cm: &ConcurrencyManager,
    props: &TxnProps,
    mutation: Mutation,
    secondary_keys: Option<&[Vec<u8>]>,
    pessimistic_action: PessimisticAction,
    expected_for_update_ts: Option<TimeStamp>,
) -> Result<PrewriteOutcome> {
    if mutation.should_not_exist() {
        cm.update_max_ts(props.start_ts);
    }
    let mut lock_ttl = props.lock_ttl;
    let mut min_commit_ts = props.min_commit_ts;
    let mut amended = false;
    let status = match reader.load_lock(&mutation.key)? {
        Some(lock) => {
            let raw = mutation.key.to_raw()?;
            if lock.ts != props.start_ts {
                if pessimistic_action == PessimisticAction::DoPessimisticCheck {
                    return Err(KeyError::PessimisticLockNotFound {
                        start_ts: props.start_ts,
                        key: raw,
                        reason: PessimisticLockNotFoundReason::LockTsMismatch,
                    }
                    .into());
                }
                return Err(KeyError::KeyIsLocked(lock.into_lock_info(raw)).into());
            }
            if lock.is_pessimistic_lock() {
                if !props.is_pessimistic() {
                    return Err(KeyError::LockTypeNotMatch {
                        start_ts: props.start_ts,
                        key: raw,
                        pessimistic: true,
                    }
                    .into());
                }
                if expected_for_update_ts.is_some_and(|ts| ts != lock.for_update_ts) {
                    return Err(KeyError::PessimisticLockNotFound {
                        start_ts: props.start_ts,
                        key: raw,
                        reason: PessimisticLockNotFoundReason::LockForUpdateTsMismatch,
                    }
                    .into());
                }
                // Heart beats and readers may have pushed these on the pessimistic lock.
                lock_ttl = lock_ttl.max(lock.ttl);
                min_commit_ts = min_commit_ts.max(lock.min_commit_ts);
                LockStatus::Pessimistic
            } else {
                let ts = if lock.use_async_commit {
                    lock.min_commit_ts
                } else {
                    TimeStamp::zero()
                };
                LockStatus::Locked(ts)
            }
        }
        None if pessimistic_action == PessimisticAction::DoPessimisticCheck => {
            amend_pessimistic_lock(reader, &mutation.key, props.start_ts)?;
            amended = true;
            LockStatus::None
        }
        None => LockStatus::None,
    };
    if let LockStatus::Locked(ts) = status {
        return Ok(PrewriteOutcome {
            min_commit_ts: ts,
            ..PrewriteOutcome::default()
        });
    }

    let check = match (props.kind, pessimistic_action) {
        (
            TxnKind::Optimistic {
                skip_constraint_check: true,
            },
            _,
        ) => None,
        (TxnKind::Optimistic { .. }, _) => Some((props.start_ts, WriteConflictReason::Optimistic)),
        // Our pessimistic lock guarantees nothing was committed since for_update_ts.
        (TxnKind::Pessimistic { .. }, PessimisticAction::DoPessimisticCheck) if !amended => None,
        (TxnKind::Pessimistic { .. }, PessimisticAction::DoPessimisticCheck) => {
            Some((props.start_ts, WriteConflictReason::Optimistic))
        }
        (TxnKind::Pessimistic { .. }, PessimisticAction::DoConstraintCheck) => {
            Some((props.start_ts, WriteConflictReason::LazyUniquenessCheck))
        }
        (TxnKind::Pessimistic { for_update_ts }, PessimisticAction::SkipPessimisticCheck) => {
            Some((for_update_ts, WriteConflictReason::NotLockedKeyConflict))
        }
    };
    if let Some((conflict_after, reason)) = check {
        check_for_newer_version(reader, props, &mutation, conflict_after, reason)?;
    }

    if mutation.op == MutationOp::CheckNotExists {
        let min_commit_ts = match props.commit_kind {
            CommitKind::TwoPc => TimeStamp::zero(),
            // Nothing is written, so max_ts need not be consulted: any ts above start works.
            _ => props.min_commit_ts.max(props.start_ts.next()),
        };
        return Ok(PrewriteOutcome {
            min_commit_ts,
            ..PrewriteOutcome::default()
        });
    }
    check_assertion(reader, props, &mutation)?;
    write_lock(
        txn,
        cm,
        props,
        mutation,
        secondary_keys,
        lock_ttl,
        min_commit_ts,
        matches!(status, LockStatus::Pessimistic),
    )
}

/// Rule 3: the lost pessimistic lock may be replaced only if nothing happened on the key
/// at or after start ts (for_update_ts ≥ start_ts, so nothing after for_update_ts either;
/// a record *at* start ts would be our own rollback).
fn amend_pessimistic_lock<S: Snapshot + ?Sized>(
    reader: &mut MvccReader<'_, S>,
    key: &Key,
    start_ts: TimeStamp,
) -> Result<()> {
    if let Some((commit_ts, _)) = reader.seek_write(key, TimeStamp::max())? {
        if commit_ts >= start_ts {
            return Err(KeyError::PessimisticLockNotFound {
                start_ts,
                key: key.to_raw()?,
                reason: PessimisticLockNotFoundReason::LockMissingAmendFail,
            }
            .into());
        }
    }
    Ok(())
}

/// Rule 4.
fn check_for_newer_version<S: Snapshot + ?Sized>(
    reader: &mut MvccReader<'_, S>,
    props: &TxnProps,
    mutation: &Mutation,
    conflict_after: TimeStamp,
    reason: WriteConflictReason,
) -> Result<()> {
    let Some((commit_ts, write)) = reader.seek_write(&mutation.key, TimeStamp::max())? else {
        return Ok(());
    };
    let conflict = |write: &Write, commit_ts, reason| -> Result<()> {
        Err(KeyError::write_conflict(
            props.start_ts,
            write.start_ts,
            commit_ts,
            mutation.key.to_raw()?,
            props.primary.clone(),
            reason,
        )
        .into())
    };
    if commit_ts >= props.start_ts {
        // Our own rollback (possibly as a flag on another commit) may lie under newer records.
        if let Some((ts, w)) = reader.seek_write(&mutation.key, props.start_ts)? {
            if ts == props.start_ts
                && (w.write_type == WriteType::Rollback || w.has_overlapped_rollback)
            {
                return conflict(&w, ts, WriteConflictReason::SelfRolledBack);
            }
        }
    }
    if commit_ts > conflict_after {
        return conflict(&write, commit_ts, reason);
    }
    if mutation.should_not_exist() {
        // The newest live value, skipping Lock and Rollback records; a GC-fenced one is stale.
        if let Some((_, w)) =
            reader.get_write(&mutation.key, TimeStamp::max(), Some(TimeStamp::max()))?
        {
            return Err(KeyError::AlreadyExist {
                key: mutation.key.to_raw()?,
                existing_start_ts: w.start_ts,
            }
            .into());
        }
    }
    Ok(())
}

/// Rule 6.
fn check_assertion<S: Snapshot + ?Sized>(
    reader: &mut MvccReader<'_, S>,
    props: &TxnProps,
    mutation: &Mutation,
) -> Result<()> {
    if props.assertion_level == AssertionLevel::Off || mutation.assertion == Assertion::None {
        return Ok(());
    }
    let live = reader.get_write(&mutation.key, TimeStamp::max(), Some(TimeStamp::max()))?;
    let (existing_start_ts, existing_commit_ts) = match (&live, mutation.assertion) {
        (Some((commit_ts, w)), Assertion::NotExist) => (w.start_ts, *commit_ts),
        (None, Assertion::Exist) => (TimeStamp::zero(), TimeStamp::zero()),
        _ => return Ok(()),
    };
    Err(KeyError::AssertionFailed {
        start_ts: props.start_ts,
        key: mutation.key.to_raw()?,
        assertion: mutation.assertion,
        existing_start_ts,
        existing_commit_ts,
    }
    .into())
}

/// Rule 7.
#[allow(clippy::too_many_arguments)]
fn write_lock(
    txn: &mut MvccTxn,
    cm: &ConcurrencyManager,
    props: &TxnProps,
    mutation: Mutation,
    secondary_keys: Option<&[Vec<u8>]>,
    lock_ttl: u64,
    min_commit_ts: TimeStamp,
    had_pessimistic_lock: bool,
) -> Result<PrewriteOutcome> {
    let Some(lock_type) = mutation.lock_type() else {
        return Ok(PrewriteOutcome::default());
    };
    let mut lock = Lock::new(lock_type, props.primary.clone(), props.start_ts, lock_ttl);
    lock.for_update_ts = props.for_update_ts();
    lock.txn_size = props.txn_size;
    lock.min_commit_ts = min_commit_ts;
    match mutation.op {
        MutationOp::Put(value) | MutationOp::Insert(value) => {
            if value.len() <= SHORT_VALUE_MAX_LEN {
                lock.short_value = Some(value);
            } else {
                txn.put_value(mutation.key.clone(), props.start_ts, value);
            }
        }
        MutationOp::Delete | MutationOp::Lock | MutationOp::CheckNotExists => {}
    }
    let mut one_pc = matches!(props.commit_kind, CommitKind::OnePc { .. });
    if let Some(secondaries) = secondary_keys {
        lock.use_async_commit = true;
        lock.secondaries = secondaries.to_vec();
    }
    let mut outcome = PrewriteOutcome::default();
    if lock.use_async_commit || one_pc {
        let guard = cm.lock_key(&mutation.key);
        match async_commit_timestamps(
            cm,
            &guard,
            &mut lock,
            props.for_update_ts(),
            props.commit_kind.max_commit_ts(),
        ) {
            Ok(ts) => {
                outcome.min_commit_ts = ts;
                outcome.guard = Some(guard);
            }
            Err(KeyError::CommitTsTooLarge { .. }) => {
                one_pc = false;
                lock.use_async_commit = false;
                lock.secondaries = Vec::new();
                outcome.fell_back = true;
            }
            Err(e) => return Err(e.into()),
        }
    }
    if one_pc {
        lock.use_one_pc = true;
        outcome.one_pc = Some(OnePcLock {
            key: mutation.key,
            lock,
            remove_pessimistic_lock: had_pessimistic_lock,
        });
    } else {
        txn.put_lock(mutation.key, &lock);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::key_error::Assertion;
    use crate::testing::*;

    fn long(tag: u8) -> Vec<u8> {
        vec![tag; SHORT_VALUE_MAX_LEN + 1]
    }

    #[test]
    fn short_values_are_inlined_long_ones_go_to_default() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"a", b"short", b"a", 5);
        must_prewrite_put(&s, b"b", &long(b'x'), b"a", 5);
        assert_eq!(
            must_locked(&s, b"a", 5).short_value.as_deref(),
            Some(&b"short"[..])
        );
        assert_eq!(must_locked(&s, b"b", 5).short_value, None);
        must_commit(&s, b"a", 5, 10);
        must_commit(&s, b"b", 5, 10);
        must_get(&s, b"a", 10, b"short");
        must_get(&s, b"b", 10, &long(b'x'));
        must_get_none(&s, b"b", 9);
    }

    #[test]
    fn another_transactions_lock_is_key_is_locked() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"k", b"v", b"pk", 5);
        match must_prewrite_put_err(&s, b"k", b"w", b"k", 6) {
            KeyError::KeyIsLocked(info) => {
                assert_eq!(
                    (info.key, info.primary_lock),
                    (b"k".to_vec(), b"pk".to_vec())
                );
                assert_eq!(info.lock_version, 5.into());
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn newer_commit_is_a_write_conflict_and_retries_are_idempotent() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"k", b"v1", b"k", 10);
        // A retry of the same prewrite: nothing changes, no error.
        must_prewrite_put(&s, b"k", b"v1", b"k", 10);
        must_commit(&s, b"k", 10, 15);
        let e = must_prewrite_put_err(&s, b"k", b"v2", b"p", 12);
        assert_eq!(
            e,
            KeyError::WriteConflict {
                start_ts: 12.into(),
                conflict_start_ts: 10.into(),
                conflict_commit_ts: 15.into(),
                key: b"k".to_vec(),
                primary: b"p".to_vec(),
                reason: WriteConflictReason::Optimistic,
            }
        );
        must_unlocked(&s, b"k");
        must_prewrite_put(&s, b"k", b"v2", b"k", 16);
    }

    #[test]
    fn prewrite_after_own_rollback_fails() {
        let s = TestStore::memory();
        must_rollback(&s, b"k", 5);
        let e = must_prewrite_put_err(&s, b"k", b"v", b"k", 5);
        assert!(matches!(
            e,
            KeyError::WriteConflict { reason: WriteConflictReason::SelfRolledBack, conflict_commit_ts, .. }
                if conflict_commit_ts == 5.into()
        ));
    }

    #[test]
    fn insert_and_check_not_exists() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"k", b"v", b"k", 5);
        must_commit(&s, b"k", 5, 6);
        // A Lock and a Rollback record on top do not hide the value.
        must_prewrite_lock(&s, b"k", b"k", 7);
        must_commit(&s, b"k", 7, 8);
        must_rollback(&s, b"k", 9);
        let e = must_prewrite_err(&s, b"k", MutationOp::Insert(b"x".to_vec()), b"k", 10);
        assert_eq!(
            e,
            KeyError::AlreadyExist {
                key: b"k".to_vec(),
                existing_start_ts: 5.into()
            }
        );
        let e = must_prewrite_err(&s, b"k", MutationOp::CheckNotExists, b"k", 10);
        assert!(matches!(e, KeyError::AlreadyExist { .. }));
        assert!(s.cm.max_ts() >= 10.into(), "the check is a read");
        must_prewrite_delete(&s, b"k", b"k", 11);
        must_commit(&s, b"k", 11, 12);
        must_prewrite(&s, b"k", MutationOp::CheckNotExists, b"k", 13);
        must_unlocked(&s, b"k"); // CheckNotExists writes nothing
        must_prewrite(&s, b"k", MutationOp::Insert(b"new".to_vec()), b"k", 13);
        assert_eq!(must_locked(&s, b"k", 13).lock_type, mvcc::LockType::Put);
    }

    #[test]
    fn assertions() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"k", b"v", b"k", 5);
        must_commit(&s, b"k", 5, 6);
        let mut props = TxnProps::optimistic(b"k", 10.into(), 0);
        let skip = PessimisticAction::SkipPessimisticCheck;
        let not_exist = Mutation::put(b"k", b"w").with_assertion(Assertion::NotExist);
        // Off: not checked.
        try_prewrite(&s, &props, not_exist.clone(), None, skip).unwrap();
        must_rollback(&s, b"k", 10);
        props.start_ts = 11.into();
        props.assertion_level = AssertionLevel::Strict;
        let e = key_err(try_prewrite(&s, &props, not_exist, None, skip).unwrap_err());
        assert_eq!(
            e,
            KeyError::AssertionFailed {
                start_ts: 11.into(),
                key: b"k".to_vec(),
                assertion: Assertion::NotExist,
                existing_start_ts: 5.into(),
                existing_commit_ts: 6.into(),
            }
        );
        let exist = Mutation::put(b"nope", b"w").with_assertion(Assertion::Exist);
        let e = key_err(try_prewrite(&s, &props, exist, None, skip).unwrap_err());
        assert!(matches!(
            e,
            KeyError::AssertionFailed { assertion: Assertion::Exist, existing_start_ts, .. }
                if existing_start_ts.is_zero()
        ));
        let ok = Mutation::put(b"k", b"w").with_assertion(Assertion::Exist);
        try_prewrite(&s, &props, ok, None, skip).unwrap();
    }

    #[test]
    fn pessimistic_prewrite_rules() {
        let s = TestStore::memory();
        let check = PessimisticAction::DoPessimisticCheck;
        must_acquire_pessimistic_lock(&s, b"k", b"k", 10, 10);
        // An optimistic prewrite meeting our pessimistic lock.
        let e = must_prewrite_put_err(&s, b"k", b"v", b"k", 10);
        assert!(matches!(
            e,
            KeyError::LockTypeNotMatch {
                pessimistic: true,
                ..
            }
        ));
        must_txn_heart_beat(&s, b"k", 10, 500);
        must_pessimistic_prewrite_put(&s, b"k", b"v", b"k", 10, 12, check);
        let lock = must_locked(&s, b"k", 10);
        assert_eq!(
            (lock.lock_type, lock.ttl, lock.for_update_ts),
            (mvcc::LockType::Put, 500, 12.into())
        );

        // Another transaction's lock where ours must be.
        let e = must_pessimistic_prewrite_put_err(&s, b"k", b"v", b"k", 20, 20, check);
        assert!(matches!(
            e,
            KeyError::PessimisticLockNotFound {
                reason: PessimisticLockNotFoundReason::LockTsMismatch,
                ..
            }
        ));
        must_commit(&s, b"k", 10, 15);

        // Lost lock: amended while nothing changed since start, refused otherwise.
        must_pessimistic_prewrite_put(&s, b"k", b"v2", b"k", 20, 20, check);
        must_rollback(&s, b"k", 20);
        let e = must_pessimistic_prewrite_put_err(&s, b"k", b"v3", b"k", 14, 16, check);
        assert_eq!(
            e,
            KeyError::PessimisticLockNotFound {
                start_ts: 14.into(),
                key: b"k".to_vec(),
                reason: PessimisticLockNotFoundReason::LockMissingAmendFail,
            }
        );

        // Keys not locked pessimistically: conflicts after for_update_ts / start_ts.
        let skip = PessimisticAction::SkipPessimisticCheck;
        must_pessimistic_prewrite_put(&s, b"k", b"v", b"k", 14, 30, skip);
        must_rollback(&s, b"k", 14);
        // The newest record (txn 20's rollback) counts, as in TiKV: any record after the bound.
        let e = must_pessimistic_prewrite_put_err(&s, b"k", b"v", b"k", 13, 14, skip);
        assert!(matches!(
            e,
            KeyError::WriteConflict { reason: WriteConflictReason::NotLockedKeyConflict, conflict_commit_ts, .. }
                if conflict_commit_ts == 20.into()
        ));
        let lazy = PessimisticAction::DoConstraintCheck;
        let e = must_pessimistic_prewrite_put_err(&s, b"k", b"v", b"k", 13, 40, lazy);
        assert!(matches!(
            e,
            KeyError::WriteConflict {
                reason: WriteConflictReason::LazyUniquenessCheck,
                ..
            }
        ));
    }

    #[test]
    fn async_commit_takes_its_ts_from_the_concurrency_manager() {
        let s = TestStore::memory();
        s.cm.update_max_ts(42.into());
        let secondaries = vec![b"s".to_vec()];
        let mut props = TxnProps::optimistic(b"p", 10.into(), 100);
        props.commit_kind = CommitKind::Async {
            max_commit_ts: 50.into(),
        };
        let skip = PessimisticAction::SkipPessimisticCheck;
        // While the guard is held (before the write), readers see the lock in memory.
        let out = s
            .run(10, |txn, r| {
                let out = prewrite(
                    txn,
                    r,
                    &s.cm,
                    &props,
                    Mutation::put(b"p", b"v"),
                    Some(&secondaries),
                    skip,
                    None,
                )?;
                let seen =
                    s.cm.read_key_check(&Key::from_raw(b"p"), |l| Err(l.min_commit_ts));
                assert_eq!(seen, Err(43.into()));
                Ok(out)
            })
            .unwrap();
        assert_eq!((out.min_commit_ts, out.fell_back), (43.into(), false));
        drop(out);
        let lock = must_locked(&s, b"p", 10);
        assert!(lock.use_async_commit);
        assert_eq!(
            (lock.secondaries, lock.min_commit_ts),
            (secondaries.clone(), 43.into())
        );
        // A retry answers the lock's min_commit_ts.
        let again = try_prewrite(
            &s,
            &props,
            Mutation::put(b"p", b"v"),
            Some(&secondaries),
            skip,
        )
        .unwrap();
        assert_eq!(again.min_commit_ts, 43.into());

        // Above max_commit_ts the key falls back to a 2PC lock.
        s.cm.update_max_ts(60.into());
        let out = try_prewrite(&s, &props, Mutation::put(b"s", b"v"), Some(&[]), skip).unwrap();
        assert!(out.fell_back && out.min_commit_ts.is_zero());
        let lock = must_locked(&s, b"s", 10);
        assert!(!lock.use_async_commit && lock.min_commit_ts.is_zero());
    }
}
