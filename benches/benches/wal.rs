//! WAL micro-benchmarks (criterion). Throughput is payload bytes.
//!
//! - `wal_append/flush_per_record/{100,4096}`: `add_record` then `flush`
//!   (one `write(2)` per record, no fsync) to a real temp file.
//! - `wal_append/flush_per_64/{100,4096}`: `add_record`, `flush` every 64
//!   records: what group commit without fsync costs per record.
//! - `wal_append_sync/sync_per_record/{100,4096}`: `add_record` then `sync`
//!   (one `fdatasync` per record): the worst-case commit latency of the
//!   medium under the temp dir.
//! - `wal_read/{file,memory}/{100,4096}`: read back a 16 MiB log with
//!   `Reader::read_record` (reused buffer), from a page-cached file and from
//!   memory (the latter isolates framing + CRC from syscalls).
//!
//! Each append sample writes a fresh file (created outside the timed
//! region), so files stay bounded by one sample's size.
//!
//! Run: `cargo bench -p strata-benches --bench wal -- --warm-up-time 1 --measurement-time 3`

// Benchmarks abort on I/O failure: there is nothing to recover.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use wal::{Reader, RecoveryMode, Writer};

const SIZES: [usize; 2] = [100, 4096];
const BATCH: u64 = 64;
const READ_LOG_BYTES: usize = 16 << 20;

/// Times `iters` appends to a fresh file, calling `commit` (flush or sync)
/// after every `every`-th record and once at the end.
fn timed_appends(
    path: &Path,
    record: &[u8],
    iters: u64,
    every: u64,
    commit: fn(&mut Writer<File>),
) -> Duration {
    let mut writer = Writer::new(File::create(path).unwrap());
    let start = Instant::now();
    for i in 1..=iters {
        black_box(writer.add_record(record).unwrap());
        if i % every == 0 {
            commit(&mut writer);
        }
    }
    commit(&mut writer);
    start.elapsed()
}

fn flush(w: &mut Writer<File>) {
    w.flush().unwrap();
}

fn sync(w: &mut Writer<File>) {
    w.sync().unwrap();
}

fn append(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("append.log");
    let mut group = c.benchmark_group("wal_append");
    for size in SIZES {
        let record = vec![0xA5; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(
            BenchmarkId::new("flush_per_record", size),
            &record,
            |b, r| {
                b.iter_custom(|iters| timed_appends(&path, r, iters, 1, flush));
            },
        );
        group.bench_with_input(BenchmarkId::new("flush_per_64", size), &record, |b, r| {
            b.iter_custom(|iters| timed_appends(&path, r, iters, BATCH, flush));
        });
    }
    group.finish();
}

fn append_sync(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.log");
    let mut group = c.benchmark_group("wal_append_sync");
    // fdatasync takes milliseconds on some media: few, flat samples.
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    for size in SIZES {
        let record = vec![0x5A; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(
            BenchmarkId::new("sync_per_record", size),
            &record,
            |b, r| {
                b.iter_custom(|iters| timed_appends(&path, r, iters, 1, sync));
            },
        );
    }
    group.finish();
}

/// Reads every record; returns payload bytes read so the work is not
/// optimized away.
fn read_all<R: std::io::Read>(source: R) -> usize {
    let mut reader = Reader::new(source, "bench.log", RecoveryMode::Absolute);
    let mut buf = Vec::new();
    let mut total = 0;
    while reader.read_record(&mut buf).unwrap().is_some() {
        total += buf.len();
    }
    total
}

fn read(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("wal_read");
    for size in SIZES {
        let path = dir.path().join(format!("read-{size}.log"));
        let mut writer = Writer::new(File::create(&path).unwrap());
        let record = vec![0x3C; size];
        let count = READ_LOG_BYTES / size;
        for _ in 0..count {
            writer.add_record(&record).unwrap();
        }
        writer.sync().unwrap();
        let payload = (count * size) as u64;
        let bytes = std::fs::read(&path).unwrap();
        group.throughput(Throughput::Bytes(payload));
        group.bench_function(BenchmarkId::new("file", size), |b| {
            b.iter(|| {
                let n = read_all(File::open(&path).unwrap());
                assert_eq!(n as u64, payload);
            });
        });
        group.bench_function(BenchmarkId::new("memory", size), |b| {
            b.iter(|| black_box(read_all(&bytes[..])));
        });
    }
    group.finish();
}

criterion_group!(benches, append, append_sync, read);
criterion_main!(benches);
