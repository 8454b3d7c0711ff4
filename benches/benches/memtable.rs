//! Memtable micro-benchmarks (criterion): random 16-byte keys, 100-byte values, one thread.
//!
//! - `memtable_insert/batch_1`: `MemTable::insert_batch` of prepared one-op batches. ns/op.
//! - `memtable_insert/batch_16`: the same with sixteen-op batches; criterion's time is per
//!   batch, the elements/s figure per entry (divide the time by 16 for ns/entry).
//! - `memtable_get/hit`: `MemTable::get` of a random present key in a memtable of
//!   [`TABLE_ENTRIES`] entries. ns/op.
//!
//! - `baseline_no_prefix/{insert,get_hit}`: the same single-entry inserts and hits on a plain
//!   `SkipMap<InternalKey(Bytes), Bytes>` ordered by `InternalKeyComparator` (key and value in
//!   separate allocations, no inline prefix; a lookup allocates its seek key). What the
//!   memtable's entry layout is measured against.
//!
//! Inserts go into memtables of at most [`TABLE_ENTRIES`] entries (about what a 32 MiB
//! memtable holds at this entry size): when one fills, it is dropped and a fresh one started
//! outside the timed region, so every sample measures inserts into tables of 0 to
//! [`TABLE_ENTRIES`] entries. Batches are built before timing: this measures the memtable, not
//! batch encoding.
//!
//! Run: `cargo bench -p strata-benches --bench memtable`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cmp::Ordering;
use std::hint::black_box;
use std::ops::Bound;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use crossbeam_skiplist::SkipMap;
use lsm::key::{internal_key, InternalKeyComparator, ValueKind};
use lsm::{MemTable, WriteBatch};
use sstable::Comparator;
use strata_benches::bench_data::{Rng, KEY_SIZE, VALUE_SIZE};

const TABLE_ENTRIES: usize = 200_000;

fn keys() -> Vec<[u8; KEY_SIZE]> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..TABLE_ENTRIES).map(|_| rng.key()).collect()
}

/// One memtable's worth of entries, cut into batches of `size`.
fn batches(keys: &[[u8; KEY_SIZE]], size: usize) -> Vec<WriteBatch> {
    let value = [0x5au8; VALUE_SIZE];
    keys.chunks(size)
        .map(|chunk| {
            let mut b = WriteBatch::new();
            for k in chunk {
                b.put(0, k, &value);
            }
            b
        })
        .collect()
}

/// Times `iters` batch inserts, cycling through `batches`, with a fresh memtable per cycle.
fn timed_inserts(batches: &[WriteBatch], iters: u64, seq: &mut u64) -> Duration {
    let mut elapsed = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let mem = MemTable::new();
        let n = left.min(batches.len() as u64);
        let start = Instant::now();
        for b in &batches[..n as usize] {
            mem.insert_batch(b, *seq).unwrap();
            *seq += b.len() as u64;
        }
        elapsed += start.elapsed();
        left -= n;
        drop(mem); // outside the timed region
    }
    elapsed
}

fn insert(c: &mut Criterion) {
    let keys = keys();
    let mut group = c.benchmark_group("memtable_insert");
    for size in [1usize, 16] {
        let batches = batches(&keys, size);
        let mut seq = 1;
        group.throughput(Throughput::Elements(size as u64));
        group.bench_function(format!("batch_{size}"), |b| {
            b.iter_custom(|iters| timed_inserts(&batches, iters, &mut seq));
        });
    }
    group.finish();
}

fn get(c: &mut Criterion) {
    let keys = keys();
    let mem = MemTable::new();
    let mut seq = 1;
    for b in batches(&keys, 16) {
        mem.insert_batch(&b, seq).unwrap();
        seq += b.len() as u64;
    }
    let mut rng = Rng(42);
    let mut group = c.benchmark_group("memtable_get");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hit", |b| {
        b.iter(|| {
            let k = &keys[rng.next_u64() as usize % keys.len()];
            black_box(mem.get(0, k, u64::MAX)).unwrap();
        });
    });
    group.finish();
}

/// The naive layout: the key is the only thing a comparison can look at, behind a pointer.
#[derive(PartialEq, Eq)]
struct InternalKey(Bytes);

impl PartialOrd for InternalKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InternalKey {
    fn cmp(&self, other: &Self) -> Ordering {
        InternalKeyComparator.compare(&self.0, &other.0)
    }
}

fn baseline(c: &mut Criterion) {
    let keys = keys();
    let value = [0x5au8; VALUE_SIZE];
    let mut group = c.benchmark_group("baseline_no_prefix");
    group.throughput(Throughput::Elements(1));
    let mut seq = 1;
    group.bench_function("insert", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let map = SkipMap::new();
                let n = left.min(keys.len() as u64) as usize;
                let start = Instant::now();
                for k in &keys[..n] {
                    let ikey = internal_key(0, k, seq, ValueKind::Put);
                    map.insert(InternalKey(ikey.into()), Bytes::copy_from_slice(&value));
                    seq += 1;
                }
                elapsed += start.elapsed();
                left -= n as u64;
            }
            elapsed
        });
    });
    let map = SkipMap::new();
    for (seq, k) in (1..).zip(&keys) {
        let ikey = internal_key(0, k, seq, ValueKind::Put);
        map.insert(InternalKey(ikey.into()), Bytes::copy_from_slice(&value));
    }
    let mut rng = Rng(42);
    group.bench_function("get_hit", |b| {
        b.iter(|| {
            let k = &keys[rng.next_u64() as usize % keys.len()];
            let seek = InternalKey(internal_key(0, k, u64::MAX >> 8, ValueKind::SEEK).into());
            let e = map.lower_bound(Bound::Included(&seek)).unwrap();
            black_box(e.value().clone());
        });
    });
    group.finish();
}

criterion_group!(benches, insert, get, baseline);
criterion_main!(benches);
