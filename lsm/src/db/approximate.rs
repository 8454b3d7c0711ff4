//! How much a key range of one column family holds, estimated from metadata: the tables'
//! index blocks (pinned in memory while a table is open) and the memtables. No data block is
//! read, except by [`split_keys`], which seeks once per key it returns.
//!
//! What is counted: every entry the engine stores — each version of a key, tombstones too —
//! in every memtable and every level (a key rewritten by a pending compaction counts once
//! per copy). Range tombstones are not counted. This is "written data", the measure a
//! region split wants, not live data.
//!
//! Accuracy (the contract the tests check):
//! - A table counts by its data blocks. A block counts fully when its index separator — an
//!   upper bound of its keys; for a table's last block, the table's largest key — lies in
//!   the range, otherwise not at all; so for each table
//!   that straddles a bound the estimate is off by at most one data block per bound
//!   (either way), and a table inside the range counts exactly (`data_size`, `num_entries`).
//! - `bytes` of a table are its stored data-block bytes (after compression, with block
//!   trailers; index, filter and properties excluded). `keys` of a part of a table assume
//!   its entries are spread evenly over its data bytes: `num_entries × part / data_size`.
//! - Memtables count exactly: one key per entry in range, `internal key + value` bytes
//!   (uncompressed, so a range still in memory weighs more than it will on disk).
//!
//! Cost: a binary search in the index per table overlapping the range, plus a walk over
//! the memtable entries in range (memtables are bounded by `write_buffer_size`).
//!
//! Thread-safety: reads the published view like any read; no lock is taken.

use std::cmp::Ordering;
use std::sync::Arc;

use sstable::Table;

use super::DbInner;
use crate::error::Result;
use crate::iter::{cmp_internal, IterOptions};
use crate::key::{cf_user_key, internal_key, CfId, ValueKind, MAX_SEQ};
use crate::memtable::MemTable;
use crate::version::FileMeta;

/// The estimated size of a key range (see the module docs for what is counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RangeStats {
    /// Stored bytes.
    pub bytes: u64,
    /// Entries (every version and tombstone).
    pub keys: u64,
}

impl std::ops::AddAssign for RangeStats {
    fn add_assign(&mut self, other: RangeStats) {
        self.bytes += other.bytes;
        self.keys += other.keys;
    }
}

/// One stretch of a range: a data block of a table, or a run of memtable entries. Its
/// entries are at or after `key`; samples of different sources overlap freely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeSample {
    /// A lower bound of the stretch's user keys, at or after the range's start. For a
    /// table's block it is the previous block's index separator, which may be a shortened
    /// key that is not stored anywhere; for a memtable run it is a stored key.
    pub key: Vec<u8>,
    /// The stretch's bytes, as [`RangeStats::bytes`].
    pub bytes: u64,
    /// Its entries, as [`RangeStats::keys`].
    pub keys: u64,
}

/// Bytes of memtable entries grouped into one sample (about a data block).
const MEM_SAMPLE_BYTES: u64 = 4096;

/// The range `[start, end)` of `cf` in internal-key order.
struct Bounds {
    cf: CfId,
    user_start: Vec<u8>,
    /// Sorts before every version of `start`.
    start: Vec<u8>,
    /// Sorts before every version of `end`; for an unbounded end, before the next column
    /// family (`None` past the last one).
    end: Option<Vec<u8>>,
}

impl Bounds {
    fn new(cf: CfId, start: &[u8], end: Option<&[u8]>) -> Bounds {
        let seek = |cf, key: &[u8]| internal_key(cf, key, MAX_SEQ, ValueKind::SEEK);
        let end = match end {
            Some(e) => Some(seek(cf, e)),
            None => cf.checked_add(1).map(|next| seek(next, b"")),
        };
        Bounds {
            cf,
            user_start: start.to_vec(),
            start: seek(cf, start),
            end,
        }
    }

    fn below_end(&self, key: &[u8]) -> bool {
        self.end
            .as_deref()
            .is_none_or(|e| cmp_internal(key, e) == Ordering::Less)
    }

    fn contains(&self, key: &[u8]) -> bool {
        cmp_internal(key, &self.start) != Ordering::Less && self.below_end(key)
    }

    /// True if the file may hold keys of the range.
    fn overlaps(&self, f: &FileMeta) -> bool {
        cmp_internal(&f.largest, &self.start) != Ordering::Less && self.below_end(&f.smallest)
    }

    /// The user key of the internal key `lower`, clamped to the range's start.
    fn clamp(&self, lower: &[u8]) -> Vec<u8> {
        match cf_user_key(lower).split_first() {
            Some((&cf, user)) if cf == self.cf && user > self.user_start.as_slice() => {
                user.to_vec()
            }
            _ => self.user_start.clone(),
        }
    }
}

/// `n × part / whole`, rounded down (0 for an empty whole).
fn scale(n: u64, part: u64, whole: u64) -> u64 {
    if whole == 0 {
        return 0;
    }
    (u128::from(n) * u128::from(part) / u128::from(whole)) as u64
}

/// The memtables and the tables (with their metadata) a range estimate reads.
type Sources = (Vec<Arc<MemTable>>, Vec<(Arc<FileMeta>, Arc<Table>)>);

fn sources(inner: &DbInner, b: &Bounds) -> Result<Sources> {
    let view = inner.view.load_full();
    let mut tables = Vec::new();
    for (_, f) in view.version.all_files() {
        if b.overlaps(f) {
            tables.push((f.clone(), inner.tables.get(f.number)?));
        }
    }
    Ok((view.mems.clone(), tables))
}

/// Calls `f(internal key, bytes)` for each memtable entry of the range.
fn mem_entries(mem: &Arc<MemTable>, b: &Bounds, mut f: impl FnMut(&[u8], u64)) {
    let mut it = mem.iter();
    it.seek(&b.start);
    while it.valid() && b.below_end(it.key()) {
        f(it.key(), (it.key().len() + it.value().len()) as u64);
        it.next();
    }
}

/// Offsets `[lo, hi)` of the data blocks counted for the range (see the module docs). The
/// file is known to overlap the range, so its largest key is at or after the start.
fn table_span(meta: &FileMeta, table: &Table, b: &Bounds) -> Result<(u64, u64)> {
    let lo = table.approximate_offset_of(&b.start)?;
    let hi = match &b.end {
        // The last block's separator may lie past every stored key (a successor): its upper
        // bound is the file's largest key.
        Some(e) if !b.below_end(&meta.largest) => table.approximate_offset_of(e)?,
        _ => table.properties().data_size,
    };
    Ok((lo, hi.max(lo)))
}

pub(super) fn range_stats(
    inner: &DbInner,
    cf: CfId,
    start: &[u8],
    end: Option<&[u8]>,
) -> Result<RangeStats> {
    let b = Bounds::new(cf, start, end);
    let (mems, tables) = sources(inner, &b)?;
    let mut total = RangeStats::default();
    for mem in &mems {
        mem_entries(mem, &b, |_, bytes| {
            total += RangeStats { bytes, keys: 1 };
        });
    }
    for (meta, table) in &tables {
        let p = table.properties();
        let (lo, hi) = table_span(meta, table, &b)?;
        total += RangeStats {
            bytes: hi - lo,
            // As the samples count it, so their sum equals this total.
            keys: scale(p.num_entries, hi, p.data_size) - scale(p.num_entries, lo, p.data_size),
        };
    }
    Ok(total)
}

pub(super) fn range_samples(
    inner: &DbInner,
    cf: CfId,
    start: &[u8],
    end: Option<&[u8]>,
) -> Result<Vec<RangeSample>> {
    let b = Bounds::new(cf, start, end);
    let (mems, tables) = sources(inner, &b)?;
    let mut out = Vec::new();
    for mem in &mems {
        let mut run: Option<RangeSample> = None;
        mem_entries(mem, &b, |key, bytes| {
            let s = run.get_or_insert_with(|| RangeSample {
                key: b.clamp(key),
                bytes: 0,
                keys: 0,
            });
            s.bytes += bytes;
            s.keys += 1;
            if s.bytes >= MEM_SAMPLE_BYTES {
                out.extend(run.take());
            }
        });
        out.extend(run);
    }
    for (meta, table) in &tables {
        table_samples(meta, table, &b, &mut out)?;
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// One sample per data block of `table` counted for the range.
fn table_samples(
    meta: &FileMeta,
    table: &Table,
    b: &Bounds,
    out: &mut Vec<RangeSample>,
) -> Result<()> {
    let p = table.properties();
    let index = table.index_entries()?;
    let mut lower: &[u8] = &meta.smallest;
    for (i, (separator, handle)) in index.iter().enumerate() {
        let next = index.get(i + 1).map(|(_, h)| h.offset);
        // A block's keys are at most its separator; the last block's at most the file's
        // largest key (its separator may be a successor past the range).
        let upper = if next.is_some() {
            separator
        } else {
            &meta.largest
        };
        let next = next.unwrap_or(p.data_size);
        if b.contains(upper) {
            out.push(RangeSample {
                key: b.clamp(lower),
                bytes: next.saturating_sub(handle.offset),
                keys: scale(p.num_entries, next, p.data_size).saturating_sub(scale(
                    p.num_entries,
                    handle.offset,
                    p.data_size,
                )),
            });
        }
        lower = separator;
    }
    Ok(())
}

pub(super) fn split_keys(
    db: &super::Db,
    cf: CfId,
    start: &[u8],
    end: Option<&[u8]>,
    every_bytes: u64,
) -> Result<Vec<Vec<u8>>> {
    let samples = range_samples(&db.inner, cf, start, end)?;
    let mut positions = Vec::new();
    let mut acc = 0u64;
    for s in samples {
        if acc >= every_bytes.max(1) {
            positions.push(s.key);
            acc = 0;
        }
        acc += s.bytes;
    }
    let mut it = db.iter(
        cf,
        IterOptions {
            lower_bound: Some(start.to_vec()),
            upper_bound: end.map(<[u8]>::to_vec),
        },
        None,
    )?;
    let mut keys: Vec<Vec<u8>> = Vec::with_capacity(positions.len());
    for p in positions {
        // A position may be a shortened separator: the key is the first stored one at or
        // after it.
        it.seek(&p)?;
        if !it.valid() {
            break;
        }
        let key = it.key();
        let after_last = keys
            .last()
            .map_or(key > start, |last| key > last.as_slice());
        if after_last {
            keys.push(key.to_vec());
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Db, Options, WriteOptions};

    fn small_blocks() -> Options {
        let mut o = Options::default();
        o.table.block_size = 256;
        o.table.compression = sstable::Compression::None;
        o
    }

    fn key(i: usize) -> Vec<u8> {
        format!("k{i:05}").into_bytes()
    }

    fn fill(db: &Db, cf: CfId, n: std::ops::Range<usize>) {
        for i in n {
            db.put(cf, &key(i), &[b'v'; 20], WriteOptions::default())
                .unwrap();
        }
    }

    #[test]
    fn tables_and_memtables_are_counted_and_samples_add_up() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), small_blocks()).unwrap();
        let other = db.create_cf("other").unwrap();
        fill(&db, 0, 0..1000);
        fill(&db, other, 0..1000);
        db.flush().unwrap();
        fill(&db, 0, 1000..1200);

        let all = db.approximate_range_stats(0, b"", None).unwrap();
        assert_eq!(all.keys, 1200, "whole tables and memtables count exactly");
        let mem = db.approximate_range_stats(0, &key(1000), None).unwrap();
        assert_eq!(mem.keys, 200);
        assert_eq!(mem.bytes, 200 * (6 + 9 + 20));
        let half = db
            .approximate_range_stats(0, &key(250), Some(&key(750)))
            .unwrap();
        assert!(half.keys.abs_diff(500) <= 2 * 256 / 29 + 2, "{half:?}");
        assert!(half.bytes < all.bytes / 2);
        assert_eq!(
            db.approximate_range_stats(0, b"z", None).unwrap(),
            RangeStats::default()
        );

        for (s, e) in [(&b""[..], None), (&key(250)[..], Some(&key(1100)[..]))] {
            let stats = db.approximate_range_stats(0, s, e).unwrap();
            let samples = db.approximate_range_samples(0, s, e).unwrap();
            assert!(samples.windows(2).all(|w| w[0].key <= w[1].key));
            assert!(samples.iter().all(|x| x.key.as_slice() >= s));
            assert_eq!(samples.iter().map(|x| x.bytes).sum::<u64>(), stats.bytes);
            assert_eq!(samples.iter().map(|x| x.keys).sum::<u64>(), stats.keys);
        }
    }

    #[test]
    fn split_keys_are_stored_keys_spaced_by_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), small_blocks()).unwrap();
        // Neighbours that differ early: the index holds shortened separators, stored nowhere.
        for i in 0..2000u64 {
            let k = format!("{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            db.put(0, k.as_bytes(), &[b'v'; 20], WriteOptions::default())
                .unwrap();
        }
        db.flush().unwrap();
        let total = db.approximate_range_stats(0, b"", None).unwrap().bytes;
        let keys = db.approximate_split_keys(0, b"", None, total / 4).unwrap();
        assert!((3..=4).contains(&keys.len()), "{keys:?}");
        for k in &keys {
            assert!(db.get(0, k, None).unwrap().is_some(), "{k:?} is stored");
        }
        let mut prev = b"".to_vec();
        for k in keys.iter().chain([&b"z".to_vec()]) {
            let piece = db.approximate_range_stats(0, &prev, Some(k)).unwrap();
            assert!(piece.bytes <= total / 4 + 2 * 300, "{piece:?}");
            prev = k.clone();
        }
        let (lo, hi) = (&b"4"[..], &b"8"[..]);
        let inside = db.approximate_split_keys(0, lo, Some(hi), 1).unwrap();
        assert!(inside
            .iter()
            .all(|k| k.as_slice() > lo && k.as_slice() < hi));
        assert!(inside.windows(2).all(|w| w[0] < w[1]));
        assert!(!inside.is_empty());
    }
}
