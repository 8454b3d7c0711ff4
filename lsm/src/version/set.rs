//! `VersionSet`: the current [`Version`] and the manifest that makes it durable.
//!
//! Every change to the file set goes through [`VersionSet::log_and_apply`]: the edit is
//! appended to the manifest and synced *before* the new version is installed, so a version a
//! reader ever saw survives a crash. The manifest is rewritten (a new `MANIFEST-<n>` holding
//! one snapshot edit, then `CURRENT` replaced atomically: temp file, fsync, rename, fsync dir)
//! when it grows past a threshold.
//!
//! Recovery replays the manifest named by `CURRENT`. An incomplete final record is the normal
//! trace of a crash during an edit that was never acknowledged, and is ignored; any other
//! damage (a checksum mismatch, an undecodable edit) is corruption and fails the open —
//! rolling back edits that were acknowledged could resurrect deleted files or lose tables.
//!
//! Concurrency: not internally synchronized; the engine holds it under its state mutex.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::edit::VersionEdit;
use super::file_set::Version;
use crate::error::{Error, Result};
use crate::filename;
use crate::fs::{FileSystem, WritableFile};
use crate::key::{CfId, InternalKeyComparator, SeqNo};

/// Column families every database has, with their fixed ids.
pub const DEFAULT_CFS: [(CfId, &str); 4] = [(0, "default"), (1, "lock"), (2, "write"), (3, "raft")];

/// The engine's durable metadata.
pub struct VersionSet {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    current: Arc<Version>,
    manifest: wal::Writer<Box<dyn WritableFile>>,
    manifest_number: u64,
    /// Rewrite the manifest once it is larger than this.
    rewrite_threshold: u64,
    next_file_number: u64,
    last_sequence: SeqNo,
    log_number: u64,
    cfs: BTreeMap<CfId, String>,
}

impl std::fmt::Debug for VersionSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionSet")
            .field("dir", &self.dir)
            .field("manifest_number", &self.manifest_number)
            .field("next_file_number", &self.next_file_number)
            .field("last_sequence", &self.last_sequence)
            .field("log_number", &self.log_number)
            .finish_non_exhaustive()
    }
}

impl VersionSet {
    /// Creates the metadata of a new, empty database in `dir` (which must exist).
    ///
    /// # Errors
    /// Any I/O error while writing the first manifest or `CURRENT`.
    pub fn create(fs: Arc<dyn FileSystem>, dir: &Path, rewrite_threshold: u64) -> Result<Self> {
        let cfs = DEFAULT_CFS
            .iter()
            .map(|(id, n)| (*id, n.to_string()))
            .collect();
        // File 1 is the first manifest; WALs and tables take numbers from 2 on.
        let mut set = VersionSet::open_manifest(fs, dir, 1, Version::default(), cfs, 2, 0, 0)?;
        set.rewrite_threshold = rewrite_threshold;
        Ok(set)
    }

    /// Recovers the metadata of the database in `dir` from `CURRENT` and its manifest, then
    /// starts a fresh manifest (so a torn tail of the old one is never appended to).
    ///
    /// # Errors
    /// `Corruption` if `CURRENT` or the manifest is damaged, `Io` on read failures.
    pub fn recover(fs: Arc<dyn FileSystem>, dir: &Path, rewrite_threshold: u64) -> Result<Self> {
        let current_path = filename::current(dir);
        let current = crate::fs::read_file(fs.as_ref(), &current_path)?;
        let name = std::str::from_utf8(&current)
            .ok()
            .and_then(|s| s.strip_suffix('\n'))
            .filter(|s| matches!(filename::parse(s), Some(filename::FileKind::Manifest(_))))
            .ok_or_else(|| corrupt(&current_path, 0, "CURRENT does not name a manifest"))?
            .to_owned();
        let path = dir.join(&name);
        let bytes = crate::fs::read_file(fs.as_ref(), &path)?;
        let mut reader = wal::Reader::new(&bytes[..], name.clone(), wal::RecoveryMode::PointInTime);
        let mut version = Version::default();
        let mut cfs = BTreeMap::new();
        let (mut next_file, mut last_seq, mut log_number) = (None, None, None);
        let mut record = Vec::new();
        loop {
            let offset = match reader.read_record(&mut record) {
                Ok(Some(offset)) => offset,
                Ok(None) => break,
                Err(e) => return Err(corrupt(&path, 0, e.to_string())),
            };
            let edit = VersionEdit::decode(&record)
                .map_err(|(at, why)| corrupt(&path, offset + at as u64, why))?;
            if let Some(c) = &edit.comparator {
                if c != InternalKeyComparator::NAME {
                    return Err(corrupt(&path, offset, format!("unknown comparator {c}")));
                }
            }
            version = version
                .apply(&edit)
                .map_err(|why| corrupt(&path, offset, why))?;
            for (id, n) in &edit.added_cfs {
                cfs.insert(*id, n.clone());
            }
            for id in &edit.dropped_cfs {
                cfs.remove(id);
            }
            next_file = edit.next_file_number.or(next_file);
            last_seq = edit.last_sequence.or(last_seq);
            log_number = edit.log_number.or(log_number);
        }
        if let Some(stop) = reader.stopped_at() {
            if !is_torn_tail(stop, &bytes) {
                return Err(corrupt(&path, stop.offset, stop.reason.to_string()));
            }
        }
        let (Some(next_file), Some(last_seq), Some(log_number)) = (next_file, last_seq, log_number)
        else {
            return Err(corrupt(
                &path,
                0,
                "manifest lacks file number, sequence or log number",
            ));
        };
        // Numbers handed out after the last edit (a new WAL, a table being written) were never
        // logged; any file on disk still holds one. Skip past them all, or a new file could
        // take the name of one recovery still needs.
        let on_disk = fs
            .list_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .iter()
            .filter_map(|n| match filename::parse(n)? {
                filename::FileKind::Manifest(n)
                | filename::FileKind::Wal(n)
                | filename::FileKind::Table(n)
                | filename::FileKind::Temp(n) => Some(n),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let next_file = next_file.max(on_disk + 1);
        let manifest_number = next_file;
        let mut set = VersionSet::open_manifest(
            fs.clone(),
            dir,
            manifest_number,
            version,
            cfs,
            next_file + 1,
            last_seq,
            log_number,
        )?;
        set.rewrite_threshold = rewrite_threshold;
        // CURRENT names the new manifest now. Every other one is obsolete, including any whose
        // earlier deletion a crash undid; failing to delete one only wastes space.
        for name in fs.list_dir(dir).map_err(|e| Error::io(dir, e))? {
            if let Some(filename::FileKind::Manifest(n)) = filename::parse(&name) {
                if n != manifest_number {
                    let _ = fs.remove_file(&dir.join(&name));
                }
            }
        }
        Ok(set)
    }

    /// Writes a new manifest holding a snapshot of the given state and points `CURRENT` at it.
    #[allow(clippy::too_many_arguments)]
    fn open_manifest(
        fs: Arc<dyn FileSystem>,
        dir: &Path,
        number: u64,
        version: Version,
        cfs: BTreeMap<CfId, String>,
        next_file_number: u64,
        last_sequence: SeqNo,
        log_number: u64,
    ) -> Result<Self> {
        let path = filename::manifest(dir, number);
        let file = fs.create(&path).map_err(|e| Error::io(&path, e))?;
        let mut set = VersionSet {
            fs,
            dir: dir.to_path_buf(),
            current: Arc::new(version),
            manifest: wal::Writer::new(file),
            manifest_number: number,
            rewrite_threshold: u64::MAX,
            next_file_number,
            last_sequence,
            log_number,
            cfs,
        };
        let snapshot = set.snapshot_edit();
        set.append(&snapshot)?;
        set.set_current()?;
        Ok(set)
    }

    /// An edit that recreates the whole current state.
    fn snapshot_edit(&self) -> VersionEdit {
        VersionEdit {
            comparator: Some(InternalKeyComparator::NAME.to_owned()),
            log_number: Some(self.log_number),
            next_file_number: Some(self.next_file_number),
            last_sequence: Some(self.last_sequence),
            new_files: self
                .current
                .all_files()
                .map(|(level, f)| (level as u32, f.as_ref().clone()))
                .collect(),
            added_cfs: self.cfs.iter().map(|(id, n)| (*id, n.clone())).collect(),
            ..VersionEdit::default()
        }
    }

    fn append(&mut self, edit: &VersionEdit) -> Result<()> {
        let path = filename::manifest(&self.dir, self.manifest_number);
        self.manifest
            .add_record(&edit.encode())
            .and_then(|_| self.manifest.sync())
            .map_err(|e| Error::Background(format!("manifest {}: {e}", path.display())))
    }

    /// Points `CURRENT` at the live manifest: temp file, fsync, rename, fsync dir.
    fn set_current(&mut self) -> Result<()> {
        let temp = filename::temp(&self.dir, self.manifest_number);
        let contents = format!("{}\n", filename::manifest_name(self.manifest_number));
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |e| Error::io(p, e)
        };
        let mut f = self.fs.create(&temp).map_err(io(&temp))?;
        f.write_all(contents.as_bytes()).map_err(io(&temp))?;
        f.sync_data().map_err(io(&temp))?;
        drop(f);
        let current = filename::current(&self.dir);
        self.fs.rename(&temp, &current).map_err(io(&current))?;
        self.fs.sync_dir(&self.dir).map_err(io(&self.dir))
    }

    /// Logs `edit` (adding the counters), syncs the manifest, then installs the new version.
    ///
    /// # Errors
    /// `Corruption` if the edit breaks the version's invariants (a bug in the caller);
    /// `Background` if the manifest write or sync failed — the engine must stop writing.
    pub fn log_and_apply(&mut self, mut edit: VersionEdit) -> Result<Arc<Version>> {
        let manifest = filename::manifest(&self.dir, self.manifest_number);
        let next = self
            .current
            .apply(&edit)
            .map_err(|why| corrupt(&manifest, 0, why))?;
        // Nothing in memory changes until the edit is durable: a failed append must leave the
        // set describing exactly what the manifest on disk says (the engine deletes files by
        // it).
        let log_number = edit.log_number.unwrap_or(self.log_number);
        let last_sequence = edit
            .last_sequence
            .map_or(self.last_sequence, |s| self.last_sequence.max(s));
        edit.next_file_number = Some(self.next_file_number);
        edit.last_sequence = Some(last_sequence);
        edit.log_number = Some(log_number);
        self.append(&edit)?;
        self.log_number = log_number;
        self.last_sequence = last_sequence;
        for (id, n) in &edit.added_cfs {
            self.cfs.insert(*id, n.clone());
        }
        for id in &edit.dropped_cfs {
            self.cfs.remove(id);
        }
        self.current = Arc::new(next);
        if self.manifest.len() > self.rewrite_threshold {
            self.rewrite_manifest()?;
        }
        Ok(self.current.clone())
    }

    /// Starts a new manifest with one snapshot edit and deletes the old one.
    fn rewrite_manifest(&mut self) -> Result<()> {
        let old = self.manifest_number;
        let number = self.new_file_number();
        let path = filename::manifest(&self.dir, number);
        let file = self.fs.create(&path).map_err(|e| Error::io(&path, e))?;
        self.manifest = wal::Writer::new(file);
        self.manifest_number = number;
        let snapshot = self.snapshot_edit();
        self.append(&snapshot)?;
        self.set_current()?;
        // CURRENT no longer names the old manifest; failing to delete it only wastes space.
        let _ = self.fs.remove_file(&filename::manifest(&self.dir, old));
        Ok(())
    }

    /// The number the next new file will get.
    pub fn next_file_number(&self) -> u64 {
        self.next_file_number
    }

    /// The current version.
    pub fn current(&self) -> Arc<Version> {
        self.current.clone()
    }

    /// Takes the next file number.
    pub fn new_file_number(&mut self) -> u64 {
        let n = self.next_file_number;
        self.next_file_number += 1;
        n
    }

    /// The largest sequence number recorded as durable in tables or replayed WALs.
    pub fn last_sequence(&self) -> SeqNo {
        self.last_sequence
    }

    /// WALs numbered below this are obsolete.
    pub fn log_number(&self) -> u64 {
        self.log_number
    }

    /// The live manifest's number.
    pub fn manifest_number(&self) -> u64 {
        self.manifest_number
    }

    /// Column families by id.
    pub fn column_families(&self) -> &BTreeMap<CfId, String> {
        &self.cfs
    }
}

fn corrupt(path: &Path, offset: u64, reason: impl Into<String>) -> Error {
    Error::Corruption {
        file: path.display().to_string(),
        offset,
        reason: reason.into(),
    }
}

/// True if reading stopped only because the file ends inside the last record (or in zeros
/// that run to the end) and nothing intact follows: what a crash during an unacknowledged
/// append leaves behind. Damage in the middle that merely looks cut off (a flipped length
/// reaching past the end of the file) still has intact records after it, and is refused.
fn is_torn_tail(stop: &wal::Corruption, bytes: &[u8]) -> bool {
    use wal::CorruptionReason as R;
    if wal::intact_fragment_after(bytes, stop.offset).is_some() {
        return false;
    }
    match stop.reason {
        R::TruncatedFragment { .. } | R::TruncatedRecord { .. } => true,
        R::ZeroFilled => usize::try_from(stop.offset)
            .ok()
            .and_then(|o| bytes.get(o..))
            .is_some_and(|rest| rest.iter().all(|b| *b == 0)),
        _ => false,
    }
}
