//! [`StdFs`]: the [`FileSystem`] over the operating system's (`std::fs`).
//!
//! Nothing here buffers: the WAL writer and the table builder buffer their own output and the
//! WAL reader pulls whole 32 KiB blocks, so a buffer here would only copy bytes twice.
//!
//! Concurrency contract: `StdFs` holds no state; every call is a system call, and the OS
//! orders concurrent calls. Locks are `flock`-style (`File::try_lock`): held by an open file
//! description, so a second lock on the same file fails even within one process.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::Path;

use super::{FileLock, FileSystem, WritableFile};

/// The real file system.
///
/// Tables are read with `pread` by default, as RocksDB does: the kernel's page cache holds the
/// compressed blocks and the block cache the decoded ones. [`StdFs::with_mmap_reads`] maps
/// tables instead, which saves a system call per block-cache miss (a few percent on random
/// reads here) but counts every touched page of every table in the process's resident memory.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdFs {
    mmap_reads: bool,
}

impl StdFs {
    /// The real file system, reading tables with `pread`.
    pub fn new() -> StdFs {
        StdFs { mmap_reads: false }
    }

    /// The real file system, reading tables through memory maps.
    pub fn with_mmap_reads() -> StdFs {
        StdFs { mmap_reads: true }
    }
}

/// A file being written; `sync_data` is `fdatasync`.
#[derive(Debug)]
struct StdFile {
    file: File,
}

impl Write for StdFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.file.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl WritableFile for StdFile {
    fn sync_data(&mut self) -> io::Result<()> {
        // fdatasync covers the file's length, which grows with every append (see
        // `wal::LogFile for File`).
        self.file.sync_data()
    }
}

/// A held lock: the open LOCK file. Closing it (on drop) releases the lock.
#[derive(Debug)]
struct StdLock {
    _file: File,
}

impl FileLock for StdLock {}

impl FileSystem for StdFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        Ok(Box::new(StdFile {
            file: File::create(path)?,
        }))
    }

    fn open_random(&self, path: &Path) -> io::Result<Box<dyn sstable::RandomAccessFile>> {
        sstable::open_file(path, self.mmap_reads)
    }

    fn open_sequential(&self, path: &Path) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(File::open(path)?))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(path)
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        // A name that is not UTF-8 comes back lossily converted. The engine's own names are
        // ASCII, so such a name never matches one the engine would open or delete.
        fs::read_dir(path)?
            .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
            .collect()
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        // On Linux a directory opened read-only can be fsynced; that persists its entries.
        File::open(path)?.sync_all()
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn file_size(&self, path: &Path) -> io::Result<u64> {
        Ok(fs::metadata(path)?.len())
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Box::new(StdLock { _file: file })),
            Err(TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{}: database is locked by another process (or another open of it in this one)",
                    path.display()
                ),
            )),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_write_sync_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let fs = StdFs::new();
        let path = dir.path().join("a");
        let mut f = fs.create(&path).unwrap();
        f.write_all(b"hello world").unwrap();
        f.sync_data().unwrap();
        drop(f);
        assert_eq!(fs.file_size(&path).unwrap(), 11);
        for reader in [StdFs::new(), StdFs::with_mmap_reads()] {
            let r = reader.open_random(&path).unwrap();
            assert_eq!(&r.read_at(6, 5).unwrap()[..], b"world");
        }
        let mut s = String::new();
        fs.open_sequential(&path)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "hello world");
        assert!(fs.open_random(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn rename_replaces_remove_removes_and_list_dir_lists() {
        let dir = tempfile::tempdir().unwrap();
        let fs = StdFs::new();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs.create(&a).unwrap().write_all(b"new").unwrap();
        fs.create(&b).unwrap().write_all(b"old").unwrap();
        fs.create_dir_all(&dir.path().join("sub/deeper")).unwrap();
        fs.rename(&a, &b).unwrap();
        fs.sync_dir(dir.path()).unwrap();
        assert!(!fs.exists(&a));
        assert_eq!(fs::read(&b).unwrap(), b"new");
        let mut names = fs.list_dir(dir.path()).unwrap();
        names.sort();
        assert_eq!(names, ["b", "sub"]);
        fs.remove_file(&b).unwrap();
        assert!(!fs.exists(&b));
        assert!(fs.remove_file(&b).is_err());
    }

    #[test]
    fn a_second_lock_fails_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let fs = StdFs::new();
        let path = dir.path().join("LOCK");
        let lock = fs.lock(&path).unwrap();
        let err = fs.lock(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert!(err.to_string().contains("database is locked"), "{err}");
        drop(lock);
        let _again = fs.lock(&path).unwrap();
    }
}
