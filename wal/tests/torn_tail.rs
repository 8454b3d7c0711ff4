//! Scenario: a crash tore the last record of a WAL on disk (partial write,
//! garbage, zeros, a preallocated zero tail). Point-in-time recovery
//! returns every complete record and says where it stopped; truncating the
//! file to the intact prefix and appending yields a clean log.
//!
//! Uses real files, because recovery is about what is on disk.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use common::{read_log, record, Extent};
use wal::{CorruptionReason, RecoveryMode, Writer, BLOCK_SIZE};

/// Three complete records, then a fourth that the crash will tear; sizes
/// chosen so the last one is either a single FULL fragment or spans a block
/// boundary (FIRST + LAST).
fn write_wal(path: &Path, last_len: usize) -> (Vec<Vec<u8>>, Vec<Extent>) {
    let records = vec![
        record(1, 300),
        record(2, 0),
        record(3, 20_000),
        record(4, last_len),
    ];
    let mut w = Writer::new(File::create(path).unwrap());
    let mut extents = Vec::new();
    for r in &records {
        let start = w.add_record(r).unwrap();
        extents.push(Extent {
            start,
            end: w.len(),
        });
        // Each record is its own commit, as for a WAL with sync=true.
        w.sync().unwrap();
    }
    drop(w.into_inner().unwrap());
    (records, extents)
}

enum Tear {
    /// Only the first `n` bytes of the last record reached the disk.
    Cut(u64),
    /// The last record's bytes from `n` on are garbage.
    Garbage(u64),
    /// The last record's bytes from `n` on are zeros.
    Zeros(u64),
    /// The file was extended with zeros past the last record (e.g. the
    /// file system allocated the range before the data was written).
    ZeroTail(u64),
}

fn tear(path: &Path, last: Extent, how: &Tear) {
    let mut f = OpenOptions::new().write(true).open(path).unwrap();
    match *how {
        Tear::Cut(n) => f.set_len(last.start + n).unwrap(),
        Tear::Garbage(n) | Tear::Zeros(n) => {
            let len = (last.end - last.start - n) as usize;
            let bytes = match how {
                Tear::Garbage(_) => record(99, len),
                _ => vec![0; len],
            };
            f.seek(SeekFrom::Start(last.start + n)).unwrap();
            f.write_all(&bytes).unwrap();
        }
        Tear::ZeroTail(extra) => {
            let len = f.metadata().unwrap().len();
            f.set_len(len + extra).unwrap();
        }
    }
    f.sync_all().unwrap();
}

/// Recovers, checks the outcome, truncates, appends, and checks the result.
fn recover_and_continue(last_len: usize, how: Tear, expect: impl Fn(&CorruptionReason) -> bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000007.log");
    let (records, extents) = write_wal(&path, last_len);
    let last = extents[3];
    tear(&path, last, &how);

    let bytes = std::fs::read(&path).unwrap();
    let out = read_log(&bytes, RecoveryMode::PointInTime);
    assert!(out.error.is_none());
    let complete = if matches!(how, Tear::ZeroTail(_)) {
        4
    } else {
        3
    };
    assert_eq!(
        out.payloads(),
        records[..complete]
            .iter()
            .map(Vec::as_slice)
            .collect::<Vec<_>>()
    );
    let stop = out.stopped.clone().expect("a torn tail is reported");
    assert!(expect(&stop.reason), "unexpected reason {stop}");
    assert_eq!(out.last_record_end, extents[complete - 1].end);
    // The damage is reported at or after the intact prefix, within the file.
    assert!(stop.offset >= out.last_record_end && stop.offset <= bytes.len() as u64);
    if complete == 3 {
        assert!(
            stop.offset >= last.start && stop.offset <= last.end,
            "{stop}"
        );
    }
    // Strict reading refuses the same file.
    assert!(read_log(&bytes, RecoveryMode::Absolute).is_corruption_error());

    // Truncate to the intact prefix and keep appending.
    let f = OpenOptions::new().append(true).open(&path).unwrap();
    f.set_len(out.last_record_end).unwrap();
    let mut w = Writer::append_to(f, out.last_record_end);
    let more = [record(5, 10), record(6, BLOCK_SIZE + 5)];
    let offsets: Vec<u64> = more.iter().map(|r| w.add_record(r).unwrap()).collect();
    w.sync().unwrap();
    drop(w);

    let bytes = std::fs::read(&path).unwrap();
    let out = read_log(&bytes, RecoveryMode::Absolute);
    assert!(out.error.is_none(), "{:?}", out.error);
    let mut want: Vec<(u64, Vec<u8>)> = extents[..complete]
        .iter()
        .map(|e| e.start)
        .zip(records[..complete].iter().cloned())
        .collect();
    want.extend(offsets.into_iter().zip(more));
    assert_eq!(out.records, want);
}

/// Where the fourth record starts (in block 0): 300 + 0 + 20 000 payload
/// bytes plus three 7-byte headers. With 1 000 bytes it is one FULL
/// fragment; with 30 000 it is FIRST (block 0) + LAST (block 1).
const LAST_START: u64 = 20_321;
const SINGLE: usize = 1_000;
const SPANNING: usize = 30_000;

#[test]
fn layout_is_as_assumed() {
    let dir = tempfile::tempdir().unwrap();
    let (_, extents) = write_wal(&dir.path().join("x.log"), SPANNING);
    assert_eq!(extents[3].start, LAST_START);
    assert!(extents[3].end > BLOCK_SIZE as u64);
}

#[test]
fn cut_inside_header() {
    recover_and_continue(SINGLE, Tear::Cut(4), |r| {
        matches!(
            r,
            CorruptionReason::TruncatedFragment {
                expected: 7,
                available: 4
            }
        )
    });
}

#[test]
fn cut_inside_payload() {
    recover_and_continue(SINGLE, Tear::Cut(500), |r| {
        matches!(r, CorruptionReason::TruncatedFragment { .. })
    });
}

#[test]
fn cut_after_first_fragment() {
    // The FIRST made it to disk whole, the LAST never did.
    let first_fragment = BLOCK_SIZE as u64 - LAST_START;
    recover_and_continue(SPANNING, Tear::Cut(first_fragment), |r| {
        matches!(
            r,
            CorruptionReason::TruncatedRecord {
                record_start: LAST_START
            }
        )
    });
}

#[test]
fn cut_inside_last_fragment() {
    recover_and_continue(SPANNING, Tear::Cut(15_000), |r| {
        matches!(r, CorruptionReason::TruncatedFragment { .. })
    });
}

#[test]
fn garbage_in_payload() {
    recover_and_continue(SINGLE, Tear::Garbage(100), |r| {
        matches!(r, CorruptionReason::ChecksumMismatch { .. })
    });
}

#[test]
fn garbage_in_last_fragment_of_spanning_record() {
    recover_and_continue(SPANNING, Tear::Garbage(20_000), |r| {
        matches!(r, CorruptionReason::ChecksumMismatch { .. })
    });
}

#[test]
fn zeroed_record() {
    recover_and_continue(SINGLE, Tear::Zeros(0), |r| {
        *r == CorruptionReason::ZeroFilled
    });
}

#[test]
fn zeroed_payload() {
    recover_and_continue(SINGLE, Tear::Zeros(7), |r| {
        matches!(r, CorruptionReason::ChecksumMismatch { .. })
    });
}

#[test]
fn preallocated_zero_tail_after_complete_records() {
    // All four records are whole; only the zero tail is damage.
    recover_and_continue(SINGLE, Tear::ZeroTail(4096), |r| {
        *r == CorruptionReason::ZeroFilled
    });
}
