//! Opening a database: lock it, recover the version set, replay the WALs it still needs into
//! a memtable, write that memtable to L0 and start a fresh WAL.
//!
//! WAL replay is point-in-time: it stops at the first damaged or incomplete record, or at the
//! first gap in sequence numbers, and reads nothing after, so what recovers is always a prefix
//! of the write history (never a history with a hole). A torn tail of the last WAL is what a
//! crash leaves.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::{Condvar, Mutex};
use sstable::BlockCache;

use super::{DbInner, Options, State, WalState};
use crate::batch::WalBatches;
use crate::error::{Error, Result};
use crate::filename::{self, FileKind};
use crate::flush::write_tables_by_cf;
use crate::memtable::MemTable;
use crate::table_cache::TableCache;
use crate::version::{VersionEdit, VersionSet};

pub(super) fn open(dir: &Path, options: Options) -> Result<DbInner> {
    let fs = options.fs.clone();
    if !fs.exists(dir) {
        if !options.create_if_missing {
            return Err(Error::InvalidArgument(format!(
                "no database at {}",
                dir.display()
            )));
        }
        fs.create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        // The new directory's own entry is durable only once its parent is synced.
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs.sync_dir(parent).map_err(|e| Error::io(parent, e))?;
        }
    }
    let lock = fs
        .lock(&filename::lock(dir))
        .map_err(|e| Error::io(dir, e))?;
    let mut versions = if fs.exists(&filename::current(dir)) {
        VersionSet::recover(fs.clone(), dir, options.manifest_rewrite_bytes)?
    } else if options.create_if_missing {
        VersionSet::create(fs.clone(), dir, options.manifest_rewrite_bytes)?
    } else {
        return Err(Error::InvalidArgument(format!(
            "no database at {}",
            dir.display()
        )));
    };
    let block_cache = Arc::new(BlockCache::new(options.block_cache_bytes));
    let tables = Arc::new(TableCache::new(
        fs.clone(),
        dir.to_path_buf(),
        block_cache.clone(),
        options.max_open_files,
    ));

    // Replay the WALs the manifest still needs, in order.
    let mut wals: Vec<u64> = fs
        .list_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .iter()
        .filter_map(|n| match filename::parse(n) {
            Some(FileKind::Wal(w)) if w >= versions.log_number() => Some(w),
            _ => None,
        })
        .collect();
    wals.sort_unstable();
    let mut last_seq = versions.last_sequence();
    // The sequence number the next replayed batch must start with.
    let mut next_seq = last_seq + 1;
    let mut edit = VersionEdit::default();
    let mut mem = Arc::new(MemTable::new());
    'replay: for &w in &wals {
        let path = filename::wal(dir, w);
        let bytes = crate::fs::read_file(fs.as_ref(), &path)?;
        let mut batches = WalBatches::new(&bytes, path.display().to_string());
        while let Some((_, batch)) = batches.next_batch()? {
            let first = batch.sequence();
            let last = first + batch.len() as u64 - 1;
            if last < next_seq {
                // Already in a table (flushed before the crash, WAL not yet deleted).
                continue;
            }
            if first > next_seq {
                // A gap in the sequence: writes between were lost (an unsynced WAL tail).
                // Replaying past it would leave a hole; recovery stops at the prefix.
                break 'replay;
            }
            mem.insert_batch(&batch, first)?;
            next_seq = last + 1;
            last_seq = last_seq.max(last);
            if mem.approximate_memory_usage() >= options.write_buffer_size {
                flush_replayed(&fs, dir, &mut versions, &mem, &options, &mut edit)?;
                mem = Arc::new(MemTable::new());
            }
        }
        if batches.stopped_at().is_some() {
            // Point-in-time: nothing after the first damage is replayed, from any WAL.
            break 'replay;
        }
    }
    if !mem.is_empty() {
        flush_replayed(&fs, dir, &mut versions, &mem, &options, &mut edit)?;
    }
    // A fresh WAL; everything older is now in tables.
    let wal_number = versions.new_file_number();
    let wal_path = filename::wal(dir, wal_number);
    let file = fs.create(&wal_path).map_err(|e| Error::io(&wal_path, e))?;
    fs.sync_dir(dir).map_err(|e| Error::io(dir, e))?;
    edit.log_number = Some(wal_number);
    edit.last_sequence = Some(last_seq);
    versions.log_and_apply(edit)?;

    let current = versions.current();
    let state = State {
        mem: Arc::new(MemTable::new()),
        mem_wal: wal_number,
        imm: VecDeque::new(),
        versions,
        last_seq,
        snapshots: BTreeMap::new(),
        bg_error: None,
        flushing: false,
        busy: HashSet::new(),
        running_compactions: 0,
        installed: vec![Arc::downgrade(&current)],
        pending_outputs: HashSet::new(),
        manual_compaction: false,
        shutting_down: false,
        stats: Default::default(),
    };
    let view = ArcSwap::from_pointee(super::read::ReadView::of(&state));
    let inner = DbInner {
        options,
        dir: dir.to_path_buf(),
        tables,
        block_cache,
        state: Mutex::new(state),
        state_cv: Condvar::new(),
        queue: Mutex::new(VecDeque::new()),
        queue_cv: Condvar::new(),
        wal: Mutex::new(WalState {
            writer: wal::Writer::new(file),
        }),
        visible_seq: AtomicU64::new(last_seq),
        view,
        _lock: lock,
    };
    {
        let mut state = inner.state.lock();
        super::work::delete_obsolete_files(&inner, &mut state);
    }
    Ok(inner)
}

/// Writes a replayed memtable to L0 (one table per column family) and records the tables in
/// `edit` (applied once replay is done).
fn flush_replayed(
    fs: &Arc<dyn crate::fs::FileSystem>,
    dir: &Path,
    versions: &mut VersionSet,
    mem: &Arc<MemTable>,
    options: &Options,
    edit: &mut VersionEdit,
) -> Result<()> {
    let per_cf = versions
        .column_families()
        .iter()
        .filter_map(|(id, name)| Some((*id, options.cf_table_options.get(name)?.clone())))
        .collect();
    let table_options = crate::flush::CfTableOptions {
        default: options.table.clone(),
        per_cf,
    };
    let mut it = mem.iter();
    it.seek_to_first();
    let mut next = || versions.new_file_number();
    for meta in write_tables_by_cf(
        fs.as_ref(),
        dir,
        &mut next,
        &mut it,
        &mem.range_tombstones(),
        &[], // no reader exists yet
        &table_options,
    )? {
        edit.new_files.push((0, meta));
    }
    Ok(())
}
