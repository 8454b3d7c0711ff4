//! Helpers shared by the command-layer scenario tests: a `TxnStorage` on either engine and
//! request builders. Every scenario is written once, generic over the engine, and run on
//! both.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use mvcc::{Key, LsmEngine, TimeStamp};
use txn::actions::acquire_pessimistic_lock::AcquirePessimisticLockRequest;
use txn::actions::mutation::{CommitKind, Mutation, PessimisticAction, TxnKind, TxnProps};
use txn::{
    ConcurrencyManager, Engine, Error, KeyError, LocalEngine, MemoryEngine, PrewriteRequest,
    ReadOptions, TxnStorage,
};

/// A storage and whatever must outlive it.
pub struct Env<E: Engine> {
    pub s: TxnStorage<E>,
    _dir: Option<tempfile::TempDir>,
}

pub fn memory() -> Env<MemoryEngine> {
    Env {
        s: TxnStorage::new(
            MemoryEngine::new(),
            ConcurrencyManager::new(TimeStamp::zero()),
        ),
        _dir: None,
    }
}

pub fn local() -> Env<LocalEngine> {
    let dir = tempfile::tempdir().unwrap();
    let options = lsm::Options {
        background_threads: 1,
        ..lsm::Options::default()
    };
    let db = Arc::new(lsm::Db::open(dir.path(), options).unwrap());
    let engine = LocalEngine::new(LsmEngine::new(db).unwrap());
    Env {
        s: TxnStorage::new(engine, ConcurrencyManager::new(TimeStamp::zero())).with_sync(false),
        _dir: Some(dir),
    }
}

pub fn ts(t: u64) -> TimeStamp {
    TimeStamp::new(t)
}

pub fn ro() -> ReadOptions {
    ReadOptions::default()
}

pub fn key_err(e: Error) -> KeyError {
    match e {
        Error::Key(k) => *k,
        e => panic!("expected a key error, got {e:?}"),
    }
}

/// An optimistic 2PC prewrite of `kvs`.
pub fn put_req(primary: &[u8], start_ts: u64, kvs: &[(&[u8], &[u8])]) -> PrewriteRequest {
    PrewriteRequest {
        props: TxnProps::optimistic(primary, ts(start_ts), 3000),
        mutations: kvs
            .iter()
            .map(|(k, v)| (Mutation::put(k, v), PessimisticAction::SkipPessimisticCheck))
            .collect(),
        secondary_keys: None,
    }
}

/// `put_req` with another commit kind.
pub fn put_req_kind(
    primary: &[u8],
    start_ts: u64,
    kvs: &[(&[u8], &[u8])],
    kind: CommitKind,
) -> PrewriteRequest {
    let mut r = put_req(primary, start_ts, kvs);
    r.props.commit_kind = kind;
    if matches!(kind, CommitKind::Async { .. }) {
        r.secondary_keys = Some(
            kvs.iter()
                .map(|(k, _)| k.to_vec())
                .filter(|k| k != primary)
                .collect(),
        );
    }
    r
}

/// A pessimistic prewrite of `kvs`, every key locked earlier at `for_update_ts`.
pub fn pessimistic_put_req(
    primary: &[u8],
    start_ts: u64,
    for_update_ts: u64,
    kvs: &[(&[u8], &[u8])],
) -> PrewriteRequest {
    let mut r = put_req(primary, start_ts, kvs);
    r.props.kind = TxnKind::Pessimistic {
        for_update_ts: ts(for_update_ts),
    };
    for m in &mut r.mutations {
        m.1 = PessimisticAction::DoPessimisticCheck;
    }
    r
}

/// A pessimistic lock request on `keys`.
pub fn lock_req(
    keys: &[&[u8]],
    primary: &[u8],
    start_ts: u64,
    for_update_ts: u64,
) -> AcquirePessimisticLockRequest {
    AcquirePessimisticLockRequest {
        keys: keys.iter().map(|k| (Key::from_raw(k), false)).collect(),
        primary: primary.to_vec(),
        start_ts: ts(start_ts),
        for_update_ts: ts(for_update_ts),
        lock_ttl: 3000,
        min_commit_ts: TimeStamp::zero(),
        need_value: false,
        need_check_existence: false,
        lock_only_if_exists: false,
    }
}

/// Prewrites and commits `kvs` (primary: the first key).
pub async fn must_put<E: Engine>(
    s: &TxnStorage<E>,
    kvs: &[(&[u8], &[u8])],
    start: u64,
    commit: u64,
) {
    let r = s.prewrite(put_req(kvs[0].0, start, kvs)).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let keys: Vec<Vec<u8>> = kvs.iter().map(|(k, _)| k.to_vec()).collect();
    s.commit(&keys, ts(start), ts(commit)).await.unwrap();
}

/// The value of `key` at `t`, which must not be locked.
pub async fn get<E: Engine>(s: &TxnStorage<E>, key: &[u8], t: u64) -> Option<Vec<u8>> {
    s.get(key, ts(t), ro()).await.unwrap()
}
