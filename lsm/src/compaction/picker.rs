//! Choosing the next compaction: a pure function of the file set and the options.
//!
//! No I/O happens here, so policies can be tested and simulated without disks (see the
//! simulation test below). The worker that runs a [`CompactionTask`] lives elsewhere.
//!
//! Policy (leveled, with RocksDB's "dynamic level bytes"):
//! - L0's score is its number of files (not already being compacted) over the trigger.
//! - Level targets are derived from the bottom up: the largest level's size (at least the base
//!   size) is the last level's target, each level above is ten times smaller, up to the first
//!   level whose target fits within the base size: that is the *base level*, where L0
//!   compacts to, and the levels between L0 and it stay empty. No target is below the base
//!   size (see [`level_targets`]). Once the data is much larger than the base size this keeps
//!   about 90% of it in the last level, so space amplification stays near 1.1; below that the
//!   floor trades some space (at most the base size above the last level) for fewer rewrites
//!   of the last level.
//! - A level's score is its bytes over its target, lowered while data waits above it (see
//!   [`level_scores`]); the highest score ≥ 1 is compacted. Bytes here are *compensated*
//!   ([`Version::compensated_size`]): a table that is mostly tombstones weighs as much as the
//!   data it deletes, so deletions move down to what they delete and the space is reclaimed.
//! - With no level due, a table of which at least half the entries are deletions is compacted
//!   one level down (lowest priority; see `pick_deletion_dense`), so deletions reach the data
//!   they delete and the space comes back once compactions settle.
//! - Within a level the file whose overlap with the next level is smallest relative to its own
//!   compensated size is chosen (least bytes rewritten per byte moved down); a file with no
//!   overlap is moved by a manifest edit alone (a *trivial move*).

use std::collections::HashSet;
use std::sync::Arc;

use crate::key::cf_user_key;
use crate::version::{FileMeta, Version, NUM_LEVELS};

/// The knobs of the leveled policy.
#[derive(Debug, Clone)]
pub struct CompactionOptions {
    /// L0 files that trigger a compaction into the base level (default 4).
    pub l0_trigger: usize,
    /// Target size of the base level (default 256 MiB); deeper levels grow ×`multiplier`.
    pub base_level_bytes: u64,
    /// Growth factor between levels (default 10).
    pub multiplier: u64,
    /// Target size of compaction output files (default 64 MiB).
    pub target_file_size: u64,
}

impl Default for CompactionOptions {
    fn default() -> Self {
        CompactionOptions {
            l0_trigger: 4,
            base_level_bytes: 256 << 20,
            multiplier: 10,
            target_file_size: 64 << 20,
        }
    }
}

/// A planned compaction.
#[derive(Debug, Clone)]
pub struct CompactionTask {
    /// Level the inputs come from.
    pub level: usize,
    /// Level the outputs go to.
    pub output_level: usize,
    /// Files taken from `level`.
    pub inputs: Vec<Arc<FileMeta>>,
    /// Files of `output_level` overlapping the inputs (rewritten with them).
    pub overlapping: Vec<Arc<FileMeta>>,
    /// The score that chose this level.
    pub score: f64,
}

impl CompactionTask {
    /// True if the inputs can be moved to the output level without rewriting them.
    ///
    /// From L0 that takes inputs whose key ranges are pairwise disjoint (as sequential
    /// writes produce): then no key has versions in two of them, so they may sit side by side
    /// in one sorted level.
    pub fn is_trivial_move(&self) -> bool {
        // A compaction of a level into itself (to apply the filter or drop tombstones) must
        // rewrite its inputs.
        if self.level == self.output_level || !self.overlapping.is_empty() {
            return false;
        }
        if self.level > 0 {
            return self.inputs.len() == 1;
        }
        let mut ranges: Vec<(&[u8], &[u8])> = self
            .inputs
            .iter()
            .map(|f| (cf_user_key(&f.smallest), cf_user_key(&f.largest)))
            .collect();
        ranges.sort_unstable();
        ranges.windows(2).all(|w| w[0].1 < w[1].0)
    }

    /// Every input file, both levels.
    pub fn all_inputs(&self) -> impl Iterator<Item = &Arc<FileMeta>> {
        self.inputs.iter().chain(&self.overlapping)
    }
}

/// Per-level targets and the base level for `version`.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelTargets {
    /// Where L0 compacts to.
    pub base_level: usize,
    /// Target bytes per level (index 0 unused; 0 for levels above the base level).
    pub bytes: [u64; NUM_LEVELS],
}

/// Computes the dynamic level targets (RocksDB's `CalculateBaseBytes` for dynamic level
/// bytes, including its floor).
pub fn level_targets(version: &Version, options: &CompactionOptions) -> LevelTargets {
    let last = NUM_LEVELS - 1;
    // The base size, or L0's bytes when L0 has grown past it.
    let base_max = options.base_level_bytes.max(version.level_bytes(0));
    // The largest level sets the shape: the last one may be briefly smaller than the one above.
    let largest = (1..=last)
        .map(|l| version.level_bytes(l))
        .max()
        .unwrap_or(0);
    let mut bytes = [0u64; NUM_LEVELS];
    let mut target = largest.max(base_max);
    let mut base_level = last;
    for level in (1..=last).rev() {
        // No target under `base_max`: a level above the bottom may hold up to the base size
        // however small the bottom is. Without the floor a bottom level just over the base
        // size gives the level above a target a tenth of it, and every few flushes' worth
        // of data would be merged into the whole bottom level (an hourglass-shaped tree).
        bytes[level] = target.max(base_max);
        base_level = level;
        // The first level (from the bottom) whose target fits the base size is the base.
        if target <= base_max {
            break;
        }
        target /= options.multiplier.max(2);
    }
    LevelTargets { base_level, bytes }
}

/// Scores above 1 are multiplied by this, leaving room to lower a level's priority (below)
/// without ever dropping it under the threshold of 1 (RocksDB's `kScoreScale`).
const SCORE_SCALE: f64 = 10.0;

/// Each level's score (index 0 is L0's); a level is compacted when its score is at least 1,
/// the highest score first.
///
/// Prioritisation (RocksDB's, for dynamic level bytes):
/// - L0: its idle file count over the trigger, or, if larger, its bytes over the base level's
///   (actual or target, whichever is larger) — so a big L0 moves down before the base level
///   moves on.
/// - A level over its target: its bytes over (target + the bytes about to come down into it
///   from the levels above, their excess over their own targets, L0 counting whole). While
///   much data waits above a level, compacting that level down is postponed: it would rewrite
///   the level below now and again as soon as the waiting data arrives. Batching those
///   arrivals is what keeps write amplification low under random writes.
pub fn level_scores(
    version: &Version,
    options: &CompactionOptions,
    busy: &HashSet<u64>,
) -> [f64; NUM_LEVELS] {
    let targets = level_targets(version, options);
    // Files not already being compacted.
    let idle = |level: usize| {
        version
            .files(level)
            .iter()
            .filter(|f| !busy.contains(&f.number))
    };
    // Weighed by compensated size: a level of tombstones stands for the data they delete.
    let idle_bytes =
        |level: usize| -> u64 { idle(level).map(|f| version.compensated_size(f)).sum() };
    let mut scores = [0.0; NUM_LEVELS];
    let idle_l0 = idle(0).count();
    let l0_bytes = idle_bytes(0);
    let mut l0 = idle_l0 as f64 / options.l0_trigger.max(1) as f64;
    let base_target = targets.bytes[targets.base_level];
    if idle_l0 > 0 && l0_bytes > base_target {
        let base_bytes = version.level_bytes(targets.base_level).max(base_target);
        l0 = l0.max(l0_bytes as f64 / base_bytes.max(1) as f64);
    }
    scores[0] = scale(l0);
    // Bytes waiting above the level being scored (L0's not yet being compacted), real bytes:
    // what will arrive, not what it weighs.
    let mut incoming: f64 = idle(0).map(|f| f.size as f64).sum();
    // The last level's target is its own size: it never needs compacting into a level below.
    for (level, score) in scores.iter_mut().enumerate().take(NUM_LEVELS - 1).skip(1) {
        let idle = idle_bytes(level);
        let target = targets.bytes[level];
        *score = if target == 0 {
            // A level above the base level should be empty: move anything there down.
            if idle > 0 {
                SCORE_SCALE * (1.0 + idle as f64)
            } else {
                0.0
            }
        } else if idle < target {
            idle as f64 / target as f64
        } else {
            SCORE_SCALE * idle as f64 / (target as f64 + incoming)
        };
        incoming += version.level_bytes(level).saturating_sub(target) as f64;
    }
    scores
}

fn scale(score: f64) -> f64 {
    if score > 1.0 {
        score * SCORE_SCALE
    } else {
        score
    }
}

/// Bytes compactions would have to rewrite to bring every level back within its target: each
/// level's excess over its target, plus all of L0 once it is at its trigger (it all moves
/// down). The engine slows and then stops writes when this grows past its limits.
pub fn pending_compaction_bytes(version: &Version, options: &CompactionOptions) -> u64 {
    let targets = level_targets(version, options);
    let l0 = if version.files(0).len() >= options.l0_trigger {
        version.level_bytes(0)
    } else {
        0
    };
    l0 + (1..NUM_LEVELS - 1)
        .map(|l| version.level_bytes(l).saturating_sub(targets.bytes[l]))
        .sum::<u64>()
}

/// The most urgent compaction, if any level's score is at least 1. `busy` holds the numbers
/// of files already being compacted; they are never picked again.
pub fn pick_compaction(
    version: &Version,
    options: &CompactionOptions,
    busy: &HashSet<u64>,
) -> Option<CompactionTask> {
    let scores = level_scores(version, options, busy);
    let targets = level_targets(version, options);
    let mut order: Vec<usize> = (0..NUM_LEVELS - 1).collect();
    order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    order
        .into_iter()
        .take_while(|level| scores[*level] >= 1.0)
        .find_map(|level| {
            let output = if level == 0 {
                targets.base_level
            } else {
                level + 1
            };
            plan(version, level, output, busy, scores[level], &|_| true)
        })
        .or_else(|| pick_deletion_dense(version, busy))
}

/// With no level due, a table of mostly deletions above the last level is compacted one
/// level down, the shallowest first. Compensated sizes alone leave such tables where they are
/// while their level is under its target (a level's target is at least the base size, so up
/// to that much can sit above the data it deletes); moving them down lets the tombstones meet
/// that data, and both go once they reach the last level. Each such compaction moves the
/// deletions one level closer to the bottom, where they are dropped, so this terminates.
fn pick_deletion_dense(version: &Version, busy: &HashSet<u64>) -> Option<CompactionTask> {
    // RocksDB's `CompactOnDeletionCollector` with ratio 0.5 marks such files likewise.
    (1..NUM_LEVELS - 1).find_map(|level| {
        plan(version, level, level + 1, busy, 0.0, &|f| {
            f.stats.is_deletion_dense()
        })
    })
}

fn user_range(files: &[Arc<FileMeta>]) -> Option<(Vec<u8>, Vec<u8>)> {
    let lo = files.iter().map(|f| cf_user_key(&f.smallest)).min()?;
    let hi = files.iter().map(|f| cf_user_key(&f.largest)).max()?;
    Some((lo.to_vec(), hi.to_vec()))
}

/// Plans a compaction of `level` into `output`: all of L0, or the `eligible` file of a deeper
/// level that rewrites the fewest bytes below per byte of its own.
fn plan(
    version: &Version,
    level: usize,
    output: usize,
    busy: &HashSet<u64>,
    score: f64,
    eligible: &dyn Fn(&FileMeta) -> bool,
) -> Option<CompactionTask> {
    let inputs: Vec<Arc<FileMeta>> = if level == 0 {
        // L0 files overlap each other: take them all, or none if one is busy, so that an
        // older version of a key is never compacted below a newer one.
        let files = version.files(0);
        if files.iter().any(|f| busy.contains(&f.number)) {
            return None;
        }
        files.to_vec()
    } else {
        let candidate = version
            .files(level)
            .iter()
            .filter(|f| !busy.contains(&f.number) && eligible(f))
            .filter_map(|f| {
                let (lo, hi) = (cf_user_key(&f.smallest), cf_user_key(&f.largest));
                let next = version.overlapping(output, Some(lo), Some(hi));
                if next.iter().any(|n| busy.contains(&n.number)) {
                    return None;
                }
                let overlap: u64 = next.iter().map(|n| n.size).sum();
                let weight = version.compensated_size(f);
                Some((overlap as f64 / weight.max(1) as f64, f))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))?;
        vec![candidate.1.clone()]
    };
    let (lo, hi) = user_range(&inputs)?;
    let overlapping = version.overlapping(output, Some(&lo), Some(&hi));
    if overlapping.iter().any(|f| busy.contains(&f.number)) {
        return None;
    }
    Some(CompactionTask {
        level,
        output_level: output,
        inputs,
        overlapping,
        score,
    })
}

/// True if no level below `output_level` holds keys in `[lo, hi]`: a compaction into
/// `output_level` over that range may then drop tombstones nobody else needs.
pub fn is_bottommost(version: &Version, output_level: usize, lo: &[u8], hi: &[u8]) -> bool {
    (output_level + 1..NUM_LEVELS).all(|l| version.overlapping(l, Some(lo), Some(hi)).is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{internal_key, ValueKind};
    use crate::version::{FileStats, VersionEdit};

    fn meta(number: u64, lo: u32, hi: u32, size: u64) -> FileMeta {
        FileMeta {
            number,
            size,
            smallest: internal_key(0, &lo.to_be_bytes(), number, ValueKind::Put),
            largest: internal_key(0, &hi.to_be_bytes(), number, ValueKind::Put),
            smallest_seq: number,
            largest_seq: number,
            stats: Default::default(),
        }
    }

    /// `f` with table statistics (entry, deletion and raw byte counts).
    fn with_stats(f: FileMeta, stats: FileStats) -> FileMeta {
        FileMeta { stats, ..f }
    }

    /// An L6 table of 1,000 puts over keys 0..=1000, large enough that L5 stays under target.
    fn bottom_of_puts() -> FileMeta {
        with_stats(
            meta(20, 0, 1_000, 90_000),
            FileStats::new(1_000, 0, 20_000, 160_000),
        )
    }

    /// `v` with `files` added (level, meta).
    fn with_files(v: &Version, files: Vec<(u32, FileMeta)>) -> Version {
        v.apply(&VersionEdit {
            new_files: files,
            ..VersionEdit::default()
        })
        .unwrap()
    }

    fn opts() -> CompactionOptions {
        CompactionOptions {
            l0_trigger: 4,
            base_level_bytes: 1000,
            multiplier: 10,
            target_file_size: 100,
        }
    }

    #[test]
    fn targets_grow_from_the_bottom() {
        let v = with_files(&Version::default(), vec![(6, meta(1, 0, 10, 50_000))]);
        let t = level_targets(&v, &opts());
        assert_eq!(t.bytes[6], 50_000);
        assert_eq!(t.bytes[5], 5_000);
        assert_eq!(
            t.bytes[4], 1_000,
            "a tenth of L5 is 500, but no target is under the base size"
        );
        assert_eq!(t.base_level, 4);
        assert_eq!(t.bytes[3], 0);
        assert_eq!(level_targets(&Version::default(), &opts()).base_level, 6);
        // Just over the base size, the level above may hold the base size, not a tenth.
        let v = with_files(&Version::default(), vec![(6, meta(1, 0, 10, 1_500))]);
        let t = level_targets(&v, &opts());
        assert_eq!((t.base_level, t.bytes[6], t.bytes[5]), (5, 1_500, 1_000));
        // The largest level sets the shape, and a big L0 raises the floor.
        let v = with_files(&v, vec![(5, meta(2, 0, 10, 30_000))]);
        let t = level_targets(&v, &opts());
        assert_eq!(
            (t.base_level, t.bytes[6], t.bytes[5], t.bytes[4]),
            (4, 30_000, 3_000, 1_000)
        );
        let v = with_files(&v, vec![(0, meta(3, 0, 10, 4_000))]);
        let t = level_targets(&v, &opts());
        assert_eq!(
            (t.base_level, t.bytes[5], t.bytes[4]),
            (5, 4_000, 0),
            "a tenth of L6 fits under the raised floor: L5 is the base level"
        );
    }

    #[test]
    fn l0_compacts_to_the_base_level_with_its_overlaps() {
        let mut files: Vec<(u32, FileMeta)> = (1..=4).map(|n| (0, meta(n, 0, 100, 10))).collect();
        files.push((6, meta(10, 50, 60, 10)));
        files.push((6, meta(11, 200, 300, 10)));
        let v = with_files(&Version::default(), files);
        let task = pick_compaction(&v, &opts(), &HashSet::new()).unwrap();
        assert_eq!((task.level, task.output_level), (0, 6));
        assert_eq!(task.inputs.len(), 4);
        let over: Vec<u64> = task.overlapping.iter().map(|f| f.number).collect();
        assert_eq!(over, vec![10]);
        let busy: HashSet<u64> = [2].into();
        assert!(
            pick_compaction(&v, &opts(), &busy).is_none(),
            "L0 is all or nothing"
        );
    }

    #[test]
    fn least_overlap_file_is_picked_and_moved_trivially() {
        let mut files = vec![
            (5, meta(1, 0, 10, 3000)),
            (5, meta(2, 20, 30, 3000)),
            (6, meta(3, 0, 10, 40_000)),
        ];
        files.push((6, meta(4, 100, 200, 10_000)));
        let v = with_files(&Version::default(), files);
        let task = pick_compaction(&v, &opts(), &HashSet::new()).unwrap();
        assert_eq!(task.level, 5);
        assert_eq!(task.inputs[0].number, 2);
        assert!(task.is_trivial_move());
        assert!(is_bottommost(&v, 6, &[0], &[0xff]));
        assert!(!is_bottommost(&v, 5, &[0, 0, 0, 0, 5], &[0, 0, 0, 0, 5]));
    }

    #[test]
    fn disjoint_l0_files_move_down_together_and_overlapping_ones_do_not() {
        let l0 = |ranges: &[(u32, u32)]| {
            let files = ranges
                .iter()
                .zip(1..)
                .map(|(&(lo, hi), n)| (0, meta(n, lo, hi, 100)))
                .collect();
            with_files(&Version::default(), files)
        };
        let sequential = l0(&[(30, 39), (0, 9), (20, 29), (10, 19)]);
        let task = pick_compaction(&sequential, &opts(), &HashSet::new()).unwrap();
        assert_eq!(task.inputs.len(), 4);
        assert!(task.is_trivial_move());
        // Two files sharing key 19 must be merged, or both versions would sit in one level.
        let touching = l0(&[(30, 39), (0, 9), (19, 29), (10, 19)]);
        let task = pick_compaction(&touching, &opts(), &HashSet::new()).unwrap();
        assert!(!task.is_trivial_move());
    }

    #[test]
    fn a_level_over_target_waits_while_more_data_waits_above_it() {
        // L6 9_000 → L5 is the base level, its target raised to L0's 5_000 bytes; L5 holds
        // 6_000 (over target).
        let mut files: Vec<(u32, FileMeta)> =
            (1..=5).map(|n| (0, meta(n, 0, 100, 1_000))).collect();
        files.push((5, meta(10, 0, 100, 6_000)));
        files.push((6, meta(11, 0, 100, 9_000)));
        let v = with_files(&Version::default(), files);
        let scores = level_scores(&v, &opts(), &HashSet::new());
        assert!(
            scores[0] > scores[5],
            "L0's 5_000 bytes go down before L5 moves on: {scores:?}"
        );
        assert!(scores[5] >= 1.0, "L5 stays eligible: {scores:?}");
        let task = pick_compaction(&v, &opts(), &HashSet::new()).unwrap();
        assert_eq!((task.level, task.output_level), (0, 5));
        // With L0 gone, nothing is waiting: L5 moves down.
        let drained = v
            .apply(&VersionEdit {
                deleted_files: (1..=5).map(|n| (0, n)).collect(),
                ..VersionEdit::default()
            })
            .unwrap();
        let task = pick_compaction(&drained, &opts(), &HashSet::new()).unwrap();
        assert_eq!((task.level, task.output_level), (5, 6));
    }

    #[test]
    fn tombstones_weigh_what_they_delete() {
        // L6 holds 9_000 bytes of puts (target of L5: the base size, 1_000); L5 holds 800
        // bytes, under target.
        let bottom = with_stats(
            meta(11, 0, 100, 9_000),
            FileStats::new(100, 0, 2_000, 16_000),
        );
        let mut upper = meta(10, 0, 100, 800);
        let base = with_files(&Version::default(), vec![(6, bottom)]);
        // 800 bytes of puts: under target, nothing to do.
        upper.stats = FileStats::new(40, 0, 800, 6_400);
        let puts = with_files(&base, vec![(5, upper.clone())]);
        assert!(pick_compaction(&puts, &opts(), &HashSet::new()).is_none());
        // The same 800 bytes as 40 tombstones weigh 800 + 40 · avg · 2: over target.
        upper.stats = FileStats::new(40, 40, 800, 0);
        let dels = with_files(&base, vec![(5, upper)]);
        let target = level_targets(&dels, &opts()).bytes[5];
        assert!(dels.compensated_size(&dels.files(5)[0]) > target);
        let scores = level_scores(&dels, &opts(), &HashSet::new());
        assert!(scores[5] >= 1.0, "{scores:?}");
        let task = pick_compaction(&dels, &opts(), &HashSet::new()).unwrap();
        assert_eq!((task.level, task.output_level), (5, 6));
        assert_eq!(task.overlapping.len(), 1);
        // Targets and the stall estimate stay on real bytes.
        assert_eq!(level_targets(&dels, &opts()), level_targets(&puts, &opts()));
        assert_eq!(pending_compaction_bytes(&dels, &opts()), 0);
    }

    #[test]
    fn deletion_dense_tables_move_down_once_nothing_else_is_due() {
        // L4 and L5 are under their targets; one table in each is mostly deletions, so
        // light that compensation cannot lift its level over the target.
        let l4 = with_stats(meta(10, 0, 10, 50), FileStats::new(10, 6, 200, 400));
        let l5_puts = with_stats(meta(11, 0, 100, 100), FileStats::new(10, 0, 200, 1_600));
        let l5_dels = with_stats(meta(12, 200, 300, 100), FileStats::new(10, 5, 200, 800));
        let v = with_files(
            &Version::default(),
            vec![(6, bottom_of_puts()), (4, l4), (5, l5_puts), (5, l5_dels)],
        );
        let scores = level_scores(&v, &opts(), &HashSet::new());
        assert!(scores.iter().all(|s| *s < 1.0), "{scores:?}");
        // The shallowest first: L4's table into L5, with the L5 table it overlaps.
        let task = pick_compaction(&v, &opts(), &HashSet::new()).unwrap();
        assert_eq!((task.level, task.output_level), (4, 5));
        assert_eq!(task.overlapping[0].number, 11);
        // Then L5's: only the deletion-dense table, never the other one.
        let v = v
            .apply(&VersionEdit {
                deleted_files: vec![(4, 10)],
                ..VersionEdit::default()
            })
            .unwrap();
        let task = pick_compaction(&v, &opts(), &HashSet::new()).unwrap();
        assert_eq!((task.level, task.output_level), (5, 6));
        assert_eq!(task.inputs[0].number, 12);
        let busy: HashSet<u64> = [12].into();
        assert!(pick_compaction(&v, &opts(), &busy).is_none());
        // Tables of the last level are never picked: the deletions are dropped there.
        let v = v
            .apply(&VersionEdit {
                deleted_files: vec![(5, 12)],
                ..VersionEdit::default()
            })
            .unwrap();
        assert!(pick_compaction(&v, &opts(), &HashSet::new()).is_none());
    }

    #[test]
    fn within_a_level_tombstones_go_down_first() {
        // Two L5 files of equal size over equal overlap; the second is all tombstones.
        let puts = with_stats(meta(10, 0, 100, 5_000), FileStats::new(50, 0, 1_000, 8_000));
        let dels = with_stats(meta(11, 200, 300, 5_000), FileStats::new(50, 50, 1_000, 0));
        let v = with_files(
            &Version::default(),
            vec![(6, bottom_of_puts()), (5, puts), (5, dels)],
        );
        let task = pick_compaction(&v, &opts(), &HashSet::new()).unwrap();
        assert_eq!(task.level, 5);
        assert_eq!(task.inputs[0].number, 11);
    }

    #[test]
    fn pending_bytes_count_excess_over_targets_and_a_full_l0() {
        let mut files: Vec<(u32, FileMeta)> = (1..=3).map(|n| (0, meta(n, 0, 10, 100))).collect();
        files.push((6, meta(10, 0, 10, 50_000)));
        files.push((5, meta(11, 0, 10, 7_000))); // target 5_000
        let v = with_files(&Version::default(), files);
        assert_eq!(
            pending_compaction_bytes(&v, &opts()),
            2_000,
            "L0 below its trigger"
        );
        let v = with_files(&v, vec![(0, meta(4, 0, 10, 100))]);
        assert_eq!(pending_compaction_bytes(&v, &opts()), 2_400);
    }

    /// Drives the policy with a simulated workload: flushes add L0 files of random ranges,
    /// each picked task is "executed" by replacing its inputs with outputs of the same bytes
    /// split at the target file size. The tree must stay within its targets.
    #[test]
    fn simulation_keeps_levels_in_shape() {
        let o = opts();
        let mut v = Version::default();
        let mut next = 1u64;
        let mut x = 0x9e37_79b9_u64;
        for _ in 0..400 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let lo = (x % 10_000) as u32;
            let flush = meta(next, lo, lo + 500, 50);
            next += 1;
            v = with_files(&v, vec![(0, flush)]);
            while let Some(task) = pick_compaction(&v, &o, &HashSet::new()) {
                let bytes: u64 = task.all_inputs().map(|f| f.size).sum();
                let (lo, hi) = user_range(&task.all_inputs().cloned().collect::<Vec<_>>()).unwrap();
                let lo = u32::from_be_bytes(lo[1..5].try_into().unwrap());
                let hi = u32::from_be_bytes(hi[1..5].try_into().unwrap());
                let pieces = bytes.div_ceil(o.target_file_size).max(1);
                let step = (hi - lo) / pieces as u32 + 1;
                let mut edit = VersionEdit::default();
                for f in task.all_inputs() {
                    let level = if task.inputs.iter().any(|i| i.number == f.number) {
                        task.level
                    } else {
                        task.output_level
                    };
                    edit.deleted_files.push((level as u32, f.number));
                }
                for p in 0..pieces as u32 {
                    let a = lo + p * step;
                    let b = (a + step - 1).min(hi);
                    if a > hi {
                        break;
                    }
                    let mut m = meta(next, a, b, bytes / pieces);
                    m.largest_seq = next;
                    edit.new_files.push((task.output_level as u32, m));
                    next += 1;
                }
                v = v.apply(&edit).unwrap();
            }
            assert!(v.files(0).len() < o.l0_trigger, "L0 left over its trigger");
            let scores = level_scores(&v, &o, &HashSet::new());
            assert!(
                scores.iter().all(|s| *s < 1.0),
                "a level above target: {scores:?}"
            );
        }
        let total: u64 = (0..NUM_LEVELS).map(|l| v.level_bytes(l)).sum();
        let last = v.level_bytes(NUM_LEVELS - 1);
        assert!(
            last * 10 >= total * 8,
            "the last level holds {last} of {total} bytes"
        );
    }
}
