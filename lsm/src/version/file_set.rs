//! `Version`: an immutable snapshot of which table files are live, per level (the file set).
//!
//! A new version is built by applying a [`VersionEdit`] to the current one; readers hold an
//! `Arc<Version>` for as long as they read, so files a compaction replaced stay alive until
//! the last reader of the old version is gone.
//!
//! Invariants (checked by [`Version::apply`], a violation is corruption):
//! 1. Level 0 files may overlap; they are kept newest first (largest sequence, then number,
//!    descending), the order in which a lookup must consult them.
//! 2. In every level >= 1, files are sorted by smallest key and their key ranges are disjoint.
//! 3. A file number appears at most once in the whole version.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use sstable::Comparator;

use super::compensation::{average_value_size, compensated_size};
use super::edit::{FileMeta, VersionEdit};
use crate::key::{cf_user_key, InternalKeyComparator};

/// Number of levels, L0 to L6 (as RocksDB's default).
pub const NUM_LEVELS: usize = 7;

/// The live files of the engine at one moment.
#[derive(Debug, Clone, Default)]
pub struct Version {
    levels: [Vec<Arc<FileMeta>>; NUM_LEVELS],
    /// Total file bytes per level, computed once when the version is built: the write path
    /// asks for it on every group (for its backpressure estimate).
    bytes: [u64; NUM_LEVELS],
    /// On-disk bytes per put value over the version's files, for [`Version::compensated_size`].
    average_value_size: u64,
}

impl Version {
    /// The files of `level` in lookup order (newest first for L0, by key otherwise).
    pub fn files(&self, level: usize) -> &[Arc<FileMeta>] {
        self.levels.get(level).map_or(&[], |l| l.as_slice())
    }

    /// Total bytes of the files in `level`.
    pub fn level_bytes(&self, level: usize) -> u64 {
        self.bytes.get(level).copied().unwrap_or(0)
    }

    /// `file`'s weight in compaction priority: its size, plus a charge for the data its
    /// deletions stand for when at least half its entries are deletions (see
    /// `compensation.rs`).
    pub fn compensated_size(&self, file: &FileMeta) -> u64 {
        compensated_size(file, self.average_value_size)
    }

    /// Every live file with its level.
    pub fn all_files(&self) -> impl Iterator<Item = (usize, &Arc<FileMeta>)> {
        self.levels
            .iter()
            .enumerate()
            .flat_map(|(level, files)| files.iter().map(move |f| (level, f)))
    }

    /// A new version with `edit`'s deletions and additions applied.
    ///
    /// # Errors
    /// A description of the broken invariant: a deleted file that is not live, a file added
    /// twice, overlapping files in a level >= 1. The caller reports it as manifest corruption.
    pub fn apply(&self, edit: &VersionEdit) -> Result<Version, String> {
        let mut next = self.clone();
        for &(level, number) in &edit.deleted_files {
            let files = next
                .levels
                .get_mut(level as usize)
                .ok_or_else(|| format!("deleted file {number} names level {level}"))?;
            let before = files.len();
            files.retain(|f| f.number != number);
            if files.len() == before {
                return Err(format!(
                    "deleted file {number} is not live in level {level}"
                ));
            }
        }
        for (level, file) in &edit.new_files {
            next.levels
                .get_mut(*level as usize)
                .ok_or_else(|| format!("new file {} names level {level}", file.number))?
                .push(Arc::new(file.clone()));
        }
        next.sort_and_check()?;
        Ok(next)
    }

    fn sort_and_check(&mut self) -> Result<(), String> {
        let cmp = InternalKeyComparator;
        let mut numbers = HashSet::new();
        for (level, files) in self.levels.iter_mut().enumerate() {
            if level == 0 {
                files.sort_by_key(|f| std::cmp::Reverse((f.largest_seq, f.number)));
            } else {
                files.sort_by(|a, b| cmp.compare(&a.smallest, &b.smallest));
                for pair in files.windows(2) {
                    if let [a, b] = pair {
                        if cmp.compare(&a.largest, &b.smallest) != Ordering::Less {
                            return Err(format!(
                                "files {} and {} overlap in level {level}",
                                a.number, b.number
                            ));
                        }
                    }
                }
            }
            for f in files.iter() {
                if !numbers.insert(f.number) {
                    return Err(format!("file {} is live twice", f.number));
                }
                if cmp.compare(&f.smallest, &f.largest) == Ordering::Greater {
                    return Err(format!("file {} has smallest key > largest key", f.number));
                }
            }
        }
        for (bytes, files) in self.bytes.iter_mut().zip(&self.levels) {
            *bytes = files.iter().map(|f| f.size).sum();
        }
        self.average_value_size =
            average_value_size(self.levels.iter().flatten().map(|f| f.as_ref()));
        Ok(())
    }

    /// Files of `level` whose user-key range (`cf + user key`) intersects `[start, end]`
    /// (both inclusive; `None` is unbounded), in the level's order.
    pub fn overlapping(
        &self,
        level: usize,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
    ) -> Vec<Arc<FileMeta>> {
        self.files(level)
            .iter()
            .filter(|f| {
                let below = end.is_some_and(|e| cf_user_key(&f.smallest) > e);
                let above = start.is_some_and(|s| cf_user_key(&f.largest) < s);
                !below && !above
            })
            .cloned()
            .collect()
    }

    /// The files that may hold `key` (a `cf + user key`), in the order a lookup must consult
    /// them: every overlapping L0 file newest first, then at most one file per deeper level.
    pub fn files_for_key<'a>(
        &'a self,
        key: &'a [u8],
    ) -> impl Iterator<Item = (usize, &'a Arc<FileMeta>)> + 'a {
        let contains = move |f: &&Arc<FileMeta>| {
            cf_user_key(&f.smallest) <= key && key <= cf_user_key(&f.largest)
        };
        let l0 = self.files(0).iter().filter(contains).map(|f| (0, f));
        let deeper = (1..NUM_LEVELS).filter_map(move |level| {
            let files = self.files(level);
            // Disjoint and sorted: the first file whose largest user key is >= key.
            let i = files.partition_point(|f| cf_user_key(&f.largest) < key);
            files.get(i).filter(contains).map(|f| (level, f))
        });
        l0.chain(deeper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{internal_key, ValueKind};

    fn meta(number: u64, lo: &str, hi: &str, seq: u64) -> FileMeta {
        FileMeta {
            number,
            size: 100 * number,
            smallest: internal_key(0, lo.as_bytes(), seq, ValueKind::Put),
            largest: internal_key(0, hi.as_bytes(), seq, ValueKind::Put),
            smallest_seq: seq,
            largest_seq: seq,
            stats: Default::default(),
        }
    }

    fn add(files: Vec<(u32, FileMeta)>) -> VersionEdit {
        VersionEdit {
            new_files: files,
            ..VersionEdit::default()
        }
    }

    #[test]
    fn l0_is_newest_first_and_deeper_levels_sorted() {
        let v = Version::default()
            .apply(&add(vec![
                (0, meta(1, "a", "z", 10)),
                (0, meta(2, "c", "d", 20)),
                (1, meta(4, "m", "p", 5)),
                (1, meta(3, "a", "f", 5)),
            ]))
            .unwrap();
        let l0: Vec<u64> = v.files(0).iter().map(|f| f.number).collect();
        assert_eq!(l0, vec![2, 1]);
        let l1: Vec<u64> = v.files(1).iter().map(|f| f.number).collect();
        assert_eq!(l1, vec![3, 4]);
        assert_eq!(v.level_bytes(1), 700);
        let hits: Vec<(usize, u64)> = v
            .files_for_key(b"\x00c")
            .map(|(l, f)| (l, f.number))
            .collect();
        assert_eq!(hits, vec![(0, 2), (0, 1), (1, 3)]);
        let hits: Vec<u64> = v.files_for_key(b"\x00g").map(|(_, f)| f.number).collect();
        assert_eq!(hits, vec![1], "no L1 file holds g");
        let over: Vec<u64> = v
            .overlapping(1, Some(b"\x00e"), Some(b"\x00n"))
            .iter()
            .map(|f| f.number)
            .collect();
        assert_eq!(over, vec![3, 4]);
        assert!(v.overlapping(1, Some(b"\x00q"), None).is_empty());
    }

    #[test]
    fn broken_invariants_are_refused() {
        let v = Version::default()
            .apply(&add(vec![(1, meta(1, "a", "f", 1))]))
            .unwrap();
        let overlap = v.apply(&add(vec![(1, meta(2, "e", "g", 2))]));
        assert!(overlap.unwrap_err().contains("overlap"));
        let twice = v.apply(&add(vec![(2, meta(1, "x", "y", 1))]));
        assert!(twice.unwrap_err().contains("live twice"));
        let missing = v.apply(&VersionEdit {
            deleted_files: vec![(2, 1)],
            ..VersionEdit::default()
        });
        assert!(missing.unwrap_err().contains("not live"));
        let moved = v
            .apply(&VersionEdit {
                deleted_files: vec![(1, 1)],
                new_files: vec![(2, meta(1, "a", "f", 1))],
                ..VersionEdit::default()
            })
            .unwrap();
        assert_eq!(moved.files(2).len(), 1);
        assert!(moved.files(1).is_empty());
    }

    #[test]
    fn compensation_uses_the_average_over_the_whole_version() {
        let mut puts = meta(1, "a", "f", 1);
        puts.size = 1_250;
        puts.stats = crate::version::FileStats::new(10, 0, 500, 2_000);
        let mut dels = meta(2, "a", "f", 2);
        dels.size = 100;
        dels.stats = crate::version::FileStats::new(10, 10, 500, 0);
        let only_dels = Version::default()
            .apply(&add(vec![(0, dels.clone())]))
            .unwrap();
        assert_eq!(
            only_dels.compensated_size(&dels),
            100,
            "no puts: no average"
        );
        let v = only_dels.apply(&add(vec![(6, puts.clone())])).unwrap();
        // Average: 2_000 raw value bytes per 10 puts, scaled by 1_350 / 3_000 file/raw = 90.
        assert_eq!(v.compensated_size(&dels), 100 + 10 * 90 * 2);
        assert_eq!(v.compensated_size(&puts), 1_250);
        assert_eq!(v.level_bytes(0), 100, "level bytes stay real");
    }
}
