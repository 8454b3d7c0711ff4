//! The split policy, as pure functions (no I/O): whether a region is too big, where to cut
//! it, and which keys are valid cuts. The split-check worker (`split_checker.rs`) feeds it
//! the LSM's estimates; the limits and their defaults are TiKV's.
//!
//! Shape of a decision:
//! 1. [`split_by`]: a region at or above `region_max_size` bytes splits by size, else one at
//!    or above `region_max_keys` entries splits by keys.
//! 2. [`pick_split_points`]: walking the region's stretches (estimated blocks of data, all
//!    families merged in region-key order), a cut goes before the stretch at which the
//!    piece since the last cut reached `region_split_size` (or `_keys`); at most
//!    `batch_split_limit` cuts; the last cut is dropped when the tail after it would be
//!    small (tail + split size < max size: the last two pieces stay one), as TiKV does.
//! 3. The worker turns each chosen stretch into a stored key; [`region_key`] maps that key
//!    to region-key space and [`valid_split_keys`] keeps the cuts a region can take.
//!
//! Invariants of the keys [`valid_split_keys`] returns for a region:
//! 1. strictly ascending, each strictly after the region's start (and its first stored
//!    key) and before its end;
//! 2. each is a whole encoded user key (for transactional data) — never a key with a
//!    timestamp — so every version of a user key falls on the same side of a cut.

use lsm::RangeStats;
use mvcc::{Cf, Key};

use crate::keyspace::KeySpace;
use crate::region::Region;

/// When a region splits, and into what (TiKV's `[coprocessor]` settings of the same names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitConfig {
    /// A region of at least this many bytes is split (`region-max-size`, 144 MiB).
    pub region_max_size: u64,
    /// ... into pieces of about this many bytes (`region-split-size`, 96 MiB).
    pub region_split_size: u64,
    /// A region of at least this many entries is split (`region-max-keys`, 1,440,000).
    pub region_max_keys: u64,
    /// ... into pieces of about this many entries (`region-split-keys`, 960,000).
    pub region_split_keys: u64,
    /// Most split keys suggested at once (`batch-split-limit`, 10): a bigger region is cut
    /// further at its next check.
    pub batch_split_limit: usize,
    /// Bytes applied to a region since its last check before it is checked again
    /// (`region-split-check-diff`, a sixteenth of the split size), so idle regions are not
    /// re-read.
    pub split_check_diff: u64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        const MIB: u64 = 1 << 20;
        SplitConfig {
            region_max_size: 144 * MIB,
            region_split_size: 96 * MIB,
            region_max_keys: 1_440_000,
            region_split_keys: 960_000,
            batch_split_limit: 10,
            split_check_diff: 96 * MIB / 16,
        }
    }
}

/// Which limit a region broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitBy {
    /// `region_max_size`: cut every `region_split_size` bytes.
    Size,
    /// `region_max_keys`: cut every `region_split_keys` entries.
    Keys,
}

/// Whether a region of `stats` (all its families together) is to be split, and by what.
pub fn split_by(cfg: &SplitConfig, stats: RangeStats) -> Option<SplitBy> {
    if stats.bytes >= cfg.region_max_size {
        Some(SplitBy::Size)
    } else if stats.keys >= cfg.region_max_keys {
        Some(SplitBy::Keys)
    } else {
        None
    }
}

/// The indexes of the `stretches` (in region-key order) before which the region is cut:
/// see the module docs, step 2.
pub fn pick_split_points(cfg: &SplitConfig, by: SplitBy, stretches: &[RangeStats]) -> Vec<usize> {
    let (split, max, measure): (u64, u64, fn(&RangeStats) -> u64) = match by {
        SplitBy::Size => (cfg.region_split_size, cfg.region_max_size, |s| s.bytes),
        SplitBy::Keys => (cfg.region_split_keys, cfg.region_max_keys, |s| s.keys),
    };
    let split = split.max(1);
    let mut points = Vec::new();
    let mut piece = 0u64;
    for (i, s) in stretches.iter().enumerate() {
        // Past the batch limit the walk goes on: it measures the tail.
        if piece >= split && points.len() < cfg.batch_split_limit {
            points.push(i);
            piece = 0;
        }
        piece = piece.saturating_add(measure(s));
    }
    if piece.saturating_add(split) < max {
        points.pop();
    }
    points
}

/// The region key a stored key of `cf` lives under: for the transactional families the
/// encoded user key (the timestamp of `default`/`write` keys stripped), for the raw family
/// the key mapped by `keyspace`. `None` for a key that is not a well-formed key of its
/// family (never a cut: it could fall between versions).
pub fn region_key(keyspace: KeySpace, cf: Cf, stored: &[u8]) -> Option<Vec<u8>> {
    let whole_encoded_key = |k: &[u8]| Key::from_encoded_slice(k).to_raw().is_ok();
    match cf {
        Cf::Default | Cf::Write => {
            let user = Key::truncate_ts_for(stored).ok()?;
            whole_encoded_key(user).then(|| user.to_vec())
        }
        Cf::Lock => whole_encoded_key(stored).then(|| stored.to_vec()),
        Cf::Raw if keyspace.raw_keys_encoded => Some(Key::from_raw(stored).into_encoded()),
        Cf::Raw => Some(stored.to_vec()),
    }
}

/// Where a position of `cf` (a stretch's lower bound: maybe a shortened key that is stored
/// nowhere) lies in region-key order, to merge the stretches of all families. Monotonic in
/// the family's order; not a valid cut (see [`region_key`]).
pub fn region_position(keyspace: KeySpace, cf: Cf, position: &[u8]) -> Vec<u8> {
    if cf == Cf::Raw && keyspace.raw_keys_encoded {
        Key::from_raw(position).into_encoded()
    } else {
        position.to_vec()
    }
}

/// The cuts `region` can take from `keys`: sorted, deduplicated, strictly inside the
/// region (invariant 1), strictly after `first_stored` — the region key of its first stored
/// entry, if known: a cut at or before it would leave the left part empty (stretches of
/// every source pile up at the region's first key) — at most `limit`.
pub fn valid_split_keys(
    region: &Region,
    first_stored: Option<&[u8]>,
    mut keys: Vec<Vec<u8>>,
    limit: usize,
) -> Vec<Vec<u8>> {
    keys.sort();
    keys.dedup();
    let lower = first_stored.map_or(region.start_key.as_slice(), |f| {
        f.max(region.start_key.as_slice())
    });
    keys.retain(|k| k.as_slice() > lower && region.contains(k));
    keys.truncate(limit);
    keys
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use mvcc::TimeStamp;

    use super::*;

    fn cfg() -> SplitConfig {
        SplitConfig {
            region_max_size: 150,
            region_split_size: 100,
            region_max_keys: 15,
            region_split_keys: 10,
            batch_split_limit: 3,
            split_check_diff: 10,
        }
    }

    fn stats(bytes: u64, keys: u64) -> RangeStats {
        RangeStats { bytes, keys }
    }

    #[test]
    fn thresholds_pick_size_before_keys() {
        let c = cfg();
        assert_eq!(split_by(&c, stats(149, 14)), None);
        assert_eq!(split_by(&c, stats(150, 0)), Some(SplitBy::Size));
        assert_eq!(split_by(&c, stats(149, 15)), Some(SplitBy::Keys));
        assert_eq!(split_by(&c, stats(1000, 1000)), Some(SplitBy::Size));
        let d = SplitConfig::default();
        assert_eq!(
            (d.region_split_size, d.region_max_size),
            (96 << 20, 144 << 20)
        );
        assert_eq!(
            (d.region_split_keys, d.region_max_keys),
            (960_000, 1_440_000)
        );
    }

    #[test]
    fn cuts_every_split_size_and_keep_a_small_tail_attached() {
        let c = cfg();
        let tens = vec![stats(10, 1); 35];
        // 350 bytes: cuts before stretches 10, 20 and 30; the tail after 30 is 50 bytes,
        // enough (50 + 100 = 150, the maximum). With 340, the tail of 40 is too small, and
        // that last cut goes.
        assert_eq!(
            pick_split_points(&c, SplitBy::Size, &tens),
            vec![10, 20, 30]
        );
        assert_eq!(
            pick_split_points(&c, SplitBy::Size, &tens[..34]),
            vec![10, 20]
        );
        // 240 bytes: a cut at 10, then 100 more, a cut at 20, then 40: 40 + 100 < 150, so the
        // last two pieces stay one.
        assert_eq!(pick_split_points(&c, SplitBy::Size, &tens[..24]), vec![10]);
        // Keys: one entry per stretch, cut every 10; a tail of 5 (5 + 10 = 15 keys, the
        // maximum) stays apart, a tail of 4 does not.
        assert_eq!(
            pick_split_points(&c, SplitBy::Keys, &tens),
            vec![10, 20, 30]
        );
        assert_eq!(
            pick_split_points(&c, SplitBy::Keys, &tens[..34]),
            vec![10, 20]
        );
        // The batch limit caps the cuts; the rest waits for the next check.
        let many = vec![stats(10, 1); 200];
        assert_eq!(
            pick_split_points(&c, SplitBy::Size, &many),
            vec![10, 20, 30]
        );
        // One stretch bigger than the split size is cut around, never inside.
        let lumpy = [stats(5, 1), stats(300, 1), stats(5, 1), stats(100, 1)];
        assert_eq!(pick_split_points(&c, SplitBy::Size, &lumpy), vec![2]);
        assert!(pick_split_points(&c, SplitBy::Size, &[]).is_empty());
    }

    #[test]
    fn region_keys_strip_timestamps_and_map_raw_keys() {
        let v1 = KeySpace::default();
        let v2 = KeySpace {
            raw_keys_encoded: true,
        };
        let user = Key::from_raw(b"user-key");
        let versioned = user.clone().append_ts(TimeStamp::new(42));
        for cf in [Cf::Default, Cf::Write] {
            assert_eq!(
                region_key(v1, cf, versioned.as_encoded()).unwrap(),
                user.as_encoded()
            );
            // Without a timestamp, or cut short: not a key of the family.
            assert_eq!(region_key(v1, cf, user.as_encoded()), None);
            assert_eq!(region_key(v1, cf, b"abc"), None);
        }
        assert_eq!(
            region_key(v1, Cf::Lock, user.as_encoded()).unwrap(),
            user.as_encoded()
        );
        assert_eq!(region_key(v1, Cf::Lock, versioned.as_encoded()), None);
        assert_eq!(region_key(v1, Cf::Raw, b"raw").unwrap(), b"raw");
        assert_eq!(
            region_key(v2, Cf::Raw, b"raw").unwrap(),
            Key::from_raw(b"raw").into_encoded()
        );
        assert_eq!(region_position(v1, Cf::Raw, b"r"), b"r");
        assert_eq!(
            region_position(v2, Cf::Raw, b"r"),
            Key::from_raw(b"r").into_encoded()
        );
        assert_eq!(region_position(v2, Cf::Write, b"w"), b"w");
    }

    #[test]
    fn versions_of_one_key_stay_on_one_side_of_the_cut() {
        let v1 = KeySpace::default();
        // "ab" and "abc" share a prefix: their encodings must still not interleave.
        let keys: Vec<Vec<u8>> = [&b"ab"[..], b"abc", b"b"]
            .iter()
            .flat_map(|k| {
                (1..4).map(|ts| {
                    Key::from_raw(k)
                        .append_ts(TimeStamp::new(ts))
                        .into_encoded()
                })
            })
            .collect();
        for stored in &keys {
            let cut = region_key(v1, Cf::Write, stored).unwrap();
            for other in &keys {
                let same_user =
                    Key::truncate_ts_for(other).unwrap() == Key::truncate_ts_for(stored).unwrap();
                let right = other.as_slice() >= cut.as_slice();
                assert!(!same_user || right, "a version of the cut key went left");
                if !same_user {
                    let user_right = Key::truncate_ts_for(other).unwrap() > cut.as_slice();
                    assert_eq!(right, user_right, "{other:02x?} vs cut {cut:02x?}");
                }
            }
        }
    }

    #[test]
    fn only_keys_strictly_inside_the_region_are_cuts() {
        let region = Region {
            start_key: b"b".to_vec(),
            end_key: b"y".to_vec(),
            ..Default::default()
        };
        let keys = vec![
            b"m".to_vec(),
            b"b".to_vec(),
            b"a".to_vec(),
            b"y".to_vec(),
            b"z".to_vec(),
            b"c".to_vec(),
            b"m".to_vec(),
            b"x".to_vec(),
        ];
        assert_eq!(
            valid_split_keys(&region, None, keys.clone(), 10),
            vec![b"c".to_vec(), b"m".to_vec(), b"x".to_vec()]
        );
        assert_eq!(valid_split_keys(&region, None, keys.clone(), 2).len(), 2);
        // Nothing at or before the first stored key.
        assert_eq!(
            valid_split_keys(&region, Some(b"c"), keys.clone(), 10),
            vec![b"m".to_vec(), b"x".to_vec()]
        );
        assert_eq!(valid_split_keys(&region, Some(b"a"), keys, 10).len(), 3);
        let everything = Region::default();
        assert_eq!(
            valid_split_keys(&everything, None, vec![Vec::new(), b"a".to_vec()], 10),
            vec![b"a".to_vec()]
        );
    }
}
