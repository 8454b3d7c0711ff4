//! Runs the workloads against one engine in this process: threads, timing, latency
//! histograms, progress, and the amplification checkpoints.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::engines::{self, Engine, EngineKind};
use crate::error::{Error, Result};
use crate::procstat::{self, ProcSample};
use crate::report::{Amplification, EngineReport, WorkloadResult};
use crate::settings::EngineArgs;
use crate::tasks::latency_histogram;
use crate::workload::{make_key, Permutation, ValueSource, Workload};

/// Entries a seekrandom operation reads: the seek and ten nexts.
const SEEK_ENTRIES: usize = 11;
/// Scan steps timed together (see `record_scan_step`).
const SCAN_STRIDE: u64 = 64;
/// Operations between progress updates and deadline checks.
const TICK: u64 = 1024;

/// What one thread did.
struct ThreadOutcome {
    ops: u64,
    bytes: u64,
    found: u64,
    latency: Histogram<u64>,
    /// Scan steps counted but not yet timed.
    unrecorded: u64,
}

impl ThreadOutcome {
    fn new() -> Result<ThreadOutcome> {
        let latency = latency_histogram()?;
        Ok(ThreadOutcome {
            ops: 0,
            bytes: 0,
            found: 0,
            latency,
            unrecorded: 0,
        })
    }

    /// Records an operation that ended at `now`, having started at `*lap`.
    fn record(&mut self, lap: &mut Instant, bytes: usize) {
        self.latency.saturating_record(nanos_since(lap).max(1));
        self.ops += 1;
        self.bytes += bytes as u64;
    }

    /// Counts a scan step, timing steps in runs of [`SCAN_STRIDE`]: a step of a scan costs
    /// about as much as reading the clock, so each step of a run is recorded as the run's
    /// average. Call [`ThreadOutcome::end_scan`] after the last step.
    fn record_scan_step(&mut self, lap: &mut Instant, bytes: usize) {
        self.ops += 1;
        self.bytes += bytes as u64;
        self.unrecorded += 1;
        if self.unrecorded == SCAN_STRIDE {
            self.end_scan(lap);
        }
    }

    fn end_scan(&mut self, lap: &mut Instant) {
        if self.unrecorded == 0 {
            return;
        }
        let nanos = nanos_since(lap);
        let _ = self
            .latency
            .record_n((nanos / self.unrecorded).max(1), self.unrecorded);
        self.unrecorded = 0;
    }
}

/// Nanoseconds since `*lap`, which moves to now.
fn nanos_since(lap: &mut Instant) -> u64 {
    let now = Instant::now();
    let nanos = u64::try_from(now.duration_since(*lap).as_nanos()).unwrap_or(u64::MAX);
    *lap = now;
    nanos
}

/// Shared by the threads of one workload.
struct Ctx<'a> {
    engine: &'a dyn Engine,
    args: &'a EngineArgs,
    workload: Workload,
    deadline: Option<Instant>,
    progress: ProgressBar,
}

impl Ctx<'_> {
    /// Whether the thread should stop, checked every `TICK` operations.
    fn tick(&self, done: u64) -> bool {
        if done == 0 || !done.is_multiple_of(TICK) {
            return false;
        }
        self.progress.inc(TICK);
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn seed(&self, thread: usize) -> u64 {
        self.args.seed ^ ((self.workload as u64) << 32) ^ (thread as u64).wrapping_mul(0x9E37_79B9)
    }
}

/// Runs every workload of `list` on `kind` in `dir`, printing db_bench lines to `out`.
///
/// # Errors
/// The engine's errors; `Io` for the directory.
pub fn run_engine(
    kind: EngineKind,
    args: &EngineArgs,
    list: &[Workload],
    dir: &Path,
    out: &mut dyn FnMut(&str),
) -> Result<EngineReport> {
    let config = args.engine_config();
    let run_start = ProcSample::now()?;
    let mut engine: Option<Box<dyn Engine>> = None;
    let mut settings = Vec::new();
    let mut results = Vec::new();
    let mut amplification = Vec::new();
    let mut lifetime = Lifetime::start()?;
    for &workload in list {
        if engine.is_none() || workload.fresh_db() {
            if let Some(old) = engine.take() {
                // Keep the figures of the database about to be replaced.
                if lifetime.since_settle > 0 {
                    amplification.push(settle(old.as_ref(), dir, &lifetime)?);
                }
                drop(old);
            }
            if !args.use_existing_db {
                if dir.exists() {
                    std::fs::remove_dir_all(dir)?;
                }
                std::fs::create_dir_all(dir)?;
            }
            let opened = engines::open(kind, dir, &config)?;
            if settings.is_empty() {
                settings = opened.describe();
                for (k, v) in &settings {
                    out(&format!("{kind} {k:<24} {v}"));
                }
            }
            engine = Some(opened);
            lifetime = Lifetime::start()?;
        }
        let Some(db) = engine.as_deref() else {
            continue;
        };
        if workload == Workload::Settle {
            let amp = settle(db, dir, &lifetime)?;
            out(&amp.line());
            amplification.push(amp);
            lifetime.since_settle = 0;
            continue;
        }
        let result = run_workload(db, args, workload)?;
        lifetime.note(workload, &result);
        out(&result.line());
        results.push(result);
    }
    if let Some(db) = engine.as_deref() {
        if lifetime.since_settle > 0 {
            let amp = settle(db, dir, &lifetime)?;
            out(&amp.line());
            amplification.push(amp);
        }
    }
    let engine_stats = engine.as_ref().map(|e| e.stats_text()).unwrap_or_default();
    let (end_rss_anon_bytes, end_rss_file_bytes) = procstat::rss_split_bytes()?;
    drop(engine);
    let used = ProcSample::now()?.since(&run_start);
    let ops: u64 = results.iter().map(|r| r.ops).sum();
    Ok(EngineReport {
        engine: kind.to_string(),
        settings,
        workloads: results,
        amplification,
        cpu_us_per_op: used.cpu_secs * 1e6 / ops.max(1) as f64,
        peak_rss_bytes: procstat::peak_rss_bytes()?,
        end_rss_anon_bytes,
        end_rss_file_bytes,
        engine_stats,
    })
}

/// What happened to one database since it was created.
struct Lifetime {
    start: ProcSample,
    workloads: Vec<String>,
    user_bytes: u64,
    since_settle: usize,
}

impl Lifetime {
    fn start() -> Result<Lifetime> {
        Ok(Lifetime {
            start: ProcSample::now()?,
            workloads: vec![],
            user_bytes: 0,
            since_settle: 0,
        })
    }

    fn note(&mut self, workload: Workload, result: &WorkloadResult) {
        self.workloads.push(workload.to_string());
        self.since_settle += 1;
        if workload.writes() {
            self.user_bytes += result.bytes;
        }
        self.user_bytes += result.writer_bytes.unwrap_or(0);
    }
}

/// Flushes, waits for compactions to settle, and measures amplification.
fn settle(engine: &dyn Engine, dir: &Path, lifetime: &Lifetime) -> Result<Amplification> {
    engine.flush()?;
    engine.wait_for_compactions()?;
    let written = ProcSample::now()?.since(&lifetime.start).write_bytes;
    let mut logical = 0u64;
    engine.scan(None, false, &mut |k, v| {
        logical += (k.len() + v.len()) as u64;
        true
    })?;
    Ok(Amplification {
        after: lifetime.workloads.clone(),
        user_bytes_written: lifetime.user_bytes,
        disk_bytes_written: written,
        logical_bytes: logical,
        disk_bytes: procstat::dir_bytes(dir)?,
    })
}

fn progress_bar(workload: Workload, total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix:>16} [{bar:30}] {human_pos}/{human_len} {per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(workload.to_string());
    bar
}

/// Runs one workload on all its threads and merges their outcomes.
fn run_workload(
    engine: &dyn Engine,
    args: &EngineArgs,
    workload: Workload,
) -> Result<WorkloadResult> {
    let threads = if workload == Workload::FillSync {
        args.fillsync_threads
    } else {
        args.threads
    }
    .max(1);
    let total = match workload {
        Workload::FillSeq | Workload::FillRandom | Workload::Overwrite | Workload::DeleteRandom => {
            args.num
        }
        Workload::FillSync => (args.num / 100).max(1),
        _ => args.reads(),
    };
    let ctx = Ctx {
        engine,
        args,
        workload,
        deadline: (args.duration > 0).then(|| Instant::now() + Duration::from_secs(args.duration)),
        progress: progress_bar(workload, total),
    };
    let stop_writer = AtomicBool::new(false);
    let before = ProcSample::now()?;
    let started = Instant::now();
    let (outcomes, writer) = std::thread::scope(|s| {
        let writer = (workload == Workload::ReadWhileWriting)
            .then(|| s.spawn(|| background_writer(&ctx, &stop_writer)));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (ctx, lo, hi) = (
                    &ctx,
                    total * t as u64 / threads as u64,
                    total * (t as u64 + 1) / threads as u64,
                );
                s.spawn(move || run_thread(ctx, t, lo, hi))
            })
            .collect();
        let outcomes: Vec<_> = handles.into_iter().map(join).collect();
        stop_writer.store(true, Ordering::Relaxed);
        (outcomes, writer.map(join))
    });
    let seconds = started.elapsed().as_secs_f64();
    let used = ProcSample::now()?.since(&before);
    ctx.progress.finish_and_clear();
    let mut merged = ThreadOutcome::new()?;
    for outcome in outcomes {
        let outcome = outcome?;
        merged.ops += outcome.ops;
        merged.bytes += outcome.bytes;
        merged.found += outcome.found;
        merged
            .latency
            .add(&outcome.latency)
            .map_err(|e| Error::Usage(e.to_string()))?;
    }
    let writer_bytes = match writer {
        Some(w) => Some(w?.bytes),
        None => None,
    };
    let us = |q: f64| merged.latency.value_at_quantile(q) as f64 / 1000.0;
    Ok(WorkloadResult {
        name: workload.to_string(),
        ops: merged.ops,
        seconds,
        bytes: merged.bytes,
        p50_us: us(0.5),
        p99_us: us(0.99),
        p999_us: us(0.999),
        cpu_us_per_op: used.cpu_secs * 1e6 / merged.ops.max(1) as f64,
        found: matches!(
            workload,
            Workload::ReadRandom | Workload::ReadMissing | Workload::ReadWhileWriting
        )
        .then_some(merged.found),
        writer_bytes,
    })
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    handle
        .join()
        .unwrap_or_else(|_| Err(Error::Usage("a benchmark thread panicked".into())))
}

/// One thread's share `[lo, hi)` of the workload's operations.
fn run_thread(ctx: &Ctx<'_>, thread: usize, lo: u64, hi: u64) -> Result<ThreadOutcome> {
    let args = ctx.args;
    let mut out = ThreadOutcome::new()?;
    let mut rng = SmallRng::seed_from_u64(ctx.seed(thread));
    let mut values = ValueSource::new(ctx.seed(thread), args.value_size, args.compression_ratio);
    let mut key = Vec::with_capacity(args.key_size + 1);
    let keys = if ctx.workload == Workload::FillSync {
        (args.num / 100).max(1)
    } else {
        args.num
    };
    let permutation = Permutation::new(keys, args.seed);
    let engine = ctx.engine;
    let mut lap = Instant::now();
    match ctx.workload {
        Workload::FillSeq
        | Workload::FillRandom
        | Workload::FillSync
        | Workload::Overwrite
        | Workload::DeleteRandom => {
            let sync = args.sync || ctx.workload == Workload::FillSync;
            for i in lo..hi {
                let n = match ctx.workload {
                    Workload::FillSeq => i,
                    Workload::FillRandom | Workload::FillSync => permutation.apply(i),
                    _ => rng.random_range(0..args.num),
                };
                make_key(n, args.key_size, &mut key);
                if ctx.workload == Workload::DeleteRandom {
                    engine.delete(&key, sync)?;
                    out.record(&mut lap, key.len());
                } else {
                    let value = values.next(args.value_size);
                    engine.put(&key, value, sync)?;
                    out.record(&mut lap, key.len() + value.len());
                }
                if ctx.tick(out.ops) {
                    break;
                }
            }
        }
        Workload::ReadRandom | Workload::ReadMissing | Workload::ReadWhileWriting => {
            for _ in lo..hi {
                make_key(rng.random_range(0..args.num), args.key_size, &mut key);
                if ctx.workload == Workload::ReadMissing {
                    key.push(b'.');
                }
                let found = engine.get(&key)?;
                out.found += u64::from(found.is_some());
                out.record(&mut lap, key.len() + found.unwrap_or(0));
                if ctx.tick(out.ops) {
                    break;
                }
            }
        }
        Workload::ReadSeq | Workload::ReadReverse => {
            let limit = hi - lo;
            engine.scan(None, ctx.workload == Workload::ReadReverse, &mut |k, v| {
                out.record_scan_step(&mut lap, k.len() + v.len());
                out.ops < limit && !ctx.tick(out.ops)
            })?;
            out.end_scan(&mut lap);
        }
        Workload::SeekRandom => {
            for _ in lo..hi {
                make_key(rng.random_range(0..args.num), args.key_size, &mut key);
                let (mut seen, mut bytes) = (0, 0);
                engine.scan(Some(&key), false, &mut |k, v| {
                    seen += 1;
                    bytes += k.len() + v.len();
                    seen < SEEK_ENTRIES
                })?;
                out.record(&mut lap, bytes);
                if ctx.tick(out.ops) {
                    break;
                }
            }
        }
        Workload::Settle => {}
    }
    ctx.progress.inc(out.ops % TICK);
    Ok(out)
}

/// readwhilewriting's writer: overwrites random keys until the readers finish.
fn background_writer(ctx: &Ctx<'_>, stop: &AtomicBool) -> Result<ThreadOutcome> {
    let args = ctx.args;
    let mut out = ThreadOutcome::new()?;
    let mut rng = SmallRng::seed_from_u64(ctx.seed(usize::MAX));
    let mut values = ValueSource::new(
        ctx.seed(usize::MAX),
        args.value_size,
        args.compression_ratio,
    );
    let mut key = Vec::with_capacity(args.key_size);
    let mut lap = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        make_key(rng.random_range(0..args.num), args.key_size, &mut key);
        let value = values.next(args.value_size);
        ctx.engine.put(&key, value, args.sync)?;
        out.record(&mut lap, key.len() + value.len());
    }
    Ok(out)
}
