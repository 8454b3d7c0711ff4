//! The split-check worker: a thread of its own (never the Raft thread, since it reads the
//! LSM) that sizes the regions the store sends it and suggests where to cut the big ones.
//!
//! Flow: on every `split_check_tick_interval`-th tick, the store sends each region it leads
//! whose size diff hint (bytes applied since its last check, counted in apply) reached
//! `split_check_diff`, and resets the hint. The worker estimates the region's size over
//! every KV family (`KeySpace::cf_bounds`, `lsm::Db::approximate_range_stats`) and its key
//! count over the families with one entry per version (`write`, `raw`), runs the
//! policy (`split_check.rs`) and, if the region is over a limit and a valid cut exists,
//! calls the store's observer with a [`SplitSuggestion`].
//!
//! The observer is the seam to the node: it asks PD for new ids (AskBatchSplit) and then
//! proposes the cuts with `RaftKv::split`, under the suggestion's epoch, so a region that
//! changed meanwhile refuses them. The worker acts on nothing itself.
//!
//! Concurrency: tasks queue on a channel; the worker checks them one at a time, against
//! the LSM's latest state (not the epoch's: sizes are estimates anyway). Dropping the
//! [`SplitChecker`] closes the queue and joins the thread after the check in progress.

use std::sync::mpsc;
use std::thread::JoinHandle;

use lsm::iter::IterOptions;
use lsm::RangeStats;
use mvcc::Cf;

use crate::engines::Engines;
use crate::error::Result;
use crate::region::{Epoch, Region};
use crate::split_check::{
    pick_split_points, region_key, region_position, split_by, valid_split_keys, SplitConfig,
};

/// A size diff hint that makes the region due at the next check (its size is unknown).
pub(crate) const CHECK_NOW: u64 = u64::MAX;

/// Where a region should be cut, for the node to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitSuggestion {
    /// The region.
    pub region_id: u64,
    /// Its epoch when checked: propose the split under it.
    pub epoch: Epoch,
    /// The cuts: ascending region keys strictly inside the region, at user-key boundaries.
    pub split_keys: Vec<Vec<u8>>,
    /// The region's estimated size over all its families.
    pub stats: RangeStats,
}

/// Receives suggestions, on the worker's thread: it must not block for long (hand the work
/// to another thread or task).
pub type SplitObserver = Box<dyn Fn(SplitSuggestion) + Send>;

/// Sizes `region` and, if it is over a limit of `cfg`, finds its cuts (see the module
/// docs). `None` when the region is small enough or no valid cut exists (e.g. all its data
/// is versions of one key).
///
/// # Errors
/// Engine errors reading table indexes or seeking; `Corruption` of the region's bounds.
pub fn check_split(
    engines: &Engines,
    cfg: &SplitConfig,
    region: &Region,
) -> Result<Option<SplitSuggestion>> {
    let db = &engines.db;
    let mut bounds = Vec::with_capacity(Cf::COUNT);
    let mut stats = RangeStats::default();
    for cf in Cf::ALL {
        let (start, end) = engines.keyspace.cf_bounds(region, cf)?;
        let cf_stats = db.approximate_range_stats(engines.kv.cf_id(cf), &start, end.as_deref())?;
        stats.bytes += cf_stats.bytes;
        stats.keys += counted_keys(cf, cf_stats.keys);
        bounds.push((cf, start, end));
    }
    let Some(by) = split_by(cfg, stats) else {
        return Ok(None);
    };
    // Every family's stretches in one region-key order.
    let mut stretches = Vec::new();
    for (cf, start, end) in &bounds {
        for s in db.approximate_range_samples(engines.kv.cf_id(*cf), start, end.as_deref())? {
            let position = region_position(engines.keyspace, *cf, &s.key);
            let size = RangeStats {
                bytes: s.bytes,
                keys: counted_keys(*cf, s.keys),
            };
            stretches.push((position, *cf, s.key, size));
        }
    }
    stretches.sort_by(|a, b| a.0.cmp(&b.0));
    let sizes: Vec<RangeStats> = stretches.iter().map(|s| s.3).collect();
    let mut keys = Vec::new();
    for i in pick_split_points(cfg, by, &sizes) {
        let Some((_, cf, position, _)) = stretches.get(i) else {
            continue;
        };
        let Some((_, start, end)) = bounds.iter().find(|b| b.0 == *cf) else {
            continue;
        };
        if let Some(stored) = first_stored_key(engines, *cf, position, start, end)? {
            keys.extend(region_key(engines.keyspace, *cf, &stored));
        }
    }
    let mut first_stored: Option<Vec<u8>> = None;
    for (cf, start, end) in &bounds {
        let first = first_stored_key(engines, *cf, start, start, end)?
            .and_then(|k| region_key(engines.keyspace, *cf, &k));
        first_stored = match (first_stored, first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let split_keys = valid_split_keys(region, first_stored.as_deref(), keys, cfg.batch_split_limit);
    Ok((!split_keys.is_empty()).then_some(SplitSuggestion {
        region_id: region.id,
        epoch: region.epoch,
        split_keys,
        stats,
    }))
}

/// The keys `entries` of `cf` count for the key limits: every entry of the families that
/// hold one entry per version (`write`, `raw`); none of `default` (a long value's second
/// entry, for a version `write` counts already) or `lock` (transient). Counting every family
/// would reach `region-max-keys` at about half of TiKV's key count (TiKV counts `write`).
fn counted_keys(cf: Cf, entries: u64) -> u64 {
    match cf {
        Cf::Write | Cf::Raw => entries,
        Cf::Default | Cf::Lock => 0,
    }
}

/// The first key of `cf` stored at or after `position` inside `[start, end)`: a stretch's
/// position may be a shortened index separator that is stored nowhere.
fn first_stored_key(
    engines: &Engines,
    cf: Cf,
    position: &[u8],
    start: &[u8],
    end: &Option<Vec<u8>>,
) -> Result<Option<Vec<u8>>> {
    let options = IterOptions {
        lower_bound: Some(start.to_vec()),
        upper_bound: end.clone(),
    };
    let mut it = engines.db.iter(engines.kv.cf_id(cf), options, None)?;
    it.seek(position)?;
    Ok(it.valid().then(|| it.key().to_vec()))
}

/// The running worker (see the module docs).
pub(crate) struct SplitChecker {
    tx: Option<mpsc::Sender<Region>>,
    thread: Option<JoinHandle<()>>,
}

impl SplitChecker {
    /// Starts the worker for `store_id`'s regions.
    ///
    /// # Errors
    /// If the thread cannot be spawned.
    pub(crate) fn spawn(
        store_id: u64,
        engines: Engines,
        cfg: SplitConfig,
        observer: SplitObserver,
    ) -> Result<SplitChecker> {
        let (tx, rx) = mpsc::channel::<Region>();
        let thread = std::thread::Builder::new()
            .name(format!("split-check-{store_id}"))
            .spawn(move || {
                for region in rx {
                    match check_split(&engines, &cfg, &region) {
                        Ok(Some(suggestion)) => observer(suggestion),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(region = region.id, error = %e, "split check failed")
                        }
                    }
                }
            })?;
        Ok(SplitChecker {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues a check of `region` (as this store has applied it).
    pub(crate) fn schedule(&self, region: Region) {
        if let Some(tx) = &self.tx {
            // A send fails only once the worker has exited (it panicked): nothing to check.
            let _ = tx.send(region);
        }
    }
}

impl Drop for SplitChecker {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for SplitChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplitChecker").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use lsm::WriteOptions;
    use mvcc::{Key, Modify, TimeStamp};

    use super::*;
    use crate::keyspace::KeySpace;

    fn engines(dir: &std::path::Path, keyspace: KeySpace) -> Engines {
        let db = Arc::new(lsm::Db::open(dir, lsm::Options::default()).unwrap());
        Engines::new(db, keyspace).unwrap()
    }

    fn tiny(split: u64) -> SplitConfig {
        SplitConfig {
            region_max_size: 1,
            region_split_size: split,
            region_max_keys: u64::MAX,
            region_split_keys: u64::MAX,
            batch_split_limit: 1000,
            split_check_diff: 1,
        }
    }

    /// Raw keys spread over the key space.
    fn spread(i: u64) -> Vec<u8> {
        format!("{:016x}", (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)).into_bytes()
    }

    /// 60 bytes that do not compress (tables keep their size).
    fn value(seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1;
        (0..60)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn put(e: &Engines, modifies: Vec<Modify>) {
        e.kv.write(&modifies, WriteOptions::default()).unwrap();
    }

    #[test]
    fn cuts_are_user_keys_of_stored_data_even_from_table_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let e = engines(dir.path(), KeySpace::default());
        // Neighbours differ by 2 in their last byte: nearly every index separator is a
        // shortened key, inside a memcomparable group — no key of the family at all.
        let users: Vec<Key> = (0..300u32)
            .map(|i| Key::from_raw(&(i * 2).to_be_bytes()))
            .collect();
        for ts in [10, 20] {
            for (i, u) in (0u64..).zip(&users) {
                let version = |cf, ts| Modify::Put {
                    cf,
                    key: u.clone().append_ts(TimeStamp::new(ts)).into_encoded(),
                    value: value(ts * 1000 + i),
                };
                put(
                    &e,
                    vec![version(Cf::Default, ts), version(Cf::Write, ts + 1)],
                );
            }
            // All in tables: every stretch is a block whose lower bound is an index entry.
            e.db.flush().unwrap();
        }
        let region = Region::default();
        let total = check_split(&e, &tiny(u64::MAX), &region).unwrap();
        assert!(total.is_none(), "no cut fits a split size above the region");
        let s = check_split(&e, &tiny(8 << 10), &region).unwrap().unwrap();
        let stored: std::collections::BTreeSet<&[u8]> = users.iter().map(Key::as_encoded).collect();
        assert!(s.split_keys.len() >= 3, "{} cuts", s.split_keys.len());
        for k in &s.split_keys {
            assert!(stored.contains(k.as_slice()), "{k:02x?} is no user key");
        }

        // However fine the cuts, none at or before the first stored key.
        let fine = check_split(&e, &tiny(1), &region).unwrap().unwrap();
        let first = *stored.iter().next().unwrap();
        assert!(fine.split_keys.iter().all(|k| k.as_slice() > first));
    }

    /// The key limits count versions (`write` entries), not a long value's `default` entry
    /// nor locks: 200 versions each with a value in `default` and a lock are 200 keys.
    #[test]
    fn key_limits_count_write_entries_only() {
        let dir = tempfile::tempdir().unwrap();
        let e = engines(dir.path(), KeySpace::default());
        for i in 0..200u32 {
            let user = Key::from_raw(&i.to_be_bytes());
            let at = |ts| user.clone().append_ts(TimeStamp::new(ts)).into_encoded();
            put(
                &e,
                vec![
                    Modify::Put {
                        cf: Cf::Default,
                        key: at(10),
                        value: value(u64::from(i)),
                    },
                    Modify::Put {
                        cf: Cf::Write,
                        key: at(11),
                        value: value(u64::from(i) + 1),
                    },
                    Modify::Put {
                        cf: Cf::Lock,
                        key: user.as_encoded().to_vec(),
                        value: value(u64::from(i) + 2),
                    },
                ],
            );
        }
        e.db.flush().unwrap();
        let by_keys = |max_keys| SplitConfig {
            region_max_size: u64::MAX,
            region_split_size: u64::MAX,
            region_max_keys: max_keys,
            region_split_keys: 50,
            batch_split_limit: 1000,
            split_check_diff: 1,
        };
        let region = Region::default();
        let over = check_split(&e, &by_keys(150), &region).unwrap().unwrap();
        assert_eq!(over.stats.keys, 200, "{:?}", over.stats);
        assert!(!over.split_keys.is_empty());
        assert!(check_split(&e, &by_keys(250), &region).unwrap().is_none());
    }

    #[test]
    fn raw_cuts_follow_the_key_space() {
        for encoded in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let keyspace = KeySpace {
                raw_keys_encoded: encoded,
            };
            let e = engines(dir.path(), keyspace);
            let raws: Vec<Vec<u8>> = (0..400).map(spread).collect();
            for (i, k) in (0u64..).zip(&raws) {
                let m = Modify::Put {
                    cf: Cf::Raw,
                    key: k.clone(),
                    value: value(i),
                };
                put(&e, vec![m]);
            }
            e.db.flush().unwrap();
            let region_key = |raw: &[u8]| {
                if encoded {
                    Key::from_raw(raw).into_encoded()
                } else {
                    raw.to_vec()
                }
            };
            // A region over the middle of the key space, in region keys.
            let region = Region {
                start_key: region_key(b"4"),
                end_key: region_key(b"c"),
                ..Default::default()
            };
            let s = check_split(&e, &tiny(4 << 10), &region).unwrap().unwrap();
            assert!(s.split_keys.len() >= 2, "{} cuts", s.split_keys.len());
            let inside: std::collections::BTreeSet<Vec<u8>> = raws
                .iter()
                .map(|r| region_key(r))
                .filter(|k| region.contains(k))
                .collect();
            for k in &s.split_keys {
                assert!(inside.contains(k), "{k:02x?} (encoded: {encoded})");
            }
        }
    }
}
