//! Compensated file sizes: how much a table weighs in compaction priority.
//!
//! A table of tombstones is small on disk but stands for much more: every put it deletes
//! below it, which only a compaction down to that put can reclaim. Scoring levels by raw
//! bytes leaves such a level under its target (after deleting two thirds of a 5M-key
//! database, 28 MB of tombstones sat in the base level at score 0.96 above 290 MB of dead
//! data). RocksDB's answer, followed here: a table whose entries are at least half deletions
//! weighs `size + (2·deletions − entries) · average value size · 2`, where the average value
//! size is the version's, as stored on disk (raw value bytes per put, scaled by the ratio of
//! file bytes to raw bytes). Only compaction *priority* uses it (level scores, which file of
//! a level goes first); level targets and the write-stall estimate stay on real bytes.

use super::edit::FileMeta;

/// How much a deletion weighs beyond the value it shadows (RocksDB's
/// `kDeletionWeightOnCompaction`).
const DELETION_WEIGHT: u64 = 2;

/// The average on-disk bytes of a put's value over `files`; 0 if no file has statistics.
pub(crate) fn average_value_size<'a>(files: impl Iterator<Item = &'a FileMeta>) -> u64 {
    let (mut puts, mut raw_keys, mut raw_values, mut file_bytes) = (0u128, 0u128, 0u128, 0u128);
    for f in files.filter(|f| f.stats.entries > 0) {
        puts += u128::from(f.stats.entries.saturating_sub(f.stats.deletions));
        raw_keys += u128::from(f.stats.raw_key_bytes);
        raw_values += u128::from(f.stats.raw_value_bytes);
        file_bytes += u128::from(f.size);
    }
    let raw = raw_keys + raw_values;
    if puts == 0 || raw == 0 {
        return 0;
    }
    u64::try_from(raw_values * file_bytes / raw / puts).unwrap_or(u64::MAX)
}

/// `file`'s weight in compaction priority, given the version's [`average_value_size`].
pub(crate) fn compensated_size(file: &FileMeta, average_value_size: u64) -> u64 {
    let s = &file.stats;
    if !s.is_deletion_dense() {
        return file.size;
    }
    let extra = (s.deletions.saturating_mul(2) - s.entries)
        .saturating_mul(average_value_size)
        .saturating_mul(DELETION_WEIGHT);
    file.size.saturating_add(extra)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::FileStats;

    fn file(size: u64, entries: u64, deletions: u64, keys: u64, values: u64) -> FileMeta {
        FileMeta {
            number: 1,
            size,
            smallest: vec![],
            largest: vec![],
            smallest_seq: 0,
            largest_seq: 0,
            stats: FileStats::new(entries, deletions, keys, values),
        }
    }

    #[test]
    fn average_value_size_is_per_put_and_scaled_to_disk_bytes() {
        // 1000 puts of 100-byte values and 25-byte keys, compressed to half.
        let puts = file(62_500, 1000, 0, 25_000, 100_000);
        assert_eq!(average_value_size([&puts].into_iter()), 50);
        // Tombstones add key bytes and file bytes but no puts.
        let dels = file(5_000, 1000, 1000, 25_000, 0);
        let avg = average_value_size([&puts, &dels].into_iter());
        assert_eq!(avg, 100_000 * 67_500 / 150_000 / 1000);
        // Files without statistics do not count.
        let unknown = file(1 << 30, 0, 0, 0, 0);
        assert_eq!(average_value_size([&puts, &unknown].into_iter()), 50);
        assert_eq!(average_value_size([&unknown].into_iter()), 0);
        assert_eq!(average_value_size([&dels].into_iter()), 0);
    }

    #[test]
    fn only_deletion_heavy_files_are_compensated() {
        // All deletions: (2·1000 − 1000) · 50 · 2 on top of the size.
        assert_eq!(
            compensated_size(&file(5_000, 1000, 1000, 0, 0), 50),
            105_000
        );
        // Exactly half: 2·d − e = 0, nothing added.
        assert_eq!(compensated_size(&file(5_000, 1000, 500, 0, 0), 50), 5_000);
        assert_eq!(compensated_size(&file(5_000, 1000, 600, 0, 0), 50), 25_000);
        // Under half, or unknown: the size alone.
        assert_eq!(compensated_size(&file(5_000, 1000, 499, 0, 0), 50), 5_000);
        assert_eq!(compensated_size(&file(5_000, 0, 0, 0, 0), 50), 5_000);
        assert_eq!(
            compensated_size(&file(5_000, 10, 10, 0, 0), u64::MAX),
            u64::MAX
        );
    }
}
