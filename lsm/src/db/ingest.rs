//! Moving ranges between databases as table files: `export_range` writes a range's visible
//! data out; `ingest_sst` brings such files in (Raft snapshots use the pair).
//!
//! External files are engine-format tables (internal keys, sequence 0). Ingesting one rewrites
//! it with a fresh sequence number, so the ingested data is newer than everything already in
//! the tree, and places it at the lowest level where no file above overlaps its range (so
//! lookups, which go newest first, still meet the newest version first). Writes are held back
//! and memtables flushed meanwhile, since a memtable entry is always consulted before any
//! table. The rewrite costs one copy; carrying the sequence number in the table's properties
//! instead (as RocksDB's global sequence number does) would avoid it.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::work::install;
use super::DbInner;
use crate::error::{Error, Result};
use crate::flush::{engine_table_options, TableWriter};
use crate::iter::IterOptions;
use crate::key::{cf_user_key, CfId, ParsedKey, ValueKind};
use crate::version::{VersionEdit, NUM_LEVELS};

/// Writes the visible entries of `cf` in `[from, to)` to table files in `out_dir` (created if
/// needed), cut at the target file size; returns their paths in key order.
///
/// # Errors
/// `Io` writing the files; `Io`/`Corruption` reading the database.
pub(super) fn export_range(
    db: &super::Db,
    cf: CfId,
    from: Option<&[u8]>,
    to: Option<&[u8]>,
    out_dir: &Path,
    snapshot: &super::Snapshot,
) -> Result<Vec<PathBuf>> {
    let inner = &db.inner;
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let mut it = db.iter(
        cf,
        IterOptions {
            lower_bound: from.map(<[u8]>::to_vec),
            upper_bound: to.map(<[u8]>::to_vec),
        },
        Some(snapshot),
    )?;
    it.seek_to_first()?;
    let mut paths = Vec::new();
    let mut builder: Option<(PathBuf, sstable::TableBuilder<std::fs::File>)> = None;
    let options = engine_table_options(&inner.options.table);
    let mut key = Vec::new();
    while it.valid() {
        if builder.is_none() {
            let path = out_dir.join(format!("export-{:06}.sst", paths.len() + 1));
            builder = Some((
                path.clone(),
                sstable::TableBuilder::create(&path, options.clone())?,
            ));
        }
        if let Some((_, b)) = builder.as_mut() {
            key.clear();
            crate::key::encode_internal_key(&mut key, cf, it.key(), 0, ValueKind::Put);
            b.add(&key, it.value())?;
            if b.estimated_size() >= inner.options.compaction.target_file_size {
                if let Some((path, b)) = builder.take() {
                    b.finish()?;
                    paths.push(path);
                }
            }
        }
        it.next()?;
    }
    if let Some((path, b)) = builder.take() {
        b.finish()?;
        paths.push(path);
    }
    Ok(paths)
}

/// Ingests external table files (as written by `export_range`), each at a fresh sequence
/// number, newer than everything already in the database.
///
/// # Errors
/// `Io` or `Corruption` reading a file (nothing of that file is ingested); `Background` if a
/// manifest write fails.
pub(super) fn ingest_sst(inner: &DbInner, files: &[PathBuf]) -> Result<()> {
    // Hold back writers for the whole ingestion.
    let _queue = inner.queue.lock();
    {
        let mut state = inner.state.lock();
        if !state.mem.is_empty() {
            super::write::switch_memtable(inner, &mut state)?;
        }
        super::work::wait_until(inner, &mut state, |s| {
            s.imm.is_empty() && s.running_compactions == 0 && !s.manual_compaction
        })?;
        // No compaction may start and later install outputs overlapping an ingested file.
        state.manual_compaction = true;
    }
    let result = files.iter().try_for_each(|f| ingest_one(inner, f));
    let mut state = inner.state.lock();
    state.manual_compaction = false;
    inner.state_cv.notify_all();
    result
}

fn ingest_one(inner: &DbInner, path: &Path) -> Result<()> {
    let read = sstable::ReadOptions {
        comparator: Arc::new(crate::key::InternalKeyComparator),
        filter_key: Arc::new(crate::key::CfUserKeyExtractor),
        cache: None,
        use_mmap: true,
    };
    let external = sstable::Table::open(path, &read)?;
    let (seq, number) = {
        let mut state = inner.state.lock();
        state.last_seq += 1;
        let n = state.versions.new_file_number();
        state.pending_outputs.insert(n);
        (state.last_seq, n)
    };
    let written = (|| -> Result<Option<crate::version::FileMeta>> {
        let mut writer = TableWriter::create(
            inner.options.fs.as_ref(),
            &inner.dir,
            number,
            &inner.options.table,
        )?;
        let mut it = external.iter();
        it.seek_to_first()?;
        let mut key = Vec::new();
        while it.valid() {
            let k = ParsedKey::parse(it.key()).ok_or_else(|| Error::Corruption {
                file: path.display().to_string(),
                offset: 0,
                reason: "external table holds a malformed internal key".into(),
            })?;
            if k.kind == ValueKind::RangeDelete {
                return Err(Error::InvalidArgument(format!(
                    "{}: range tombstones cannot be ingested",
                    path.display()
                )));
            }
            key.clear();
            crate::key::encode_internal_key(&mut key, k.cf, k.user_key, seq, k.kind);
            writer.add(&key, it.value())?;
            it.next()?;
        }
        if writer.num_entries() == 0 {
            return Ok(None);
        }
        writer.finish(&[]).map(Some)
    })();
    let mut state = inner.state.lock();
    state.pending_outputs.remove(&number);
    let Some(meta) = written? else {
        return Ok(());
    };
    let version = state.versions.current();
    let (lo, hi) = (
        cf_user_key(&meta.smallest).to_vec(),
        cf_user_key(&meta.largest).to_vec(),
    );
    // The lowest level such that it and every level above are free of overlapping files.
    let mut level = 0;
    for l in 0..NUM_LEVELS {
        if !version.overlapping(l, Some(&lo), Some(&hi)).is_empty() {
            break;
        }
        level = l;
    }
    let edit = VersionEdit {
        new_files: vec![(level as u32, meta)],
        last_sequence: Some(seq),
        ..VersionEdit::default()
    };
    install(inner, &mut state, edit)?;
    inner.visible_seq.store(seq, Ordering::Release);
    Ok(())
}
