//! The two file seams of a table: where a builder writes and where a reader reads.
//!
//! Reading goes through [`RandomAccessFile`], implemented by a memory map (the default), by
//! `pread`, and by an in-memory [`Bytes`] buffer for tests and fuzzing. Writing goes through
//! [`SyncWrite`], an `io::Write` that can also be made durable. An engine with its own
//! file-system abstraction implements these two traits for its file types.

use std::fmt::Debug;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use bytes::Bytes;

/// Immutable random-access bytes.
///
/// Contract: `read_at(offset, len)` returns exactly `len` bytes or an error; the contents never
/// change while the object is alive (tables are immutable once finished).
pub trait RandomAccessFile: Send + Sync + Debug {
    /// Total length in bytes.
    fn len(&self) -> u64;

    /// True if the file holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads `len` bytes at `offset`.
    ///
    /// # Errors
    /// `UnexpectedEof` if the range runs past the end; other I/O errors as they occur.
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Bytes>;
}

fn range_check(offset: u64, len: usize, file_len: u64) -> io::Result<(usize, usize)> {
    let end = offset
        .checked_add(len as u64)
        .filter(|end| *end <= file_len)
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past end of file"))?;
    Ok((offset as usize, end as usize))
}

impl RandomAccessFile for Bytes {
    fn len(&self) -> u64 {
        Bytes::len(self) as u64
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Bytes> {
        let (start, end) = range_check(offset, len, RandomAccessFile::len(self))?;
        Ok(self.slice(start..end))
    }
}

/// A table file mapped into memory. Reads are zero-copy slices of the mapping.
#[derive(Debug)]
pub struct MmapFile {
    map: Bytes,
}

impl MmapFile {
    /// Maps the whole of `path` read-only.
    ///
    /// # Errors
    /// Any error opening or mapping the file.
    pub fn open(path: &Path) -> io::Result<MmapFile> {
        let file = File::open(path)?;
        // SAFETY: memmap2 requires that the mapped file is not modified or truncated while the
        // mapping exists, or reads could observe changing bytes or fault. Strata never writes
        // to a table after its builder finished and synced it, and deletes tables only by
        // unlinking, which keeps the inode alive until the mapping is dropped. An outside
        // process truncating a live table is outside what we support (see FORMAT.md).
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(MmapFile {
            map: Bytes::from_owner(map),
        })
    }
}

impl RandomAccessFile for MmapFile {
    fn len(&self) -> u64 {
        self.map.len() as u64
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Bytes> {
        self.map.read_at(offset, len)
    }
}

/// A table file read with positioned reads, for file systems where mapping is unavailable.
#[derive(Debug)]
pub struct PreadFile {
    file: File,
    len: u64,
}

impl PreadFile {
    /// Opens `path` for positioned reads.
    ///
    /// # Errors
    /// Any error opening the file or reading its length.
    pub fn open(path: &Path) -> io::Result<PreadFile> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(PreadFile { file, len })
    }
}

impl RandomAccessFile for PreadFile {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, len: usize) -> io::Result<Bytes> {
        range_check(offset, len, self.len)?;
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, offset)?;
        Ok(Bytes::from(buf))
    }
}

/// Opens `path` with a memory map, or with `pread` when `use_mmap` is false or mapping fails.
///
/// # Errors
/// Any error opening the file.
pub fn open_file(path: &Path, use_mmap: bool) -> io::Result<Box<dyn RandomAccessFile>> {
    if use_mmap {
        if let Ok(file) = MmapFile::open(path) {
            return Ok(Box::new(file));
        }
    }
    Ok(Box::new(PreadFile::open(path)?))
}

/// A sink a table is written to: ordinary writes plus a way to make them durable.
pub trait SyncWrite: Write {
    /// Makes everything written so far durable (fdatasync for a file).
    ///
    /// # Errors
    /// The sync failed; per Strata's durability rule the caller must treat this as fatal and
    /// never retry (the kernel may already have dropped the dirty pages).
    fn sync_data(&mut self) -> io::Result<()>;
}

impl SyncWrite for File {
    fn sync_data(&mut self) -> io::Result<()> {
        File::sync_data(self)
    }
}

/// In-memory sink for tests; syncing is a no-op.
impl SyncWrite for Vec<u8> {
    fn sync_data(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_readers_agree_and_bounds_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello world").unwrap();
        let files: Vec<Box<dyn RandomAccessFile>> = vec![
            open_file(&path, true).unwrap(),
            open_file(&path, false).unwrap(),
            Box::new(Bytes::from_static(b"hello world")),
        ];
        for f in files {
            assert_eq!(f.len(), 11);
            assert_eq!(&f.read_at(6, 5).unwrap()[..], b"world");
            assert_eq!(
                f.read_at(6, 6).unwrap_err().kind(),
                io::ErrorKind::UnexpectedEof
            );
            assert!(f.read_at(u64::MAX, 2).is_err());
        }
    }
}
