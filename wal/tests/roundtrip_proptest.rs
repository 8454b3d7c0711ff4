//! Scenario: any sequence of records, written in one go or across a reopen
//! (`Writer::append_to`), reads back identically in both recovery modes,
//! at the offsets `add_record` returned.
//!
//! Sizes are biased toward the block arithmetic's edge cases: empty records,
//! records that fill a block exactly, records sized relative to the space
//! left in the current block (to land 0..=10 bytes before a block end, which
//! exercises the trailer and the empty-FIRST cases), sizes around multiples
//! of `BLOCK_SIZE - HEADER_SIZE`, and large records up to ~200 KiB.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{read_log, record};
use proptest::prelude::*;
use wal::{RecoveryMode, Writer, BLOCK_SIZE, HEADER_SIZE};

/// How big the next record is; some sizes depend on where the writer is.
#[derive(Clone, Debug)]
enum Size {
    Fixed(usize),
    /// Leave exactly this many bytes in the current block after the record
    /// (if the record fits; otherwise fill the next block the same way).
    LeaveInBlock(usize),
}

fn size_strategy() -> impl Strategy<Value = Size> {
    let payload = BLOCK_SIZE - HEADER_SIZE;
    prop_oneof![
        2 => Just(Size::Fixed(0)),
        4 => (1usize..200).prop_map(Size::Fixed),
        3 => (0usize..=10).prop_map(Size::LeaveInBlock),
        2 => (0usize..16).prop_map(move |d| Size::Fixed(payload - 8 + d)),
        2 => (1usize..=6, 0usize..16).prop_map(move |(k, d)| Size::Fixed(k * payload + d - 8)),
        1 => Just(Size::Fixed(BLOCK_SIZE)),
        2 => (0usize..200 * 1024).prop_map(Size::Fixed),
    ]
}

fn resolve(size: &Size, writer_len: u64) -> usize {
    match *size {
        Size::Fixed(n) => n,
        Size::LeaveInBlock(k) => {
            let used = (writer_len % BLOCK_SIZE as u64) as usize;
            let left = BLOCK_SIZE - used;
            let in_next_block = BLOCK_SIZE - HEADER_SIZE - k;
            if left >= HEADER_SIZE + k {
                // Fits here, ending k bytes before the block end.
                left - HEADER_SIZE - k
            } else if left >= HEADER_SIZE {
                // A FIRST fills this block, the LAST ends k bytes before
                // the next block's end.
                left - HEADER_SIZE + in_next_block
            } else {
                // The writer pads this block and starts in the next.
                in_next_block
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        ..ProptestConfig::default()
    })]

    #[test]
    fn records_round_trip(
        sizes in prop::collection::vec(size_strategy(), 0..14),
        reopen_at in any::<prop::sample::Index>(),
        reopen in any::<bool>(),
        flush_every in 1usize..5,
    ) {
        let reopen_at = reopen.then(|| reopen_at.index(sizes.len() + 1));
        let mut writer = Writer::new(Vec::new());
        let mut written = Vec::new();
        for (i, size) in sizes.iter().enumerate() {
            if reopen_at == Some(i) {
                // Simulate a restart: close the log and continue it.
                let bytes = writer.into_inner().unwrap();
                let len = bytes.len() as u64;
                writer = Writer::append_to(bytes, len);
            }
            let data = record(i as u64, resolve(size, writer.len()));
            let offset = writer.add_record(&data).unwrap();
            written.push((offset, data));
            if i % flush_every == 0 {
                writer.flush().unwrap();
            }
        }
        let expected_len = writer.len();
        let bytes = writer.into_inner().unwrap();
        prop_assert_eq!(bytes.len() as u64, expected_len);

        for mode in [RecoveryMode::PointInTime, RecoveryMode::Absolute] {
            let out = read_log(&bytes, mode);
            prop_assert!(out.error.is_none(), "{:?}", out.error);
            prop_assert!(out.stopped.is_none(), "{:?}", out.stopped);
            prop_assert_eq!(out.records.len(), written.len());
            for (got, want) in out.records.iter().zip(&written) {
                prop_assert_eq!(got.0, want.0, "offset");
                prop_assert!(got.1 == want.1, "record at {} differs", want.0);
            }
            prop_assert_eq!(out.last_record_end, expected_len);
        }
    }
}

#[test]
fn iterator_matches_read_record() {
    let records: Vec<Vec<u8>> = (0..50).map(|i| record(i, (i as usize) * 1500)).collect();
    let (bytes, extents) = common::write_log(&records);
    let reader = wal::Reader::new(&bytes[..], "iter.log", RecoveryMode::Absolute);
    let got: Vec<(u64, Vec<u8>)> = reader.map(Result::unwrap).collect();
    let want: Vec<(u64, Vec<u8>)> = extents.iter().map(|e| e.start).zip(records).collect();
    assert_eq!(got, want);
}
