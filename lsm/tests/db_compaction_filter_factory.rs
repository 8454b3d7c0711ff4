//! The stateful compaction-filter seam end to end: a filter created per compaction run sees
//! the run's values in key order and can drop all but the newest "version" of a key group —
//! the shape MVCC garbage collection needs — while the stateless filter keeps working beside it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use lsm::compaction::{
    CompactionFilter, CompactionFilterContext, CompactionFilterFactory, FilterDecision,
    StatefulFilter,
};
use lsm::iter::IterOptions;
use lsm::{Db, Options, WriteOptions};

/// Keys are `group + 8-byte descending version`; keeps the first (newest) of each group.
#[derive(Debug, Default)]
struct KeepNewest {
    runs: AtomicUsize,
}

#[derive(Debug, Default)]
struct KeepNewestRun {
    group: Option<Vec<u8>>,
    last_key: Vec<u8>,
}

impl CompactionFilterFactory for KeepNewest {
    fn name(&self) -> &str {
        "test.keep-newest"
    }
    fn create(&self, _context: &CompactionFilterContext) -> Option<Box<dyn StatefulFilter>> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        Some(Box::new(KeepNewestRun::default()))
    }
}

impl StatefulFilter for KeepNewestRun {
    fn filter(&mut self, _cf: u8, key: &[u8], _value: &[u8], _bottommost: bool) -> FilterDecision {
        assert!(key > self.last_key.as_slice(), "offers come in key order");
        self.last_key = key.to_vec();
        let group = &key[..key.len() - 8];
        if self.group.as_deref() == Some(group) {
            FilterDecision::Remove
        } else {
            self.group = Some(group.to_vec());
            FilterDecision::Keep
        }
    }
}

/// The stateless filter removes values equal to "expired".
#[derive(Debug)]
struct DropExpired;

impl CompactionFilter for DropExpired {
    fn name(&self) -> &str {
        "test.drop-expired"
    }
    fn filter(&self, _cf: u8, _key: &[u8], value: &[u8], _bottommost: bool) -> FilterDecision {
        if value == b"expired" {
            FilterDecision::Remove
        } else {
            FilterDecision::Keep
        }
    }
}

fn key(group: &str, version: u64) -> Vec<u8> {
    let mut k = group.as_bytes().to_vec();
    k.extend_from_slice(&(!version).to_be_bytes());
    k
}

#[test]
fn per_run_filter_keeps_the_newest_version_of_each_group() {
    let tmp = tempfile::tempdir().unwrap();
    let factory = Arc::new(KeepNewest::default());
    let options = Options {
        compaction_filter: Some(Arc::new(DropExpired)),
        compaction_filter_factory: Some(factory.clone()),
        ..Options::default()
    };
    let db = Db::open(tmp.path().join("db"), options).unwrap();
    let w = WriteOptions::default();
    for g in ["a", "b", "c"] {
        for v in 1..=5u64 {
            db.put(0, &key(g, v), format!("{g}{v}").as_bytes(), w)
                .unwrap();
        }
    }
    // c's newest version is removed by the stateless filter; the stateful one is offered c5
    // first and keeps it.
    db.put(0, &key("c", 6), b"expired", w).unwrap();
    db.flush().unwrap();
    db.compact_range(0, None, None).unwrap();
    assert!(factory.runs.load(Ordering::Relaxed) >= 1);
    let mut it = db.iter(0, IterOptions::default(), None).unwrap();
    it.seek_to_first().unwrap();
    let mut left = Vec::new();
    while it.valid() {
        left.push((it.key().to_vec(), it.value().to_vec()));
        it.next().unwrap();
    }
    drop(it);
    let expected: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (key("a", 5), b"a5".to_vec()),
        (key("b", 5), b"b5".to_vec()),
        (key("c", 5), b"c5".to_vec()),
    ];
    assert_eq!(left, expected);
    db.close().unwrap();
}
