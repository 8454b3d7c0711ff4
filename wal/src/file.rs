//! [`LogFile`]: the seam between the log writer and storage.
//!
//! The writer needs exactly two things from storage: append bytes
//! ([`std::io::Write`]) and make them durable ([`LogFile::sync_data`]).
//! Keeping the trait this narrow lets tests substitute in-memory and
//! fault-injecting files (see `tests/poisoned_writer.rs`) and lets the engine
//! later route all file access through its own file-system abstraction.

use std::fs::File;
use std::io::{self, Write};

/// Something a log appends to.
///
/// Contract the writer relies on:
/// 1. `write` appends at the end of the file (the writer never seeks).
/// 2. After `sync_data` returns `Ok`, every byte previously accepted by
///    `write` survives a crash or power loss.
/// 3. An error from either method may leave the file in any state; the
///    writer does not retry (it poisons itself instead).
pub trait LogFile: Write {
    /// Makes all written bytes durable (`fdatasync` for a real file).
    ///
    /// # Errors
    /// Any I/O error. The caller must assume the bytes written since the
    /// last successful sync may be lost, even if a retry would succeed.
    fn sync_data(&mut self) -> io::Result<()>;
}

impl LogFile for File {
    fn sync_data(&mut self) -> io::Result<()> {
        // fdatasync: the data and the file length, without unrelated metadata
        // such as mtime. The length matters because a log grows on every
        // append; fdatasync covers it because it is needed to read the data.
        File::sync_data(self)
    }
}

/// An in-memory log for tests and tools; syncing is a no-op because memory
/// has no durability to gain.
impl LogFile for Vec<u8> {
    fn sync_data(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Lets a writer borrow a file the caller keeps (benchmarks, tests that
/// inspect the bytes while the writer is alive).
impl<F: LogFile + ?Sized> LogFile for &mut F {
    fn sync_data(&mut self) -> io::Result<()> {
        (**self).sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom};

    #[test]
    fn vec_appends_and_sync_is_noop() {
        let mut v: Vec<u8> = Vec::new();
        v.write_all(b"abc").unwrap();
        v.sync_data().unwrap();
        assert_eq!(v, b"abc");
    }

    #[test]
    fn file_sync_data_works() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"hello").unwrap();
        LogFile::sync_data(&mut f).unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello");
    }

    #[test]
    fn mut_ref_forwards() {
        let mut v: Vec<u8> = Vec::new();
        {
            let mut r = &mut v;
            r.write_all(b"x").unwrap();
            LogFile::sync_data(&mut r).unwrap();
        }
        assert_eq!(v, b"x");
    }
}
