//! Model-based test of the whole engine: random batches (puts, deletes, range deletes over two
//! column families), snapshots, iterators in both directions, flushes, compactions and
//! reopens, checked against a `BTreeMap` model after every step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use lsm::fs::{FileSystem, MemFs};
use lsm::iter::IterOptions;
use lsm::{Db, Options, Snapshot, WriteBatch, WriteOptions};
use proptest::prelude::*;

type Model = [BTreeMap<Vec<u8>, Vec<u8>>; 2];

#[derive(Debug, Clone)]
enum Op {
    Batch(Vec<(u8, u8, Option<u8>)>),
    DeleteRange(u8, u8, u8),
    Snapshot,
    ReadSnapshot(prop::sample::Index),
    DropSnapshot(prop::sample::Index),
    Scan(u8, bool, Option<u8>, Option<u8>),
    Flush,
    Compact,
    Reopen,
    /// Drop without close (a process crash): reopening must replay the WAL.
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => proptest::collection::vec((0u8..2, 0u8..40, proptest::option::of(any::<u8>())), 1..12).prop_map(Op::Batch),
        1 => (0u8..2, 0u8..40, 1u8..10).prop_map(|(c, a, n)| Op::DeleteRange(c, a, a.saturating_add(n))),
        1 => Just(Op::Snapshot),
        2 => any::<prop::sample::Index>().prop_map(Op::ReadSnapshot),
        1 => any::<prop::sample::Index>().prop_map(Op::DropSnapshot),
        3 => (0u8..2, any::<bool>(), proptest::option::of(0u8..40), proptest::option::of(0u8..40))
            .prop_map(|(c, rev, lo, hi)| Op::Scan(c, rev, lo, hi)),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
        1 => Just(Op::Crash),
    ]
}

fn key(k: u8) -> Vec<u8> {
    // Keys that are prefixes of each other exercise the internal-key order.
    if k.is_multiple_of(5) {
        vec![b'k']
            .into_iter()
            .chain(std::iter::repeat_n(b'0', (k / 5) as usize))
            .collect()
    } else {
        format!("k{k:02}").into_bytes()
    }
}

fn value(v: u8, k: u8) -> Vec<u8> {
    // Some values are large enough to make several blocks and tables.
    vec![v; 1 + (k as usize * 37 + v as usize) % 300]
}

fn options(fs: &MemFs) -> Options {
    let mut o = Options {
        fs: Arc::new(fs.clone()),
        write_buffer_size: 8 << 10,
        ..Options::default()
    };
    o.compaction.l0_trigger = 2;
    o.compaction.base_level_bytes = 16 << 10;
    o.compaction.target_file_size = 8 << 10;
    o.table.block_size = 256;
    o.block_cache_bytes = 64 << 10;
    o
}

fn check_scan(
    db: &Db,
    model: &BTreeMap<Vec<u8>, Vec<u8>>,
    cf: u8,
    rev: bool,
    lo: Option<Vec<u8>>,
    hi: Option<Vec<u8>>,
    snap: Option<&Snapshot>,
) {
    let expected: Vec<(Vec<u8>, Vec<u8>)> = model
        .iter()
        .filter(|(k, _)| lo.as_ref().is_none_or(|l| *k >= l) && hi.as_ref().is_none_or(|h| *k < h))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut it = db
        .iter(
            cf,
            IterOptions {
                lower_bound: lo,
                upper_bound: hi,
            },
            snap,
        )
        .unwrap();
    let mut got = Vec::new();
    if rev {
        it.seek_to_last().unwrap();
        while it.valid() {
            got.push((it.key().to_vec(), it.value().to_vec()));
            it.prev().unwrap();
        }
        got.reverse();
    } else {
        it.seek_to_first().unwrap();
        while it.valid() {
            got.push((it.key().to_vec(), it.value().to_vec()));
            it.next().unwrap();
        }
    }
    assert_eq!(got, expected, "scan cf {cf} rev {rev}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_a_btreemap(ops in proptest::collection::vec(op(), 1..80)) {
        let fs = MemFs::new();
        fs.create_dir_all(Path::new("/")).unwrap();
        let dir = Path::new("/db");
        let mut db = Some(Db::open(dir, options(&fs)).unwrap());
        let mut model: Model = Default::default();
        let mut snaps: Vec<(Snapshot, Model)> = Vec::new();
        for op in ops {
            let d = db.as_ref().unwrap();
            match op {
                Op::Batch(writes) => {
                    let mut b = WriteBatch::new();
                    for (cf, k, v) in writes {
                        match v {
                            Some(v) => { b.put(cf, &key(k), &value(v, k)); model[cf as usize].insert(key(k), value(v, k)); }
                            None => { b.delete(cf, &key(k)); model[cf as usize].remove(&key(k)); }
                        }
                    }
                    d.write(WriteOptions::default(), b).unwrap();
                }
                Op::DeleteRange(cf, a, b) => {
                    let (s, e) = (key(a), key(b));
                    if s < e {
                        let mut batch = WriteBatch::new();
                        batch.delete_range(cf, &s, &e).unwrap();
                        d.write(WriteOptions::default(), batch).unwrap();
                        model[cf as usize].retain(|k, _| !(*k >= s && *k < e));
                    }
                }
                Op::Snapshot => snaps.push((d.snapshot(), model.clone())),
                Op::ReadSnapshot(i) => if !snaps.is_empty() {
                    let (s, m) = &snaps[i.index(snaps.len())];
                    for cf in 0..2u8 {
                        for k in 0..40u8 {
                            let got = d.get(cf, &key(k), Some(s)).unwrap();
                            prop_assert_eq!(got.as_deref(), m[cf as usize].get(&key(k)).map(|v| v.as_slice()));
                        }
                        check_scan(d, &m[cf as usize], cf, k_rev(i.index(2)), None, None, Some(s));
                    }
                },
                Op::DropSnapshot(i) => if !snaps.is_empty() { snaps.remove(i.index(snaps.len())); },
                Op::Scan(cf, rev, lo, hi) => check_scan(d, &model[cf as usize], cf, rev, lo.map(key), hi.map(key), None),
                Op::Flush => d.flush().unwrap(),
                Op::Compact => d.compact_range(0, None, None).unwrap(),
                Op::Reopen => {
                    snaps.clear();
                    db.take().unwrap().close().unwrap();
                    db = Some(Db::open(dir, options(&fs)).unwrap());
                }
                Op::Crash => {
                    snaps.clear();
                    drop(db.take());
                    db = Some(Db::open(dir, options(&fs)).unwrap());
                }
            }
            let d = db.as_ref().unwrap();
            for cf in 0..2u8 {
                for k in (0..40u8).step_by(7) {
                    let got = d.get(cf, &key(k), None).unwrap();
                    prop_assert_eq!(got.as_deref(), model[cf as usize].get(&key(k)).map(|v| v.as_slice()), "get cf {} key {}", cf, k);
                }
            }
        }
        let d = db.as_ref().unwrap();
        for cf in 0..2u8 {
            check_scan(d, &model[cf as usize], cf, false, None, None, None);
            check_scan(d, &model[cf as usize], cf, true, None, None, None);
        }
    }
}

fn k_rev(i: usize) -> bool {
    i == 1
}
