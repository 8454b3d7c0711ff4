//! Range estimates against a `BTreeMap` model: random distinct keys of fixed size written in
//! a few flushes (some left in the memtable, some compacted), then random ranges. The key
//! count must match the model within the documented bound — one data block per bound per
//! table, plus the unevenness of a table's entries (small here: fixed-size entries) — and
//! split keys must be stored keys that cut the range into pieces of about the asked size.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use lsm::key::cf_user_key;
use lsm::{Db, Options, WriteOptions};
use proptest::prelude::*;

const BLOCK: usize = 512;
const VALUE: usize = 32;
/// Smallest stored entry: 1-byte varints ×3, a key that shares at most its first bytes
/// with its predecessor (random 8-byte keys), the value.
const MIN_ENTRY: usize = 3 + 9 + VALUE;

fn options() -> Options {
    let mut o = Options::default();
    o.table.block_size = BLOCK;
    o.table.compression = sstable::Compression::None;
    o.compaction.target_file_size = 16 << 10;
    o
}

/// Keys a batch writes, and what to do after it.
#[derive(Debug, Clone)]
struct Step {
    keys: Vec<u64>,
    flush: bool,
    compact: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (
        proptest::collection::vec(any::<u64>(), 1..400),
        any::<bool>(),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(keys, flush, compact)| Step {
            keys,
            flush,
            compact,
        })
}

fn range() -> impl Strategy<Value = (u64, Option<u64>)> {
    (any::<u64>(), proptest::option::of(any::<u64>())).prop_map(|(a, b)| (a, b.filter(|&b| b > a)))
}

/// Tables whose key span holds `bound` (of column family 0) other than at its start.
fn straddling(db: &Db, bound: &[u8]) -> u64 {
    let mut key = vec![0];
    key.extend_from_slice(bound);
    db.current_version()
        .all_files()
        .filter(|(_, f)| {
            cf_user_key(&f.smallest) < key.as_slice() && key.as_slice() <= cf_user_key(&f.largest)
        })
        .count() as u64
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn estimates_follow_the_model(
        steps in proptest::collection::vec(step(), 1..6),
        ranges in proptest::collection::vec(range(), 1..8),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), options()).unwrap();
        let mut model = BTreeSet::new();
        for s in &steps {
            for k in &s.keys {
                // Distinct keys only: no version is shadowed, so compactions drop nothing and
                // the stored entries are exactly the model's.
                if model.insert(*k) {
                    db.put(0, &k.to_be_bytes(), &[7; VALUE], WriteOptions::default()).unwrap();
                }
            }
            if s.flush {
                db.flush().unwrap();
            }
            if s.compact {
                db.compact_range(0, None, None).unwrap();
            }
        }
        let tables = db.current_version().all_files().count() as u64;
        let per_block = (BLOCK / MIN_ENTRY + 2) as u64;
        let all = db.approximate_range_stats(0, b"", None).unwrap();
        prop_assert_eq!(all.keys, model.len() as u64, "whole tables and memtables are exact");

        for (a, b) in ranges {
            let (lo, hi) = (a.to_be_bytes(), b.map(u64::to_be_bytes));
            let exact = match b {
                Some(b) => model.range(a..b).count(),
                None => model.range(a..).count(),
            } as u64;
            let est = db.approximate_range_stats(0, &lo, hi.as_ref().map(|h| &h[..])).unwrap();
            // One block per table per bound inside its key span, and a tenth for uneven
            // entries.
            let straddling = straddling(&db, &lo) + hi.map_or(0, |h| straddling(&db, &h));
            let tol = straddling * per_block + exact / 10 + 1;
            prop_assert!(est.keys.abs_diff(exact) <= tol,
                "keys {} vs exact {exact} (tolerance {tol}, {straddling} straddling)", est.keys);
            let per_entry = all.bytes as f64 / all.keys.max(1) as f64;
            let bytes_tol = (tol as f64 + exact as f64 / 10.0) * per_entry + BLOCK as f64;
            prop_assert!((est.bytes as f64 - exact as f64 * per_entry).abs() <= bytes_tol,
                "bytes {} vs {exact} entries of {per_entry:.1} bytes", est.bytes);
        }

        // Split keys: stored, ascending, inside, and every piece about the asked size.
        let every = (all.bytes / 5).max(1);
        let keys = db.approximate_split_keys(0, b"", None, every).unwrap();
        let mut prev: Vec<u8> = Vec::new();
        let slack = (tables + 1) * 2 * BLOCK as u64 + 4096;
        let end = vec![0xff; 9];
        for k in keys.iter().chain(std::iter::once(&end)) {
            prop_assert!(k.as_slice() > prev.as_slice());
            let last = k == &end;
            if !last {
                // Index separators are often shortened keys: a split key never is one.
                let n = <[u8; 8]>::try_from(k.as_slice()).map(u64::from_be_bytes);
                prop_assert!(n.is_ok_and(|n| model.contains(&n)), "{k:02x?} is not a stored key");
            }
            let piece = db.approximate_range_stats(0, &prev, Some(k)).unwrap();
            prop_assert!(piece.bytes <= every + slack, "piece of {} bytes, every {every}", piece.bytes);
            prop_assert!(last || piece.bytes + slack >= every, "piece of {} bytes, every {every}", piece.bytes);
            prev = k.clone();
        }
        if all.bytes >= 2 * every + (tables + 1) * 2 * BLOCK as u64 + 4096 {
            prop_assert!(!keys.is_empty(), "{} bytes, no split key", all.bytes);
        }
    }
}
