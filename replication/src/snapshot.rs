//! Region snapshots as SST files: the sender exports the region's range of every KV column
//! family to table files; the transport moves the files; the receiver checks them and
//! ingests them with the engine's `ingest_sst` after clearing the range.
//!
//! The Raft snapshot message carries only a descriptor ([`SnapshotData`], FORMAT.md,
//! "Snapshot descriptor"): the region and, per file, its family, name, size and CRC32. Files
//! live under the store's snapshot directory: `gen/<key>/` where they were exported,
//! `recv/<key>/` where the transport puts them, `<key>` being `region_term_index`; and
//! `send/<key>.<n>/` (`sending.rs`): hard links a transport streams from, so that a
//! regeneration or a removed peer cannot pull files from under a stream.
//!
//! Consistency: the LSM snapshot a region is exported from is taken on the store's Raft
//! thread, between two rounds of apply, so the exported data is exactly the region's state
//! at its applied index (the only writer of the KV families is that thread's apply step);
//! the export itself runs on a worker (`snap_gen.rs`).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mvcc::Cf;

use crate::codec::{put_bytes, put_u32, put_u64, Reader};
use crate::engines::Engines;
use crate::error::{Error, Result};
use crate::region::{Layout, Region};
use crate::snap_gen::{key_dir, GenTask, Generator};

/// Names one snapshot: the region and the log position it was taken at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SnapKey {
    /// The region.
    pub region_id: u64,
    /// Term of the entry at `index`.
    pub term: u64,
    /// The applied index the data reflects.
    pub index: u64,
}

impl SnapKey {
    /// The key of `snap`, a snapshot of `region_id` (its metadata names the log position).
    pub fn of(region_id: u64, snap: &raft::eraftpb::Snapshot) -> SnapKey {
        SnapKey {
            region_id,
            term: snap.get_metadata().term,
            index: snap.get_metadata().index,
        }
    }
}

impl std::fmt::Display for SnapKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}_{}", self.region_id, self.term, self.index)
    }
}

/// One exported table file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapFile {
    /// The family its entries belong to.
    pub cf: Cf,
    /// The family's id in the sender's database (encoded in the file's keys): the receiver
    /// refuses the file unless its own id for `cf` is the same.
    pub cf_id: u32,
    /// File name in the snapshot's directory.
    pub name: String,
    /// Length in bytes.
    pub size: u64,
    /// CRC32 (IEEE) of the whole file.
    pub crc32: u32,
}

/// What a Raft snapshot message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotData {
    /// The region as of the snapshot.
    pub region: Region,
    /// Its data.
    pub files: Vec<SnapFile>,
}

/// Descriptor encoding versions. On disk/wire: never reuse. v1 holds the region in layout
/// v1 (all voters), v2 in layout v2 (with roles); only v2 is written.
const DESCRIPTOR_V1: u8 = 1;
const DESCRIPTOR_V2: u8 = 2;

impl SnapshotData {
    /// FORMAT.md, "Snapshot descriptor".
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![DESCRIPTOR_V2];
        self.region.encode_into(&mut out, Layout::V2);
        put_u32(&mut out, self.files.len() as u32);
        for f in &self.files {
            out.push(f.cf.index() as u8);
            put_u32(&mut out, f.cf_id);
            put_bytes(&mut out, f.name.as_bytes());
            put_u64(&mut out, f.size);
            put_u32(&mut out, f.crc32);
        }
        out
    }

    /// # Errors
    /// `Corruption` unless `buf` is one descriptor.
    pub fn decode(buf: &[u8]) -> Result<SnapshotData> {
        let mut r = Reader::new(buf, "snapshot descriptor");
        let layout = match r.u8()? {
            DESCRIPTOR_V1 => Layout::V1,
            DESCRIPTOR_V2 => Layout::V2,
            v => return Err(r.error(format!("unknown version {v}"))),
        };
        let region = Region::decode_from(&mut r, layout)?;
        let n = r.u32()? as usize;
        let mut files = Vec::with_capacity(n.min(buf.len() / 21));
        for _ in 0..n {
            let cf_index = r.u8()?;
            let cf = Cf::from_index(cf_index as usize)
                .ok_or_else(|| r.error(format!("unknown column family {cf_index}")))?;
            let cf_id = r.u32()?;
            let name = String::from_utf8(r.bytes()?.to_vec())
                .map_err(|_| r.error("file name is not UTF-8"))?;
            // Names come from the wire: they must stay inside the snapshot's directory.
            if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
                return Err(r.error(format!("bad file name {name:?}")));
            }
            files.push(SnapFile {
                cf,
                cf_id,
                name,
                size: r.u64()?,
                crc32: r.u32()?,
            });
        }
        r.finish()?;
        Ok(SnapshotData { region, files })
    }
}

/// The store's snapshot directory, and the worker that generates snapshots into it
/// (`snap_gen.rs`). Clones share both.
#[derive(Debug, Clone)]
pub struct SnapManager {
    pub(crate) dir: PathBuf,
    gen: Arc<Generator>,
}

impl SnapManager {
    /// Snapshots under `dir` (created as needed).
    pub fn new(dir: impl Into<PathBuf>) -> SnapManager {
        SnapManager {
            dir: dir.into(),
            gen: Arc::default(),
        }
    }

    /// Where a generated snapshot's files are.
    pub fn gen_dir(&self, key: SnapKey) -> PathBuf {
        key_dir(&self.dir, key)
    }

    /// Queues a generation task on the worker; false if it cannot run.
    pub(crate) fn submit(&self, task: GenTask) -> bool {
        self.gen.submit(&self.dir, task)
    }

    /// Blocks until the snapshots asked for so far are generated (or failed). For tests
    /// that step stores by hand and must not depend on the worker's timing.
    pub fn wait_generations(&self) {
        self.gen.wait_idle();
    }

    /// Where a received snapshot's files go.
    pub fn recv_dir(&self, key: SnapKey) -> PathBuf {
        self.recv_root().join(key.to_string())
    }

    /// The directory of every received snapshot (a transport may stage files there).
    pub fn recv_root(&self) -> PathBuf {
        self.dir.join("recv")
    }

    /// Removes every generated snapshot of `region_id`.
    ///
    /// # Errors
    /// I/O.
    pub fn remove_generated(&self, region_id: u64) -> Result<()> {
        remove_region_dirs(&self.dir.join("gen"), region_id, None)
    }

    /// Removes the generated snapshots of `region_id` other than `keep`.
    ///
    /// # Errors
    /// I/O.
    pub(crate) fn remove_generated_except(&self, region_id: u64, keep: SnapKey) -> Result<()> {
        remove_region_dirs(&self.dir.join("gen"), region_id, Some(keep))
    }

    /// Checks the received files of `data` against its descriptor and the receiving
    /// database's family ids; their paths, ready to ingest.
    ///
    /// # Errors
    /// `Corruption` for a missing file, a size or checksum mismatch, or a family whose id
    /// differs on this store.
    pub fn verify_received(
        &self,
        engines: &Engines,
        key: SnapKey,
        data: &SnapshotData,
    ) -> Result<Vec<PathBuf>> {
        let dir = self.recv_dir(key);
        let mut paths = Vec::with_capacity(data.files.len());
        for f in &data.files {
            let what = || format!("snapshot {key} file {}", f.name);
            if u32::from(engines.kv.cf_id(f.cf)) != f.cf_id {
                return Err(Error::corrupt(
                    what(),
                    format!(
                        "family {} has id {} here, {} at the sender",
                        f.cf.name(),
                        engines.kv.cf_id(f.cf),
                        f.cf_id
                    ),
                ));
            }
            let path = dir.join(&f.name);
            let (size, crc32) =
                checksum(&path).map_err(|e| Error::corrupt(what(), e.to_string()))?;
            if (size, crc32) != (f.size, f.crc32) {
                return Err(Error::corrupt(
                    what(),
                    format!(
                        "size/crc {size}/{crc32:08x}, expected {}/{:08x}",
                        f.size, f.crc32
                    ),
                ));
            }
            paths.push(path);
        }
        Ok(paths)
    }

    /// Removes a received snapshot's files (after it is applied).
    ///
    /// # Errors
    /// I/O.
    pub fn remove_received(&self, key: SnapKey) -> Result<()> {
        match fs::remove_dir_all(self.recv_dir(key)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

fn remove_region_dirs(parent: &Path, region_id: u64, keep: Option<SnapKey>) -> Result<()> {
    let prefix = format!("{region_id}_");
    let keep = keep.map(|k| k.to_string());
    let entries = match fs::read_dir(parent) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && keep.as_deref() != Some(name.as_str()) {
            fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}

/// Exports `region`'s data as `view` shows it into `out` (replaced if it exists).
///
/// # Errors
/// Engine errors exporting; I/O.
pub(crate) fn generate_files(
    engines: &Engines,
    region: &Region,
    out: &Path,
    view: &lsm::Snapshot,
) -> Result<SnapshotData> {
    match fs::remove_dir_all(out) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    fs::create_dir_all(out)?;
    let mut files = Vec::new();
    for cf in Cf::ALL {
        let (start, end) = engines.keyspace.cf_bounds(region, cf)?;
        let cf_id = engines.kv.cf_id(cf);
        let tmp = out.join(format!("tmp-{}", cf.name()));
        let start = (!start.is_empty()).then_some(start.as_slice());
        let exported = engines
            .db
            .export_range_at(cf_id, start, end.as_deref(), &tmp, view)?;
        for (i, path) in exported.iter().enumerate() {
            let name = format!("{}-{:04}.sst", cf.name(), i + 1);
            let target = out.join(&name);
            fs::rename(path, &target)?;
            let (size, crc32) = checksum(&target)?;
            files.push(SnapFile {
                cf,
                cf_id: u32::from(cf_id),
                name,
                size,
                crc32,
            });
        }
        fs::remove_dir_all(&tmp)?;
    }
    Ok(SnapshotData {
        region: region.clone(),
        files,
    })
}

/// Size and CRC32 of a file.
pub(crate) fn checksum(path: &Path) -> std::io::Result<(u64, u32)> {
    let mut file = fs::File::open(path)?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0; 64 * 1024];
    let mut size = 0;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hasher.finalize()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn descriptor_round_trips_and_refuses_escaping_names() {
        let mut d = SnapshotData {
            region: Region {
                id: 4,
                ..Default::default()
            },
            files: vec![SnapFile {
                cf: Cf::Write,
                cf_id: 3,
                name: "write-0001.sst".into(),
                size: 10,
                crc32: 7,
            }],
        };
        assert_eq!(SnapshotData::decode(&d.encode()).unwrap(), d);
        d.files[0].name = "../../etc".into();
        assert!(SnapshotData::decode(&d.encode()).is_err());
    }

    #[test]
    fn a_v1_descriptor_decodes_with_voters_and_v2_keeps_learners() {
        let mut d = SnapshotData {
            region: Region {
                id: 4,
                peers: vec![crate::Peer::new(1, 1), crate::Peer::learner(2, 2)],
                ..Default::default()
            },
            files: Vec::new(),
        };
        assert_eq!(SnapshotData::decode(&d.encode()).unwrap(), d);
        // As an older sender writes it: version 1, the region in layout v1.
        let mut v1 = vec![DESCRIPTOR_V1];
        d.region.encode_into(&mut v1, Layout::V1);
        put_u32(&mut v1, 0);
        d.region.peers[1] = crate::Peer::new(2, 2);
        assert_eq!(SnapshotData::decode(&v1).unwrap(), d);
    }
}
