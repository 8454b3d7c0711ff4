//! The memtable against a `BTreeMap` model: random batches of puts, deletes and a few range
//! deletes over a tiny key alphabet (so versions collide and keys are prefixes of one
//! another), several column families and empty values. Checks `get` and the tombstone query
//! at random read sequence numbers, full forward and backward iteration, and random seeks
//! followed by random walks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cmp::{Ordering, Reverse};
use std::collections::BTreeMap;
use std::sync::Arc;

use lsm::key::{internal_key, InternalKeyComparator, SeqNo, ValueKind};
use lsm::{MemTable, MemValue, WriteBatch};
use proptest::prelude::*;
use sstable::Comparator;

#[derive(Debug, Clone)]
enum Op {
    Put(u8, Vec<u8>, Vec<u8>),
    Delete(u8, Vec<u8>),
    DeleteRange(u8, Vec<u8>, Vec<u8>),
}

/// Keys over {0, 'a', 'b'} of length 0..3: short, colliding, prefixes of each other, with a
/// zero byte to probe the prefix padding.
fn user_key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![Just(0u8), Just(b'a'), Just(b'b')], 0..3)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..3, user_key(), proptest::collection::vec(any::<u8>(), 0..4))
            .prop_map(|(cf, k, v)| Op::Put(cf, k, v)),
        3 => (0u8..3, user_key()).prop_map(|(cf, k)| Op::Delete(cf, k)),
        1 => (0u8..3, user_key(), user_key()).prop_map(|(cf, a, b)| Op::DeleteRange(cf, a, b)),
    ]
}

/// Model key: sorts like the internal-key comparator (cf, user key ascending, seq descending).
type ModelKey = (u8, Vec<u8>, Reverse<SeqNo>);

#[derive(Default)]
struct Model {
    points: BTreeMap<ModelKey, (ValueKind, Vec<u8>)>,
    ranges: Vec<(u8, Vec<u8>, Vec<u8>, SeqNo)>,
}

impl Model {
    fn get(&self, cf: u8, key: &[u8], read_seq: SeqNo) -> Option<MemValue> {
        let from = (cf, key.to_vec(), Reverse(read_seq));
        let ((c, k, Reverse(seq)), (kind, value)) = self.points.range(from..).next()?;
        if (*c, k.as_slice()) != (cf, key) {
            return None;
        }
        Some(match kind {
            ValueKind::Put => MemValue::Put {
                seq: *seq,
                value: value.clone().into(),
            },
            _ => MemValue::Deleted { seq: *seq },
        })
    }

    fn covering(&self, cf: u8, key: &[u8], read_seq: SeqNo) -> Option<SeqNo> {
        let covers = |(c, s, e, seq): &&(u8, Vec<u8>, Vec<u8>, SeqNo)| {
            *c == cf && s.as_slice() <= key && key < e.as_slice() && *seq <= read_seq
        };
        self.ranges.iter().filter(covers).map(|r| r.3).max()
    }

    /// Every point entry's internal key, in order.
    fn internal_keys(&self) -> Vec<Vec<u8>> {
        self.points
            .iter()
            .map(|((cf, k, Reverse(seq)), (kind, _))| internal_key(*cf, k, *seq, *kind))
            .collect()
    }
}

/// Builds the memtable and the model from `batches`, numbering ops from sequence 1.
fn build(batches: &[Vec<Op>]) -> (Arc<MemTable>, Model) {
    let mem = MemTable::new();
    let mut model = Model::default();
    let mut seq = 1;
    for ops in batches {
        let mut batch = WriteBatch::new();
        let first = seq;
        for op in ops {
            match op {
                Op::Put(cf, k, v) => {
                    batch.put(*cf, k, v);
                    model
                        .points
                        .insert((*cf, k.clone(), Reverse(seq)), (ValueKind::Put, v.clone()));
                }
                Op::Delete(cf, k) => {
                    batch.delete(*cf, k);
                    model
                        .points
                        .insert((*cf, k.clone(), Reverse(seq)), (ValueKind::Delete, vec![]));
                }
                Op::DeleteRange(cf, a, b) => {
                    if batch.delete_range(*cf, a, b).is_err() {
                        continue; // empty range: refused, takes no sequence number
                    }
                    model.ranges.push((*cf, a.clone(), b.clone(), seq));
                }
            }
            seq += 1;
        }
        mem.insert_batch(&batch, first).unwrap();
    }
    (Arc::new(mem), model)
}

fn all_keys() -> Vec<(u8, Vec<u8>)> {
    let mut keys = vec![];
    for cf in 0..4 {
        keys.push((cf, vec![]));
        for a in [0u8, b'a', b'b'] {
            keys.push((cf, vec![a]));
            for b in [0u8, b'a', b'b'] {
                keys.push((cf, vec![a, b]));
            }
        }
    }
    keys
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn get_matches_the_model(
        batches in proptest::collection::vec(proptest::collection::vec(op(), 0..6), 1..12),
        read_seqs in proptest::collection::vec(0u64..80, 1..6),
    ) {
        let (mem, model) = build(&batches);
        for read_seq in read_seqs.into_iter().chain([u64::MAX]) {
            for (cf, key) in all_keys() {
                prop_assert_eq!(mem.get(cf, &key, read_seq), model.get(cf, &key, read_seq),
                    "get cf {} key {:?} at {}", cf, key, read_seq);
                prop_assert_eq!(mem.max_covering_tombstone_seq(cf, &key, read_seq),
                    model.covering(cf, &key, read_seq), "tombstones cf {} key {:?}", cf, key);
            }
        }
        prop_assert_eq!(mem.len(), model.points.len() + model.ranges.len());
        prop_assert_eq!(mem.range_tombstones().len(), model.ranges.len());
    }

    #[test]
    fn iteration_and_seeks_match_the_model(
        batches in proptest::collection::vec(proptest::collection::vec(op(), 0..8), 1..12),
        seeks in proptest::collection::vec(
            (0u8..4, user_key(), 0u64..80, 0u8..3, any::<bool>(),
             proptest::collection::vec(any::<bool>(), 0..12)),
            1..8),
    ) {
        let (mem, model) = build(&batches);
        let want = model.internal_keys();
        let mut it = mem.iter();

        it.seek_to_first();
        let mut got = vec![];
        while it.valid() {
            got.push(it.key().to_vec());
            it.next();
        }
        prop_assert_eq!(&got, &want);

        it.seek_to_last();
        got.clear();
        while it.valid() {
            got.push(it.key().to_vec());
            it.prev();
        }
        got.reverse();
        prop_assert_eq!(&got, &want);

        let cmp = |a: &Vec<u8>, b: &[u8]| InternalKeyComparator.compare(a, b);
        for (cf, key, seq, kind, for_prev, moves) in seeks {
            let target = internal_key(cf, &key, seq, ValueKind::from_u8(kind).unwrap());
            // Model position: index into `want`, or None when the cursor is invalid.
            let mut pos = if for_prev {
                it.seek_for_prev(&target);
                want.partition_point(|k| cmp(k, &target) != Ordering::Greater).checked_sub(1)
            } else {
                it.seek(&target);
                Some(want.partition_point(|k| cmp(k, &target) == Ordering::Less))
                    .filter(|&i| i < want.len())
            };
            for forward in moves {
                match pos {
                    Some(i) => {
                        prop_assert!(it.valid());
                        prop_assert_eq!(it.key(), &want[i][..]);
                    }
                    None => {
                        prop_assert!(!it.valid());
                        break;
                    }
                }
                if forward {
                    it.next();
                    pos = pos.map(|i| i + 1).filter(|&i| i < want.len());
                } else {
                    it.prev();
                    pos = pos.and_then(|i| i.checked_sub(1));
                }
            }
        }
    }
}

#[test]
fn values_come_back_through_the_cursor() {
    let batches = vec![vec![
        Op::Put(1, b"a".to_vec(), b"".to_vec()),
        Op::Put(1, b"ab".to_vec(), b"x".to_vec()),
        Op::Delete(1, b"a".to_vec()),
    ]];
    let (mem, _) = build(&batches);
    let mut it = mem.iter();
    it.seek_to_first();
    let mut seen = vec![];
    while it.valid() {
        seen.push((it.key().to_vec(), it.value().to_vec()));
        it.next();
    }
    assert_eq!(
        seen,
        [
            (internal_key(1, b"a", 3, ValueKind::Delete), vec![]),
            (internal_key(1, b"a", 1, ValueKind::Put), vec![]),
            (internal_key(1, b"ab", 2, ValueKind::Put), b"x".to_vec()),
        ]
    );
}
