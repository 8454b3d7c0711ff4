//! The compaction-filter hook end to end: a TTL-style filter removes expired values during
//! compaction, but never a version a live snapshot can still read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use lsm::compaction::{CompactionFilter, FilterDecision};
use lsm::{Db, Options, WriteOptions};

/// Values start with an 8-byte expiry time; the filter removes those at or before `now`.
#[derive(Debug)]
struct Ttl {
    now: AtomicU64,
}

impl CompactionFilter for Ttl {
    fn name(&self) -> &str {
        "test.ttl"
    }
    fn filter(&self, _cf: u8, _key: &[u8], value: &[u8], _bottommost: bool) -> FilterDecision {
        let expiry = u64::from_be_bytes(value[..8].try_into().unwrap());
        if expiry <= self.now.load(Ordering::Relaxed) {
            FilterDecision::Remove
        } else {
            FilterDecision::Keep
        }
    }
}

fn value(expiry: u64) -> Vec<u8> {
    let mut v = expiry.to_be_bytes().to_vec();
    v.extend_from_slice(b"payload");
    v
}

#[test]
fn expired_values_vanish_at_compaction_unless_a_snapshot_protects_them() {
    let tmp = tempfile::tempdir().unwrap();
    let ttl = Arc::new(Ttl {
        now: AtomicU64::new(0),
    });
    let options = Options {
        compaction_filter: Some(ttl.clone()),
        ..Options::default()
    };
    let db = Db::open(tmp.path().join("db"), options).unwrap();
    let w = WriteOptions::default();
    for i in 0..100u64 {
        // Even keys expire at time 10, odd ones at 1000.
        let expiry = if i % 2 == 0 { 10 } else { 1000 };
        db.put(0, &i.to_be_bytes(), &value(expiry), w).unwrap();
    }
    db.flush().unwrap();
    db.compact_range(0, None, None).unwrap();
    assert_eq!(
        db.get(0, &0u64.to_be_bytes(), None).unwrap().as_deref(),
        Some(&value(10)[..]),
        "not yet expired"
    );

    // Time passes: without snapshots, compaction removes every expired value.
    ttl.now.store(500, Ordering::Relaxed);
    db.compact_range(0, None, None).unwrap();
    for i in 0..100u64 {
        let got = db.get(0, &i.to_be_bytes(), None).unwrap();
        if i % 2 == 0 {
            assert_eq!(got, None, "key {i} expired");
        } else {
            assert_eq!(got.as_deref(), Some(&value(1000)[..]), "key {i} kept");
        }
    }

    // A value a snapshot can read is not offered to the filter until the snapshot is gone.
    let k = 2u64.to_be_bytes();
    db.put(0, &k, &value(10), w).unwrap();
    let snap = db.snapshot();
    db.flush().unwrap();
    db.compact_range(0, None, None).unwrap();
    assert_eq!(
        db.get(0, &k, Some(&snap)).unwrap().as_deref(),
        Some(&value(10)[..])
    );
    drop(snap);
    db.compact_range(0, None, None).unwrap();
    assert_eq!(
        db.get(0, &k, None).unwrap(),
        None,
        "released, then filtered"
    );

    // A newer expired value over an older live one that a snapshot keeps: removing the newer
    // one must not bring the older one back for the latest state.
    let k = 3u64.to_be_bytes();
    let snap = db.snapshot(); // sees value(1000)
    db.put(0, &k, &value(10), w).unwrap();
    db.flush().unwrap();
    db.compact_range(0, None, None).unwrap();
    assert_eq!(
        db.get(0, &k, None).unwrap(),
        None,
        "the expired newer value is gone, nothing older reappears"
    );
    assert_eq!(
        db.get(0, &k, Some(&snap)).unwrap().as_deref(),
        Some(&value(1000)[..])
    );
    drop(snap);
    db.close().unwrap();
}
