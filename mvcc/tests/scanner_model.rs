//! Property: the scanner (forward and backward, bounds, limit) and the point getter agree
//! with a model of committed versions and locks, on both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use mvcc::{Key, Lock, LockType, ReadOptions, ScanOptions, TimeStamp, Write, WriteType};
use proptest::prelude::*;

/// Versions by (key, commit_ts) → kind: 0 short Put, 1 long Put, 2 Delete, 3 Lock record,
/// 4 Rollback.
type Versions = BTreeMap<(u8, u64), u8>;
/// Reads: (ts, lower key index, upper key index, limit).
type Inputs = (
    Versions,
    BTreeMap<u8, LockSpec>,
    Vec<(u64, u8, u8, usize)>,
    usize,
);
/// (key, lock type 0..4, start_ts, min_commit_ts).
type LockSpec = (u8, u8, u64, u64);

const KEYS: [&[u8]; 6] = [b"", b"a", b"ab", b"abcdefgh", b"abcdefghi", b"b"];
const LOCK_TYPES: [LockType; 4] = [
    LockType::Put,
    LockType::Delete,
    LockType::Lock,
    LockType::Pessimistic,
];

fn value(key: u8, commit: u64, long_value: bool) -> Vec<u8> {
    let v = format!("{key}@{commit}");
    if long_value {
        long(&v)
    } else {
        v.into_bytes()
    }
}

/// The expected entry of each key at `ts`, in key order.
fn model(versions: &BTreeMap<(u8, u64), u8>, locks: &BTreeMap<u8, LockSpec>, ts: u64) -> Vec<Row> {
    let mut out = Vec::new();
    for (i, raw) in KEYS.iter().enumerate() {
        let i = i as u8;
        if let Some(&(_, t, start, min_commit)) = locks.get(&i) {
            if start <= ts && t < 2 && min_commit <= ts {
                out.push((raw.to_vec(), Err(TimeStamp::new(start))));
                continue;
            }
        }
        let newest = versions
            .range((i, 0)..=(i, ts))
            .rev()
            .find(|(_, kind)| **kind <= 2);
        if let Some((&(_, commit), &kind)) = newest {
            if kind < 2 {
                out.push((raw.to_vec(), Ok(value(i, commit, kind == 1))));
            }
        }
    }
    out
}

fn load(
    e: &dyn TestEngine,
    versions: &BTreeMap<(u8, u64), u8>,
    locks: &BTreeMap<u8, LockSpec>,
    flush_at: usize,
) {
    for (n, (&(k, commit), &kind)) in versions.iter().enumerate() {
        let raw = KEYS[usize::from(k)];
        let start = commit - 1;
        match kind {
            0 | 1 => must_commit(e, raw, Some(&value(k, commit, kind == 1)), start, commit),
            2 => must_commit(e, raw, None, start, commit),
            3 => must_put_write(
                e,
                raw,
                commit,
                &Write::new(WriteType::Lock, start.into(), None),
            ),
            _ => must_put_write(e, raw, commit, &Write::new_rollback(commit.into(), false)),
        }
        if n == flush_at {
            e.flush();
        }
    }
    for &(k, t, start, min_commit) in locks.values() {
        let mut lock = Lock::new(LOCK_TYPES[usize::from(t)], b"pk".to_vec(), start.into(), 1);
        lock.min_commit_ts = min_commit.into();
        must_lock(e, KEYS[usize::from(k)], &lock, None);
    }
}

fn check(
    e: &dyn TestEngine,
    versions: &BTreeMap<(u8, u64), u8>,
    locks: &BTreeMap<u8, LockSpec>,
    reads: &[(u64, u8, u8, usize)],
) -> Result<(), TestCaseError> {
    for &(ts, lo, hi, limit) in reads {
        let full = model(versions, locks, ts);
        let (lo, hi) = (
            usize::from(lo).min(KEYS.len()),
            usize::from(hi).min(KEYS.len()),
        );
        let in_range: Vec<Row> = full
            .iter()
            .filter(|(k, _)| KEYS[lo..].iter().any(|x| x == k) && KEYS[..hi].iter().any(|x| x == k))
            .cloned()
            .collect();
        let bounds = |desc| ScanOptions {
            lower: Some(Key::from_raw(KEYS.get(lo).copied().unwrap_or(b"zz"))),
            upper: KEYS.get(hi).map(|k| Key::from_raw(k)),
            desc,
            ..ScanOptions::default()
        };
        let fwd = scan(e, ts, bounds(false), limit);
        prop_assert_eq!(
            &fwd,
            &in_range.iter().take(limit).cloned().collect::<Vec<_>>(),
            "{} fwd ts={}",
            e.name(),
            ts
        );
        let back = scan(e, ts, bounds(true), limit);
        let skip = in_range.len().saturating_sub(limit);
        prop_assert_eq!(
            &back,
            &in_range[skip..].to_vec(),
            "{} back ts={}",
            e.name(),
            ts
        );
        for (i, raw) in KEYS.iter().enumerate() {
            let expected = full.iter().find(|(k, _)| k == raw).map(|(_, r)| r.clone());
            let got = match get(e, raw, ts, ReadOptions::default()) {
                Ok(v) => v.map(Ok),
                Err(mvcc::Error::KeyIsLocked(info)) => Some(Err(info.lock_version)),
                Err(other) => panic!("{other}"),
            };
            prop_assert_eq!(got, expected, "{} get key {} ts={}", e.name(), i, ts);
        }
    }
    Ok(())
}

fn inputs() -> impl Strategy<Value = Inputs> {
    (
        proptest::collection::vec((0u8..6, 1u64..40, 0u8..5), 0..30),
        proptest::collection::vec((0u8..6, 0u8..4, 1u64..45, 0u64..45), 0..4),
        proptest::collection::vec((0u64..50, 0u8..7, 0u8..7, 0usize..8), 1..5),
        0usize..30,
    )
        .prop_map(|(vs, ls, reads, flush_at)| {
            let versions: BTreeMap<(u8, u64), u8> =
                vs.into_iter().map(|(k, c, kind)| ((k, c), kind)).collect();
            let locks = ls.into_iter().map(|l| (l.0, l)).collect();
            (versions, locks, reads, flush_at)
        })
}

proptest! {
    #[test]
    fn memory_engine_matches_the_model((versions, locks, reads, flush_at) in inputs()) {
        let e = mvcc::MemEngine::new();
        load(&e, &versions, &locks, flush_at);
        check(&e, &versions, &locks, &reads)?;
    }
}

proptest! {
    // Each case opens a database on disk: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn lsm_engine_matches_the_model((versions, locks, reads, flush_at) in inputs()) {
        let e = lsm_engine();
        load(&e, &versions, &locks, flush_at);
        check(&e, &versions, &locks, &reads)?;
    }
}
