//! Running a compaction: merge the input files, apply the drop rules, write outputs.
//!
//! Outputs are cut at the target file size and where an output would overlap more than ten
//! target sizes of the level below it (so a later compaction of that file stays small), but
//! never between two versions of one user key: files of a level >= 1 must not share a user
//! key. Range tombstones are clipped to each output's share of the key space.
//!
//! The job only writes new files and returns the edit; the caller logs it in the manifest and
//! deletes the inputs once the edit is durable.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use super::drop::{CompactionFilter, Decision, DropPolicy};
use super::filter_factory::{CompactionFilterContext, CompactionFilterFactory};
use super::picker::{is_bottommost, CompactionTask};
use crate::error::{Error, Result};
use crate::flush::{CfTableOptions, TableWriter};
use crate::fs::FileSystem;
use crate::iter::{InternalIterator, LevelIterator, MergingIterator};
use crate::key::{cf_user_key, encode_internal_key, CfId, ParsedKey, SeqNo, ValueKind};
use crate::memtable::RangeTombstone;
use crate::table_cache::TableCache;
use crate::version::{FileMeta, Version, VersionEdit};

/// Everything a compaction needs besides the task.
#[derive(Debug)]
pub struct JobContext<'a> {
    /// Where tables live.
    pub fs: &'a dyn FileSystem,
    /// The database directory.
    pub dir: &'a Path,
    /// Opens input tables.
    pub tables: &'a Arc<TableCache>,
    /// The version the task was picked from.
    pub version: &'a Version,
    /// Live snapshots, ascending.
    pub snapshots: &'a [SeqNo],
    /// The compaction filter, if any.
    pub filter: Option<&'a dyn CompactionFilter>,
    /// Block settings of the outputs, per column family.
    pub table_options: &'a CfTableOptions,
    /// Target size of an output file.
    pub target_file_size: u64,
}

/// What a compaction did.
#[derive(Debug, Default)]
pub struct JobResult {
    /// Deletes the inputs, adds the outputs.
    pub edit: VersionEdit,
    /// Bytes of input files.
    pub bytes_read: u64,
    /// Bytes of output files.
    pub bytes_written: u64,
    /// Entries dropped.
    pub dropped: u64,
}

/// Runs `task`, numbering outputs with `next_number`.
///
/// # Errors
/// `Io` or `Corruption` from reading inputs or writing outputs. Outputs written before the
/// failure are left for the caller's obsolete-file sweep (they are in no version).
pub fn run(
    ctx: &JobContext<'_>,
    task: &CompactionTask,
    next_number: &mut dyn FnMut() -> u64,
) -> Result<JobResult> {
    run_with_filter_factory(ctx, task, next_number, None)
}

/// Runs `task` as [`run`] does, with a stateful filter from `factory` for this run.
///
/// # Errors
/// As [`run`].
pub fn run_with_filter_factory(
    ctx: &JobContext<'_>,
    task: &CompactionTask,
    next_number: &mut dyn FnMut() -> u64,
    factory: Option<&dyn CompactionFilterFactory>,
) -> Result<JobResult> {
    let mut result = JobResult::default();
    let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
    let mut tombstones = Vec::new();
    for f in task.all_inputs() {
        result.bytes_read += f.size;
        tombstones.extend(ctx.tables.open(f.number)?.tombstones.iter().cloned());
    }
    if task.level == 0 {
        for f in &task.inputs {
            children.push(Box::new(ctx.tables.get(f.number)?.iter_without_caching()));
        }
    } else {
        children.push(Box::new(LevelIterator::without_caching(
            ctx.tables.clone(),
            task.inputs.clone(),
        )));
    }
    children.push(Box::new(LevelIterator::without_caching(
        ctx.tables.clone(),
        task.overlapping.clone(),
    )));
    let mut input = MergingIterator::new(children);

    let range: Vec<Arc<FileMeta>> = task.all_inputs().cloned().collect();
    let lo = range
        .iter()
        .map(|f| cf_user_key(&f.smallest))
        .min()
        .unwrap_or_default()
        .to_vec();
    let hi = range
        .iter()
        .map(|f| cf_user_key(&f.largest))
        .max()
        .unwrap_or_default()
        .to_vec();
    let bottommost = is_bottommost(ctx.version, task.output_level, &lo, &hi);
    let stateful = factory.and_then(|f| {
        f.create(&CompactionFilterContext {
            bottommost,
            output_level: task.output_level,
            has_snapshots: !ctx.snapshots.is_empty(),
        })
    });
    let mut policy = DropPolicy::new(ctx.snapshots, bottommost, ctx.filter, &tombstones)
        .with_stateful_filter(stateful);
    // Reused for keys written differently from their input (tombstones, sequence number 0).
    let mut rewritten = Vec::new();
    let kept_tombstones: Vec<RangeTombstone> = tombstones
        .iter()
        .filter(|t| policy.keep_range_tombstone(t))
        .cloned()
        .collect();
    let grandparents = ctx.version.files(task.output_level + 1).to_vec();

    let mut outputs = Outputs {
        ctx,
        writer: None,
        lower: None,
        grandparent_index: 0,
        grandparent_overlap: 0,
        writer_cf: 0,
        files: Vec::new(),
        tombstones: &kept_tombstones,
    };
    input.seek_to_first()?;
    // The user key of the last entry written: outputs are cut only between two written user
    // keys (the first version of a key may be dropped while an older one is kept).
    let mut last_written: Option<Vec<u8>> = None;
    while input.valid() {
        let key = input.key();
        let user = cf_user_key(key);
        let new_user_key = last_written.as_deref() != Some(user);
        let decision = policy.decide(key, input.value());
        if decision == Decision::Drop {
            result.dropped += 1;
        } else {
            if new_user_key && outputs.should_cut(user, &grandparents) {
                // A new column family starts its share of the key space at its bare prefix, so
                // its tombstones below its first key stay with it.
                let cf = user.first().copied().unwrap_or(0);
                if cf != outputs.writer_cf {
                    outputs.finish_current(Some(&[cf]))?;
                } else {
                    outputs.finish_current(Some(user))?;
                }
            }
            let writer = outputs.writer(user.first().copied().unwrap_or(0), next_number)?;
            match decision {
                Decision::Tombstone => {
                    let k = parse_input_key(key)?;
                    rewritten.clear();
                    encode_internal_key(&mut rewritten, k.cf, k.user_key, k.seq, ValueKind::Delete);
                    writer.add(&rewritten, &[])?;
                }
                Decision::KeepAtSeqZero => {
                    let k = parse_input_key(key)?;
                    rewritten.clear();
                    encode_internal_key(&mut rewritten, k.cf, k.user_key, 0, k.kind);
                    writer.add(&rewritten, input.value())?;
                }
                _ => writer.add(key, input.value())?,
            }
            if new_user_key {
                // One buffer for the whole run, not an allocation per key.
                user.clone_into(last_written.get_or_insert_with(Vec::new));
            }
        }
        input.next()?;
    }
    outputs.finish_current(None)?;
    // Column families with kept tombstones but no output table get one of their own.
    let mut tomb_cfs: Vec<CfId> = kept_tombstones.iter().map(|t| t.cf).collect();
    tomb_cfs.sort_unstable();
    tomb_cfs.dedup();
    for cf in tomb_cfs {
        if !outputs
            .files
            .iter()
            .any(|f| f.smallest.first() == Some(&cf))
        {
            outputs.lower = Some(vec![cf]);
            outputs.writer(cf, next_number)?;
            outputs.finish_current(cf.checked_add(1).map(|n| vec![n]).as_deref())?;
        }
    }

    for f in &task.inputs {
        result
            .edit
            .deleted_files
            .push((task.level as u32, f.number));
    }
    for f in &task.overlapping {
        result
            .edit
            .deleted_files
            .push((task.output_level as u32, f.number));
    }
    for f in outputs.files {
        result.bytes_written += f.size;
        result.edit.new_files.push((task.output_level as u32, f));
    }
    Ok(result)
}

/// The output files of one compaction, cut as the keys advance.
struct Outputs<'a, 'c> {
    ctx: &'a JobContext<'c>,
    writer: Option<TableWriter<'c>>,
    /// `cf + user key` where the open output's share of the key space begins (`None`: from
    /// the start).
    lower: Option<Vec<u8>>,
    grandparent_index: usize,
    /// Bytes of grandparent files the open output spans.
    grandparent_overlap: u64,
    /// Column family of the open output (every table holds one).
    writer_cf: CfId,
    files: Vec<FileMeta>,
    tombstones: &'a [RangeTombstone],
}

impl<'c> Outputs<'_, 'c> {
    fn writer(
        &mut self,
        cf: CfId,
        next_number: &mut dyn FnMut() -> u64,
    ) -> Result<&mut TableWriter<'c>> {
        if self.writer.is_none() {
            let w = TableWriter::create(
                self.ctx.fs,
                self.ctx.dir,
                next_number(),
                self.ctx.table_options.for_cf(cf),
            )?;
            self.writer = Some(w);
            self.writer_cf = cf;
        }
        self.writer
            .as_mut()
            .ok_or_else(|| Error::InvalidArgument("no output".into()))
    }

    /// Whether to start a new output before `user` (a `cf + user key`).
    fn should_cut(&mut self, user: &[u8], grandparents: &[Arc<FileMeta>]) -> bool {
        let mut crossed = false;
        while let Some(g) = grandparents.get(self.grandparent_index) {
            if cf_user_key(&g.largest) >= user {
                break;
            }
            if self.writer.is_some() {
                self.grandparent_overlap += g.size;
                crossed = true;
            }
            self.grandparent_index += 1;
        }
        let Some(w) = &self.writer else {
            return false;
        };
        user.first() != Some(&self.writer_cf)
            || output_is_complete(
                w.estimated_size(),
                self.ctx.target_file_size,
                self.grandparent_overlap,
                crossed,
            )
    }

    /// Finishes the open output; its share of the key space ends before `upper`.
    fn finish_current(&mut self, upper: Option<&[u8]>) -> Result<()> {
        let Some(w) = self.writer.take() else {
            return Ok(());
        };
        let clipped: Vec<RangeTombstone> = self
            .tombstones
            .iter()
            .filter(|t| t.cf == self.writer_cf)
            .filter_map(|t| clip(t, self.lower.as_deref(), upper))
            .collect();
        self.files.push(w.finish(&clipped)?);
        self.lower = upper.map(<[u8]>::to_vec);
        self.grandparent_overlap = 0;
        Ok(())
    }
}

/// The part of `t` inside `[lower, upper)` (bounds are `cf + user key`), if any.
/// The parsed form of a key read from a compaction input (tables checked it on write).
/// Whether an output of `size` bytes, spanning `grandparent_overlap` bytes of the level below
/// its own, ends before the next user key; `crossed_grandparent` says a file of that level
/// ends between the two keys. Pure policy.
///
/// Besides the target size and LevelDB's cap on the bytes below an output, an output ends
/// where a file of the level below ends, once it is an eighth of the target: each output then
/// overlaps few files there, so moving it down later rewrites little of that level (RocksDB's
/// `level_compaction_dynamic_file_size`); the floor keeps outputs from getting tiny.
fn output_is_complete(
    size: u64,
    target: u64,
    grandparent_overlap: u64,
    crossed_grandparent: bool,
) -> bool {
    size >= target
        || grandparent_overlap > 10 * target
        || (crossed_grandparent && size >= target / 8)
}

fn parse_input_key(key: &[u8]) -> Result<ParsedKey<'_>> {
    ParsedKey::parse(key).ok_or_else(|| Error::Corruption {
        file: String::new(),
        offset: 0,
        reason: "malformed key in compaction input".into(),
    })
}

fn clip(t: &RangeTombstone, lower: Option<&[u8]>, upper: Option<&[u8]>) -> Option<RangeTombstone> {
    let with_cf = |k: &[u8]| {
        let mut v = vec![t.cf];
        v.extend_from_slice(k);
        v
    };
    let (start, end) = (with_cf(&t.start), with_cf(&t.end));
    let start = match lower {
        Some(l) if l > start.as_slice() => l.to_vec(),
        _ => start,
    };
    let end = match upper {
        Some(u) if u < end.as_slice() => u.to_vec(),
        _ => end,
    };
    // Both must still be in the tombstone's column family and non-empty.
    if start >= end || start.first() != Some(&t.cf) || end.first() != Some(&t.cf) {
        return None;
    }
    Some(RangeTombstone {
        cf: t.cf,
        start: Bytes::copy_from_slice(&start[1..]),
        end: Bytes::copy_from_slice(&end[1..]),
        seq: t.seq,
    })
}

#[cfg(test)]
mod tests {
    use super::output_is_complete;

    #[test]
    fn outputs_end_at_the_target_size_or_at_a_boundary_below_once_big_enough() {
        assert!(output_is_complete(100, 100, 0, false));
        assert!(!output_is_complete(99, 100, 0, false));
        assert!(
            output_is_complete(1, 100, 1001, false),
            "LevelDB's overlap cap"
        );
        assert!(
            output_is_complete(12, 100, 50, true),
            "a file below ends here: cut"
        );
        assert!(
            !output_is_complete(11, 100, 50, true),
            "too small to cut yet"
        );
        assert!(!output_is_complete(50, 100, 50, false), "no boundary here");
    }
}
