//! A model check of the raw API's writes and range reads: random sequences of put, delete,
//! batch_delete, delete_range, scan, reverse scan, batch_scan and checksum run against
//! `RawStorage` and against a `BTreeMap`, and every read must agree with the model — on the
//! in-memory engine and on the local LSM (with flushes in between, so reads merge memtables
//! and tables).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;

use proptest::prelude::*;
use txn::{ApiVersion, Checksum, Engine, KeyRange, KvPair, RawStorage};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Debug, Clone)]
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    BatchDelete(Vec<Vec<u8>>),
    DeleteRange(Vec<u8>, Vec<u8>),
    Scan {
        start: Vec<u8>,
        end: Option<Vec<u8>>,
        limit: usize,
        key_only: bool,
        reverse: bool,
    },
    BatchScan(Vec<Vec<u8>>, usize, bool),
    Checksum(Vec<u8>, Vec<u8>),
    Flush,
}

/// Short keys over a small alphabet, so operations collide often.
fn key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'c')], 1..4)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (key(), proptest::collection::vec(any::<u8>(), 0..4)).prop_map(|(k, v)| Op::Put(k, v)),
        1 => key().prop_map(Op::Delete),
        1 => proptest::collection::vec(key(), 1..4).prop_map(Op::BatchDelete),
        1 => (key(), key()).prop_map(|(a, b)| {
            Op::DeleteRange(a.clone().min(b.clone()), a.max(b))
        }),
        3 => (key(), proptest::option::of(key()), 0usize..6, any::<bool>(), any::<bool>())
            .prop_map(|(start, end, limit, key_only, reverse)| {
                Op::Scan { start, end, limit, key_only, reverse }
            }),
        1 => (proptest::collection::btree_set(key(), 1..4), 1usize..4, any::<bool>())
            .prop_map(|(starts, each, reverse)| {
                Op::BatchScan(starts.into_iter().collect(), each, reverse)
            }),
        1 => (key(), key()).prop_map(|(a, b)| Op::Checksum(a, b)),
        1 => Just(Op::Flush),
    ]
}

/// TiKV's scan over the model: forward `[start, end)`, reverse from `start` (exclusive) down
/// to `end` (inclusive).
fn model_scan(
    m: &Model,
    start: &[u8],
    end: Option<&[u8]>,
    limit: usize,
    key_only: bool,
    reverse: bool,
) -> Vec<KvPair> {
    let pair = |(k, v): (&Vec<u8>, &Vec<u8>)| {
        KvPair::new(k.clone(), if key_only { vec![] } else { v.clone() })
    };
    if reverse {
        let lower = end.map_or(Bound::Unbounded, |e| Bound::Included(e.to_vec()));
        if end.is_some_and(|e| e >= start) {
            return vec![];
        }
        m.range((lower, Bound::Excluded(start.to_vec())))
            .rev()
            .take(limit)
            .map(pair)
            .collect()
    } else {
        let upper = end.map_or(Bound::Unbounded, |e| Bound::Excluded(e.to_vec()));
        if end.is_some_and(|e| e <= start) {
            return vec![];
        }
        m.range((Bound::Included(start.to_vec()), upper))
            .take(limit)
            .map(pair)
            .collect()
    }
}

async fn run<E: Engine>(s: &RawStorage<E>, ops: &[Op], flush: impl Fn()) {
    let mut m = Model::new();
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Put(k, v) => {
                s.put(k.clone(), v.clone(), 0).await.unwrap();
                m.insert(k.clone(), v.clone());
            }
            Op::Delete(k) => {
                s.delete(k.clone()).await.unwrap();
                m.remove(k);
            }
            Op::BatchDelete(ks) => {
                s.batch_delete(ks.clone()).await.unwrap();
                ks.iter().for_each(|k| {
                    m.remove(k);
                });
            }
            Op::DeleteRange(a, b) => {
                let r = s.delete_range(a.clone(), b.clone()).await;
                if a < b {
                    r.unwrap();
                    m.retain(|k, _| k < a || k >= b);
                } else {
                    assert!(r.is_err(), "op {i}: empty range accepted");
                }
            }
            Op::Scan {
                start,
                end,
                limit,
                key_only,
                reverse,
            } => {
                let got = s
                    .scan(start, end.as_deref(), *limit, *key_only, *reverse)
                    .await
                    .unwrap();
                let want = model_scan(&m, start, end.as_deref(), *limit, *key_only, *reverse);
                assert_eq!(got, want, "op {i}: {op:?}");
            }
            Op::BatchScan(starts, each, reverse) => {
                // Sorted starts with open ends: each range runs to the next one's start.
                let mut starts = starts.clone();
                if *reverse {
                    starts.reverse();
                }
                let ranges: Vec<KeyRange> = starts
                    .iter()
                    .map(|k| KeyRange::new(k.clone(), b""))
                    .collect();
                let got = s.batch_scan(&ranges, *each, false, *reverse).await.unwrap();
                let mut want = Vec::new();
                for (j, st) in starts.iter().enumerate() {
                    let end = starts.get(j + 1).map(Vec::as_slice);
                    want.extend(model_scan(&m, st, end, *each, false, *reverse));
                }
                assert_eq!(got, want, "op {i}: {op:?}");
            }
            Op::Checksum(a, b) => {
                let got = s
                    .checksum(&[KeyRange::new(a.clone(), b.clone())])
                    .await
                    .unwrap();
                let mut want = Checksum::default();
                if a < b {
                    m.range(a.clone()..b.clone())
                        .for_each(|(k, v)| want.update(k, v));
                }
                assert_eq!(got, want, "op {i}: {op:?}");
            }
            Op::Flush => flush(),
        }
    }
    // Finally the whole contents, both ways.
    let all: Vec<KvPair> = m
        .iter()
        .map(|(k, v)| KvPair::new(k.clone(), v.clone()))
        .collect();
    assert_eq!(
        s.scan(b"", None, usize::MAX, false, false).await.unwrap(),
        all
    );
    let mut rev = all;
    rev.reverse();
    assert_eq!(
        s.scan(b"\xff", None, usize::MAX, false, true)
            .await
            .unwrap(),
        rev
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn memory_engine_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        let (s, _) = common::memory(ApiVersion::V1);
        runtime().block_on(run(&s, &ops, || {}));
    }
}

proptest! {
    // Each case opens a database: fewer cases.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn local_engine_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        let l = common::local(ApiVersion::V1);
        let db = l.db().clone();
        runtime().block_on(run(&l.storage, &ops, || db.flush().unwrap()));
    }
}
