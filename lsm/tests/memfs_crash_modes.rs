//! Scenario: the crash modes that keep some of the unsynced tail. `KeepRandomPrefix` and
//! `TearLastWrite` are deterministic for a seed, never touch synced bytes, and vary with
//! the seed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::Path;

use common::{bytes, fs_with_db, read, write_file};
use lsm::fs::{CrashMode, FileSystem, MemFs};

/// Two files, each with a synced head and an unsynced tail written in three writes; crashes
/// with `mode` and returns both files' contents.
fn crash_with(mode: CrashMode) -> (Vec<u8>, Vec<u8>) {
    let fs = fs_with_db();
    for name in ["db/a", "db/b"] {
        let mut f = write_file(&fs, name, &synced());
        f.sync_data().unwrap();
        for w in 0..3 {
            f.write_all(&bytes(10 + w, 40)).unwrap();
        }
    }
    fs.sync_dir(Path::new("db")).unwrap();
    fs.simulate_power_loss(mode);
    (read(&fs, "db/a").unwrap(), read(&fs, "db/b").unwrap())
}

fn synced() -> Vec<u8> {
    bytes(1, 100)
}

fn unsynced() -> Vec<u8> {
    (0..3).flat_map(|w| bytes(10 + w, 40)).collect()
}

#[test]
fn keep_random_prefix_keeps_a_prefix_of_the_tail_deterministically() {
    let full: Vec<u8> = [synced(), unsynced()].concat();
    let mut lengths = Vec::new();
    for seed in 0..20 {
        let mode = CrashMode::KeepRandomPrefix { seed };
        let (a, b) = crash_with(mode);
        assert_eq!(crash_with(mode), (a.clone(), b.clone()), "seed {seed}");
        for file in [&a, &b] {
            assert!(file.len() >= synced().len(), "synced bytes are never lost");
            assert!(full.starts_with(file), "only a prefix survives");
        }
        lengths.push(a.len());
    }
    lengths.sort_unstable();
    lengths.dedup();
    assert!(
        lengths.len() > 5,
        "seeds choose different prefixes: {lengths:?}"
    );
}

#[test]
fn tear_last_write_damages_only_the_end_of_the_last_write() {
    let full: Vec<u8> = [synced(), unsynced()].concat();
    let last_write_start = full.len() - 40;
    let mut torn = Vec::new();
    for seed in 0..20 {
        let mode = CrashMode::TearLastWrite { seed };
        let (a, b) = crash_with(mode);
        assert_eq!(crash_with(mode), (a.clone(), b.clone()), "seed {seed}");
        for file in [&a, &b] {
            assert_eq!(file.len(), full.len());
            assert_eq!(file[..last_write_start], full[..last_write_start]);
            assert_ne!(file, &full, "the last write is torn (seed {seed})");
        }
        // Torn bytes form a suffix of the last write.
        let first_bad = (0..a.len()).find(|&i| a[i] != full[i]).unwrap();
        torn.push(a.len() - first_bad);
    }
    torn.sort_unstable();
    torn.dedup();
    assert!(torn.len() > 3, "seeds tear different lengths: {torn:?}");
}

#[test]
fn a_fully_synced_file_is_untouched_by_every_mode() {
    for seed in 0..10 {
        for mode in [
            CrashMode::KeepRandomPrefix { seed },
            CrashMode::TearLastWrite { seed },
        ] {
            let fs = fs_with_db();
            let mut f = write_file(&fs, "db/a", &bytes(seed, 64));
            f.sync_data().unwrap();
            fs.sync_dir(Path::new("db")).unwrap();
            fs.simulate_power_loss(mode);
            assert_eq!(read(&fs, "db/a").unwrap(), bytes(seed, 64), "{mode:?}");
        }
    }
}

#[test]
fn what_a_crash_kept_is_durable_afterwards() {
    let fs = MemFs::new();
    let mut f = write_file(&fs, "a", &bytes(1, 100));
    fs.sync_dir(Path::new("")).unwrap();
    f.flush().unwrap();
    fs.simulate_power_loss(CrashMode::KeepRandomPrefix { seed: 3 });
    let kept = read(&fs, "a").unwrap();
    fs.crash();
    assert_eq!(read(&fs, "a").unwrap(), kept);
}
