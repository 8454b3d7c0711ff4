//! Scenario: the seam end to end for a log. A `wal::Writer` appends through a
//! `Box<dyn WritableFile>` from MemFs; after a crash, a point-in-time `wal::Reader` over
//! `open_sequential` returns exactly the records synced before it (and, if the unsynced tail
//! partly survived, possibly some later records, but never a damaged one).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{bytes, fs_with_db};
use lsm::fs::{CrashMode, FileSystem, MemFs};
use wal::{Reader, RecoveryMode, Writer};

const LOG: &str = "db/000001.log";

/// Records of various sizes; some span blocks.
fn records() -> Vec<Vec<u8>> {
    (0..12u64)
        .map(|i| bytes(i, [10, 300, 40_000, 7][i as usize % 4]))
        .collect()
}

/// Writes the first 8 records and syncs, then writes the rest and flushes them (written,
/// not synced), then crashes with `mode`. Returns the records read back.
fn write_crash_read(mode: CrashMode) -> (MemFs, Vec<Vec<u8>>, bool) {
    let fs = fs_with_db();
    let mut writer = Writer::new(fs.create(Path::new(LOG)).unwrap());
    fs.sync_dir(Path::new("db")).unwrap();
    let all = records();
    for r in &all[..8] {
        writer.add_record(r).unwrap();
    }
    writer.sync().unwrap();
    for r in &all[8..] {
        writer.add_record(r).unwrap();
    }
    writer.flush().unwrap();

    fs.simulate_power_loss(mode);
    // The crashed process's writer cannot write any more.
    writer.add_record(b"after the crash").unwrap();
    assert!(writer.sync().is_err());

    let source = fs.open_sequential(Path::new(LOG)).unwrap();
    let mut reader = Reader::new(source, LOG, RecoveryMode::PointInTime);
    let mut got = Vec::new();
    let mut buf = Vec::new();
    while reader.read_record(&mut buf).unwrap().is_some() {
        got.push(buf.clone());
    }
    let damaged = reader.stopped_at().is_some();
    (fs, got, damaged)
}

#[test]
fn synced_records_come_back_and_unsynced_ones_do_not() {
    let (_, got, damaged) = write_crash_read(CrashMode::DropUnsynced);
    assert_eq!(got, records()[..8]);
    assert!(!damaged, "the log ends on the synced record boundary");
}

#[test]
fn a_torn_or_partial_tail_never_yields_a_damaged_record() {
    let all = records();
    for seed in 0..10 {
        for mode in [
            CrashMode::KeepRandomPrefix { seed },
            CrashMode::TearLastWrite { seed },
        ] {
            let (_, got, damaged) = write_crash_read(mode);
            assert!(got.len() >= 8, "{mode:?}: synced records lost");
            assert_eq!(got, all[..got.len()], "{mode:?}: records are a prefix");
            if matches!(mode, CrashMode::TearLastWrite { .. }) {
                // The last flush was one write holding all unsynced records; its end is torn.
                assert!(got.len() < all.len(), "{mode:?}: torn record returned");
                assert!(damaged, "{mode:?}: the tear is reported");
            }
        }
    }
}
