//! Helpers shared by the scenario tests: the two engines behind one trait, and TiKV-style
//! `must_*` writers that lay down committed versions, rollbacks and locks.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use mvcc::{
    make_rollback, Key, Lock, LsmEngine, MemEngine, Modify, MvccReader, MvccTxn, PointGetter,
    ReadOptions, Result, ScanOptions, Scanner, Snapshot, TimeStamp, Write,
};

/// An engine under test.
pub trait TestEngine {
    fn name(&self) -> &'static str;
    fn apply(&self, modifies: Vec<Modify>);
    fn snap(&self) -> Box<dyn Snapshot>;
    /// Moves what was written so far into tables (LSM only), so reads cross memtable and disk.
    fn flush(&self) {}
}

impl TestEngine for MemEngine {
    fn name(&self) -> &'static str {
        "memory"
    }
    fn apply(&self, modifies: Vec<Modify>) {
        self.write(modifies).unwrap();
    }
    fn snap(&self) -> Box<dyn Snapshot> {
        Box::new(self.snapshot())
    }
}

pub struct LsmTest {
    engine: LsmEngine,
    _dir: tempfile::TempDir,
}

impl TestEngine for LsmTest {
    fn name(&self) -> &'static str {
        "lsm"
    }
    fn apply(&self, modifies: Vec<Modify>) {
        self.engine
            .write(&modifies, lsm::WriteOptions::default())
            .unwrap();
    }
    fn snap(&self) -> Box<dyn Snapshot> {
        Box::new(self.engine.snapshot())
    }
    fn flush(&self) {
        self.engine.db().flush().unwrap();
    }
}

pub fn lsm_engine() -> LsmTest {
    let dir = tempfile::tempdir().unwrap();
    let options = lsm::Options {
        background_threads: 1,
        ..lsm::Options::default()
    };
    let db = Arc::new(lsm::Db::open(dir.path(), options).unwrap());
    LsmTest {
        engine: LsmEngine::new(db).unwrap(),
        _dir: dir,
    }
}

/// Both engines, fresh.
pub fn engines() -> Vec<Box<dyn TestEngine>> {
    vec![Box::new(MemEngine::new()), Box::new(lsm_engine())]
}

// Not every scenario uses it.
#[allow(unused_imports)]
pub use mvcc::testing::long;

/// Commits a Put (`Some`) or Delete (`None`) of `key` by the txn `start`, at `commit`.
pub fn must_commit(e: &dyn TestEngine, key: &[u8], value: Option<&[u8]>, start: u64, commit: u64) {
    e.apply(mvcc::testing::committed(key, value, start, commit));
}

/// Writes any record at `key + ts`.
pub fn must_put_write(e: &dyn TestEngine, key: &[u8], ts: u64, write: &Write) {
    let mut txn = MvccTxn::new(TimeStamp::zero());
    txn.put_write(Key::from_raw(key), ts.into(), write);
    e.apply(txn.into_modifies());
}

/// Puts `lock` on `key` (and a long value of it in the default CF).
pub fn must_lock(e: &dyn TestEngine, key: &[u8], lock: &Lock, long_value: Option<&[u8]>) {
    let k = Key::from_raw(key);
    let mut txn = MvccTxn::new(lock.ts);
    if let Some(v) = long_value {
        txn.put_value(k.clone(), lock.ts, v.to_vec());
    }
    txn.put_lock(k, lock);
    e.apply(txn.into_modifies());
}

/// Rolls back the txn `start` on `key` as the rollback action will: look up its commit
/// record, then write what `make_rollback` says (possibly nothing).
pub fn must_rollback(e: &dyn TestEngine, key: &[u8], start: u64, protected: bool) {
    let k = Key::from_raw(key);
    let snap = e.snap();
    let record = MvccReader::new(&*snap)
        .get_txn_commit_record(&k, start.into())
        .unwrap();
    assert!(
        record.committed_ts().is_none(),
        "txn {start} committed on {key:?}"
    );
    let mut txn = MvccTxn::new(start.into());
    if let Some(w) = make_rollback(start.into(), protected, record.unwrap_none()) {
        txn.put_write(k, start.into(), &w);
    }
    e.apply(txn.into_modifies());
}

/// A point get at `ts`.
pub fn get(
    e: &dyn TestEngine,
    key: &[u8],
    ts: u64,
    options: ReadOptions,
) -> Result<Option<Vec<u8>>> {
    let snap = e.snap();
    let mut getter = PointGetter::new(&*snap, ts.into(), options);
    getter.get(&Key::from_raw(key))
}

/// A scan entry with raw keys; a blocked key carries the lock's start ts.
pub type Row = (Vec<u8>, std::result::Result<Vec<u8>, TimeStamp>);

/// A scan at `ts`, always returned in ascending key order.
pub fn scan(e: &dyn TestEngine, ts: u64, options: ScanOptions, limit: usize) -> Vec<Row> {
    let desc = options.desc;
    let snap = e.snap();
    let mut scanner = Scanner::new(&*snap, ts.into(), options).unwrap();
    let mut rows: Vec<Row> = scanner
        .scan(limit)
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k.to_raw().unwrap(), v.map_err(|info| info.lock_version)))
        .collect();
    if desc {
        rows.reverse();
    }
    rows
}
