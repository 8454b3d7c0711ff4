//! Scenario: the file under a writer fails a write or an fsync. The failing
//! call returns the I/O error, every later call returns `Error::Poisoned`,
//! and the writer never touches the file again (no retry).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{self, Write};

use wal::{Error, LogFile, Writer};

/// Which call fails, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    /// `write` fails outright.
    Write,
    /// `write` accepts part of the buffer, then the next `write` fails: the
    /// file now ends with half a fragment.
    ShortWriteThenFail,
    /// `Write::flush` fails (a buffering file underneath).
    Flush,
    /// `sync_data` fails, like an fsync hitting EIO.
    Sync,
}

/// A fault-injecting file that records every call made to it.
#[derive(Debug)]
struct FaultyFile {
    fault: Fault,
    bytes: Vec<u8>,
    writes: usize,
    flushes: usize,
    syncs: usize,
}

impl FaultyFile {
    fn new(fault: Fault) -> Self {
        Self {
            fault,
            bytes: Vec::new(),
            writes: 0,
            flushes: 0,
            syncs: 0,
        }
    }

    fn calls(&self) -> (usize, usize, usize) {
        (self.writes, self.flushes, self.syncs)
    }
}

impl Write for FaultyFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes += 1;
        match self.fault {
            Fault::Write => Err(io::Error::other("injected write failure")),
            Fault::ShortWriteThenFail if self.writes == 1 => {
                let n = buf.len() / 2;
                self.bytes.extend_from_slice(&buf[..n]);
                Ok(n)
            }
            Fault::ShortWriteThenFail => Err(io::Error::from(io::ErrorKind::StorageFull)),
            _ => {
                self.bytes.extend_from_slice(buf);
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flushes += 1;
        if self.fault == Fault::Flush {
            return Err(io::Error::other("injected flush failure"));
        }
        Ok(())
    }
}

impl LogFile for FaultyFile {
    fn sync_data(&mut self) -> io::Result<()> {
        self.syncs += 1;
        if self.fault == Fault::Sync {
            return Err(io::Error::other("injected fsync failure"));
        }
        Ok(())
    }
}

/// After the first failure: every method is refused and the file sees no
/// further calls.
fn assert_poisoned(mut w: Writer<FaultyFile>) {
    assert!(w.is_poisoned());
    let calls = w.get_ref().calls();
    let len = w.len();
    assert!(matches!(w.add_record(b"after"), Err(Error::Poisoned)));
    assert!(matches!(w.flush(), Err(Error::Poisoned)));
    assert!(matches!(w.sync(), Err(Error::Poisoned)));
    assert!(matches!(w.add_record(b""), Err(Error::Poisoned)));
    assert_eq!(w.len(), len, "refused records are not framed");
    assert_eq!(w.get_ref().calls(), calls, "nothing retried");
    assert!(matches!(w.into_inner(), Err(Error::Poisoned)));
}

fn writer_with_a_record(fault: Fault) -> Writer<FaultyFile> {
    let mut w = Writer::new(FaultyFile::new(fault));
    w.add_record(b"a record that will not make it").unwrap();
    w
}

#[test]
fn failed_write_poisons_flush() {
    let mut w = writer_with_a_record(Fault::Write);
    let err = w.flush().unwrap_err();
    assert!(matches!(&err, Error::Io(e) if e.to_string() == "injected write failure"));
    assert_eq!(w.get_ref().calls(), (1, 0, 0));
    assert_poisoned(w);
}

#[test]
fn failed_write_poisons_sync_without_syncing() {
    let mut w = writer_with_a_record(Fault::Write);
    assert!(matches!(w.sync(), Err(Error::Io(_))));
    assert_eq!(
        w.get_ref().calls(),
        (1, 0, 0),
        "no fsync after a failed write"
    );
    assert_poisoned(w);
}

#[test]
fn partial_write_poisons() {
    let mut w = writer_with_a_record(Fault::ShortWriteThenFail);
    let err = w.flush().unwrap_err();
    assert!(matches!(&err, Error::Io(e) if e.kind() == io::ErrorKind::StorageFull));
    // write_all continued after the short write (that is progress, not a
    // retry) and stopped at the first error.
    assert_eq!(w.get_ref().calls(), (2, 0, 0));
    assert!(!w.get_ref().bytes.is_empty(), "half a fragment is on disk");
    assert_poisoned(w);
}

#[test]
fn failed_file_flush_poisons() {
    let mut w = writer_with_a_record(Fault::Flush);
    assert!(matches!(w.flush(), Err(Error::Io(_))));
    assert_eq!(w.get_ref().calls(), (1, 1, 0));
    assert_poisoned(w);
}

#[test]
fn failed_fsync_is_fatal() {
    let mut w = writer_with_a_record(Fault::Sync);
    let err = w.sync().unwrap_err();
    assert!(matches!(&err, Error::Io(e) if e.to_string() == "injected fsync failure"));
    assert_eq!(w.get_ref().calls(), (1, 1, 1));
    // The bytes did reach the file; that does not make them durable, and
    // the writer must not pretend a second fsync would.
    assert!(!w.get_ref().bytes.is_empty());
    assert_poisoned(w);
}

#[test]
fn healthy_file_is_not_poisoned() {
    let mut w = writer_with_a_record(Fault::None);
    w.sync().unwrap();
    w.add_record(b"more").unwrap();
    w.sync().unwrap();
    assert!(!w.is_poisoned());
    assert_eq!(w.get_ref().calls(), (2, 2, 2));
    let f = w.into_inner().unwrap();
    assert_eq!(f.bytes.len(), 7 + 30 + 7 + 4);
}
