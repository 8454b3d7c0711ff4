//! Helpers shared by the scenario tests: deterministic record contents, a
//! log builder that remembers where each record lies, and a reader that
//! collects everything a read produced.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use wal::{Corruption, Error, Reader, RecoveryMode, Writer};

/// Deterministic, seed-dependent bytes (xorshift64), so that records differ
/// from each other and a swapped or shifted record cannot compare equal.
pub fn record(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Where one record lies in a log: its first header and the end of its last
/// fragment. Between one record's `end` and the next one's `start` there
/// are only trailer (padding) bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    pub start: u64,
    pub end: u64,
}

/// Writes `records` to an in-memory log.
pub fn write_log(records: &[Vec<u8>]) -> (Vec<u8>, Vec<Extent>) {
    let mut w = Writer::new(Vec::new());
    let extents = records
        .iter()
        .map(|r| {
            let start = w.add_record(r).unwrap();
            Extent {
                start,
                end: w.len(),
            }
        })
        .collect();
    (w.into_inner().unwrap(), extents)
}

/// Everything one pass of a reader produced.
#[derive(Debug)]
pub struct Outcome {
    pub records: Vec<(u64, Vec<u8>)>,
    pub error: Option<Error>,
    pub stopped: Option<Corruption>,
    pub last_record_end: u64,
}

impl Outcome {
    pub fn payloads(&self) -> Vec<&[u8]> {
        self.records.iter().map(|(_, r)| r.as_slice()).collect()
    }

    pub fn is_corruption_error(&self) -> bool {
        matches!(self.error, Some(Error::Corruption(_)))
    }
}

/// Reads `bytes` to the end (or the first error) in `mode`.
pub fn read_log(bytes: &[u8], mode: RecoveryMode) -> Outcome {
    let mut reader = Reader::new(bytes, "test.log", mode);
    let mut records = Vec::new();
    let mut buf = Vec::new();
    let error = loop {
        match reader.read_record(&mut buf) {
            Ok(Some(offset)) => records.push((offset, buf.clone())),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    Outcome {
        records,
        error,
        stopped: reader.stopped_at().cloned(),
        last_record_end: reader.last_record_end(),
    }
}
