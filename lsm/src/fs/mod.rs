//! The file-system seam: every byte the engine reads or writes goes through [`FileSystem`].
//!
//! Two implementations: [`StdFs`] over the operating system, and [`MemFs`], an in-memory file
//! system that remembers what was synced and can simulate a crash or power loss (dropping
//! unsynced data and unsynced directory changes, optionally tearing the last write, see
//! [`CrashMode`]) and fail writes or fsyncs on demand ([`Fail`]), for crash and fault tests.
//!
//! Durability model both implementations follow (and the engine relies on):
//! - data written to a file survives a power loss only once `sync_data` on it returned Ok;
//! - a created, renamed or removed directory entry survives only once `sync_dir` on its
//!   parent directory returned Ok — this includes a directory made by `create_dir_all`, so a
//!   new database directory needs its parent synced too;
//! - rename is atomic: after a crash the name refers to either the old or the new file.

use std::fmt::Debug;
use std::io::{self, Read, Write};
use std::path::Path;

mod faults;
mod mem;
mod std_fs;

pub use faults::{CrashMode, Fail};
pub use mem::{MemFs, MemFsStats};
pub use std_fs::StdFs;

/// A file opened for writing (always appending at its end).
pub trait WritableFile: Write + Send + Sync + Debug {
    /// Makes the data written so far durable (fdatasync).
    ///
    /// # Errors
    /// The sync failed. Callers treat this as fatal and never retry it.
    fn sync_data(&mut self) -> io::Result<()>;
}

/// Held while a database directory is open; dropping it releases the lock.
pub trait FileLock: Send + Sync + Debug {}

/// All file access of the engine.
///
/// Paths are absolute or relative to the process's working directory for `StdFs`, and names
/// in its own namespace for `MemFs` (see [`MemFs`] for its simple path rule). All methods may
/// be called from any thread.
pub trait FileSystem: Send + Sync + Debug + 'static {
    /// Creates `path` for writing, truncating it if it exists.
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;

    /// Opens an existing file for random-access reads (tables).
    fn open_random(&self, path: &Path) -> io::Result<Box<dyn sstable::RandomAccessFile>>;

    /// Opens an existing file for sequential reads (logs, CURRENT).
    fn open_sequential(&self, path: &Path) -> io::Result<Box<dyn Read + Send>>;

    /// Atomically renames `from` to `to`, replacing `to` if it exists.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;

    /// Creates a directory and its parents.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;

    /// Names (not paths) of the entries of a directory, in no particular order.
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>>;

    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;

    /// Whether `path` exists.
    fn exists(&self, path: &Path) -> bool;

    /// Size of a file in bytes.
    fn file_size(&self, path: &Path) -> io::Result<u64>;

    /// Takes an exclusive lock on `path` (created if needed), failing if another holder has it.
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>>;
}

/// Reads the whole file at `path` (logs, manifests and `CURRENT`, which are read in full).
///
/// # Errors
/// `Io` naming `path`.
pub(crate) fn read_file(fs: &dyn FileSystem, path: &Path) -> crate::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    fs.open_sequential(path)
        .and_then(|mut r| r.read_to_end(&mut bytes))
        .map_err(|e| crate::Error::io(path, e))?;
    Ok(bytes)
}

/// Lets the WAL writer append through the seam.
impl wal::LogFile for Box<dyn WritableFile> {
    fn sync_data(&mut self) -> io::Result<()> {
        WritableFile::sync_data(self.as_mut())
    }
}

/// Lets the table builder write through the seam.
impl sstable::SyncWrite for Box<dyn WritableFile> {
    fn sync_data(&mut self) -> io::Result<()> {
        WritableFile::sync_data(self.as_mut())
    }
}
