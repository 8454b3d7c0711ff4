//! Writing sorted entries (a memtable, or a compaction's output) to a table file.
//!
//! The table is written under a temporary name, fsynced by the builder, renamed to
//! `<number>.sst` and the directory fsynced: only then does the caller log it in the manifest.
//! A crash anywhere before leaves at most an unreferenced temporary or table file, which the
//! engine deletes at the next open.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use sstable::{TableBuilder, TableOptions};

use crate::compaction::{Decision, DropPolicy};
use crate::error::{Error, Result};
use crate::filename;
use crate::fs::FileSystem;
use crate::iter::{cmp_internal, InternalIterator};
use crate::key::{
    internal_key, CfId, CfUserKeyExtractor, InternalKeyComparator, ParsedKey, SeqNo, ValueKind,
    MAX_SEQ,
};
use crate::memtable::RangeTombstone;
use crate::range_del;
use crate::version::{FileMeta, FileStats};

/// Name of the table properties holding the smallest and largest sequence numbers (u64 LE).
pub const SEQ_MIN_PROPERTY: &str = "seqno.min";
/// See [`SEQ_MIN_PROPERTY`].
pub const SEQ_MAX_PROPERTY: &str = "seqno.max";

/// Table options for the engine's tables: the caller's block settings with the engine's key
/// order and filter key.
pub fn engine_table_options(base: &TableOptions) -> TableOptions {
    TableOptions {
        comparator: Arc::new(InternalKeyComparator),
        filter_key: Arc::new(CfUserKeyExtractor),
        ..base.clone()
    }
}

/// A table being written: entries in order, then range tombstones, then `finish`.
pub struct TableWriter<'a> {
    fs: &'a dyn FileSystem,
    dir: &'a Path,
    number: u64,
    temp: std::path::PathBuf,
    builder: TableBuilder<Box<dyn crate::fs::WritableFile>>,
    bounds: Option<(Vec<u8>, Vec<u8>)>,
    min_seq: u64,
    max_seq: u64,
    stats: FileStats,
}

impl std::fmt::Debug for TableWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter")
            .field("number", &self.number)
            .finish_non_exhaustive()
    }
}

impl<'a> TableWriter<'a> {
    /// Starts table `number` in `dir`, under its temporary name.
    ///
    /// # Errors
    /// `Io` if the file cannot be created.
    pub fn create(
        fs: &'a dyn FileSystem,
        dir: &'a Path,
        number: u64,
        options: &TableOptions,
    ) -> Result<Self> {
        let temp = filename::temp(dir, number);
        let out = fs.create(&temp).map_err(|e| Error::io(&temp, e))?;
        let builder = TableBuilder::new(
            out,
            temp.display().to_string(),
            engine_table_options(options),
        )?;
        Ok(TableWriter {
            fs,
            dir,
            number,
            temp,
            builder,
            bounds: None,
            min_seq: MAX_SEQ,
            max_seq: 0,
            stats: FileStats::default(),
        })
    }

    fn widen(&mut self, key: &[u8]) {
        match &mut self.bounds {
            None => self.bounds = Some((key.to_vec(), key.to_vec())),
            // Reuse the buffers: `hi` moves on every entry of a sorted run.
            Some((lo, hi)) => {
                if cmp_internal(key, lo).is_lt() {
                    key.clone_into(lo);
                }
                if cmp_internal(key, hi).is_gt() {
                    key.clone_into(hi);
                }
            }
        }
    }

    /// Adds an entry; keys must increase in internal-key order.
    ///
    /// # Errors
    /// `Corruption` for a malformed key, `InvalidArgument` for one out of order, `Io`.
    pub fn add(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let parsed = ParsedKey::parse(key).ok_or_else(|| Error::Corruption {
            file: self.temp.display().to_string(),
            offset: 0,
            reason: "table source yielded a malformed internal key".into(),
        })?;
        self.min_seq = self.min_seq.min(parsed.seq);
        self.max_seq = self.max_seq.max(parsed.seq);
        self.builder.add(key, value)?;
        self.stats.entries += 1;
        self.stats.raw_key_bytes += key.len() as u64;
        match parsed.kind {
            ValueKind::Put => self.stats.raw_value_bytes += value.len() as u64,
            ValueKind::Delete | ValueKind::RangeDelete => self.stats.deletions += 1,
        }
        self.widen(key);
        Ok(())
    }

    /// Entries added so far.
    pub fn num_entries(&self) -> u64 {
        self.builder.num_entries()
    }

    /// Approximate file size so far.
    pub fn estimated_size(&self) -> u64 {
        self.builder.estimated_size()
    }

    /// Records `tombstones` in the table (its key range grows to cover them), writes the rest,
    /// fsyncs, renames the file into place and fsyncs the directory.
    ///
    /// # Errors
    /// `Io` on any write, sync or rename failure (a sync failure is fatal for the caller).
    pub fn finish(mut self, tombstones: &[RangeTombstone]) -> Result<FileMeta> {
        for t in tombstones {
            // A range tombstone counts as one deletion: at least one put lies under it.
            self.stats.entries += 1;
            self.stats.deletions += 1;
            self.min_seq = self.min_seq.min(t.seq);
            self.max_seq = self.max_seq.max(t.seq);
            // The file's key range must cover its tombstones, or lookups and compactions of
            // keys in the range would skip the file.
            self.widen(&internal_key(t.cf, &t.start, t.seq, ValueKind::RangeDelete));
            self.widen(&internal_key(t.cf, &t.end, MAX_SEQ, ValueKind::SEEK));
        }
        if !tombstones.is_empty() {
            self.builder.set_property(
                range_del::RANGE_DELS_PROPERTY,
                range_del::encode(tombstones),
            );
        }
        self.builder
            .set_property(SEQ_MIN_PROPERTY, self.min_seq.to_le_bytes());
        self.builder
            .set_property(SEQ_MAX_PROPERTY, self.max_seq.to_le_bytes());
        self.builder.finish()?;
        let path = filename::table(self.dir, self.number);
        self.fs
            .rename(&self.temp, &path)
            .map_err(|e| Error::io(&path, e))?;
        self.fs
            .sync_dir(self.dir)
            .map_err(|e| Error::io(self.dir, e))?;
        let size = self.fs.file_size(&path).map_err(|e| Error::io(&path, e))?;
        let (smallest, largest) = self.bounds.unwrap_or_default();
        Ok(FileMeta {
            number: self.number,
            size,
            smallest,
            largest,
            smallest_seq: self.min_seq,
            largest_seq: self.max_seq,
            stats: self.stats,
        })
    }
}

/// Table options per column family: every table holds one column family, so each can have its
/// own block size, compression and bloom filter density.
#[derive(Debug, Clone, Default)]
pub struct CfTableOptions {
    /// Options of column families without their own.
    pub default: TableOptions,
    /// Options by column family id.
    pub per_cf: HashMap<CfId, TableOptions>,
}

impl CfTableOptions {
    /// The options tables of `cf` are written with.
    pub fn for_cf(&self, cf: CfId) -> &TableOptions {
        self.per_cf.get(&cf).unwrap_or(&self.default)
    }
}

/// Writes `entries` (from the current position to the end) and `tombstones` as tables, one
/// per column family, numbered by `next_number`; returns them in key order.
///
/// Versions no reader needs are left out by the compaction rules (see
/// [`DropPolicy`](crate::compaction::DropPolicy)) with `snapshots` (ascending) and nothing
/// assumed about what lies below: an older version of a key is dropped when a newer one is in
/// the same snapshot stripe, and a value covered by a range tombstone of its stripe (which
/// is written) is dropped. Tombstones and the compaction filter are left to compactions.
///
/// # Errors
/// As [`write_table`].
pub fn write_tables_by_cf(
    fs: &dyn FileSystem,
    dir: &Path,
    next_number: &mut dyn FnMut() -> u64,
    entries: &mut dyn InternalIterator,
    tombstones: &[RangeTombstone],
    snapshots: &[SeqNo],
    options: &CfTableOptions,
) -> Result<Vec<FileMeta>> {
    let mut policy = DropPolicy::new(snapshots, false, None, tombstones);
    let tombstones_of = |cf: CfId| -> Vec<RangeTombstone> {
        tombstones.iter().filter(|t| t.cf == cf).cloned().collect()
    };
    let mut out = Vec::new();
    let mut done = std::collections::HashSet::new();
    let mut current: Option<(CfId, TableWriter<'_>)> = None;
    while entries.valid() {
        let cf = entries.key().first().copied().unwrap_or(0);
        if current.as_ref().is_none_or(|(c, _)| *c != cf) {
            if let Some((c, w)) = current.take() {
                out.push(w.finish(&tombstones_of(c))?);
                done.insert(c);
            }
            current = Some((
                cf,
                TableWriter::create(fs, dir, next_number(), options.for_cf(cf))?,
            ));
        }
        if let Some((_, w)) = current.as_mut() {
            if policy.decide(entries.key(), entries.value()) == Decision::Keep {
                w.add(entries.key(), entries.value())?;
            }
        }
        entries.next()?;
    }
    if let Some((c, w)) = current.take() {
        out.push(w.finish(&tombstones_of(c))?);
        done.insert(c);
    }
    // Column families with tombstones but no entries get a table of their own.
    let mut rest: Vec<CfId> = tombstones
        .iter()
        .map(|t| t.cf)
        .filter(|c| !done.contains(c))
        .collect();
    rest.sort_unstable();
    rest.dedup();
    for cf in rest {
        let w = TableWriter::create(fs, dir, next_number(), options.for_cf(cf))?;
        out.push(w.finish(&tombstones_of(cf))?);
    }
    Ok(out)
}

/// Writes every entry of `entries` (from its current position to its end) and `tombstones`
/// into table `number` in `dir`. Returns `None`, writing nothing, when both are empty.
///
/// # Errors
/// `Io` on any write, sync or rename failure (the caller must treat a sync failure as fatal);
/// `Corruption` if the source yields a malformed key.
pub fn write_table(
    fs: &dyn FileSystem,
    dir: &Path,
    number: u64,
    entries: &mut dyn InternalIterator,
    tombstones: &[RangeTombstone],
    options: &TableOptions,
) -> Result<Option<FileMeta>> {
    if !entries.valid() && tombstones.is_empty() {
        return Ok(None);
    }
    let mut writer = TableWriter::create(fs, dir, number, options)?;
    while entries.valid() {
        writer.add(entries.key(), entries.value())?;
        entries.next()?;
    }
    writer.finish(tombstones).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::MemFs;
    use crate::table_cache::TableCache;
    use crate::{MemTable, WriteBatch};
    use bytes::Bytes;

    #[test]
    fn a_memtable_flushes_to_a_table_with_its_bounds_and_tombstones() {
        let fs = MemFs::new();
        let dir = Path::new("/db");
        fs.create_dir_all(dir).unwrap();
        fs.sync_dir(Path::new("/")).unwrap();
        let mem = Arc::new(MemTable::new());
        let mut batch = WriteBatch::new();
        batch.put(0, b"b", b"1");
        batch.delete(0, b"c");
        batch.put(2, b"a", b"2");
        batch.delete_range(0, b"x", b"z").unwrap();
        mem.insert_batch(&batch, 10).unwrap();
        let mut it = mem.iter();
        it.seek_to_first();
        let meta = write_table(
            &fs,
            dir,
            7,
            &mut it,
            &mem.range_tombstones(),
            &TableOptions::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!((meta.smallest_seq, meta.largest_seq), (10, 13));
        let expected = FileStats {
            entries: 4,   // two puts, a delete, a range tombstone
            deletions: 2, // the delete and the range tombstone
            raw_key_bytes: 3 * (1 + 1 + 8),
            raw_value_bytes: 2,
        };
        assert_eq!(meta.stats, expected);
        assert_eq!(ParsedKey::parse(&meta.smallest).unwrap().user_key, b"b");
        let largest = ParsedKey::parse(&meta.largest).unwrap();
        assert_eq!((largest.cf, largest.user_key), (2, &b"a"[..]));
        assert!(
            !fs.exists(&filename::temp(dir, 7)),
            "the temporary file was renamed"
        );
        let cache = TableCache::new(
            Arc::new(fs.clone()),
            dir.into(),
            Arc::new(sstable::BlockCache::new(1 << 20)),
            4,
        );
        let table = cache.get(7).unwrap();
        assert_eq!(table.properties().num_entries, 3);
        assert_eq!(table.properties().user_u64(SEQ_MAX_PROPERTY), Some(13));
        let dels =
            range_del::decode(&table.properties().user[range_del::RANGE_DELS_PROPERTY]).unwrap();
        assert_eq!(dels.len(), 1);
        assert_eq!(
            (dels[0].start.clone(), dels[0].end.clone(), dels[0].seq),
            (Bytes::from_static(b"x"), Bytes::from_static(b"z"), 13)
        );
        // Durable: the rename and the directory were synced.
        fs.crash();
        assert!(fs.exists(&filename::table(dir, 7)));
    }

    #[test]
    fn nothing_to_write_writes_nothing() {
        let fs = MemFs::new();
        let mem = Arc::new(MemTable::new());
        let mut it = mem.iter();
        it.seek_to_first();
        let r = write_table(
            &fs,
            Path::new("/db"),
            1,
            &mut it,
            &[],
            &TableOptions::default(),
        );
        assert!(r.unwrap().is_none());
    }
}
