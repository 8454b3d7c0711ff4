//! [`MemFs`]: an in-memory [`FileSystem`] that knows what is durable, for crash and fault tests.
//!
//! The durability model and the fault knobs are documented on [`MemFs`] itself (this module
//! is private). Its state machine lives in `mem/state.rs` (names) and `mem/inode.rs` (file
//! data); this file is the public handle and the [`WritableFile`] / [`FileLock`] handles.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use super::faults::{CrashMode, Fail};
use super::{FileLock, FileSystem, WritableFile};

mod inode;
mod state;

use state::{key, InodeId, State};

/// Counters of what went through a [`MemFs`] since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemFsStats {
    /// Successful `sync_data` calls.
    pub syncs: u64,
    /// `sync_data` calls failed by injection.
    pub failed_syncs: u64,
    /// Successful `sync_dir` calls.
    pub dir_syncs: u64,
    /// Bytes accepted by writes (including bytes later lost in a crash).
    pub bytes_written: u64,
    /// Simulated crashes.
    pub crashes: u64,
}

/// An in-memory file system with a durability model and fault injection.
///
/// # Crash model
/// Each file has live contents and a durable image: its contents at its last successful
/// `sync_data`. Each directory has live entries and durable entries: its entries at its last
/// successful `sync_dir`. [`MemFs::simulate_power_loss`] replaces the live state with the
/// durable one (what happens to each file's unsynced tail is the [`CrashMode`]) and kills
/// every open [`WritableFile`] handle: later writes and syncs through it fail, as a crashed
/// process cannot write. So, as on a real POSIX file system:
/// - a file created and synced, but whose directory was not synced, is gone after a crash;
/// - a rename not followed by `sync_dir` of the directory is undone by a crash, and after
///   the sync the new name refers to the renamed file (whose data must have been synced too);
/// - a removal not followed by `sync_dir` is undone by a crash;
/// - `create` of an existing file truncates it, but until the next `sync_data` a crash
///   brings back its old contents;
/// - directories made by `create_dir_all` are entries of their parent like files, durable
///   once the parent is synced; a crash drops everything under a directory that did not
///   survive. The roots (`""` and `/`) always exist.
///
/// Every directory is synced on its own: a rename between two directories is made durable
/// in each by syncing each (syncing only the target's leaves both names after a crash).
/// Only files can be renamed.
///
/// # Paths
/// A path is the list of its components with `.` dropped: `a/./b` and `a/b/` are `a/b`.
/// `..` is not resolved, and `/a` and `a` are different files.
///
/// # Reads
/// [`open_random`](FileSystem::open_random) and
/// [`open_sequential`](FileSystem::open_sequential) read a copy of the live contents taken
/// at open. That suits the engine: tables are immutable once finished, and a log is read
/// only at recovery, before anything appends to it.
///
/// # Faults
/// Settable at any time through any handle (they are shared): fail `sync_data`, `sync_dir`
/// or `rename` ([`Fail`]); limit the bytes writes may still store
/// ([`MemFs::set_write_budget`]). Faults survive a crash; clear them with
/// [`MemFs::clear_faults`].
///
/// # Why it is not behind the `test-util` feature
/// This crate's own integration tests need it, and a feature-gated type would force
/// `required-features` on each of them. It costs nothing at run time when unused.
///
/// # Concurrency
/// `MemFs` is a cheap clone of one shared state under one mutex: every call is atomic, and a
/// test keeps a clone to crash or inspect the file system while the engine owns another.
///
/// # Example
/// ```
/// use std::io::Write;
/// use std::path::Path;
/// use lsm::fs::{FileSystem, MemFs};
///
/// let fs = MemFs::new();
/// let mut f = fs.create(Path::new("CURRENT"))?;
/// f.write_all(b"MANIFEST-000001\n")?;
/// f.sync_data()?; // the data is durable...
/// fs.crash();
/// assert!(!fs.exists(Path::new("CURRENT"))); // ...but its directory entry was not
/// assert!(f.write_all(b"x").is_err()); // and the crashed process's handle is dead
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct MemFs {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for MemFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the contents: a file system in a failing assertion would flood the output.
        let state = self.state.lock();
        f.debug_struct("MemFs")
            .field("files", &state.inodes.len())
            .field("stats", &state.stats)
            .finish_non_exhaustive()
    }
}

impl MemFs {
    /// An empty file system (only the roots `""` and `/` exist).
    pub fn new() -> MemFs {
        MemFs::default()
    }

    /// A power loss with [`CrashMode::DropUnsynced`].
    pub fn crash(&self) {
        self.simulate_power_loss(CrashMode::DropUnsynced);
    }

    /// A power loss: the live state becomes the durable state, each file's unsynced tail
    /// treated as `mode` says; open writable handles die and held locks are released.
    pub fn simulate_power_loss(&self, mode: CrashMode) {
        self.state.lock().crash(mode);
    }

    /// Makes `sync_data` fail (without making anything durable) as `when` says.
    pub fn fail_sync_data(&self, when: Fail) {
        self.state.lock().faults.sync_data = when;
    }

    /// Makes `sync_dir` fail (without making anything durable) as `when` says.
    pub fn fail_sync_dir(&self, when: Fail) {
        self.state.lock().faults.sync_dir = when;
    }

    /// Makes `rename` fail (without renaming) as `when` says.
    pub fn fail_rename(&self, when: Fail) {
        self.state.lock().faults.rename = when;
    }

    /// Lets writes, to all files together, store at most `bytes` more bytes (`None`: no
    /// limit). The write that reaches the limit stores what fits and reports that short
    /// count; the next one fails with [`io::ErrorKind::StorageFull`], like ENOSPC.
    pub fn set_write_budget(&self, bytes: Option<u64>) {
        self.state.lock().faults.write_budget = bytes;
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.state.lock().faults = Default::default();
    }

    /// The counters so far.
    pub fn stats(&self) -> MemFsStats {
        self.state.lock().stats
    }

    /// The live contents of the file at `path`.
    ///
    /// # Errors
    /// `NotFound`, or `IsADirectory`.
    pub fn contents(&self, path: &Path) -> io::Result<Vec<u8>> {
        let state = self.state.lock();
        let id = state.file(&key(path))?;
        Ok(state
            .inodes
            .get(&id)
            .map(|inode| inode.live.clone())
            .unwrap_or_default())
    }
}

impl FileSystem for MemFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let mut state = self.state.lock();
        let inode = state.create(&key(path))?;
        if let Some(i) = state.inodes.get_mut(&inode) {
            i.writers += 1;
        }
        Ok(Box::new(MemFile {
            state: Arc::clone(&self.state),
            inode,
            epoch: state.epoch,
            path: path.to_path_buf(),
        }))
    }

    fn open_random(&self, path: &Path) -> io::Result<Box<dyn sstable::RandomAccessFile>> {
        Ok(Box::new(Bytes::from(self.contents(path)?)))
    }

    fn open_sequential(&self, path: &Path) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(io::Cursor::new(self.contents(path)?)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.state.lock().rename(&key(from), &key(to))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.state.lock().remove_file(&key(path))
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.state.lock().create_dir_all(&key(path))
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        self.state.lock().list_dir(&key(path))
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.state.lock().sync_dir(&key(path))
    }

    fn exists(&self, path: &Path) -> bool {
        self.state.lock().exists(&key(path))
    }

    fn file_size(&self, path: &Path) -> io::Result<u64> {
        let state = self.state.lock();
        let id = state.file(&key(path))?;
        Ok(state.inodes.get(&id).map_or(0, |i| i.live.len() as u64))
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        let key = key(path);
        let token = self.state.lock().lock(&key)?;
        Ok(Box::new(MemLock {
            state: Arc::clone(&self.state),
            key,
            token,
        }))
    }
}

/// A writable handle on one inode of a [`MemFs`].
///
/// It refers to the inode, not the name: writes after the file was renamed or removed still
/// reach it, as with an open POSIX file descriptor.
struct MemFile {
    state: Arc<Mutex<State>>,
    inode: InodeId,
    /// The crash epoch the handle was made in; after a crash the handle is dead.
    epoch: u64,
    /// For messages only.
    path: PathBuf,
}

impl fmt::Debug for MemFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemFile")
            .field("path", &self.path)
            .field("inode", &self.inode)
            .finish_non_exhaustive()
    }
}

impl MemFile {
    fn dead(&self) -> io::Error {
        io::Error::other(format!(
            "MemFs: {}: handle died in a simulated crash",
            self.path.display()
        ))
    }
}

impl Write for MemFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        if state.epoch != self.epoch {
            return Err(self.dead());
        }
        let n = match &mut state.faults.write_budget {
            None => buf.len(),
            Some(0) if !buf.is_empty() => {
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    "MemFs: injected write budget exhausted",
                ));
            }
            Some(budget) => {
                let n = buf
                    .len()
                    .min(usize::try_from(*budget).unwrap_or(usize::MAX));
                *budget -= n as u64;
                n
            }
        };
        let inode = state
            .inodes
            .get_mut(&self.inode)
            .ok_or_else(|| self.dead())?;
        inode.append(buf.get(..n).unwrap_or_default());
        state.stats.bytes_written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Nothing is buffered here; a dead handle still reports its death.
        if self.state.lock().epoch != self.epoch {
            return Err(self.dead());
        }
        Ok(())
    }
}

impl WritableFile for MemFile {
    fn sync_data(&mut self) -> io::Result<()> {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        if state.epoch != self.epoch {
            return Err(self.dead());
        }
        if state.faults.sync_data.fire() {
            state.stats.failed_syncs += 1;
            return Err(super::faults::injected("sync_data"));
        }
        let inode = state
            .inodes
            .get_mut(&self.inode)
            .ok_or_else(|| self.dead())?;
        inode.sync();
        state.stats.syncs += 1;
        Ok(())
    }
}

impl Drop for MemFile {
    fn drop(&mut self) {
        let mut state = self.state.lock();
        // A crash already reset the counts of the handles it killed.
        if state.epoch == self.epoch {
            if let Some(inode) = state.inodes.get_mut(&self.inode) {
                inode.writers = inode.writers.saturating_sub(1);
            }
            state.gc();
        }
    }
}

/// A held [`MemFs`] lock; dropping it releases the lock.
struct MemLock {
    state: Arc<Mutex<State>>,
    key: PathBuf,
    /// Identifies this holder, so a stale guard (from before a crash) cannot release a lock
    /// taken since.
    token: u64,
}

impl fmt::Debug for MemLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemLock").field("path", &self.key).finish()
    }
}

impl FileLock for MemLock {}

impl Drop for MemLock {
    fn drop(&mut self) {
        self.state.lock().unlock(&self.key, self.token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(fs: &MemFs, path: &str, data: &[u8], sync: bool) -> Box<dyn WritableFile> {
        let mut f = fs.create(Path::new(path)).unwrap();
        f.write_all(data).unwrap();
        if sync {
            f.sync_data().unwrap();
        }
        f
    }

    #[test]
    fn create_write_and_read_back() {
        let fs = MemFs::new();
        fs.create_dir_all(Path::new("db")).unwrap();
        drop(write(&fs, "db/a", b"hello", false));
        assert_eq!(fs.contents(Path::new("db/./a")).unwrap(), b"hello");
        assert_eq!(fs.file_size(Path::new("db/a")).unwrap(), 5);
        let mut s = String::new();
        fs.open_sequential(Path::new("db/a"))
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "hello");
        let r = fs.open_random(Path::new("db/a")).unwrap();
        assert_eq!(&r.read_at(1, 3).unwrap()[..], b"ell");
        assert!(fs.create(Path::new("nodir/a")).is_err());
        assert!(fs.create(Path::new("db")).is_err());
    }

    #[test]
    fn rename_replaces_and_remove_removes() {
        let fs = MemFs::new();
        fs.create_dir_all(Path::new("/db")).unwrap();
        drop(write(&fs, "/db/a", b"new", false));
        drop(write(&fs, "/db/b", b"old", false));
        fs.rename(Path::new("/db/a"), Path::new("/db/b")).unwrap();
        assert!(!fs.exists(Path::new("/db/a")));
        assert_eq!(fs.contents(Path::new("/db/b")).unwrap(), b"new");
        fs.remove_file(Path::new("/db/b")).unwrap();
        assert!(!fs.exists(Path::new("/db/b")));
        assert_eq!(
            fs.remove_file(Path::new("/db/b")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert!(fs.rename(Path::new("/db/x"), Path::new("/db/y")).is_err());
    }

    #[test]
    fn list_dir_lists_direct_entries_only() {
        let fs = MemFs::new();
        fs.create_dir_all(Path::new("db/sub")).unwrap();
        drop(write(&fs, "db/1.log", b"", false));
        drop(write(&fs, "db/sub/2.sst", b"", false));
        let mut names = fs.list_dir(Path::new("db")).unwrap();
        names.sort();
        assert_eq!(names, ["1.log", "sub"]);
        assert_eq!(fs.list_dir(Path::new("")).unwrap(), ["db"]);
        assert!(fs.list_dir(Path::new("db/1.log")).is_err());
        assert!(fs.list_dir(Path::new("nope")).is_err());
    }

    #[test]
    fn lock_is_exclusive_until_dropped() {
        let fs = MemFs::new();
        let lock = fs.lock(Path::new("LOCK")).unwrap();
        let other = fs.clone();
        let err = other.lock(Path::new("./LOCK")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert!(err.to_string().contains("locked"), "{err}");
        drop(lock);
        let _again = other.lock(Path::new("LOCK")).unwrap();
    }

    #[test]
    fn a_crash_releases_locks_and_a_stale_guard_releases_nothing() {
        let fs = MemFs::new();
        let stale = fs.lock(Path::new("LOCK")).unwrap();
        fs.crash();
        let fresh = fs.lock(Path::new("LOCK")).unwrap();
        drop(stale);
        assert!(fs.lock(Path::new("LOCK")).is_err());
        drop(fresh);
    }

    #[test]
    fn unlinked_inodes_are_freed_when_the_last_handle_goes() {
        let fs = MemFs::new();
        let mut f = write(&fs, "a", b"data", true);
        fs.remove_file(Path::new("a")).unwrap();
        f.write_all(b" more").unwrap(); // still writable, like an unlinked fd
        assert_eq!(fs.state.lock().inodes.len(), 1);
        drop(f);
        assert_eq!(fs.state.lock().inodes.len(), 0);
    }
}
