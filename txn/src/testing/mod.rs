//! Test support behind the `test-util` feature.
//!
//! - This file: a synchronous harness that runs actions against an [`Engine`], and
//!   TiKV-style `must_*` helpers over it (TiKV's `storage::txn::tests` and `mvcc::tests`).
//!   [`TestStore::run`] takes a snapshot, runs one action into a fresh `MvccTxn`, and writes
//!   the buffer as one batch only if the action succeeded — what a command will do, minus
//!   latches. Helpers panic with context on any unexpected outcome; `*_err` helpers return
//!   the [`KeyError`] so tests can check every field.
//! - [`client`], `locking`, `resolver`, `commit`: a Percolator client over [`crate::TxnStorage`]
//!   ([`Client`], [`Txn`]) with lock resolution and every commit flavour, fed by the
//!   timestamp [`Oracle`] (`crate::oracle`), for concurrency tests and benchmarks.
//! - [`history`]: recording transaction histories for an isolation checker; `rng`: a
//!   seeded generator.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod client;
mod commit;
pub mod history;
mod locking;
mod resolver;
mod rng;

pub use crate::oracle::Oracle;
pub use client::{Client, ClientConfig, ClientError, ClientStats, Flavour, Protocol, Txn};
pub use commit::Abandoned;
pub use history::{Completion, History, HistoryStats, Op};
pub use rng::Rng;

use mvcc::{Key, Lock, LsmEngine, MvccReader, MvccTxn, PointGetter, ReadOptions, TimeStamp};
use mvcc::{Write, WriteType};

use crate::actions::acquire_pessimistic_lock::{
    acquire_pessimistic_lock, AcquirePessimisticLockRequest, PessimisticLockKeyResult,
};
use crate::actions::check_txn_status::{check_txn_status, CheckTxnStatusArgs, TxnStatus};
use crate::actions::cleanup::{cleanup, rollback};
use crate::actions::commit::commit;
use crate::actions::gc::{gc, GcInfo};
use crate::actions::mutation::{
    CommitKind, Mutation, MutationOp, PessimisticAction, TxnKind, TxnProps,
};
use crate::actions::pessimistic_rollback::pessimistic_rollback;
use crate::actions::prewrite::{prewrite, PrewriteOutcome};
use crate::actions::txn_heart_beat::txn_heart_beat;
use crate::{ConcurrencyManager, Engine, Error, KeyError, LocalEngine, MemoryEngine, Result};

/// An engine, a runtime to drive it synchronously, and the concurrency manager.
#[derive(Debug)]
pub struct TestStore<E: Engine> {
    pub engine: E,
    pub cm: ConcurrencyManager,
    rt: tokio::runtime::Runtime,
    _dir: Option<tempfile::TempDir>,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

impl TestStore<MemoryEngine> {
    /// A store in memory.
    pub fn memory() -> Self {
        TestStore {
            engine: MemoryEngine::new(),
            cm: ConcurrencyManager::new(TimeStamp::zero()),
            rt: runtime(),
            _dir: None,
        }
    }
}

impl TestStore<LocalEngine> {
    /// A store on the local LSM in a temporary directory.
    pub fn local() -> Self {
        Self::local_with(lsm::Options::default()).0
    }

    /// A local store opened with `options` (e.g. a compaction filter); also returns the db.
    pub fn local_with(options: lsm::Options) -> (Self, std::sync::Arc<lsm::Db>) {
        let dir = tempfile::tempdir().unwrap();
        let options = lsm::Options {
            background_threads: 1,
            ..options
        };
        let db = std::sync::Arc::new(lsm::Db::open(dir.path(), options).unwrap());
        let engine = LocalEngine::new(LsmEngine::new(db.clone()).unwrap());
        let store = TestStore {
            engine,
            cm: ConcurrencyManager::new(TimeStamp::zero()),
            rt: runtime(),
            _dir: Some(dir),
        };
        (store, db)
    }
}

impl<E: Engine> TestStore<E> {
    /// A snapshot of the latest state.
    pub fn snapshot(&self) -> E::Snap {
        self.rt.block_on(self.engine.snapshot()).unwrap()
    }

    /// Writes raw modifications.
    pub fn write(&self, modifies: Vec<mvcc::Modify>) {
        self.rt
            .block_on(self.engine.write(modifies, false))
            .unwrap();
    }

    /// Runs `action` over a snapshot; writes its buffer as one batch if it succeeded.
    ///
    /// # Errors
    /// The action's error (nothing is written then).
    pub fn run<T>(
        &self,
        start_ts: impl Into<TimeStamp>,
        action: impl for<'a> FnOnce(&mut MvccTxn, &mut MvccReader<'a, E::Snap>) -> Result<T>,
    ) -> Result<T> {
        let snap = self.snapshot();
        let mut reader = MvccReader::new(&snap);
        let mut txn = MvccTxn::new(start_ts.into());
        let out = action(&mut txn, &mut reader)?;
        self.rt
            .block_on(self.engine.write(txn.into_modifies(), false))?;
        Ok(out)
    }
}

/// The key error inside `e`; panics on any other error.
pub fn key_err(e: Error) -> KeyError {
    match e {
        Error::Key(k) => *k,
        e => panic!("expected a key error, got {e:?}"),
    }
}

fn ts(t: impl Into<TimeStamp>) -> TimeStamp {
    t.into()
}

// ---- prewrite ----

/// Prewrites `mutation` with `props`; the outcome's guard is dropped after the write.
pub fn try_prewrite<E: Engine>(
    s: &TestStore<E>,
    props: &TxnProps,
    mutation: Mutation,
    secondaries: Option<&[Vec<u8>]>,
    action: PessimisticAction,
) -> Result<PrewriteOutcome> {
    s.run(props.start_ts, |txn, r| {
        prewrite(txn, r, &s.cm, props, mutation, secondaries, action, None)
    })
}

fn optimistic(pk: &[u8], start_ts: TimeStamp) -> TxnProps {
    TxnProps::optimistic(pk, start_ts, 0)
}

pub fn pessimistic(
    pk: &[u8],
    start_ts: impl Into<TimeStamp>,
    for_update_ts: impl Into<TimeStamp>,
) -> TxnProps {
    let mut p = TxnProps::optimistic(pk, start_ts.into(), 0);
    p.kind = TxnKind::Pessimistic {
        for_update_ts: for_update_ts.into(),
    };
    p
}

pub fn must_prewrite<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    op: MutationOp,
    pk: &[u8],
    start_ts: impl Into<TimeStamp>,
) {
    let props = optimistic(pk, ts(start_ts));
    try_prewrite(
        s,
        &props,
        Mutation::new(key, op),
        None,
        PessimisticAction::SkipPessimisticCheck,
    )
    .unwrap();
}

pub fn must_prewrite_put<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    value: &[u8],
    pk: &[u8],
    start_ts: impl Into<TimeStamp>,
) {
    must_prewrite(s, key, MutationOp::Put(value.to_vec()), pk, start_ts);
}

pub fn must_prewrite_delete<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    pk: &[u8],
    start_ts: impl Into<TimeStamp>,
) {
    must_prewrite(s, key, MutationOp::Delete, pk, start_ts);
}

pub fn must_prewrite_lock<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    pk: &[u8],
    start_ts: impl Into<TimeStamp>,
) {
    must_prewrite(s, key, MutationOp::Lock, pk, start_ts);
}

pub fn must_prewrite_err<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    op: MutationOp,
    pk: &[u8],
    start_ts: impl Into<TimeStamp>,
) -> KeyError {
    let props = optimistic(pk, ts(start_ts));
    key_err(
        try_prewrite(
            s,
            &props,
            Mutation::new(key, op),
            None,
            PessimisticAction::SkipPessimisticCheck,
        )
        .unwrap_err(),
    )
}

pub fn must_prewrite_put_err<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    value: &[u8],
    pk: &[u8],
    start_ts: impl Into<TimeStamp>,
) -> KeyError {
    must_prewrite_err(s, key, MutationOp::Put(value.to_vec()), pk, start_ts)
}

pub fn must_pessimistic_prewrite_put<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    value: &[u8],
    pk: &[u8],
    start_ts: impl Into<TimeStamp>,
    for_update_ts: impl Into<TimeStamp>,
    action: PessimisticAction,
) {
    let props = pessimistic(pk, start_ts, for_update_ts);
    try_prewrite(s, &props, Mutation::put(key, value), None, action).unwrap();
}

pub fn must_pessimistic_prewrite_put_err<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    value: &[u8],
    pk: &[u8],
    start_ts: impl Into<TimeStamp>,
    for_update_ts: impl Into<TimeStamp>,
    action: PessimisticAction,
) -> KeyError {
    let props = pessimistic(pk, start_ts, for_update_ts);
    key_err(try_prewrite(s, &props, Mutation::put(key, value), None, action).unwrap_err())
}

/// Async-commit prewrite of a put (`secondaries` on the primary); returns min_commit_ts.
pub fn must_prewrite_put_async_commit<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    value: &[u8],
    pk: &[u8],
    secondaries: &[Vec<u8>],
    start_ts: impl Into<TimeStamp>,
    max_commit_ts: impl Into<TimeStamp>,
) -> TimeStamp {
    let mut props = optimistic(pk, ts(start_ts));
    props.commit_kind = CommitKind::Async {
        max_commit_ts: max_commit_ts.into(),
    };
    props.lock_ttl = 100;
    let outcome = try_prewrite(
        s,
        &props,
        Mutation::put(key, value),
        Some(secondaries),
        PessimisticAction::SkipPessimisticCheck,
    )
    .unwrap();
    assert!(!outcome.fell_back, "async commit fell back");
    outcome.min_commit_ts
}

// ---- pessimistic locks ----

pub fn lock_request(
    key: &[u8],
    pk: &[u8],
    start_ts: impl Into<TimeStamp>,
    for_update_ts: impl Into<TimeStamp>,
) -> AcquirePessimisticLockRequest {
    AcquirePessimisticLockRequest {
        keys: vec![(Key::from_raw(key), false)],
        primary: pk.to_vec(),
        start_ts: start_ts.into(),
        for_update_ts: for_update_ts.into(),
        lock_ttl: 0,
        min_commit_ts: TimeStamp::zero(),
        need_value: false,
        need_check_existence: false,
        lock_only_if_exists: false,
    }
}

pub fn try_acquire<E: Engine>(
    s: &TestStore<E>,
    req: &AcquirePessimisticLockRequest,
) -> Result<Vec<PessimisticLockKeyResult>> {
    s.run(req.start_ts, |txn, r| {
        acquire_pessimistic_lock(txn, r, &s.cm, req)
    })
}

pub fn must_acquire_pessimistic_lock<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    pk: &[u8],
    start_ts: impl Into<TimeStamp>,
    for_update_ts: impl Into<TimeStamp>,
) {
    try_acquire(s, &lock_request(key, pk, start_ts, for_update_ts)).unwrap();
}

pub fn must_acquire_pessimistic_lock_err<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    pk: &[u8],
    start_ts: impl Into<TimeStamp>,
    for_update_ts: impl Into<TimeStamp>,
) -> KeyError {
    key_err(try_acquire(s, &lock_request(key, pk, start_ts, for_update_ts)).unwrap_err())
}

pub fn must_pessimistic_rollback<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    start_ts: impl Into<TimeStamp>,
    for_update_ts: impl Into<TimeStamp>,
) -> usize {
    let (start_ts, for_update_ts) = (ts(start_ts), ts(for_update_ts));
    s.run(start_ts, |txn, r| {
        pessimistic_rollback(txn, r, vec![Key::from_raw(key)], start_ts, for_update_ts)
    })
    .unwrap()
}

// ---- commit, rollback, cleanup, status ----

pub fn try_commit<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    start_ts: impl Into<TimeStamp>,
    commit_ts: impl Into<TimeStamp>,
) -> Result<crate::actions::commit::CommitOutcome> {
    let (start_ts, commit_ts) = (ts(start_ts), ts(commit_ts));
    s.run(start_ts, |txn, r| {
        commit(txn, r, Key::from_raw(key), start_ts, commit_ts)
    })
}

pub fn must_commit<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    start_ts: impl Into<TimeStamp>,
    commit_ts: impl Into<TimeStamp>,
) {
    try_commit(s, key, start_ts, commit_ts).unwrap();
}

pub fn must_commit_err<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    start_ts: impl Into<TimeStamp>,
    commit_ts: impl Into<TimeStamp>,
) -> KeyError {
    key_err(try_commit(s, key, start_ts, commit_ts).unwrap_err())
}

pub fn try_rollback<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    start_ts: impl Into<TimeStamp>,
) -> Result<()> {
    let start_ts = ts(start_ts);
    s.run(start_ts, |txn, r| {
        rollback(txn, r, vec![Key::from_raw(key)], start_ts)
    })
}

pub fn must_rollback<E: Engine>(s: &TestStore<E>, key: &[u8], start_ts: impl Into<TimeStamp>) {
    try_rollback(s, key, start_ts).unwrap();
}

pub fn must_rollback_err<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    start_ts: impl Into<TimeStamp>,
) -> KeyError {
    key_err(try_rollback(s, key, start_ts).unwrap_err())
}

pub fn try_cleanup<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    start_ts: impl Into<TimeStamp>,
    current_ts: impl Into<TimeStamp>,
) -> Result<()> {
    let (start_ts, current_ts) = (ts(start_ts), ts(current_ts));
    s.run(start_ts, |txn, r| {
        cleanup(txn, r, Key::from_raw(key), start_ts, current_ts, true)
    })
}

pub fn must_cleanup<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    start_ts: impl Into<TimeStamp>,
    current_ts: impl Into<TimeStamp>,
) {
    try_cleanup(s, key, start_ts, current_ts).unwrap();
}

pub fn must_cleanup_err<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    start_ts: impl Into<TimeStamp>,
    current_ts: impl Into<TimeStamp>,
) -> KeyError {
    key_err(try_cleanup(s, key, start_ts, current_ts).unwrap_err())
}

/// Check-txn-status arguments with every flag off.
pub fn status_args(
    lock_ts: impl Into<TimeStamp>,
    caller_start_ts: impl Into<TimeStamp>,
    current_ts: impl Into<TimeStamp>,
) -> CheckTxnStatusArgs {
    CheckTxnStatusArgs {
        lock_ts: lock_ts.into(),
        caller_start_ts: caller_start_ts.into(),
        current_ts: current_ts.into(),
        rollback_if_not_exist: false,
        force_sync_commit: false,
        resolving_pessimistic_lock: false,
        verify_is_primary: false,
    }
}

pub fn try_check_txn_status<E: Engine>(
    s: &TestStore<E>,
    pk: &[u8],
    args: &CheckTxnStatusArgs,
) -> Result<TxnStatus> {
    s.run(args.lock_ts, |txn, r| {
        check_txn_status(txn, r, &s.cm, Key::from_raw(pk), args)
    })
}

pub fn must_check_txn_status<E: Engine>(
    s: &TestStore<E>,
    pk: &[u8],
    args: &CheckTxnStatusArgs,
) -> TxnStatus {
    try_check_txn_status(s, pk, args).unwrap()
}

pub fn must_check_txn_status_err<E: Engine>(
    s: &TestStore<E>,
    pk: &[u8],
    args: &CheckTxnStatusArgs,
) -> KeyError {
    key_err(try_check_txn_status(s, pk, args).unwrap_err())
}

pub fn must_txn_heart_beat<E: Engine>(
    s: &TestStore<E>,
    pk: &[u8],
    start_ts: impl Into<TimeStamp>,
    advise_ttl: u64,
) -> u64 {
    let start_ts = ts(start_ts);
    s.run(start_ts, |txn, r| {
        txn_heart_beat(txn, r, Key::from_raw(pk), start_ts, advise_ttl)
    })
    .unwrap()
    .ttl
}

pub fn must_gc<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    safe_point: impl Into<TimeStamp>,
) -> GcInfo {
    let safe_point = ts(safe_point);
    s.run(TimeStamp::zero(), |txn, r| {
        gc(txn, r, Key::from_raw(key), safe_point)
    })
    .unwrap()
}

// ---- reads and state checks ----

pub fn try_get<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    read_ts: impl Into<TimeStamp>,
) -> Result<Option<Vec<u8>>> {
    let snap = s.snapshot();
    let mut getter = PointGetter::new(&snap, read_ts.into(), ReadOptions::default());
    Ok(getter.get(&Key::from_raw(key))?)
}

pub fn must_get<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    read_ts: impl Into<TimeStamp>,
    expected: &[u8],
) {
    assert_eq!(
        try_get(s, key, read_ts).unwrap().as_deref(),
        Some(expected),
        "key {key:?}"
    );
}

pub fn must_get_none<E: Engine>(s: &TestStore<E>, key: &[u8], read_ts: impl Into<TimeStamp>) {
    assert_eq!(try_get(s, key, read_ts).unwrap(), None, "key {key:?}");
}

pub fn must_get_err<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    read_ts: impl Into<TimeStamp>,
) -> KeyError {
    key_err(try_get(s, key, read_ts).unwrap_err())
}

pub fn load_lock<E: Engine>(s: &TestStore<E>, key: &[u8]) -> Option<Lock> {
    let snap = s.snapshot();
    let lock = MvccReader::new(&snap)
        .load_lock(&Key::from_raw(key))
        .unwrap();
    lock
}

/// The lock of `start_ts` on `key`; panics if there is none or another.
pub fn must_locked<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    start_ts: impl Into<TimeStamp>,
) -> Lock {
    let lock = load_lock(s, key).unwrap_or_else(|| panic!("no lock on {key:?}"));
    assert_eq!(lock.ts, start_ts.into(), "lock on {key:?}");
    lock
}

pub fn must_pessimistic_locked<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    start_ts: impl Into<TimeStamp>,
    for_update_ts: impl Into<TimeStamp>,
) -> Lock {
    let lock = must_locked(s, key, start_ts);
    assert!(lock.is_pessimistic_lock(), "{lock:?}");
    assert_eq!(lock.for_update_ts, for_update_ts.into());
    lock
}

pub fn must_unlocked<E: Engine>(s: &TestStore<E>, key: &[u8]) {
    assert_eq!(load_lock(s, key), None, "key {key:?} is locked");
}

/// The write record at `key + ts`, if any.
pub fn write_at<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    at: impl Into<TimeStamp>,
) -> Option<Write> {
    let snap = s.snapshot();
    let at = at.into();
    let found = MvccReader::new(&snap)
        .seek_write(&Key::from_raw(key), at)
        .unwrap()
        .filter(|(ts, _)| *ts == at)
        .map(|(_, w)| w);
    found
}

/// The record of `start_ts` committed at `commit_ts` with `write_type`.
pub fn must_written<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    start_ts: impl Into<TimeStamp>,
    commit_ts: impl Into<TimeStamp>,
    write_type: WriteType,
) -> Write {
    let commit_ts = commit_ts.into();
    let w = write_at(s, key, commit_ts)
        .unwrap_or_else(|| panic!("no record of {key:?} at {commit_ts}"));
    assert_eq!((w.start_ts, w.write_type), (start_ts.into(), write_type));
    w
}

pub fn must_get_commit_ts<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    start_ts: impl Into<TimeStamp>,
    commit_ts: impl Into<TimeStamp>,
) {
    let snap = s.snapshot();
    let rec = MvccReader::new(&snap)
        .get_txn_commit_record(&Key::from_raw(key), start_ts.into())
        .unwrap();
    assert_eq!(rec.committed_ts(), Some(commit_ts.into()), "{rec:?}");
}

pub fn must_get_rollback_ts<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    start_ts: impl Into<TimeStamp>,
) {
    let start_ts = start_ts.into();
    must_written(s, key, start_ts, start_ts, WriteType::Rollback);
}

pub fn must_get_rollback_protected<E: Engine>(
    s: &TestStore<E>,
    key: &[u8],
    start_ts: impl Into<TimeStamp>,
    protected: bool,
) {
    let start_ts = start_ts.into();
    let w = must_written(s, key, start_ts, start_ts, WriteType::Rollback);
    assert_eq!(w.is_protected(), protected, "{w:?}");
}

pub fn must_not_have_write<E: Engine>(s: &TestStore<E>, key: &[u8], at: impl Into<TimeStamp>) {
    let at = at.into();
    assert_eq!(write_at(s, key, at), None, "record of {key:?} at {at}");
}
