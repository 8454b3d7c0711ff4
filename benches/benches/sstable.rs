//! Micro-benchmarks of the `sstable` crate on db_bench-like data: 16-byte keys (16 decimal
//! digits) and 100-byte values that compress to about half (50 random bytes, then one byte
//! repeated 50 times), made by a fixed-seed PRNG so every run measures the same tables.
//!
//! - `table_build/{none,zstd}`: build a 100k-entry table into a temp file with
//!   `TableBuilder::create` + `finish` (which fsyncs). MB/s of raw key + value bytes.
//! - `point_lookup/cached`: `Table::get` of a random present key; every block is in a warm
//!   [`BlockCache`], so this is index seek + block seek + a cache hit. ns/op.
//! - `point_lookup/missing`: `Table::get` of a random absent key inside the key range; the
//!   bloom filter answers ~99% of them, the rest reach a cached data block. ns/op.
//! - `bloom_probe`: `Table::may_contain` of a random absent key. ns/op.
//! - `seek`: `TableIter::seek` to a random present key, then 10 `next` (warm cache). ns/op.
//! - `full_scan/{none,zstd}`: `seek_to_first` + `next` over all 100k entries with no block
//!   cache, so every block is read, checksummed and (zstd) decompressed on every pass; the
//!   file itself stays in the page cache (mmap). MB/s of raw key + value bytes.
//!
//! Present keys are the even numbers `0, 2, …, 2 * (N - 1)`; absent keys are the odd numbers
//! between them, so a missing-key lookup that passes the filter still reaches a data block.
//! Unless named otherwise, tables use [`TableOptions::default`] (4 KiB blocks, zstd level 1,
//! 10 bloom bits per key).
//!
//! Run with `cargo bench -p strata-benches --bench sstable` (about a minute); add a filter to
//! run some, e.g. `cargo bench -p strata-benches --bench sstable -- point_lookup`. Set-up
//! (generating entries, building and warming tables) is outside every timed loop.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput};
use sstable::{BlockCache, Compression, ReadOptions, Table, TableBuilder, TableOptions};
use strata_benches::bench_data::{key_of, Rng, KEY_SIZE, VALUE_SIZE};

/// Entries per table.
const NUM_ENTRIES: u64 = 100_000;
/// Random keys prepared for the lookup benches (a power of two, cycled through with a mask).
const PROBE_KEYS: usize = 1 << 16;
/// Entries read after each seek in the `seek` bench.
const NEXTS_PER_SEEK: usize = 10;
/// Raw key + value bytes of one table: the unit of the MB/s figures.
const RAW_BYTES: u64 = NUM_ENTRIES * (KEY_SIZE + VALUE_SIZE) as u64;

fn present_key(i: u64) -> [u8; KEY_SIZE] {
    key_of(2 * i)
}

fn absent_key(i: u64) -> [u8; KEY_SIZE] {
    key_of(2 * i + 1)
}

/// The entries every table holds, in key order.
struct Dataset {
    keys: Vec<[u8; KEY_SIZE]>,
    values: Vec<[u8; VALUE_SIZE]>,
}

fn dataset() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| {
        let mut rng = Rng::new(0x5EED_5EED);
        let keys = (0..NUM_ENTRIES).map(present_key).collect();
        let values = (0..NUM_ENTRIES).map(|_| rng.value()).collect();
        Dataset { keys, values }
    })
}

/// `PROBE_KEYS` keys made by `make` from random entry indexes.
fn probe_keys(seed: u64, make: fn(u64) -> [u8; KEY_SIZE]) -> Vec<[u8; KEY_SIZE]> {
    let mut rng = Rng::new(seed);
    (0..PROBE_KEYS)
        .map(|_| make(rng.below(NUM_ENTRIES)))
        .collect()
}

fn table_options(compression: Compression) -> TableOptions {
    TableOptions {
        compression,
        ..TableOptions::default()
    }
}

/// Writes the whole dataset to `path` and fsyncs it.
fn build_table(path: &Path, compression: Compression) {
    let data = dataset();
    let mut builder = TableBuilder::create(path, table_options(compression)).unwrap();
    for (key, value) in data.keys.iter().zip(&data.values) {
        builder.add(key, value).unwrap();
    }
    black_box(builder.finish().unwrap());
}

/// A built table in a temp dir that lives as long as this value.
struct Fixture {
    _dir: tempfile::TempDir,
    table: Arc<Table>,
}

fn fixture(compression: Compression, read: &ReadOptions) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.sst");
    build_table(&path, compression);
    let table = Table::open(&path, read).unwrap();
    let props = table.properties();
    println!(
        "[sstable] {} table: {} entries, {} data blocks, file {} bytes ({:.0}% of raw {} bytes)",
        compression.name(),
        props.num_entries,
        props.num_data_blocks,
        table.file_size(),
        100.0 * table.file_size() as f64 / RAW_BYTES as f64,
        RAW_BYTES,
    );
    Fixture { _dir: dir, table }
}

/// Reads every entry once, returning how many there were.
fn scan_all(table: &Arc<Table>) -> u64 {
    let mut it = table.iter();
    it.seek_to_first().unwrap();
    let mut n = 0;
    while it.valid() {
        black_box((it.key(), it.value()));
        n += 1;
        it.next().unwrap();
    }
    n
}

/// A table whose every block is in a large, warmed cache.
fn cached_fixture() -> (Fixture, Arc<BlockCache>) {
    let cache = Arc::new(BlockCache::new(256 << 20));
    let fixture = fixture(Compression::ZSTD, &ReadOptions::with_cache(cache.clone()));
    assert_eq!(scan_all(&fixture.table), NUM_ENTRIES);
    let stats = cache.stats();
    assert!(
        stats.usage < stats.capacity / 2,
        "the cache must hold the whole table"
    );
    (fixture, cache)
}

fn report_cache(cache: &BlockCache, before: sstable::CacheStats) {
    let now = cache.stats();
    println!(
        "[sstable] block cache during the bench: {} hits, {} misses",
        now.hits - before.hits,
        now.misses - before.misses
    );
}

fn bench_table_build(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("build.sst");
    dataset();
    let mut group = c.benchmark_group("table_build");
    // One iteration takes tens of milliseconds: flat sampling keeps the run short.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Bytes(RAW_BYTES));
    for compression in [Compression::None, Compression::Lz4, Compression::ZSTD] {
        group.bench_function(compression.name(), |b| {
            b.iter_batched(
                // Unlinking the previous table is not part of building one.
                || {
                    let _ = std::fs::remove_file(&path);
                },
                |()| build_table(&path, compression),
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

fn bench_point_lookup(c: &mut Criterion) {
    let (fixture, cache) = cached_fixture();
    let table = &fixture.table;
    let present = probe_keys(1, present_key);
    let absent = probe_keys(2, absent_key);
    let mask = PROBE_KEYS - 1;
    let before = cache.stats();
    let mut group = c.benchmark_group("point_lookup");
    group.throughput(Throughput::Elements(1));
    group.bench_function("cached", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & mask;
            let value = table.get(&present[i]).unwrap();
            debug_assert!(value.is_some());
            value
        });
    });
    group.bench_function("missing", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & mask;
            let value = table.get(&absent[i]).unwrap();
            debug_assert!(value.is_none());
            value
        });
    });
    group.finish();
    report_cache(&cache, before);
}

fn bench_bloom_probe(c: &mut Criterion) {
    let (fixture, _cache) = cached_fixture();
    let table = &fixture.table;
    assert!(table.has_filter());
    let absent = probe_keys(3, absent_key);
    let false_positives = absent.iter().filter(|k| table.may_contain(&k[..])).count();
    println!(
        "[sstable] bloom filter: {false_positives} of {PROBE_KEYS} absent keys pass ({:.2}%)",
        100.0 * false_positives as f64 / PROBE_KEYS as f64
    );
    let mask = PROBE_KEYS - 1;
    c.bench_function("bloom_probe", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & mask;
            table.may_contain(&absent[i])
        });
    });
}

fn bench_seek(c: &mut Criterion) {
    let (fixture, cache) = cached_fixture();
    let present = probe_keys(4, present_key);
    let mask = PROBE_KEYS - 1;
    let mut it = fixture.table.iter();
    let before = cache.stats();
    c.bench_function("seek", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & mask;
            it.seek(&present[i]).unwrap();
            for _ in 0..NEXTS_PER_SEEK {
                if !it.valid() {
                    break;
                }
                black_box((it.key(), it.value()));
                it.next().unwrap();
            }
        });
    });
    report_cache(&cache, before);
}

fn bench_full_scan(c: &mut Criterion) {
    let mut group = c.benchmark_group("full_scan");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Bytes(RAW_BYTES));
    for compression in [Compression::None, Compression::Lz4, Compression::ZSTD] {
        // No block cache: every block is read, verified and decoded on every pass.
        let fixture = fixture(compression, &ReadOptions::default());
        group.bench_function(compression.name(), |b| {
            b.iter(|| scan_all(&fixture.table));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = bench_table_build, bench_point_lookup, bench_bloom_probe, bench_seek,
        bench_full_scan
}
criterion_main!(benches);
