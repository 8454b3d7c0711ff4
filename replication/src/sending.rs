//! A generated snapshot's files, held for one send.
//!
//! The store may delete a region's generated snapshot at any time on its Raft thread: a new
//! snapshot of the region replaces it (`SnapManager::generate`), a removed peer takes its
//! files along (`destroy_peer`). A transport that streams files in the background must not
//! see them vanish or change mid-stream, so before it lets go of the Raft thread it hard-links
//! the snapshot's files into a directory of its own, `send/<key>.<n>/`, and streams from
//! there. Unlinking the generated names leaves the linked inodes intact; the directory goes
//! when the [`SendingSnapshot`] is dropped.
//!
//! Invariant: [`SnapManager::hold_for_send`] runs on the Raft thread that generated the
//! snapshot, before anything else on it can regenerate or remove it (the transport's
//! `send`), so what it links is exactly what the descriptor describes.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::snapshot::{SnapKey, SnapManager, SnapshotData};

/// Distinguishes concurrent sends of one snapshot (to two followers) in this process.
static NEXT_SEND: AtomicU64 = AtomicU64::new(1);

/// One send's private copy (hard links) of a snapshot's files; removed on drop.
#[derive(Debug)]
pub struct SendingSnapshot {
    dir: PathBuf,
    key: SnapKey,
}

impl SendingSnapshot {
    /// The snapshot.
    pub fn key(&self) -> SnapKey {
        self.key
    }

    /// Where the file `name` of the descriptor is, for this send.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for SendingSnapshot {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(dir = %self.dir.display(), error = %e, "cannot remove a sent snapshot's files");
            }
        }
    }
}

impl SnapManager {
    fn send_root(&self) -> PathBuf {
        self.dir.join("send")
    }

    /// Holds the generated files of snapshot `key` (as `data` lists them) for one send.
    ///
    /// # Errors
    /// `SnapshotIo` if a file is missing (the snapshot was replaced already) or cannot be
    /// linked or copied.
    pub fn hold_for_send(&self, key: SnapKey, data: &SnapshotData) -> Result<SendingSnapshot> {
        let n = NEXT_SEND.fetch_add(1, Ordering::Relaxed);
        let dir = self.send_root().join(format!("{key}.{n}"));
        if dir.exists() {
            // Left by an earlier process (counters restart).
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
        // From here on the guard removes what was made, also on failure below.
        let held = SendingSnapshot { dir, key };
        let from = self.gen_dir(key);
        for f in &data.files {
            link_or_copy(&from.join(&f.name), &held.path(&f.name))?;
        }
        Ok(held)
    }

    /// Removes every send directory: call once at start-up, before any send (what a
    /// previous process was sending when it stopped).
    ///
    /// # Errors
    /// I/O.
    pub fn clear_sending(&self) -> Result<()> {
        match fs::remove_dir_all(self.send_root()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::SnapshotIo(e)),
            _ => Ok(()),
        }
    }
}

/// A hard link (same file system: the snapshot directory's subdirectories); a copy where
/// the file system has none.
fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if fs::hard_link(from, to).is_err() {
        fs::copy(from, to)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::region::Region;
    use crate::snapshot::SnapFile;

    fn fake_snapshot(snaps: &SnapManager, key: SnapKey, content: &[u8]) -> SnapshotData {
        let dir = snaps.gen_dir(key);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("default-0001.sst"), content).unwrap();
        let (size, crc32) = crate::snapshot::checksum(&dir.join("default-0001.sst")).unwrap();
        SnapshotData {
            region: Region {
                id: key.region_id,
                ..Default::default()
            },
            files: vec![SnapFile {
                cf: mvcc::Cf::Default,
                cf_id: 1,
                name: "default-0001.sst".into(),
                size,
                crc32,
            }],
        }
    }

    #[test]
    fn held_files_survive_regeneration_and_removal() {
        let tmp = tempfile::tempdir().unwrap();
        let snaps = SnapManager::new(tmp.path());
        let key = SnapKey {
            region_id: 7,
            term: 6,
            index: 40,
        };
        let data = fake_snapshot(&snaps, key, b"the original bytes");
        let held = snaps.hold_for_send(key, &data).unwrap();

        // The same key regenerated with other bytes, then every generated file removed.
        snaps.remove_generated(7).unwrap();
        fake_snapshot(&snaps, key, b"regenerated, different");
        snaps.remove_generated(7).unwrap();

        let path = held.path("default-0001.sst");
        assert_eq!(fs::read(&path).unwrap(), b"the original bytes");
        let dir = path.parent().unwrap().to_path_buf();
        drop(held);
        assert!(!dir.exists(), "dropping the hold removes its directory");
    }

    #[test]
    fn a_missing_file_fails_and_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let snaps = SnapManager::new(tmp.path());
        let key = SnapKey {
            region_id: 3,
            term: 1,
            index: 9,
        };
        let data = fake_snapshot(&snaps, key, b"x");
        snaps.remove_generated(3).unwrap();
        assert!(snaps.hold_for_send(key, &data).is_err());
        let left = fs::read_dir(tmp.path().join("send")).unwrap().count();
        assert_eq!(left, 0);
        snaps.clear_sending().unwrap();
        assert!(!tmp.path().join("send").exists());
    }
}
