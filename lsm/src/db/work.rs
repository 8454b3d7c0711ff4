//! Background work: flushing immutable memtables, compacting, deleting obsolete files; and
//! the manual `flush` / `compact_range` that wait for it.
//!
//! Each worker thread takes the most urgent job under the state lock — a flush before any
//! compaction, one flush at a time (flushes must land in L0 in memtable order) — runs it
//! without the lock, then installs the result (manifest edit, synced) under the lock and
//! wakes everyone waiting for progress.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use parking_lot::MutexGuard;

use super::{DbInner, State};
use crate::compaction::{pick_compaction, run_with_filter_factory, CompactionTask, JobContext};
use crate::error::{Error, Result};
use crate::filename::{self, FileKind};
use crate::flush::write_tables_by_cf;
use crate::key::{internal_key, CfId, SeqNo, ValueKind, MAX_SEQ};
use crate::version::{VersionEdit, NUM_LEVELS};

/// Running totals kept by the engine.
#[derive(Debug, Default, Clone)]
pub(super) struct Counters {
    pub(super) writes: u64,
    pub(super) user_bytes: u64,
    pub(super) wal_bytes: u64,
    pub(super) flush_bytes: u64,
    pub(super) flushes: u64,
    pub(super) compaction_bytes_read: u64,
    pub(super) compaction_bytes_written: u64,
    pub(super) compactions: u64,
    pub(super) trivial_moves: u64,
    pub(super) stalls: u64,
    pub(super) slowdowns: u64,
    pub(super) stall_micros: u64,
    pub(super) memory_releases: u64,
    pub(super) memory_release_micros: u64,
    /// Compaction I/O by output level.
    pub(super) by_level: [LevelCompactions; NUM_LEVELS],
}

/// Compactions into one level, counted since the engine opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LevelCompactions {
    /// Compactions that wrote into the level (trivial moves included).
    pub count: u64,
    /// Bytes of the inputs read from the level above.
    pub read_upper: u64,
    /// Bytes of the level's own overlapping files read (and rewritten).
    pub read_output: u64,
    /// Bytes of tables written into the level.
    pub written: u64,
    /// Bytes moved into the level by manifest edits alone.
    pub moved: u64,
}

enum Job {
    Flush(super::Immutable),
    Compact(CompactionTask, Arc<crate::version::Version>),
}

/// Microseconds since `start`, for the counters and events (saturating; a u64 of
/// microseconds outlasts any process).
pub(super) fn micros_since(start: std::time::Instant) -> u64 {
    u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)
}

pub(super) fn worker_loop(inner: &DbInner) {
    loop {
        let job = {
            let mut state = inner.state.lock();
            loop {
                if state.bg_error.is_none() {
                    if let Some(job) = next_job(inner, &mut state) {
                        break job;
                    }
                }
                if state.shutting_down {
                    return;
                }
                inner.state_cv.wait(&mut state);
            }
        };
        let outcome = match job {
            Job::Flush(imm) => run_flush(inner, imm),
            Job::Compact(task, version) => run_compact(inner, task, version),
        };
        if let Err(e) = outcome {
            let mut state = inner.state.lock();
            state.bg_error.get_or_insert_with(|| e.to_string());
            inner.state_cv.notify_all();
        }
        if inner.options.release_freed_memory {
            // Outside the state lock: the job's memtable or buffers are dropped by now.
            let start = std::time::Instant::now();
            crate::malloc::release_free_memory();
            let micros = micros_since(start);
            let mut state = inner.state.lock();
            state.stats.memory_releases += 1;
            state.stats.memory_release_micros += micros;
        }
    }
}

fn next_job(inner: &DbInner, state: &mut State) -> Option<Job> {
    if !state.flushing {
        if let Some(imm) = state.imm.front().cloned() {
            state.flushing = true;
            return Some(Job::Flush(imm));
        }
    }
    if state.manual_compaction
        || state.running_compactions + 1 >= inner.options.background_threads.max(2)
    {
        return None;
    }
    let version = state.versions.current();
    let task = pick_compaction(&version, &inner.options.compaction, &state.busy)?;
    for f in task.all_inputs() {
        state.busy.insert(f.number);
    }
    state.running_compactions += 1;
    Some(Job::Compact(task, version))
}

/// Logs `edit`, installs the new version and remembers it for the file sweep.
pub(super) fn install(inner: &DbInner, state: &mut State, edit: VersionEdit) -> Result<()> {
    match state.versions.log_and_apply(edit) {
        Ok(version) => {
            state.installed.push(Arc::downgrade(&version));
            inner.publish_view(state);
            inner.state_cv.notify_all();
            Ok(())
        }
        Err(e) => {
            state.bg_error.get_or_insert_with(|| e.to_string());
            inner.state_cv.notify_all();
            Err(e)
        }
    }
}

/// What a flush or compaction reads of the state before it starts: the live snapshots
/// (ascending) and the table options by column family.
fn job_inputs(inner: &DbInner) -> (Vec<SeqNo>, crate::flush::CfTableOptions) {
    let state = inner.state.lock();
    let snapshots = state.snapshots.keys().copied().collect();
    (snapshots, inner.table_options(&state))
}

fn run_flush(inner: &DbInner, imm: super::Immutable) -> Result<()> {
    let started = std::time::Instant::now();
    // A snapshot taken after this reads at or above every sequence number of `imm`, so it
    // needs only the newest version of each key, which the flush always keeps.
    let (snapshots, options) = job_inputs(inner);
    let mut numbers = Vec::new();
    let mut next = || {
        let mut state = inner.state.lock();
        let n = state.versions.new_file_number();
        state.pending_outputs.insert(n);
        numbers.push(n);
        n
    };
    let mut it = imm.mem.iter();
    it.seek_to_first();
    let written = write_tables_by_cf(
        inner.options.fs.as_ref(),
        &inner.dir,
        &mut next,
        &mut it,
        &imm.mem.range_tombstones(),
        &snapshots,
        &options,
    );
    // Open the new tables before readers can see them, so no read pays for loading their
    // index and filter; a table that cannot be opened fails the flush.
    let written = written.and_then(|metas| {
        open_outputs(inner, metas.iter().map(|m| m.number))?;
        Ok(metas)
    });
    let mut state = inner.state.lock();
    for n in &numbers {
        state.pending_outputs.remove(n);
    }
    state.flushing = false;
    let metas = match written {
        Ok(m) => m,
        Err(e) => {
            inner.state_cv.notify_all();
            return Err(e);
        }
    };
    // The WALs still needed start with the next memtable's.
    let next_wal = state.imm.get(1).map_or(state.mem_wal, |i| i.wal_number);
    let mut edit = VersionEdit {
        log_number: Some(next_wal),
        last_sequence: imm.mem.max_seq(),
        ..VersionEdit::default()
    };
    let tables: Vec<u64> = metas.iter().map(|m| m.number).collect();
    let bytes: u64 = metas.iter().map(|m| m.size).sum();
    state.stats.flush_bytes += bytes;
    edit.new_files
        .extend(metas.into_iter().map(|meta| (0, meta)));
    install(inner, &mut state, edit)?;
    state.imm.pop_front();
    inner.publish_view(&state);
    state.stats.flushes += 1;
    tracing::info!(
        target: "lsm::flush",
        ?tables,
        entries = imm.mem.len(),
        memtable_bytes = imm.mem.approximate_memory_usage(),
        bytes,
        l0_files = state.versions.current().files(0).len(),
        micros = micros_since(started),
        "flushed"
    );
    delete_obsolete_files(inner, &mut state);
    inner.state_cv.notify_all();
    Ok(())
}

fn run_compact(
    inner: &DbInner,
    task: CompactionTask,
    version: Arc<crate::version::Version>,
) -> Result<()> {
    let started = std::time::Instant::now();
    let result = if task.is_trivial_move() {
        let mut edit = VersionEdit::default();
        for f in &task.inputs {
            edit.deleted_files.push((task.level as u32, f.number));
            edit.new_files
                .push((task.output_level as u32, f.as_ref().clone()));
        }
        Ok((edit, 0, 0, true))
    } else {
        let (snapshots, table_options) = job_inputs(inner);
        let ctx = JobContext {
            fs: inner.options.fs.as_ref(),
            dir: &inner.dir,
            tables: &inner.tables,
            version: &version,
            snapshots: &snapshots,
            filter: inner.options.compaction_filter.as_deref(),
            table_options: &table_options,
            target_file_size: inner.options.compaction.target_file_size,
        };
        let mut next = || {
            let mut state = inner.state.lock();
            let n = state.versions.new_file_number();
            state.pending_outputs.insert(n);
            n
        };
        let factory = inner.options.compaction_filter_factory.as_deref();
        run_with_filter_factory(&ctx, &task, &mut next, factory).and_then(|r| {
            open_outputs(inner, r.edit.new_files.iter().map(|(_, f)| f.number))?;
            Ok((r.edit, r.bytes_read, r.bytes_written, false))
        })
    };
    // Let go of the input version before the job counts as finished: whoever waits for
    // compactions to settle then sweeps the inputs, which no version anyone holds still uses.
    drop(version);
    let mut state = inner.state.lock();
    for f in task.all_inputs() {
        state.busy.remove(&f.number);
    }
    state.running_compactions -= 1;
    let outcome = result.and_then(|(edit, read, written, trivial)| {
        let outputs: Vec<u64> = edit.new_files.iter().map(|(_, f)| f.number).collect();
        let installed = install(inner, &mut state, edit);
        for n in outputs {
            state.pending_outputs.remove(&n);
        }
        installed?;
        state.stats.compactions += 1;
        state.stats.trivial_moves += u64::from(trivial);
        state.stats.compaction_bytes_read += read;
        state.stats.compaction_bytes_written += written;
        let bytes =
            |files: &[Arc<crate::version::FileMeta>]| -> u64 { files.iter().map(|f| f.size).sum() };
        if let Some(io) = state.stats.by_level.get_mut(task.output_level) {
            io.count += 1;
            if trivial {
                io.moved += bytes(&task.inputs);
            } else {
                io.read_upper += bytes(&task.inputs);
                io.read_output += bytes(&task.overlapping);
                io.written += written;
            }
        }
        tracing::info!(
            target: "lsm::compaction",
            level = task.level,
            output_level = task.output_level,
            score = task.score,
            inputs = task.inputs.len(),
            input_bytes = bytes(&task.inputs),
            overlapping = task.overlapping.len(),
            overlapping_bytes = bytes(&task.overlapping),
            written,
            trivial,
            micros = micros_since(started),
            "compacted"
        );
        Ok(())
    });
    if outcome.is_err() {
        // Outputs of a failed compaction are in no version: let the sweep remove them.
        state.pending_outputs.clear();
    }
    delete_obsolete_files(inner, &mut state);
    inner.state_cv.notify_all();
    outcome
}

/// Loads freshly written tables into the table cache (index, filter, properties).
fn open_outputs(inner: &DbInner, numbers: impl Iterator<Item = u64>) -> Result<()> {
    for n in numbers {
        inner.tables.open(n)?;
    }
    Ok(())
}

/// What the file sweep may delete, decided under the state lock; the deleting (directory
/// listing and unlinks, which can take milliseconds for large files) runs after the lock is
/// released.
#[derive(Debug)]
struct Sweep {
    /// Tables used by a version a reader may hold, or being written.
    live: HashSet<u64>,
    /// WALs below this number are fully in tables.
    log_number: u64,
    /// Files numbered from here on were created after the decision and are never touched.
    first_unknown: u64,
}

/// Decides what the sweep may delete: tables not live, WALs older than the log number,
/// leftover temporary files. `None` after a failed write or sync, when what is durable is no
/// longer known.
fn plan_sweep(state: &mut State) -> Option<Sweep> {
    if state.bg_error.is_some() {
        return None;
    }
    state.installed.retain(|w| w.strong_count() > 0);
    let mut live: HashSet<u64> = state.pending_outputs.clone();
    let current = state.versions.current();
    for (_, f) in current.all_files() {
        live.insert(f.number);
    }
    for v in state.installed.iter().filter_map(|w| w.upgrade()) {
        for (_, f) in v.all_files() {
            live.insert(f.number);
        }
    }
    Some(Sweep {
        live,
        log_number: state.versions.log_number(),
        first_unknown: state.versions.next_file_number(),
    })
}

impl Sweep {
    /// Deletes what the plan allows; call it without the state lock. A file the plan called
    /// obsolete stays obsolete (file numbers are never reused and a dropped file never comes
    /// back), so running late, or twice, is safe. Errors only leave files behind.
    fn run(self, inner: &DbInner) {
        let Ok(names) = inner.options.fs.list_dir(&inner.dir) else {
            return;
        };
        for name in names {
            let obsolete = match filename::parse(&name) {
                Some(FileKind::Table(n)) | Some(FileKind::Temp(n)) => {
                    n < self.first_unknown && !self.live.contains(&n)
                }
                Some(FileKind::Wal(n)) => n < self.log_number,
                _ => false,
            };
            if obsolete {
                if let Some(FileKind::Table(n)) = filename::parse(&name) {
                    inner.tables.evict(n);
                }
                let _ = inner.options.fs.remove_file(&inner.dir.join(&name));
            }
        }
    }
}

/// Plans a sweep under `state`'s lock and runs it with the lock released.
pub(super) fn delete_obsolete_files(inner: &DbInner, state: &mut MutexGuard<'_, State>) {
    if let Some(sweep) = plan_sweep(state) {
        MutexGuard::unlocked(state, || sweep.run(inner));
    }
}

/// Switches a non-empty memtable and waits until every immutable one is flushed.
pub(super) fn flush_all(inner: &DbInner) -> Result<()> {
    // Hold the queue: no group commit may run while the memtable switches.
    let queue = inner.queue.lock();
    let mut state = inner.state.lock();
    if !state.mem.is_empty() {
        super::write::switch_memtable(inner, &mut state)?;
    }
    drop(queue);
    wait_until(inner, &mut state, |s| s.imm.is_empty())
}

/// Waits until background work has settled: no memtable waiting for flush, no compaction
/// running and none the picker would start. Then deletes the files that readers kept alive
/// past their compaction and have since let go of.
pub(super) fn wait_for_compactions(inner: &DbInner) -> Result<()> {
    let mut state = inner.state.lock();
    let settled = wait_until(inner, &mut state, |s| {
        s.imm.is_empty()
            && !s.flushing
            && s.running_compactions == 0
            && !s.manual_compaction
            && pick_compaction(&s.versions.current(), &inner.options.compaction, &s.busy).is_none()
    });
    if settled.is_ok() {
        delete_obsolete_files(inner, &mut state);
    }
    settled
}

pub(super) fn wait_until(
    inner: &DbInner,
    state: &mut MutexGuard<'_, State>,
    done: impl Fn(&State) -> bool,
) -> Result<()> {
    loop {
        if let Some(e) = &state.bg_error {
            return Err(Error::Background(e.clone()));
        }
        if done(state) {
            return Ok(());
        }
        inner.state_cv.wait(state);
    }
}

/// Compacts everything overlapping `[from, to]` of `cf` down, level by level, calling
/// `progress(steps done, steps)` as it goes (one step per level).
pub(super) fn compact_range(
    inner: &DbInner,
    cf: CfId,
    from: Option<&[u8]>,
    to: Option<&[u8]>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<()> {
    flush_all(inner)?;
    let lo = internal_key(cf, from.unwrap_or(&[]), MAX_SEQ, ValueKind::SEEK);
    let hi = match to {
        Some(t) => internal_key(cf, t, 0, ValueKind::Delete),
        // The whole column family: up to the start of the next one.
        None => match cf.checked_add(1) {
            Some(next) => internal_key(next, &[], MAX_SEQ, ValueKind::SEEK),
            None => vec![0xff; 64],
        },
    };
    let (lo, hi) = (lo[..lo.len() - 8].to_vec(), hi[..hi.len() - 8].to_vec());
    {
        let mut state = inner.state.lock();
        wait_until(inner, &mut state, |s| !s.manual_compaction)?;
        state.manual_compaction = true;
        // Let running background compactions finish; no new ones start meanwhile.
        let waited = wait_until(inner, &mut state, |s| s.running_compactions == 0);
        if waited.is_err() {
            state.manual_compaction = false;
            return waited;
        }
    }
    let result = (|| -> Result<()> {
        for level in 0..NUM_LEVELS - 1 {
            progress(level, NUM_LEVELS);
            let version = inner.state.lock().versions.current();
            let inputs = version.overlapping(level, Some(&lo), Some(&hi));
            if inputs.is_empty() {
                continue;
            }
            let inputs = if level == 0 {
                version.files(0).to_vec()
            } else {
                inputs
            };
            let ilo = inputs
                .iter()
                .map(|f| crate::key::cf_user_key(&f.smallest))
                .min()
                .unwrap_or_default()
                .to_vec();
            let ihi = inputs
                .iter()
                .map(|f| crate::key::cf_user_key(&f.largest))
                .max()
                .unwrap_or_default()
                .to_vec();
            let task = CompactionTask {
                level,
                output_level: level + 1,
                overlapping: version.overlapping(level + 1, Some(&ilo), Some(&ihi)),
                inputs,
                score: 0.0,
            };
            run_manual(inner, task, version)?;
        }
        // Finally rewrite the range within the deepest level, so the compaction filter and the
        // bottom-level drop rules reach data already there.
        progress(NUM_LEVELS - 1, NUM_LEVELS);
        let version = inner.state.lock().versions.current();
        if let Some(last) = (1..NUM_LEVELS)
            .rev()
            .find(|l| !version.files(*l).is_empty())
        {
            let inputs = version.overlapping(last, Some(&lo), Some(&hi));
            if !inputs.is_empty() {
                let task = CompactionTask {
                    level: last,
                    output_level: last,
                    inputs,
                    overlapping: Vec::new(),
                    score: 0.0,
                };
                run_manual(inner, task, version)?;
            }
        }
        progress(NUM_LEVELS, NUM_LEVELS);
        Ok(())
    })();
    let mut state = inner.state.lock();
    state.manual_compaction = false;
    inner.state_cv.notify_all();
    drop(state);
    result
}

/// Runs one step of a manual compaction, registered as running like a background one.
fn run_manual(
    inner: &DbInner,
    task: CompactionTask,
    version: Arc<crate::version::Version>,
) -> Result<()> {
    {
        let mut state = inner.state.lock();
        state.running_compactions += 1;
        for f in task.all_inputs() {
            state.busy.insert(f.number);
        }
    }
    run_compact(inner, task, version)
}

/// A snapshot of the engine's shape and counters.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Per level: (files, bytes, compaction score; >= 1 means the level needs compacting).
    pub levels: Vec<(usize, u64, f64)>,
    /// Write batches committed.
    pub writes: u64,
    /// Bytes of user batches written.
    pub user_bytes: u64,
    /// Bytes appended to WALs.
    pub wal_bytes: u64,
    /// Bytes of tables written by flushes.
    pub flush_bytes: u64,
    /// Flushes done.
    pub flushes: u64,
    /// Bytes read and written by compactions.
    pub compaction_bytes_read: u64,
    /// See `compaction_bytes_read`.
    pub compaction_bytes_written: u64,
    /// Compactions done (trivial moves included).
    pub compactions: u64,
    /// Compactions that only moved a file down.
    pub trivial_moves: u64,
    /// Write stalls (waits) and slowdowns (1 ms delays), and the time spent in them.
    pub stalls: u64,
    /// See `stalls`.
    pub slowdowns: u64,
    /// See `stalls`.
    pub stall_micros: u64,
    /// Times free heap memory was returned to the OS after background work
    /// (`Options::release_freed_memory`), and the time that took.
    pub memory_releases: u64,
    /// See `memory_releases`.
    pub memory_release_micros: u64,
    /// Block cache counters.
    pub block_cache: sstable::CacheStats,
    /// Bytes held by memtables (active and immutable).
    pub memtable_bytes: u64,
    /// Compaction I/O by output level (index = level).
    pub compactions_by_level: Vec<LevelCompactions>,
}

impl Stats {
    /// Bytes written to disk (WAL, flushes, compactions) per byte of user data.
    pub fn write_amplification(&self) -> f64 {
        let disk = self.wal_bytes + self.flush_bytes + self.compaction_bytes_written;
        disk as f64 / self.user_bytes.max(1) as f64
    }
}

pub(super) fn stats(inner: &DbInner) -> Stats {
    let state = inner.state.lock();
    let version = state.versions.current();
    let c = &state.stats;
    Stats {
        levels: {
            let scores =
                crate::compaction::level_scores(&version, &inner.options.compaction, &state.busy);
            (0..NUM_LEVELS)
                .map(|l| (version.files(l).len(), version.level_bytes(l), scores[l]))
                .collect()
        },
        writes: c.writes,
        user_bytes: c.user_bytes,
        wal_bytes: c.wal_bytes,
        flush_bytes: c.flush_bytes,
        flushes: c.flushes,
        compaction_bytes_read: c.compaction_bytes_read,
        compaction_bytes_written: c.compaction_bytes_written,
        compactions: c.compactions,
        trivial_moves: c.trivial_moves,
        stalls: c.stalls,
        slowdowns: c.slowdowns,
        stall_micros: c.stall_micros,
        memory_releases: c.memory_releases,
        memory_release_micros: c.memory_release_micros,
        block_cache: inner.block_cache.stats(),
        memtable_bytes: (state.mem.approximate_memory_usage()
            + state
                .imm
                .iter()
                .map(|i| i.mem.approximate_memory_usage())
                .sum::<usize>()) as u64,
        compactions_by_level: c.by_level.to_vec(),
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "** Compaction Stats **")?;
        writeln!(
            f,
            "{:<6} {:>8} {:>14} {:>7} {:>9} {:>14} {:>14} {:>14} {:>14}",
            "Level",
            "Files",
            "Size(bytes)",
            "Score",
            "Comp(cnt)",
            "Read-n(bytes)",
            "Read-n+1",
            "Write(bytes)",
            "Moved(bytes)"
        )?;
        for (level, (files, bytes, score)) in self.levels.iter().enumerate() {
            // Compaction columns count compactions *into* this level.
            let io = self
                .compactions_by_level
                .get(level)
                .copied()
                .unwrap_or_default();
            writeln!(
                f,
                "L{level:<5} {files:>8} {bytes:>14} {score:>7.2} {:>9} {:>14} {:>14} {:>14} {:>14}",
                io.count, io.read_upper, io.read_output, io.written, io.moved
            )?;
        }
        writeln!(
            f,
            "writes {} user-bytes {} wal-bytes {} flush-bytes {} ({} flushes)",
            self.writes, self.user_bytes, self.wal_bytes, self.flush_bytes, self.flushes
        )?;
        writeln!(
            f,
            "compactions {} ({} trivial moves) read {} written {}",
            self.compactions,
            self.trivial_moves,
            self.compaction_bytes_read,
            self.compaction_bytes_written
        )?;
        writeln!(
            f,
            "write-amp {:.2} stalls {} slowdowns {} stall-micros {}",
            self.write_amplification(),
            self.stalls,
            self.slowdowns,
            self.stall_micros
        )?;
        writeln!(
            f,
            "memory released {} times in {} micros",
            self.memory_releases, self.memory_release_micros
        )?;
        write!(
            f,
            "block-cache hits {} misses {} usage {} / {}; memtables {} bytes",
            self.block_cache.hits,
            self.block_cache.misses,
            self.block_cache.usage,
            self.block_cache.capacity,
            self.memtable_bytes
        )
    }
}
