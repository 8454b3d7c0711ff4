//! Micro-benchmarks of the `lsm` engine's read merge and compaction, on db_bench-like data:
//! 16-byte keys and 100-byte values that compress to about half (50 random bytes, then one
//! byte repeated 50 times), made by a fixed-seed PRNG so every run measures the same data.
//!
//! - `merging_iterator_step/vec/{1,4,16}`: one `MergingIterator::next` (plus reading the key
//!   and value it lands on) over N `VecIterator` children that hold [`MERGE_ENTRIES`] entries
//!   between them, interleaved: entry `i` (user key `i` as 16 decimal digits, cf 0, sequence
//!   `i + 1`) is in child `i % N`, so every step moves to another child and the linear scan
//!   compares N - 1 keys. ns/step.
//! - `merging_iterator_step/tables/{1,4,16}`: the same over N real tables (`TableIter`s of
//!   tables written with `lsm::flush::TableWriter`, opened with the engine's key order), read
//!   through a warm block cache that holds them all, as the engine reads L0. The difference to
//!   `vec` is the cost of stepping a table cursor. ns/step.
//! - `compaction_throughput/{none,zstd}`: `Db::compact_range(0, None, None)` of a database whose
//!   [`COMPACTION_KEYS`] random keys sit in L0 as several overlapping files (4 MiB memtables,
//!   automatic compaction off). `compact_range` merges L0 into L1, moves the result down to
//!   L6 (trivial moves, no I/O) and rewrites it there (the bottom-level pass), so it reads the
//!   data twice; the MB/s figure is the engine's own `compaction_bytes_read` (table bytes read
//!   by both passes) per second, i.e. twice the rate at which L0 bytes are compacted. Each
//!   sample starts from a fresh copy of the same database; copying and opening it are outside
//!   the timed region, and the files are in the page cache. Output tables are fsynced, so the
//!   figure depends on the medium under the temp dir.
//!
//! Run with `cargo bench -p strata-benches --bench lsm` (about a minute); add a filter to run
//! some, e.g. `cargo bench -p strata-benches --bench lsm -- compaction`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use lsm::compaction::CompactionOptions;
use lsm::flush::TableWriter;
use lsm::fs::StdFs;
use lsm::iter::{InternalIterator, MergingIterator, VecIterator};
use lsm::key::{internal_key, CfUserKeyExtractor, InternalKeyComparator, ValueKind};
use lsm::{Db, Options, WriteBatch, WriteOptions};
use sstable::{BlockCache, Compression, ReadOptions, Table, TableOptions};
use strata_benches::bench_data::{key_of, Rng, KEY_SIZE, VALUE_SIZE};

/// Entries of all children of one merging iterator together (divisible by every fan-in).
const MERGE_ENTRIES: u64 = 96 * 1024;
/// Children of the merging iterator: one source, a few L0 files, a deep L0.
const FAN_INS: [usize; 3] = [1, 4, 16];
/// Keys written before each compaction (random, so every L0 file spans the whole key range).
const COMPACTION_KEYS: usize = 200_000;
/// Puts per write batch while filling the database.
const FILL_BATCH: usize = 100;

/// The merge benchmarks' entries in internal-key order, as (internal key, value).
fn merge_entries() -> &'static [(Vec<u8>, Vec<u8>)] {
    static DATA: OnceLock<Vec<(Vec<u8>, Vec<u8>)>> = OnceLock::new();
    DATA.get_or_init(|| {
        let mut rng = Rng::new(0x5EED_5EED);
        (0..MERGE_ENTRIES)
            .map(|i| {
                let key = internal_key(0, &key_of(i), i + 1, ValueKind::Put);
                (key, rng.value().to_vec())
            })
            .collect()
    })
}

/// The entries of child `child` of `fan_in`: every `fan_in`-th entry, in order.
fn child_entries(fan_in: usize, child: usize) -> impl Iterator<Item = &'static (Vec<u8>, Vec<u8>)> {
    merge_entries().iter().skip(child).step_by(fan_in)
}

fn vec_children(fan_in: usize) -> Vec<Box<dyn InternalIterator>> {
    (0..fan_in)
        .map(|c| {
            let entries = child_entries(fan_in, c).cloned().collect();
            Box::new(VecIterator::new(entries)) as Box<dyn InternalIterator>
        })
        .collect()
}

/// `fan_in` tables in a temp dir, written as the engine writes them.
struct TableFixture {
    _dir: tempfile::TempDir,
    tables: Vec<Arc<Table>>,
}

fn table_fixture(fan_in: usize, read: &ReadOptions) -> TableFixture {
    let dir = tempfile::tempdir().unwrap();
    let fs = StdFs::new();
    let options = TableOptions::default();
    let tables = (0..fan_in)
        .map(|c| {
            let number = c as u64 + 1;
            let mut writer = TableWriter::create(&fs, dir.path(), number, &options).unwrap();
            for (key, value) in child_entries(fan_in, c) {
                writer.add(key, value).unwrap();
            }
            writer.finish(&[]).unwrap();
            Table::open(&lsm::filename::table(dir.path(), number), read).unwrap()
        })
        .collect();
    TableFixture { _dir: dir, tables }
}

/// Times `iters` steps of `merge`, starting over (outside the timed region) at the end.
fn timed_steps(merge: &mut MergingIterator, iters: u64) -> Duration {
    let mut elapsed = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        if !merge.valid() {
            merge.seek_to_first().unwrap();
        }
        let start = Instant::now();
        while left > 0 && merge.valid() {
            black_box((merge.key(), merge.value()));
            merge.next().unwrap();
            left -= 1;
        }
        elapsed += start.elapsed();
    }
    elapsed
}

/// Steps once through all of `merge`, checking that it yields every entry in order.
fn check_merge(merge: &mut MergingIterator) {
    let entries = merge_entries();
    merge.seek_to_first().unwrap();
    for (key, value) in entries {
        assert!(merge.valid());
        assert_eq!((merge.key(), merge.value()), (&key[..], &value[..]));
        merge.next().unwrap();
    }
    assert!(!merge.valid());
}

fn bench_merging_iterator_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("merging_iterator_step");
    group.throughput(Throughput::Elements(1));
    for fan_in in FAN_INS {
        let mut merge = MergingIterator::new(vec_children(fan_in));
        check_merge(&mut merge);
        group.bench_function(BenchmarkId::new("vec", fan_in), |b| {
            b.iter_custom(|iters| timed_steps(&mut merge, iters));
        });
    }
    // One cache for all tables, large enough that every block stays once read.
    let cache = Arc::new(BlockCache::new(256 << 20));
    let read = ReadOptions {
        comparator: Arc::new(InternalKeyComparator),
        filter_key: Arc::new(CfUserKeyExtractor),
        ..ReadOptions::with_cache(cache.clone())
    };
    for fan_in in FAN_INS {
        let fixture = table_fixture(fan_in, &read);
        let children = fixture
            .tables
            .iter()
            .map(|t| Box::new(t.iter()) as Box<dyn InternalIterator>)
            .collect();
        let mut merge = MergingIterator::new(children);
        // Also warms the cache.
        check_merge(&mut merge);
        let before = cache.stats();
        group.bench_function(BenchmarkId::new("tables", fan_in), |b| {
            b.iter_custom(|iters| timed_steps(&mut merge, iters));
        });
        let now = cache.stats();
        println!(
            "[lsm] {fan_in} tables of {} bytes in all; block cache during the bench: {} hits, \
             {} misses",
            fixture.tables.iter().map(|t| t.file_size()).sum::<u64>(),
            now.hits - before.hits,
            now.misses - before.misses
        );
    }
    group.finish();
}

/// Options that keep every flushed table in L0 until `compact_range`.
fn compaction_options(compression: Compression) -> Options {
    let defaults = Options::default();
    Options {
        write_buffer_size: 4 << 20,
        l0_slowdown_trigger: 1000,
        l0_stop_trigger: 1000,
        compaction: CompactionOptions {
            l0_trigger: 1000,
            ..defaults.compaction
        },
        table: TableOptions {
            compression,
            ..defaults.table
        },
        ..defaults
    }
}

/// A closed database with [`COMPACTION_KEYS`] random keys in overlapping L0 files, copied
/// afresh for every compaction.
struct DbTemplate {
    dir: tempfile::TempDir,
    options: Options,
}

impl DbTemplate {
    fn build(compression: Compression) -> DbTemplate {
        let dir = tempfile::tempdir().unwrap();
        let options = compaction_options(compression);
        let db = Db::open(dir.path().join("db"), options.clone()).unwrap();
        let mut rng = Rng::new(0xC0_FFEE);
        for _ in 0..COMPACTION_KEYS / FILL_BATCH {
            let mut batch = WriteBatch::new();
            for _ in 0..FILL_BATCH {
                batch.put(0, &rng.key(), &rng.value());
            }
            db.write(WriteOptions::default(), batch).unwrap();
        }
        db.flush().unwrap();
        db.wait_for_compactions().unwrap();
        let stats = db.stats();
        let (files, bytes, _) = stats.levels[0];
        assert!(
            files > 1 && stats.levels[1..].iter().all(|l| l.0 == 0),
            "the data must sit in several L0 files only: {:?}",
            stats.levels
        );
        println!(
            "[lsm] {} database: {files} L0 files, {bytes} bytes ({:.0}% of raw {} bytes)",
            compression.name(),
            100.0 * bytes as f64 / (COMPACTION_KEYS * (KEY_SIZE + VALUE_SIZE)) as f64,
            COMPACTION_KEYS * (KEY_SIZE + VALUE_SIZE),
        );
        db.close().unwrap();
        DbTemplate { dir, options }
    }

    /// A copy of the database in a new temp dir, open.
    fn open_copy(&self) -> (tempfile::TempDir, Db) {
        let copy = tempfile::tempdir().unwrap();
        let to = copy.path().join("db");
        copy_dir(&self.dir.path().join("db"), &to);
        let db = Db::open(&to, self.options.clone()).unwrap();
        (copy, db)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target: PathBuf = to.join(entry.file_name());
        std::fs::copy(entry.path(), target).unwrap();
    }
}

/// Compacts a fresh copy of `template`: the time of `compact_range` and the engine's counters
/// after it (they start at zero when the copy is opened).
fn timed_compaction(template: &DbTemplate) -> (Duration, lsm::Stats) {
    let (_copy, db) = template.open_copy();
    assert_eq!(
        db.stats().compactions,
        0,
        "nothing compacts before compact_range"
    );
    let start = Instant::now();
    db.compact_range(0, None, None).unwrap();
    let elapsed = start.elapsed();
    let stats = db.stats();
    db.close().unwrap();
    (elapsed, stats)
}

fn bench_compaction_throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("compaction_throughput");
    // One compaction takes hundreds of milliseconds: one per sample, ten samples.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(6));
    for compression in [Compression::None, Compression::Lz4, Compression::ZSTD] {
        let name = compression.name();
        let template = DbTemplate::build(compression);
        // A first compaction gives the bytes every one of them reads (the data is the same).
        let (elapsed, stats) = timed_compaction(&template);
        println!(
            "[lsm] {name} compact_range: {:.0} ms, {} compactions read {} bytes and wrote {} \
             bytes; levels after (files, bytes, score): {:?}",
            elapsed.as_secs_f64() * 1e3,
            stats.compactions,
            stats.compaction_bytes_read,
            stats.compaction_bytes_written,
            stats.levels,
        );
        let bytes_read = stats.compaction_bytes_read;
        group.throughput(Throughput::Bytes(bytes_read));
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (elapsed, stats) = timed_compaction(&template);
                    assert_eq!(
                        stats.compaction_bytes_read, bytes_read,
                        "every compaction reads the same tables"
                    );
                    total += elapsed;
                }
                total
            });
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
    targets = bench_merging_iterator_step, bench_compaction_throughput
}
criterion_main!(benches);
