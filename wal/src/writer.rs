//! [`Writer`]: frames records into fragments and appends them to a
//! [`LogFile`].
//!
//! Concurrency contract: a `Writer` is not internally synchronized. The
//! engine serializes access (one writer thread, or a mutex around the
//! writer); group commit is done by the caller: many `add_record`s, then one
//! [`Writer::sync`] whose success acknowledges all of them.
//!
//! Durability contract: `add_record` only buffers; `flush` hands the buffered
//! bytes to the OS; only `sync` makes them survive a power loss. Buffered
//! bytes are dropped with the writer (there is no flush on drop, because a
//! drop cannot report the error).

use std::fmt;

use crate::error::{Error, Result};
use crate::file::LogFile;
use crate::format::{self, FragmentType, BLOCK_SIZE, HEADER_SIZE, TRAILER_ZEROS};

/// After a flush, a buffer larger than this is shrunk back, so one huge
/// record does not pin its size in memory for the life of the log.
const RETAINED_BUFFER_CAPACITY: usize = 4 * BLOCK_SIZE;

/// Appends records to a log.
///
/// Invariants:
/// 1. `block_offset == len % BLOCK_SIZE`, except that it may equal
///    `BLOCK_SIZE` right after a fragment filled a block exactly (the next
///    `add_record` starts a new block).
/// 2. `len == bytes accepted by the file + buf.len()`; the bytes in `buf`
///    always end on a fragment or padding boundary.
/// 3. Once `poisoned` is set it is never cleared; every fallible method
///    checks it first.
pub struct Writer<F: LogFile> {
    file: F,
    /// Framed bytes not yet handed to `file`. Our own buffer (rather than a
    /// `BufWriter`) so a flush is exactly one `write_all` of whole fragments
    /// and a failed flush is detectable as such.
    buf: Vec<u8>,
    /// Position inside the current block, deciding fragment sizes and
    /// padding.
    block_offset: usize,
    /// Logical length of the log: what the file will hold after a flush.
    len: u64,
    /// Set when a write or sync failed; see [`Error::Poisoned`].
    poisoned: bool,
}

impl<F: LogFile> Writer<F> {
    /// A writer for a new, empty log.
    pub fn new(file: F) -> Self {
        Self::append_to(file, 0)
    }

    /// A writer that continues an existing log of `existing_len` bytes.
    ///
    /// REQUIRES: `file` appends after those bytes, and the log's intact
    /// prefix is exactly `existing_len` bytes long (after point-in-time
    /// recovery, truncate the file to
    /// [`Reader::last_record_end`](crate::Reader::last_record_end) first).
    /// A length that is not on a record boundary is not detected here; the
    /// reader would report the damage later.
    pub fn append_to(file: F, existing_len: u64) -> Self {
        // The remainder is < BLOCK_SIZE, so the conversion cannot fail.
        let block_offset = usize::try_from(existing_len % BLOCK_SIZE as u64).unwrap_or(0);
        Self {
            file,
            buf: Vec::new(),
            block_offset,
            len: existing_len,
            poisoned: false,
        }
    }

    /// Frames `data` as one record and buffers it; returns the file offset of
    /// the record's first fragment header (after any block padding), which
    /// is the offset [`Reader::read_record`](crate::Reader::read_record)
    /// reports for it.
    ///
    /// The record is not written to the OS until [`flush`](Self::flush) or
    /// [`sync`](Self::sync).
    ///
    /// # Errors
    /// [`Error::Poisoned`] if an earlier write or sync failed.
    pub fn add_record(&mut self, data: &[u8]) -> Result<u64> {
        self.check_poisoned()?;
        let mut rest = data;
        let mut first = true;
        let mut start = self.len;
        loop {
            let leftover = BLOCK_SIZE - self.block_offset;
            if leftover < HEADER_SIZE {
                // Too small for a header: pad with zeros, which the reader
                // skips without interpreting.
                self.push(&TRAILER_ZEROS[..leftover]);
                self.block_offset = 0;
            }
            if first {
                start = self.len;
            }
            // May be 0 when exactly HEADER_SIZE bytes were left: then we
            // emit an empty FIRST (or an empty FULL for an empty record).
            let room = BLOCK_SIZE - self.block_offset - HEADER_SIZE;
            let (chunk, tail) = rest.split_at(rest.len().min(room));
            let last = tail.is_empty();
            let kind = match (first, last) {
                (true, true) => FragmentType::Full,
                (true, false) => FragmentType::First,
                (false, false) => FragmentType::Middle,
                (false, true) => FragmentType::Last,
            };
            let before = self.buf.len();
            format::encode_fragment(&mut self.buf, kind, chunk);
            let written = self.buf.len() - before;
            self.block_offset += written;
            self.len += written as u64;
            rest = tail;
            first = false;
            if last {
                return Ok(start);
            }
        }
    }

    /// Hands all buffered bytes to the OS (one `write_all`), without
    /// syncing. After `Ok`, the bytes survive a process crash but not a power
    /// loss.
    ///
    /// # Errors
    /// [`Error::Io`] if the write fails (the writer is then poisoned: part of
    /// the buffer may have reached the file), [`Error::Poisoned`] if an
    /// earlier call failed.
    pub fn flush(&mut self) -> Result<()> {
        self.check_poisoned()?;
        let result = if self.buf.is_empty() {
            self.file.flush()
        } else {
            self.file
                .write_all(&self.buf)
                .and_then(|()| self.file.flush())
        };
        if let Err(e) = result {
            self.poisoned = true;
            return Err(Error::Io(e));
        }
        self.buf.clear();
        if self.buf.capacity() > RETAINED_BUFFER_CAPACITY {
            self.buf.shrink_to(RETAINED_BUFFER_CAPACITY);
        }
        Ok(())
    }

    /// Flushes, then makes everything written so far durable
    /// ([`LogFile::sync_data`]). After `Ok`, every record added before the
    /// call survives a power loss.
    ///
    /// # Errors
    /// [`Error::Io`] if the write or the sync fails; the writer is then
    /// poisoned and the error must be treated as fatal for this log (after a
    /// failed fsync the kernel may have dropped the dirty pages, so a retry
    /// that succeeds proves nothing). [`Error::Poisoned`] if an earlier call
    /// failed.
    pub fn sync(&mut self) -> Result<()> {
        self.flush()?;
        if let Err(e) = self.file.sync_data() {
            self.poisoned = true;
            return Err(Error::Io(e));
        }
        Ok(())
    }

    /// Logical length of the log in bytes, including buffered bytes: the
    /// offset the next record would start at (before any block padding).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True if the log holds no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True if an earlier write or sync failed; see [`Error::Poisoned`].
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// The underlying file. Buffered bytes are not in it yet.
    pub fn get_ref(&self) -> &F {
        &self.file
    }

    /// Flushes (without syncing) and returns the file.
    ///
    /// # Errors
    /// As [`flush`](Self::flush); the file is dropped on error.
    pub fn into_inner(mut self) -> Result<F> {
        self.flush()?;
        Ok(self.file)
    }

    fn check_poisoned(&self) -> Result<()> {
        if self.poisoned {
            Err(Error::Poisoned)
        } else {
            Ok(())
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.len += bytes.len() as u64;
    }
}

impl<F: LogFile> fmt::Debug for Writer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("len", &self.len)
            .field("block_offset", &self.block_offset)
            .field("buffered", &self.buf.len())
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{self, Write};

    /// Counts write calls so tests can see the buffering.
    #[derive(Default)]
    struct CountingFile {
        bytes: Vec<u8>,
        writes: usize,
        syncs: usize,
    }

    impl Write for CountingFile {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.writes += 1;
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl LogFile for CountingFile {
        fn sync_data(&mut self) -> io::Result<()> {
            self.syncs += 1;
            Ok(())
        }
    }

    fn header(bytes: &[u8], at: usize) -> (u16, u8) {
        (
            u16::from_le_bytes([bytes[at + 4], bytes[at + 5]]),
            bytes[at + 6],
        )
    }

    #[test]
    fn small_records_are_buffered_until_flush() {
        let mut w = Writer::new(CountingFile::default());
        assert!(w.is_empty());
        for i in 0..100u8 {
            w.add_record(&[i; 10]).unwrap();
        }
        assert_eq!(w.get_ref().writes, 0);
        assert_eq!(w.len(), 100 * 17);
        w.flush().unwrap();
        assert_eq!(w.get_ref().writes, 1);
        assert_eq!(w.get_ref().syncs, 0);
        w.sync().unwrap();
        assert_eq!(w.get_ref().writes, 1, "nothing left to write");
        assert_eq!(w.get_ref().syncs, 1);
        let f = w.into_inner().unwrap();
        assert_eq!(f.bytes.len(), 1700);
    }

    #[test]
    fn offsets_and_fragment_types() {
        let mut w = Writer::new(Vec::new());
        assert_eq!(w.add_record(b"").unwrap(), 0);
        assert_eq!(w.add_record(b"hello").unwrap(), 7);
        // Spans block 0 (FIRST), block 1 (MIDDLE), block 2 (LAST).
        let big = vec![0xab; 2 * BLOCK_SIZE];
        assert_eq!(w.add_record(&big).unwrap(), 19);
        let end = w.len();
        let bytes = w.into_inner().unwrap();
        assert_eq!(bytes.len() as u64, end);
        assert_eq!(header(&bytes, 0), (0, 1));
        assert_eq!(header(&bytes, 7), (5, 1));
        assert_eq!(header(&bytes, 19), ((BLOCK_SIZE - 19 - 7) as u16, 2));
        assert_eq!(header(&bytes, BLOCK_SIZE), ((BLOCK_SIZE - 7) as u16, 3));
        let last_len = 2 * BLOCK_SIZE - (BLOCK_SIZE - 26) - (BLOCK_SIZE - 7);
        assert_eq!(header(&bytes, 2 * BLOCK_SIZE), (last_len as u16, 4));
        assert_eq!(end as usize, 2 * BLOCK_SIZE + 7 + last_len);
    }

    #[test]
    fn format_md_example_layout() {
        // The worked example in FORMAT.md; keep the two in sync.
        let mut w = Writer::new(Vec::new());
        assert_eq!(w.add_record(b"a").unwrap(), 0);
        assert_eq!(w.add_record(b"").unwrap(), 8);
        assert_eq!(w.add_record(&vec![3; 70_000]).unwrap(), 15);
        assert_eq!(w.len(), 70_036);
        let bytes = w.into_inner().unwrap();
        assert_eq!(header(&bytes, 15), (32746, 2));
        assert_eq!(header(&bytes, 32768), (32761, 3));
        assert_eq!(header(&bytes, 65536), (4493, 4));
    }

    #[test]
    fn short_block_tail_is_zero_padded() {
        let mut w = Writer::new(Vec::new());
        // Leaves 3 bytes in block 0: too few for a header.
        w.add_record(&vec![1; BLOCK_SIZE - 7 - 3]).unwrap();
        assert_eq!(w.len() as usize, BLOCK_SIZE - 3);
        assert_eq!(w.add_record(b"x").unwrap() as usize, BLOCK_SIZE);
        let bytes = w.into_inner().unwrap();
        assert_eq!(&bytes[BLOCK_SIZE - 3..BLOCK_SIZE], &[0, 0, 0]);
        assert_eq!(header(&bytes, BLOCK_SIZE), (1, 1));
    }

    #[test]
    fn exactly_header_size_left_gives_empty_first() {
        let mut w = Writer::new(Vec::new());
        w.add_record(&vec![1; BLOCK_SIZE - 14]).unwrap();
        assert_eq!(w.len() as usize, BLOCK_SIZE - 7);
        let start = w.add_record(b"spills over").unwrap();
        assert_eq!(start as usize, BLOCK_SIZE - 7);
        let bytes = w.into_inner().unwrap();
        assert_eq!(header(&bytes, BLOCK_SIZE - 7), (0, 2));
        assert_eq!(header(&bytes, BLOCK_SIZE), (11, 4));
    }

    #[test]
    fn block_filled_exactly_then_next_record() {
        let mut w = Writer::new(Vec::new());
        w.add_record(&vec![1; BLOCK_SIZE - 7]).unwrap();
        assert_eq!(w.len() as usize, BLOCK_SIZE);
        assert_eq!(w.add_record(b"").unwrap() as usize, BLOCK_SIZE);
        assert_eq!(w.len() as usize, BLOCK_SIZE + 7);
    }

    #[test]
    fn append_to_continues_block_position() {
        let mut w = Writer::new(Vec::new());
        w.add_record(&vec![1; BLOCK_SIZE - 7 - 3]).unwrap();
        let bytes = w.into_inner().unwrap();
        let len = bytes.len() as u64;
        let mut w = Writer::append_to(bytes, len);
        assert_eq!(w.len(), len);
        // Padding still applies: the writer knows it is 3 bytes from the end.
        assert_eq!(w.add_record(b"y").unwrap() as usize, BLOCK_SIZE);
        assert_eq!(w.len() as usize, BLOCK_SIZE + 8);
    }

    #[test]
    fn huge_buffer_is_released_after_flush() {
        let mut w = Writer::new(Vec::new());
        w.add_record(&vec![0; 64 * BLOCK_SIZE]).unwrap();
        w.flush().unwrap();
        assert!(w.buf.capacity() <= RETAINED_BUFFER_CAPACITY);
    }
}
