//! Model-based test: tables built from random sorted maps answer every lookup and every
//! iterator movement exactly as a `BTreeMap` does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;
use sstable::{BlockCache, Compression, ReadOptions, Table, TableBuilder, TableOptions};

#[derive(Debug, Clone)]
enum Op {
    SeekToFirst,
    SeekToLast,
    Seek(Vec<u8>),
    SeekForPrev(Vec<u8>),
    Next,
    Prev,
    Get(Vec<u8>),
}

/// Keys drawn so that many share long prefixes and some are prefixes of others.
fn key() -> impl Strategy<Value = Vec<u8>> {
    let prefixes = prop_oneof![
        Just(Vec::new()),
        Just(b"user/0000000000/".to_vec()),
        Just(vec![0u8; 40]),
        Just(vec![0xffu8; 3]),
    ];
    (
        prefixes,
        proptest::collection::vec(prop_oneof![0u8..4, any::<u8>()], 0..6),
    )
        .prop_map(|(mut p, s)| {
            p.extend(s);
            p
        })
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..40),
        2 => Just(Vec::new()),
        // Compressible runs exercise the zstd path.
        2 => (any::<u8>(), 0usize..3000).prop_map(|(b, n)| vec![b; n]),
        1 => Just(vec![0x5a; 1 << 20]),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::SeekToFirst),
        1 => Just(Op::SeekToLast),
        2 => key().prop_map(Op::Seek),
        2 => key().prop_map(Op::SeekForPrev),
        4 => Just(Op::Next),
        4 => Just(Op::Prev),
        2 => key().prop_map(Op::Get),
    ]
}

fn config() -> impl Strategy<Value = TableOptions> {
    (
        prop_oneof![Just(64usize), Just(512), Just(4096)],
        1usize..17,
        prop_oneof![
            Just(Compression::None),
            Just(Compression::ZSTD),
            Just(Compression::Lz4)
        ],
        prop_oneof![Just(0u32), Just(10)],
    )
        .prop_map(
            |(block_size, restart_interval, compression, bloom)| TableOptions {
                block_size,
                restart_interval,
                compression,
                bloom_bits_per_key: bloom,
                ..TableOptions::default()
            },
        )
}

fn build(model: &BTreeMap<Vec<u8>, Vec<u8>>, options: TableOptions) -> Arc<Table> {
    let mut builder = TableBuilder::new(Vec::new(), "model", options).unwrap();
    for (k, v) in model {
        builder.add(k, v).unwrap();
    }
    let (props, bytes) = builder.finish_into_inner().unwrap();
    assert_eq!(props.num_entries, model.len() as u64);
    let read = ReadOptions::with_cache(Arc::new(BlockCache::new(1 << 20)));
    Table::from_file(Box::new(Bytes::from(bytes)), "model", &read).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn table_matches_btreemap(
        model in proptest::collection::btree_map(key(), value(), 0..120),
        options in config(),
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        let table = build(&model, options);
        let keys: Vec<&Vec<u8>> = model.keys().collect();
        // Full forward and backward walks.
        let mut it = table.iter();
        it.seek_to_first().unwrap();
        for (k, v) in &model {
            prop_assert!(it.valid());
            prop_assert_eq!(it.key(), k.as_slice());
            prop_assert_eq!(it.value(), v.as_slice());
            it.next().unwrap();
        }
        prop_assert!(!it.valid());
        it.seek_to_last().unwrap();
        for (k, _) in model.iter().rev() {
            prop_assert_eq!(it.key(), k.as_slice());
            it.prev().unwrap();
        }
        prop_assert!(!it.valid());

        // Random movements against a position in the model.
        let mut pos: Option<usize> = None;
        for op in ops {
            match op {
                Op::SeekToFirst => { it.seek_to_first().unwrap(); pos = (!keys.is_empty()).then_some(0); }
                Op::SeekToLast => { it.seek_to_last().unwrap(); pos = keys.len().checked_sub(1); }
                Op::Seek(t) => { it.seek(&t).unwrap(); pos = keys.iter().position(|k| **k >= t); }
                Op::SeekForPrev(t) => { it.seek_for_prev(&t).unwrap(); pos = keys.iter().rposition(|k| **k <= t); }
                Op::Next => if let Some(p) = pos { it.next().unwrap(); pos = (p + 1 < keys.len()).then_some(p + 1); },
                Op::Prev => if let Some(p) = pos { it.prev().unwrap(); pos = p.checked_sub(1); },
                Op::Get(k) => {
                    let got = table.get(&k).unwrap();
                    prop_assert_eq!(got.as_deref(), model.get(&k).map(|v| v.as_slice()));
                    if let Some(existing) = keys.get(k.len() % keys.len().max(1)) {
                        let got = table.get(existing).unwrap();
                        prop_assert_eq!(got.as_deref(), Some(model[*existing].as_slice()));
                    }
                    continue;
                }
            }
            prop_assert_eq!(it.valid(), pos.is_some());
            if let Some(p) = pos {
                prop_assert_eq!(it.key(), keys[p].as_slice());
                prop_assert_eq!(it.value(), model[keys[p]].as_slice());
            }
        }
    }
}
