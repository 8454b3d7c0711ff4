//! Scenario: single-byte damage and truncation anywhere in a small log.
//!
//! (a) Flip one byte: point-in-time recovery returns exactly the records
//!     before the damaged one (never altered data, never a later record) and
//!     reports why it stopped; a flipped trailer byte changes nothing.
//!     Absolute mode returns the same records, then `Err(Corruption)`.
//! (b) Truncate: point-in-time returns exactly the records wholly before the
//!     cut; absolute mode is clean only if the cut is at a record boundary
//!     (or inside the trailer that follows one).
//!
//! Coverage choice: every byte of every fragment header, every trailer byte
//! and every byte within 8 of a fragment or block boundary is swept; payload
//! interiors are swept with a stride of 31 bytes (a flipped payload byte is
//! the same event wherever it lies: a checksum mismatch in its fragment).
//! Sweeping all ~100 000 bytes would take minutes in a debug build for no
//! extra coverage of the framing logic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{read_log, record, write_log, Extent, Outcome};
use wal::{RecoveryMode, BLOCK_SIZE, HEADER_SIZE};

const PAYLOAD_STRIDE: usize = 31;
const BOUNDARY_RADIUS: usize = 8;

/// The main log, ~97 KiB:
///
/// ```text
/// block 0: FULL(100) FULL(0) FULL(32644) trailer(3 bytes)
/// block 1: FULL(1000) FIRST(...)                 <- record 4 starts here,
/// block 2: MIDDLE(32761)                             spans all of block 2,
/// block 3: LAST(500) FULL(50)                        ends in block 3
/// ```
fn main_log_records() -> Vec<Vec<u8>> {
    let first_in_block_1 = BLOCK_SIZE - 1007 - HEADER_SIZE;
    vec![
        record(0, 100),
        record(1, 0),
        record(2, BLOCK_SIZE - 3 - 114 - HEADER_SIZE),
        record(3, 1000),
        record(4, first_in_block_1 + (BLOCK_SIZE - HEADER_SIZE) + 500),
        record(5, 50),
    ]
}

/// A second, smaller log for the other block-end case: exactly
/// `HEADER_SIZE` bytes left, so a record starts with an empty FIRST.
fn empty_first_log_records() -> Vec<Vec<u8>> {
    vec![
        record(10, BLOCK_SIZE - 2 * HEADER_SIZE),
        record(11, 100),
        record(12, 10),
    ]
}

/// Offsets of all fragment headers of a record (it has one at its start and
/// one at each block boundary it crosses).
fn fragment_starts(e: &Extent) -> Vec<usize> {
    let (start, end) = (e.start as usize, e.end as usize);
    let mut starts = vec![start];
    let mut b = (start / BLOCK_SIZE + 1) * BLOCK_SIZE;
    while b < end {
        starts.push(b);
        b += BLOCK_SIZE;
    }
    starts
}

/// The offsets worth testing, per the coverage choice in the module doc.
fn interesting_offsets(len: usize, extents: &[Extent]) -> BTreeSet<usize> {
    let mut set = BTreeSet::new();
    let near = |center: usize, set: &mut BTreeSet<usize>| {
        let lo = center.saturating_sub(BOUNDARY_RADIUS);
        set.extend(lo..(center + BOUNDARY_RADIUS).min(len + 1));
    };
    for e in extents {
        for h in fragment_starts(e) {
            set.extend(h..h + HEADER_SIZE);
            near(h, &mut set);
        }
        near(e.end as usize, &mut set);
    }
    let mut b = 0;
    while b <= len {
        near(b, &mut set);
        b += BLOCK_SIZE;
    }
    set.extend((0..len).step_by(PAYLOAD_STRIDE));
    set.insert(len);
    set
}

/// The record whose bytes (fragments) contain `offset`, or `None` if the
/// offset is in a trailer.
fn owner(extents: &[Extent], offset: u64) -> Option<usize> {
    extents
        .iter()
        .position(|e| e.start <= offset && offset < e.end)
}

fn assert_prefix(out: &Outcome, records: &[Vec<u8>], extents: &[Extent], n: usize, ctx: &str) {
    assert_eq!(out.records.len(), n, "{ctx}: record count");
    for (i, (offset, data)) in out.records.iter().enumerate() {
        assert_eq!(*offset, extents[i].start, "{ctx}: offset of record {i}");
        assert!(*data == records[i], "{ctx}: record {i} altered");
    }
}

fn flip_sweep(records: &[Vec<u8>]) {
    let (log, extents) = write_log(records);
    let offsets = interesting_offsets(log.len(), &extents);
    for &at in offsets.iter().filter(|&&at| at < log.len()) {
        for mask in [0xFF, 0x01] {
            let mut damaged = log.clone();
            damaged[at] ^= mask;
            let ctx = format!("flip {mask:#04x} at {at}");
            let pit = read_log(&damaged, RecoveryMode::PointInTime);
            let abs = read_log(&damaged, RecoveryMode::Absolute);
            assert!(pit.error.is_none(), "{ctx}: point-in-time must not error");
            match owner(&extents, at as u64) {
                None => {
                    // Trailer padding carries no data and is not inspected.
                    assert_prefix(&pit, records, &extents, records.len(), &ctx);
                    assert!(pit.stopped.is_none(), "{ctx}: {:?}", pit.stopped);
                    assert_prefix(&abs, records, &extents, records.len(), &ctx);
                    assert!(abs.error.is_none(), "{ctx}: {:?}", abs.error);
                }
                Some(k) => {
                    assert_prefix(&pit, records, &extents, k, &ctx);
                    let stop = pit.stopped.as_ref().expect("stopped_at must be set");
                    assert!(
                        stop.offset >= extents[k].start && stop.offset <= extents[k].end,
                        "{ctx}: reported offset {} outside record {k}",
                        stop.offset
                    );
                    assert_eq!(
                        pit.last_record_end,
                        if k == 0 { 0 } else { extents[k - 1].end }
                    );
                    assert_prefix(&abs, records, &extents, k, &ctx);
                    assert!(abs.is_corruption_error(), "{ctx}: {:?}", abs.error);
                }
            }
        }
    }
}

fn truncation_sweep(records: &[Vec<u8>]) {
    let (log, extents) = write_log(records);
    for cut in interesting_offsets(log.len(), &extents) {
        let ctx = format!("cut at {cut}");
        let cut64 = cut as u64;
        let whole = extents.iter().take_while(|e| e.end <= cut64).count();
        // Clean cut: at the start of the log, or between the end of a record
        // and the start of the next (only trailer bytes lie in between).
        let clean = cut == 0
            || extents.iter().enumerate().any(|(i, e)| {
                cut64 >= e.end && extents.get(i + 1).is_none_or(|n| cut64 <= n.start)
            });
        let pit = read_log(&log[..cut], RecoveryMode::PointInTime);
        assert!(pit.error.is_none(), "{ctx}");
        assert_prefix(&pit, records, &extents, whole, &ctx);
        assert_eq!(pit.stopped.is_none(), clean, "{ctx}: {:?}", pit.stopped);
        let abs = read_log(&log[..cut], RecoveryMode::Absolute);
        assert_prefix(&abs, records, &extents, whole, &ctx);
        if clean {
            assert!(abs.error.is_none(), "{ctx}: {:?}", abs.error);
        } else {
            assert!(abs.is_corruption_error(), "{ctx}: {:?}", abs.error);
        }
    }
}

#[test]
fn layouts_are_as_documented() {
    let (log, extents) = write_log(&main_log_records());
    // Trailer at the end of block 0, a record spanning blocks 1..=3.
    assert_eq!(extents[2].end as usize, BLOCK_SIZE - 3);
    assert_eq!(extents[3].start as usize, BLOCK_SIZE);
    assert_eq!(fragment_starts(&extents[4]).len(), 3);
    assert!(log.len() < 100 * 1024);
    let (_, extents) = write_log(&empty_first_log_records());
    assert_eq!(extents[1].start as usize, BLOCK_SIZE - HEADER_SIZE);
    assert_eq!(fragment_starts(&extents[1]).len(), 2);
}

#[test]
fn flipped_bytes_main_log() {
    flip_sweep(&main_log_records());
}

#[test]
fn flipped_bytes_empty_first_log() {
    flip_sweep(&empty_first_log_records());
}

#[test]
fn truncations_main_log() {
    truncation_sweep(&main_log_records());
}

#[test]
fn truncations_empty_first_log() {
    truncation_sweep(&empty_first_log_records());
}
