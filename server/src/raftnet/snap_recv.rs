//! Receiving one snapshot's files: [`SnapshotReceiver`] writes the chunks of a `Snapshot`
//! stream into a staging directory of its own, checks them against the descriptor, and
//! only when every file is complete publishes the directory as `SnapManager::recv_dir`.
//!
//! Checks: each file is named by the descriptor and sent once, in consecutive chunks; no
//! file grows past its descriptor size; at the end every file is present at exactly its
//! size (CRCs are the store's to check, `verify_received`, before raft sees the snapshot).
//! A refusal, or a receiver dropped before [`finish`](SnapshotReceiver::finish) (a stream
//! that broke off), removes the staging directory: no partial file is left behind.
//!
//! Durability: each file is fsynced, then the staging directory; the rename into place is
//! made durable by syncing `recv/`. Synchronous file I/O: run it on a blocking thread.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use replication::{SnapKey, SnapManager, SnapshotData};

use crate::error::{Error, Result};

/// Marks staging directories (`recv/<key>.part-<n>`); descriptor names never contain it.
const PART: &str = ".part-";

/// Distinguishes concurrent receives in this process.
static NEXT_RECEIVE: AtomicU64 = AtomicU64::new(1);

struct OpenFile {
    name: String,
    file: File,
    written: u64,
    expected: u64,
}

/// One snapshot being received (module docs).
pub(crate) struct SnapshotReceiver {
    key: SnapKey,
    staging: PathBuf,
    target: PathBuf,
    sizes: HashMap<String, u64>,
    done: HashSet<String>,
    current: Option<OpenFile>,
    published: bool,
}

impl SnapshotReceiver {
    /// Starts receiving snapshot `key` described by `data` under `snaps`.
    ///
    /// # Errors
    /// I/O creating the staging directory.
    pub(crate) fn new(
        snaps: &SnapManager,
        key: SnapKey,
        data: &SnapshotData,
    ) -> Result<SnapshotReceiver> {
        let target = snaps.recv_dir(key);
        let n = NEXT_RECEIVE.fetch_add(1, Ordering::Relaxed);
        let mut name = target.file_name().unwrap_or_default().to_os_string();
        name.push(format!("{PART}{n}"));
        let staging = target.with_file_name(name);
        if staging.exists() {
            fs::remove_dir_all(&staging)?;
        }
        fs::create_dir_all(&staging)?;
        Ok(SnapshotReceiver {
            key,
            staging,
            target,
            sizes: data
                .files
                .iter()
                .map(|f| (f.name.clone(), f.size))
                .collect(),
            done: HashSet::new(),
            current: None,
            published: false,
        })
    }

    fn refuse(&self, reason: impl Into<String>) -> Error {
        Error::SnapshotRefused {
            key: self.key.to_string(),
            reason: reason.into(),
        }
    }

    /// Appends `data` to the file `name`.
    ///
    /// # Errors
    /// `SnapshotRefused` for a name not in the descriptor, a file sent twice or grown past
    /// its size; I/O.
    pub(crate) fn chunk(&mut self, name: &str, data: &[u8]) -> Result<()> {
        if self.current.as_ref().is_none_or(|f| f.name != name) {
            self.close_current()?;
            let Some(&expected) = self.sizes.get(name) else {
                return Err(self.refuse(format!("file {name:?} is not in the descriptor")));
            };
            if self.done.contains(name) {
                return Err(self.refuse(format!("file {name} sent twice")));
            }
            let file = File::create(self.staging.join(name))?;
            self.current = Some(OpenFile {
                name: name.to_owned(),
                file,
                written: 0,
                expected,
            });
        }
        let Some(f) = self.current.as_mut() else {
            return Err(self.refuse("no open file"));
        };
        let written = f.written + data.len() as u64;
        if written > f.expected {
            let reason = format!("file {name} exceeds its size {}", f.expected);
            return Err(self.refuse(reason));
        }
        f.file.write_all(data)?;
        f.written = written;
        Ok(())
    }

    fn close_current(&mut self) -> Result<()> {
        let Some(mut f) = self.current.take() else {
            return Ok(());
        };
        if f.written != f.expected {
            return Err(self.refuse(format!(
                "file {} has {} bytes, expected {}",
                f.name, f.written, f.expected
            )));
        }
        f.file.flush()?;
        f.file.sync_all()?;
        self.done.insert(f.name);
        Ok(())
    }

    /// The stream ended: checks that every file arrived whole, then publishes them at
    /// `recv_dir(key)` (replacing what an earlier receive of the same snapshot left).
    ///
    /// # Errors
    /// `SnapshotRefused` if a file is missing or short (a truncated stream); I/O.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.close_current()?;
        let mut missing: Vec<&String> = self
            .sizes
            .keys()
            .filter(|n| !self.done.contains(*n))
            .collect();
        if !missing.is_empty() {
            missing.sort();
            return Err(self.refuse(format!("stream ended without {missing:?}")));
        }
        sync_dir(&self.staging)?;
        if self.target.exists() {
            fs::remove_dir_all(&self.target)?;
        }
        fs::rename(&self.staging, &self.target)?;
        self.published = true;
        if let Some(parent) = self.target.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    }
}

impl Drop for SnapshotReceiver {
    fn drop(&mut self) {
        if self.published {
            return;
        }
        self.current = None;
        if let Err(e) = fs::remove_dir_all(&self.staging) {
            tracing::warn!(dir = %self.staging.display(), error = %e, "cannot remove a refused snapshot's files");
        }
    }
}

/// Removes staging directories an earlier process left under `snaps`' `recv/`.
///
/// # Errors
/// I/O.
pub(crate) fn clear_partial(snaps: &SnapManager) -> Result<()> {
    let entries = match fs::read_dir(snaps.recv_root()) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().contains(PART) {
            fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::raftnet::testing::fake_snapshot;

    const KEY: SnapKey = SnapKey {
        region_id: 4,
        term: 6,
        index: 30,
    };

    /// A receiver for a two-file snapshot (a: 10 bytes, b: 3 bytes) and the manager.
    fn start(dir: &Path) -> (SnapManager, SnapshotReceiver) {
        let snaps = SnapManager::new(dir.join("recv-side"));
        let gen = SnapManager::new(dir.join("send-side"));
        let data = fake_snapshot(&gen, KEY, &[("a.sst", b"0123456789"), ("b.sst", b"xyz")]);
        let r = SnapshotReceiver::new(&snaps, KEY, &data).unwrap();
        (snaps, r)
    }

    /// Everything under the receiving side's `recv/`.
    fn left(snaps: &SnapManager) -> usize {
        fs::read_dir(snaps.recv_root()).unwrap().count()
    }

    #[test]
    fn whole_files_are_published() {
        let tmp = tempfile::tempdir().unwrap();
        let (snaps, mut r) = start(tmp.path());
        r.chunk("a.sst", b"0123").unwrap();
        r.chunk("a.sst", b"456789").unwrap();
        r.chunk("b.sst", b"xyz").unwrap();
        r.finish().unwrap();
        let dir = snaps.recv_dir(KEY);
        assert_eq!(fs::read(dir.join("a.sst")).unwrap(), b"0123456789");
        assert_eq!(fs::read(dir.join("b.sst")).unwrap(), b"xyz");
        assert_eq!(left(&snaps), 1, "only the published directory");
    }

    #[test]
    fn a_name_outside_the_descriptor_is_refused_and_nothing_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let (snaps, mut r) = start(tmp.path());
        r.chunk("a.sst", b"0123456789").unwrap();
        let e = r.chunk("c.sst", b"evil").unwrap_err();
        assert!(e.to_string().contains("not in the descriptor"), "{e}");
        drop(r);
        assert_eq!(left(&snaps), 0);
    }

    #[test]
    fn size_mismatches_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (snaps, mut r) = start(tmp.path());
        let e = r.chunk("b.sst", b"xyz!").unwrap_err();
        assert!(e.to_string().contains("exceeds"), "{e}");
        drop(r);
        // Short: a file left behind before its size, for the next one.
        let (_, mut r) = start(tmp.path());
        r.chunk("a.sst", b"01234").unwrap();
        let e = r.chunk("b.sst", b"xyz").unwrap_err();
        assert!(e.to_string().contains("has 5 bytes, expected 10"), "{e}");
        drop(r);
        assert_eq!(left(&snaps), 0);
    }

    #[test]
    fn a_truncated_stream_is_refused_and_nothing_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let (snaps, mut r) = start(tmp.path());
        r.chunk("a.sst", b"0123456789").unwrap();
        let e = r.finish().unwrap_err();
        assert!(e.to_string().contains("without [\"b.sst\"]"), "{e}");
        assert_eq!(left(&snaps), 0);
        // Cut inside a file.
        let (_, mut r) = start(tmp.path());
        r.chunk("a.sst", b"0123456789").unwrap();
        r.chunk("b.sst", b"x").unwrap();
        assert!(r.finish().is_err());
        assert_eq!(left(&snaps), 0);
        // Broken off (dropped without finish).
        let (_, mut r) = start(tmp.path());
        r.chunk("a.sst", b"01").unwrap();
        drop(r);
        assert_eq!(left(&snaps), 0);
        assert!(!snaps.recv_dir(KEY).exists());
    }

    #[test]
    fn a_file_sent_twice_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (_, mut r) = start(tmp.path());
        r.chunk("b.sst", b"xyz").unwrap();
        r.chunk("a.sst", b"0123456789").unwrap();
        assert!(r.chunk("b.sst", b"").is_err());
    }
}
