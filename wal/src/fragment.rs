//! The physical layer of reading: pulls 32 KiB blocks from a
//! [`std::io::Read`] and splits them into validated fragments. Knows nothing
//! of records or recovery modes; [`crate::reader`] assembles fragments into
//! records and decides what damage means.
//!
//! Memory bound: one block buffer, allocated once. A fragment's payload is a
//! range inside that buffer, and its length is checked against the block
//! before use, so no length field can make the reader allocate.

use std::io::{self, Read};
use std::ops::Range;

use crate::error::CorruptionReason;
use crate::format::{self, FragmentType, RawHeader, BLOCK_SIZE, HEADER_SIZE};

/// What the next fragment-sized piece of the log turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fragment {
    /// A fragment whose checksum and type are valid.
    Valid {
        kind: FragmentType,
        /// File offset of the fragment header.
        offset: u64,
        /// The payload, as a range of [`FragmentReader::block`].
        payload: Range<usize>,
    },
    /// Damage at `offset`. The reader does not advance past it.
    Damaged {
        offset: u64,
        reason: CorruptionReason,
    },
    /// The log ended cleanly at a fragment or block-padding boundary.
    End,
}

/// Splits a byte stream into fragments.
///
/// Invariants:
/// 1. `block[..block_len]` holds the file bytes at
///    `[block_start, block_start + block_len)`, and `block_start` is a
///    multiple of `BLOCK_SIZE`.
/// 2. `block_len < BLOCK_SIZE` implies `eof` (a block is read until full
///    or end of file), except before the first read when `block_len == 0`.
/// 3. `pos <= block_len`; `block[..pos]` has been consumed.
pub(crate) struct FragmentReader<R> {
    source: R,
    block: Box<[u8]>,
    block_len: usize,
    block_start: u64,
    pos: usize,
    eof: bool,
}

impl<R: Read> FragmentReader<R> {
    pub(crate) fn new(source: R) -> Self {
        Self {
            source,
            block: vec![0; BLOCK_SIZE].into_boxed_slice(),
            block_len: 0,
            block_start: 0,
            pos: 0,
            eof: false,
        }
    }

    /// The bytes of the current block; payload ranges index into it.
    pub(crate) fn block(&self) -> &[u8] {
        &self.block[..self.block_len]
    }

    /// File offset just past the bytes read so far: the end of the file
    /// once [`Fragment::End`] was returned.
    pub(crate) fn end_offset(&self) -> u64 {
        self.block_start + self.block_len as u64
    }

    /// Reads and validates the next fragment.
    ///
    /// # Errors
    /// Only I/O errors from the source; damage is a [`Fragment::Damaged`].
    pub(crate) fn next_fragment(&mut self) -> io::Result<Fragment> {
        loop {
            if self.pos + HEADER_SIZE <= self.block_len {
                return Ok(self.parse_at_pos());
            }
            // Fewer than HEADER_SIZE bytes left in what we hold.
            if !self.eof {
                // Invariant 2: the block is full (or nothing was read yet), so
                // what is left is the writer's zero padding, which is skipped
                // without inspection: it carries no data, and checking it
                // would turn harmless bit rot there into lost records.
                self.load_next_block()?;
                continue;
            }
            let offset = self.block_start + self.pos as u64;
            let tail = &self.block[self.pos..self.block_len];
            if tail.is_empty() || self.pos + HEADER_SIZE > BLOCK_SIZE {
                // Clean end, or the file ends inside a block's padding (a
                // log cut there is still whole: append_to re-pads).
                return Ok(Fragment::End);
            }
            // A header could have started here, and the file ends first.
            let reason = if tail.iter().all(|&b| b == 0) {
                CorruptionReason::ZeroFilled
            } else {
                CorruptionReason::TruncatedFragment {
                    expected: HEADER_SIZE,
                    available: tail.len(),
                }
            };
            return Ok(Fragment::Damaged { offset, reason });
        }
    }

    /// REQUIRES: `pos + HEADER_SIZE <= block_len`.
    fn parse_at_pos(&mut self) -> Fragment {
        let offset = self.block_start + self.pos as u64;
        let mut header = [0u8; HEADER_SIZE];
        header.copy_from_slice(&self.block[self.pos..self.pos + HEADER_SIZE]);
        let raw = RawHeader::decode(&header);
        let damaged = |reason| Fragment::Damaged { offset, reason };
        if raw.is_zero() {
            return damaged(CorruptionReason::ZeroFilled);
        }
        let payload_start = self.pos + HEADER_SIZE;
        let payload_end = payload_start + usize::from(raw.length);
        if payload_end > BLOCK_SIZE {
            return damaged(CorruptionReason::BadLength {
                length: raw.length,
                available: BLOCK_SIZE - payload_start,
            });
        }
        if payload_end > self.block_len {
            // Invariant 2: only the last block is short, so the file ends
            // inside this fragment.
            return damaged(CorruptionReason::TruncatedFragment {
                expected: HEADER_SIZE + usize::from(raw.length),
                available: self.block_len - self.pos,
            });
        }
        let payload = payload_start..payload_end;
        let actual = format::checksum(raw.type_byte, &self.block[payload.clone()]);
        if actual != raw.checksum {
            return damaged(CorruptionReason::ChecksumMismatch {
                expected: raw.checksum,
                actual,
            });
        }
        let Some(kind) = FragmentType::from_u8(raw.type_byte) else {
            return damaged(CorruptionReason::UnknownType(raw.type_byte));
        };
        self.pos = payload_end;
        Fragment::Valid {
            kind,
            offset,
            payload,
        }
    }

    /// Replaces the current block with the next one, reading until the block
    /// is full or the source reports end of file: `Read` may return short
    /// counts anywhere, so a short read alone does not mean the end.
    fn load_next_block(&mut self) -> io::Result<()> {
        self.block_start += self.block_len as u64;
        self.block_len = 0;
        self.pos = 0;
        while self.block_len < BLOCK_SIZE {
            match self.source.read(&mut self.block[self.block_len..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.block_len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::encode_fragment;

    fn read_all(bytes: &[u8]) -> Vec<Fragment> {
        let mut r = FragmentReader::new(bytes);
        let mut out = Vec::new();
        loop {
            let f = r.next_fragment().unwrap();
            let stop = !matches!(f, Fragment::Valid { .. });
            out.push(f);
            if stop {
                return out;
            }
        }
    }

    #[test]
    fn empty_input_is_end() {
        assert_eq!(read_all(&[]), vec![Fragment::End]);
    }

    #[test]
    fn valid_fragments_then_end() {
        let mut log = Vec::new();
        encode_fragment(&mut log, FragmentType::Full, b"abc");
        encode_fragment(&mut log, FragmentType::Full, b"");
        let frags = read_all(&log);
        assert_eq!(
            frags,
            vec![
                Fragment::Valid {
                    kind: FragmentType::Full,
                    offset: 0,
                    payload: 7..10
                },
                Fragment::Valid {
                    kind: FragmentType::Full,
                    offset: 10,
                    payload: 17..17
                },
                Fragment::End
            ]
        );
    }

    #[test]
    fn zero_header_is_zero_filled() {
        let mut log = Vec::new();
        encode_fragment(&mut log, FragmentType::Full, b"abc");
        log.extend_from_slice(&[0; 100]);
        let frags = read_all(&log);
        assert_eq!(
            frags.last(),
            Some(&Fragment::Damaged {
                offset: 10,
                reason: CorruptionReason::ZeroFilled
            })
        );
    }

    #[test]
    fn impossible_length_is_bad_length() {
        let mut log = Vec::new();
        encode_fragment(&mut log, FragmentType::Full, b"abc");
        log[4..6].copy_from_slice(&u16::MAX.to_le_bytes());
        log.resize(BLOCK_SIZE, 0);
        assert_eq!(
            read_all(&log),
            vec![Fragment::Damaged {
                offset: 0,
                reason: CorruptionReason::BadLength {
                    length: u16::MAX,
                    available: BLOCK_SIZE - 7
                }
            }]
        );
    }

    #[test]
    fn length_one_past_the_block_is_bad_length() {
        // A fragment at block offset 100 may carry at most BLOCK_SIZE - 107
        // bytes; one more is impossible (BadLength), not merely truncated.
        let available = BLOCK_SIZE - 107;
        let with_length = |length: usize| {
            let mut log = Vec::new();
            encode_fragment(&mut log, FragmentType::Full, &[5; 93]);
            encode_fragment(&mut log, FragmentType::Full, b"");
            log[104..106].copy_from_slice(&(length as u16).to_le_bytes());
            log.resize(BLOCK_SIZE, 0);
            read_all(&log).pop()
        };
        assert!(matches!(
            with_length(available),
            Some(Fragment::Damaged {
                offset: 100,
                reason: CorruptionReason::ChecksumMismatch { .. },
            })
        ));
        assert_eq!(
            with_length(available + 1),
            Some(Fragment::Damaged {
                offset: 100,
                reason: CorruptionReason::BadLength {
                    length: available as u16 + 1,
                    available
                }
            })
        );
    }

    #[test]
    fn unknown_type_with_valid_checksum() {
        let mut log = Vec::new();
        encode_fragment(&mut log, FragmentType::Full, b"abc");
        log[6] = 9;
        let crc = format::checksum(9, b"abc");
        log[..4].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            read_all(&log),
            vec![Fragment::Damaged {
                offset: 0,
                reason: CorruptionReason::UnknownType(9)
            }]
        );
    }

    #[test]
    fn truncated_header_and_payload() {
        let mut log = Vec::new();
        encode_fragment(&mut log, FragmentType::Full, b"abcdef");
        assert_eq!(
            read_all(&log[..10]),
            vec![Fragment::Damaged {
                offset: 0,
                reason: CorruptionReason::TruncatedFragment {
                    expected: 13,
                    available: 10
                }
            }]
        );
        assert_eq!(
            read_all(&log[..3]),
            vec![Fragment::Damaged {
                offset: 0,
                reason: CorruptionReason::TruncatedFragment {
                    expected: 7,
                    available: 3
                }
            }]
        );
    }

    #[test]
    fn trailer_is_skipped_whatever_it_holds() {
        let mut log = Vec::new();
        encode_fragment(&mut log, FragmentType::Full, &vec![1; BLOCK_SIZE - 7 - 5]);
        log.extend_from_slice(&[0xff; 5]);
        encode_fragment(&mut log, FragmentType::Full, b"next");
        let frags = read_all(&log);
        assert_eq!(frags.len(), 3);
        assert!(matches!(
            frags[1],
            Fragment::Valid {
                offset, ..
            } if offset == BLOCK_SIZE as u64
        ));
        // A file cut inside the padding ends cleanly.
        assert_eq!(
            read_all(&log[..BLOCK_SIZE - 2]).last(),
            Some(&Fragment::End)
        );
    }

    /// A source that hands out one byte per read and is interrupted often.
    struct Trickle<'a> {
        data: &'a [u8],
        calls: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls % 3 == 0 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.data.len()).min(1);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn short_and_interrupted_reads() {
        let mut log = Vec::new();
        for i in 0..5000u32 {
            encode_fragment(&mut log, FragmentType::Full, &i.to_le_bytes());
        }
        let expected = read_all(&log);
        let mut r = FragmentReader::new(Trickle {
            data: &log,
            calls: 0,
        });
        for e in expected {
            assert_eq!(r.next_fragment().unwrap(), e);
        }
    }

    #[test]
    fn io_error_is_returned() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("boom"))
            }
        }
        let mut r = FragmentReader::new(Broken);
        assert!(r.next_fragment().is_err());
    }
}
