//! [`Reader`]: reassembles records from fragments and applies the recovery
//! mode. It only returns records; replaying them (into a memtable, into a
//! version set) is the engine's job.
//!
//! Concurrency contract: a `Reader` is a plain single-threaded cursor over
//! its source.

use std::fmt;
use std::io::Read;
use std::iter::FusedIterator;

use crate::error::{Corruption, CorruptionReason, Error, Result};
use crate::format::{FragmentType, HEADER_SIZE};
use crate::fragment::{Fragment, FragmentReader};

/// What the reader does when the log is damaged or incomplete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoveryMode {
    /// Return the longest intact prefix of records, then stop cleanly
    /// (`Ok(None)`) at the first damage and report it through
    /// [`Reader::stopped_at`]. Never skips damage to return later records,
    /// so recovery cannot leave a hole. The mode for a WAL after a crash,
    /// where a torn tail is expected.
    PointInTime,
    /// Any damage, including an incomplete final record, is an
    /// [`Error::Corruption`]. The mode for logs that were closed cleanly
    /// (a manifest that is not the current one, a WAL being verified).
    Absolute,
}

/// Reads records back from a log.
///
/// After `read_record` returns `Ok(None)` or an error, the reader is
/// finished: later calls return `Ok(None)` (check [`stopped_at`] to tell a
/// clean end from damage).
///
/// [`stopped_at`]: Reader::stopped_at
pub struct Reader<R: Read> {
    fragments: FragmentReader<R>,
    /// Name used in [`Corruption`] reports.
    file: String,
    mode: RecoveryMode,
    /// End offset of the last record returned: the intact prefix's length.
    last_record_end: u64,
    /// Why reading stopped, if it stopped on damage.
    stopped: Option<Corruption>,
    /// Set once the reader has returned its last record, damage or error.
    finished: bool,
}

impl<R: Read> Reader<R> {
    /// A reader over `source`, which must be positioned at the log's first
    /// byte. `file` names the log in corruption reports.
    pub fn new(source: R, file: impl Into<String>, mode: RecoveryMode) -> Self {
        Self {
            fragments: FragmentReader::new(source),
            file: file.into(),
            mode,
            last_record_end: 0,
            stopped: None,
            finished: false,
        }
    }

    /// Reads the next whole record into `buf` (cleared first) and returns the
    /// file offset where it starts, or `None` at the end of the log (or, in
    /// [`RecoveryMode::PointInTime`], at the first damage).
    ///
    /// `buf` grows only by payload bytes actually read, so a corrupt length
    /// field cannot cause a large allocation. On `None` or error `buf` is
    /// left empty: a partial record is never exposed.
    ///
    /// # Errors
    /// [`Error::Io`] if the source fails; [`Error::Corruption`] on damage in
    /// [`RecoveryMode::Absolute`].
    pub fn read_record(&mut self, buf: &mut Vec<u8>) -> Result<Option<u64>> {
        buf.clear();
        if self.finished {
            return Ok(None);
        }
        // Start offset of the multi-fragment record being assembled.
        let mut open: Option<u64> = None;
        loop {
            let fragment = match self.fragments.next_fragment() {
                Ok(f) => f,
                Err(e) => {
                    buf.clear();
                    self.finished = true;
                    return Err(Error::Io(e));
                }
            };
            let (kind, offset, payload) = match fragment {
                Fragment::Valid {
                    kind,
                    offset,
                    payload,
                } => (kind, offset, payload),
                Fragment::Damaged { offset, reason } => return self.damaged(buf, offset, reason),
                Fragment::End => {
                    return match open {
                        None => {
                            self.finished = true;
                            Ok(None)
                        }
                        Some(record_start) => {
                            let end = self.fragments.end_offset();
                            self.damaged(
                                buf,
                                end,
                                CorruptionReason::TruncatedRecord { record_start },
                            )
                        }
                    };
                }
            };
            let fragment_end = offset + (HEADER_SIZE + payload.len()) as u64;
            match (kind, open) {
                (FragmentType::Full, None) => {
                    buf.extend_from_slice(&self.fragments.block()[payload]);
                    self.last_record_end = fragment_end;
                    return Ok(Some(offset));
                }
                (FragmentType::First, None) => {
                    buf.extend_from_slice(&self.fragments.block()[payload]);
                    open = Some(offset);
                }
                (FragmentType::Middle, Some(_)) => {
                    buf.extend_from_slice(&self.fragments.block()[payload]);
                }
                (FragmentType::Last, Some(start)) => {
                    buf.extend_from_slice(&self.fragments.block()[payload]);
                    self.last_record_end = fragment_end;
                    return Ok(Some(start));
                }
                (FragmentType::Middle | FragmentType::Last, None) => {
                    return self.damaged(buf, offset, CorruptionReason::OrphanFragment(kind));
                }
                (FragmentType::Full | FragmentType::First, Some(record_start)) => {
                    let reason = CorruptionReason::UnterminatedRecord {
                        record_start,
                        found: kind,
                    };
                    return self.damaged(buf, offset, reason);
                }
            }
        }
    }

    /// Why reading stopped early: the damage that ended a
    /// [`RecoveryMode::PointInTime`] read (also set after an
    /// [`RecoveryMode::Absolute`] read returned it as an error). `None`
    /// while reading, and when the log ended cleanly.
    pub fn stopped_at(&self) -> Option<&Corruption> {
        self.stopped.as_ref()
    }

    /// File offset just past the last record returned (0 before the first).
    ///
    /// After a point-in-time read stops on damage, `[0, last_record_end())`
    /// is the log's intact prefix: truncating the file to this length and
    /// continuing with [`Writer::append_to`](crate::Writer::append_to) gives a
    /// clean log. (This can be before [`Corruption::offset`]: when the
    /// damage is in a later fragment of a multi-fragment record, the whole
    /// record is dropped.)
    pub fn last_record_end(&self) -> u64 {
        self.last_record_end
    }

    /// The recovery mode this reader was created with.
    pub fn mode(&self) -> RecoveryMode {
        self.mode
    }

    fn damaged(
        &mut self,
        buf: &mut Vec<u8>,
        offset: u64,
        reason: CorruptionReason,
    ) -> Result<Option<u64>> {
        buf.clear();
        self.finished = true;
        let corruption = Corruption {
            file: self.file.clone(),
            offset,
            reason,
        };
        self.stopped = Some(corruption.clone());
        match self.mode {
            RecoveryMode::PointInTime => Ok(None),
            RecoveryMode::Absolute => Err(Error::Corruption(corruption)),
        }
    }
}

/// Yields `(start offset, record)`; stops after the end, the first damage
/// (point-in-time) or the first error.
impl<R: Read> Iterator for Reader<R> {
    type Item = Result<(u64, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = Vec::new();
        match self.read_record(&mut buf) {
            Ok(Some(offset)) => Some(Ok((offset, buf))),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

impl<R: Read> FusedIterator for Reader<R> {}

impl<R: Read> fmt::Debug for Reader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("file", &self.file)
            .field("mode", &self.mode)
            .field("last_record_end", &self.last_record_end)
            .field("stopped", &self.stopped)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{encode_fragment, BLOCK_SIZE};
    use crate::Writer;

    fn log_of(records: &[&[u8]]) -> (Vec<u8>, Vec<u64>) {
        let mut w = Writer::new(Vec::new());
        let offsets = records.iter().map(|r| w.add_record(r).unwrap()).collect();
        (w.into_inner().unwrap(), offsets)
    }

    fn read(bytes: &[u8], mode: RecoveryMode) -> (Vec<(u64, Vec<u8>)>, Option<Error>) {
        let mut r = Reader::new(bytes, "test.log", mode);
        let mut out = Vec::new();
        for item in &mut r {
            match item {
                Ok(rec) => out.push(rec),
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }

    fn stop_reason(bytes: &[u8]) -> Option<Corruption> {
        let mut r = Reader::new(bytes, "test.log", RecoveryMode::PointInTime);
        let mut buf = Vec::new();
        while r.read_record(&mut buf).unwrap().is_some() {}
        r.stopped_at().cloned()
    }

    #[test]
    fn roundtrip_with_offsets() {
        let big = vec![7u8; 3 * BLOCK_SIZE];
        let records: Vec<&[u8]> = vec![b"a", b"", &big, b"tail"];
        let (bytes, offsets) = log_of(&records);
        for mode in [RecoveryMode::PointInTime, RecoveryMode::Absolute] {
            let (got, err) = read(&bytes, mode);
            assert!(err.is_none());
            let expected: Vec<(u64, Vec<u8>)> = offsets
                .iter()
                .zip(&records)
                .map(|(&o, r)| (o, r.to_vec()))
                .collect();
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn finished_reader_stays_finished() {
        let (bytes, _) = log_of(&[b"x"]);
        let mut r = Reader::new(&bytes[..], "f", RecoveryMode::Absolute);
        let mut buf = Vec::new();
        assert_eq!(r.read_record(&mut buf).unwrap(), Some(0));
        assert_eq!(r.read_record(&mut buf).unwrap(), None);
        assert_eq!(r.read_record(&mut buf).unwrap(), None);
        assert!(r.stopped_at().is_none());
        assert_eq!(r.last_record_end(), 8);
    }

    #[test]
    fn orphan_middle_and_last() {
        for kind in [FragmentType::Middle, FragmentType::Last] {
            let (mut bytes, _) = log_of(&[b"ok"]);
            encode_fragment(&mut bytes, kind, b"orphan");
            let c = stop_reason(&bytes).unwrap();
            assert_eq!(c.offset, 9);
            assert_eq!(c.reason, CorruptionReason::OrphanFragment(kind));
            let (got, err) = read(&bytes, RecoveryMode::Absolute);
            assert_eq!(got.len(), 1);
            assert!(matches!(err, Some(Error::Corruption(_))));
        }
    }

    #[test]
    fn full_or_first_inside_open_record() {
        for kind in [FragmentType::Full, FragmentType::First] {
            let mut bytes = Vec::new();
            encode_fragment(&mut bytes, FragmentType::First, b"begin");
            encode_fragment(&mut bytes, kind, b"again");
            let c = stop_reason(&bytes).unwrap();
            assert_eq!(c.offset, 12);
            assert_eq!(
                c.reason,
                CorruptionReason::UnterminatedRecord {
                    record_start: 0,
                    found: kind
                }
            );
        }
    }

    #[test]
    fn record_cut_at_block_boundary() {
        let big = vec![1u8; BLOCK_SIZE];
        let (bytes, _) = log_of(&[b"first", &big]);
        let cut = &bytes[..BLOCK_SIZE];
        let c = stop_reason(cut).unwrap();
        assert_eq!(c.offset, BLOCK_SIZE as u64);
        assert_eq!(
            c.reason,
            CorruptionReason::TruncatedRecord { record_start: 12 }
        );
        let mut r = Reader::new(cut, "f", RecoveryMode::PointInTime);
        let mut buf = Vec::new();
        assert_eq!(r.read_record(&mut buf).unwrap(), Some(0));
        assert_eq!(r.read_record(&mut buf).unwrap(), None);
        assert!(buf.is_empty(), "no partial record is exposed");
        assert_eq!(r.last_record_end(), 12);
    }

    #[test]
    fn absolute_error_is_remembered() {
        let (mut bytes, _) = log_of(&[b"ok"]);
        bytes.extend_from_slice(&[0; 20]);
        let mut r = Reader::new(&bytes[..], "000012.log", RecoveryMode::Absolute);
        let mut buf = Vec::new();
        assert_eq!(r.read_record(&mut buf).unwrap(), Some(0));
        let err = r.read_record(&mut buf).unwrap_err();
        assert_eq!(
            err.to_string(),
            "wal 000012.log: corruption at offset 9: zero-filled region (preallocated or never written)"
        );
        assert_eq!(r.stopped_at().map(|c| c.offset), Some(9));
        assert_eq!(r.read_record(&mut buf).unwrap(), None);
        assert_eq!(r.mode(), RecoveryMode::Absolute);
    }

    #[test]
    fn corrupt_length_does_not_allocate() {
        // A record whose FIRST claims a huge record cannot make the reader
        // reserve more than the bytes it has actually read.
        let mut bytes = Vec::new();
        encode_fragment(&mut bytes, FragmentType::First, b"abc");
        let mut r = Reader::new(&bytes[..], "f", RecoveryMode::PointInTime);
        let mut buf = Vec::new();
        assert_eq!(r.read_record(&mut buf).unwrap(), None);
        assert!(buf.capacity() < BLOCK_SIZE);
    }
}
