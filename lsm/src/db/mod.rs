//! `Db`: the engine. Ties the memtable, the WAL, the version set, flushes and compactions
//! together behind a small API.
//!
//! Threads and locks (acquire in this order, never the reverse):
//! 1. `queue` — writers waiting for group commit; the writer at the front is the *leader*.
//! 2. `state` — memtables, version set, snapshots, background bookkeeping.
//! 3. `wal` — the log writer; only the current leader ever locks it, so it never contends.
//!
//! Invariants:
//! 1. Every write is in the WAL (flushed to the OS; fsynced for sync writes) before it is
//!    inserted into the memtable, and is visible to readers only after its whole group is
//!    inserted (`visible_seq` is published last).
//! 2. A memtable becomes immutable only at a switch done by the leader, before the leader
//!    inserts anything more; so a memtable being flushed receives no further inserts.
//! 3. A file is deleted only once no installed version that some reader may still hold
//!    references it, and only after the manifest edit that dropped it is durable.
//! 4. After a WAL or manifest write or sync failure the engine refuses writes (`bg_error`):
//!    an fsync error is never retried.

mod approximate;
mod ingest;
mod options;
mod read;
mod recovery;
mod work;
mod write;

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

use arc_swap::ArcSwap;
use parking_lot::{Condvar, Mutex};
use sstable::BlockCache;

pub use approximate::{RangeSample, RangeStats};
pub use options::{Options, WriteOptions};
pub use read::{DbIter, Snapshot};

use crate::error::{Error, Result};
use crate::fs::{FileLock, WritableFile};
use crate::key::{CfId, SeqNo};
use crate::memtable::MemTable;
use crate::table_cache::TableCache;
use crate::version::{Version, VersionSet};
use crate::WriteBatch;

/// A memtable waiting to be flushed, with the WAL that holds its writes.
#[derive(Debug, Clone)]
struct Immutable {
    mem: Arc<MemTable>,
    wal_number: u64,
}

/// Everything guarded by the state mutex.
#[derive(Debug)]
struct State {
    mem: Arc<MemTable>,
    /// WAL number of `mem`'s writes.
    mem_wal: u64,
    /// Oldest first.
    imm: VecDeque<Immutable>,
    versions: VersionSet,
    /// Largest sequence number handed out to a write.
    last_seq: SeqNo,
    /// Live snapshots: sequence number -> count.
    snapshots: BTreeMap<SeqNo, usize>,
    /// Set after a failed WAL/manifest write or sync; writes are refused from then on.
    bg_error: Option<String>,
    flushing: bool,
    /// Files that a running compaction reads.
    busy: HashSet<u64>,
    running_compactions: usize,
    /// Every version installed since the last sweep; readers may hold any of them.
    installed: Vec<Weak<Version>>,
    /// Numbers of files being written (not yet in any version).
    pending_outputs: HashSet<u64>,
    /// Set by a manual compaction, which runs alone.
    manual_compaction: bool,
    shutting_down: bool,
    stats: work::Counters,
}

#[derive(Debug)]
struct WalState {
    writer: wal::Writer<Box<dyn WritableFile>>,
}

/// The shared core of a `Db` (the background threads hold it too).
struct DbInner {
    options: Options,
    dir: PathBuf,
    tables: Arc<TableCache>,
    block_cache: Arc<BlockCache>,
    state: Mutex<State>,
    /// Signalled when background work may be available, or finished (flush done, L0 shrank).
    state_cv: Condvar,
    queue: Mutex<VecDeque<Arc<write::PendingWrite>>>,
    queue_cv: Condvar,
    wal: Mutex<WalState>,
    /// Sequence number up to which writes are fully inserted and may be read.
    visible_seq: AtomicU64,
    /// What reads read from, republished under the state lock after every change to the
    /// memtables or the current version (see `publish_view`). Readers load it without the
    /// state lock, which background work holds while it syncs the manifest.
    view: ArcSwap<read::ReadView>,
    _lock: Box<dyn FileLock>,
}

impl DbInner {
    /// Publishes the state's memtables and current version to readers. Called with the state
    /// lock held after every change to `mem`, `imm` or the current version, and before the
    /// leader inserts into a new memtable, so a write is readable from the published view by
    /// the time its sequence number is visible.
    fn publish_view(&self, state: &State) {
        self.view.store(Arc::new(read::ReadView::of(state)));
    }

    /// The table options of every column family, resolved by name.
    fn table_options(&self, state: &State) -> crate::flush::CfTableOptions {
        let per_cf = state
            .versions
            .column_families()
            .iter()
            .filter_map(|(id, name)| Some((*id, self.options.cf_table_options.get(name)?.clone())))
            .collect();
        crate::flush::CfTableOptions {
            default: self.options.table.clone(),
            per_cf,
        }
    }
}

impl std::fmt::Debug for DbInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbInner")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// An open database.
#[derive(Debug)]
pub struct Db {
    inner: Arc<DbInner>,
    workers: Vec<JoinHandle<()>>,
}

impl Db {
    /// Opens (or creates) the database in `dir`, replaying its WALs.
    ///
    /// # Errors
    /// `Io` (including "locked by another process"), `Corruption` of the manifest or a table
    /// the version needs, `InvalidArgument` if there is no database and `create_if_missing`
    /// is off.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Db> {
        let inner = Arc::new(recovery::open(dir.as_ref(), options)?);
        let workers = (0..inner.options.background_threads.max(1))
            .map(|i| {
                let worker = inner.clone();
                std::thread::Builder::new()
                    .name(format!("strata-bg-{i}"))
                    .spawn(move || work::worker_loop(&worker))
                    .map_err(|e| Error::io(&inner.dir, e))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Db { inner, workers })
    }

    /// Applies `batch` atomically.
    ///
    /// # Errors
    /// `Background` once a WAL write or sync has failed (an empty batch is a no-op);
    /// `InvalidArgument` if sequence numbers are exhausted.
    pub fn write(&self, options: WriteOptions, batch: WriteBatch) -> Result<()> {
        write::write(&self.inner, options, batch)
    }

    /// Writes one value.
    ///
    /// # Errors
    /// As [`write`](Self::write).
    pub fn put(&self, cf: CfId, key: &[u8], value: &[u8], options: WriteOptions) -> Result<()> {
        let mut batch = WriteBatch::with_capacity(WriteBatch::op_size(key, value));
        batch.put(cf, key, value);
        self.write(options, batch)
    }

    /// Deletes one key.
    ///
    /// # Errors
    /// As [`write`](Self::write).
    pub fn delete(&self, cf: CfId, key: &[u8], options: WriteOptions) -> Result<()> {
        let mut batch = WriteBatch::with_capacity(WriteBatch::op_size(key, &[]));
        batch.delete(cf, key);
        self.write(options, batch)
    }

    /// The value of `key` in `cf` at the latest state, or at `snapshot`.
    ///
    /// # Errors
    /// `Io` or `Corruption` from a table on the lookup path.
    pub fn get(
        &self,
        cf: CfId,
        key: &[u8],
        snapshot: Option<&Snapshot>,
    ) -> Result<Option<bytes::Bytes>> {
        read::get(&self.inner, cf, key, snapshot)
    }

    /// A consistent view of all column families, valid while the `Snapshot` lives.
    pub fn snapshot(&self) -> Snapshot {
        read::snapshot(&self.inner)
    }

    /// A cursor over `cf` (unpositioned) at the latest state or at `snapshot`.
    ///
    /// # Errors
    /// `Io` or `Corruption` opening a table.
    pub fn iter(
        &self,
        cf: CfId,
        options: crate::iter::IterOptions,
        snapshot: Option<&Snapshot>,
    ) -> Result<DbIter> {
        read::iter(&self.inner, cf, options, snapshot)
    }

    /// Writes the memtable (and any waiting immutable ones) to L0 and waits for it.
    ///
    /// # Errors
    /// `Background` if a flush failed.
    pub fn flush(&self) -> Result<()> {
        work::flush_all(&self.inner)
    }

    /// Waits until background work has settled: every immutable memtable flushed and no
    /// compaction running or due; then deletes obsolete files no reader holds any more.
    /// Writes made meanwhile may start more work; this returns at the first moment there is
    /// none.
    ///
    /// # Errors
    /// `Background` if background work failed.
    pub fn wait_for_compactions(&self) -> Result<()> {
        work::wait_for_compactions(&self.inner)
    }

    /// Compacts every file overlapping `[from, to]` (user keys of `cf`; `None` unbounded)
    /// down the tree, waiting for the result.
    ///
    /// # Errors
    /// `Io` or `Corruption` from the compaction.
    pub fn compact_range(&self, cf: CfId, from: Option<&[u8]>, to: Option<&[u8]>) -> Result<()> {
        work::compact_range(&self.inner, cf, from, to, &mut |_, _| {})
    }

    /// As [`compact_range`](Self::compact_range), calling `progress(done, steps)` as it goes
    /// (one step per level).
    ///
    /// # Errors
    /// As [`compact_range`](Self::compact_range).
    pub fn compact_range_with_progress(
        &self,
        cf: CfId,
        from: Option<&[u8]>,
        to: Option<&[u8]>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<()> {
        work::compact_range(&self.inner, cf, from, to, progress)
    }

    /// Writes the visible entries of `cf` in `[from, to)` (`None` unbounded) to table files in
    /// `out_dir`, cut at the target file size; returns their paths in key order. The files
    /// can be given to [`ingest_sst`](Self::ingest_sst) of this or another database.
    ///
    /// # Errors
    /// `Io` writing the files, `Io`/`Corruption` reading the database.
    pub fn export_range(
        &self,
        cf: CfId,
        from: Option<&[u8]>,
        to: Option<&[u8]>,
        out_dir: &Path,
    ) -> Result<Vec<PathBuf>> {
        ingest::export_range(self, cf, from, to, out_dir, &self.snapshot())
    }

    /// As [`export_range`](Self::export_range), the entries `snapshot` sees: a caller can
    /// take the snapshot at a consistent point and export later, on another thread.
    ///
    /// # Errors
    /// As [`export_range`](Self::export_range).
    pub fn export_range_at(
        &self,
        cf: CfId,
        from: Option<&[u8]>,
        to: Option<&[u8]>,
        out_dir: &Path,
        snapshot: &Snapshot,
    ) -> Result<Vec<PathBuf>> {
        ingest::export_range(self, cf, from, to, out_dir, snapshot)
    }

    /// Ingests table files written by [`export_range`](Self::export_range): their entries
    /// become the newest versions of their keys, each file at a fresh sequence number, placed
    /// at the lowest level where nothing above overlaps it. Writes wait meanwhile.
    ///
    /// # Errors
    /// `Io`/`Corruption` reading a file, `InvalidArgument` for range tombstones in it,
    /// `Background` if the manifest write fails.
    pub fn ingest_sst(&self, files: &[PathBuf]) -> Result<()> {
        ingest::ingest_sst(&self.inner, files)
    }

    /// The estimated size of `[start, end)` of `cf` (`end` `None`: to the family's end),
    /// from table indexes and memtables; accuracy in `db/approximate.rs`.
    ///
    /// # Errors
    /// `Io` or `Corruption` opening a table.
    pub fn approximate_range_stats(
        &self,
        cf: CfId,
        start: &[u8],
        end: Option<&[u8]>,
    ) -> Result<RangeStats> {
        approximate::range_stats(&self.inner, cf, start, end)
    }

    /// The range of [`approximate_range_stats`](Self::approximate_range_stats) as stretches
    /// sorted by key (one per data block or run of memtable entries), whose sum is that
    /// estimate: where the bytes lie, for choosing split points across families.
    ///
    /// # Errors
    /// As [`approximate_range_stats`](Self::approximate_range_stats).
    pub fn approximate_range_samples(
        &self,
        cf: CfId,
        start: &[u8],
        end: Option<&[u8]>,
    ) -> Result<Vec<RangeSample>> {
        approximate::range_samples(&self.inner, cf, start, end)
    }

    /// Stored keys of `cf` that cut `[start, end)` into pieces of about `every_bytes`
    /// (estimated as [`approximate_range_stats`](Self::approximate_range_stats)), ascending,
    /// each strictly after `start`. Reads one seek's worth of blocks per key returned.
    ///
    /// # Errors
    /// As [`approximate_range_stats`](Self::approximate_range_stats), and from the seeks.
    pub fn approximate_split_keys(
        &self,
        cf: CfId,
        start: &[u8],
        end: Option<&[u8]>,
        every_bytes: u64,
    ) -> Result<Vec<Vec<u8>>> {
        approximate::split_keys(self, cf, start, end, every_bytes)
    }

    /// The id of the column family `name`.
    pub fn cf_id(&self, name: &str) -> Option<CfId> {
        let state = self.inner.state.lock();
        state
            .versions
            .column_families()
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(id, _)| *id)
    }

    /// Creates a column family (or returns the id of an existing one of that name).
    ///
    /// # Errors
    /// `InvalidArgument` if all 256 ids are taken; `Background` if the manifest write fails.
    pub fn create_cf(&self, name: &str) -> Result<CfId> {
        // Look up and assign under one lock, so two creators of one name get one family.
        let mut state = self.inner.state.lock();
        let existing = state
            .versions
            .column_families()
            .iter()
            .find(|(_, n)| n.as_str() == name);
        if let Some((id, _)) = existing {
            return Ok(*id);
        }
        let used: HashSet<CfId> = state.versions.column_families().keys().copied().collect();
        let id = (0..=u8::MAX)
            .find(|i| !used.contains(i))
            .ok_or_else(|| Error::InvalidArgument("all 256 column family ids are in use".into()))?;
        let edit = crate::version::VersionEdit {
            added_cfs: vec![(id, name.to_owned())],
            ..Default::default()
        };
        work::install(&self.inner, &mut state, edit)?;
        Ok(id)
    }

    /// The sequence number of the latest visible write.
    pub fn latest_sequence(&self) -> SeqNo {
        self.inner.visible_seq.load(Ordering::Acquire)
    }

    /// Engine counters and per-level shape.
    pub fn stats(&self) -> work::Stats {
        work::stats(&self.inner)
    }

    /// Reads every live table in full, verifying every block checksum; returns the tables
    /// checked and every problem found (a table that cannot be opened is one problem).
    pub fn verify(&self) -> (usize, Vec<Error>) {
        let version = self.current_version();
        let mut problems = Vec::new();
        let mut checked = 0;
        for (_, f) in version.all_files() {
            checked += 1;
            match self
                .inner
                .tables
                .get(f.number)
                .and_then(|t| t.verify().map_err(Error::from))
            {
                Ok((_, _, found)) => problems.extend(found.into_iter().map(Error::from)),
                Err(e) => problems.push(e),
            }
        }
        (checked, problems)
    }

    /// The current version (files per level), for tools and tests.
    pub fn current_version(&self) -> Arc<Version> {
        self.inner.state.lock().versions.current()
    }

    /// Flushes the memtables, stops the background threads and releases the directory.
    ///
    /// # Errors
    /// `Background` if the final flush failed (the WAL still holds every write).
    pub fn close(mut self) -> Result<()> {
        let flushed = work::flush_all(&self.inner);
        self.stop_workers();
        flushed
    }

    fn stop_workers(&mut self) {
        {
            let mut state = self.inner.state.lock();
            state.shutting_down = true;
            self.inner.state_cv.notify_all();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        // Without close(): no final flush (the WAL has everything); just stop cleanly.
        self.stop_workers();
    }
}

pub use work::{LevelCompactions, Stats};
