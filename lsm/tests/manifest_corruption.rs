//! Damage to the manifest or CURRENT is reported as corruption, except for an incomplete
//! final record, which is what a crash during an unacknowledged edit leaves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use lsm::fs::{FileSystem, MemFs};
use lsm::key::{internal_key, ValueKind};
use lsm::version::{FileMeta, VersionEdit, VersionSet};

const DIR: &str = "/db";

/// A database whose manifest holds a snapshot edit and three file additions; returns the
/// manifest's path and the numbers of the files.
fn setup(fs: &MemFs) -> (std::path::PathBuf, Vec<u64>) {
    let dir = Path::new(DIR);
    fs.create_dir_all(dir).unwrap();
    let shared: Arc<dyn FileSystem> = Arc::new(fs.clone());
    let mut set = VersionSet::create(shared, dir, u64::MAX).unwrap();
    let mut numbers = Vec::new();
    for i in 0..3u8 {
        let n = set.new_file_number();
        let key = |c: u8| internal_key(0, &[b'a' + 2 * i, c], n, ValueKind::Put);
        set.log_and_apply(VersionEdit {
            new_files: vec![(
                1,
                FileMeta {
                    number: n,
                    size: 10,
                    smallest: key(0),
                    largest: key(1),
                    smallest_seq: n,
                    largest_seq: n,
                    stats: Default::default(),
                },
            )],
            ..VersionEdit::default()
        })
        .unwrap();
        numbers.push(n);
    }
    (lsm::filename::manifest(dir, set.manifest_number()), numbers)
}

fn rewrite(fs: &MemFs, path: &Path, bytes: &[u8]) {
    let mut f = fs.create(path).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_data().unwrap();
}

fn recover(fs: &MemFs) -> lsm::Result<VersionSet> {
    VersionSet::recover(Arc::new(fs.clone()), Path::new(DIR), u64::MAX)
}

/// Damage before the last record fails the open. Damage inside the last record may also
/// look exactly like a crash-torn append (a flipped length makes it "incomplete at the end of
/// the file"), so there the open either fails or recovers precisely the state before that
/// record — never anything else.
#[test]
fn a_flipped_byte_fails_the_open_or_drops_only_the_last_record() {
    let fs = MemFs::new();
    let (manifest, numbers) = setup(&fs);
    let good = fs.contents(&manifest).unwrap();
    let mut reader = wal::Reader::new(&good[..], "m", wal::RecoveryMode::Absolute);
    let mut last_start = 0;
    let mut record = Vec::new();
    while let Some(offset) = reader.read_record(&mut record).unwrap() {
        last_start = offset;
    }
    let mut tolerated = 0;
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x20;
        rewrite(&fs, &manifest, &bad);
        match recover(&fs) {
            Err(e) => assert!(e.is_corruption(), "byte {i}: {e}"),
            Ok(set) => {
                assert!(
                    i as u64 >= last_start,
                    "byte {i}: damage before the last record went unnoticed"
                );
                let files: Vec<u64> = set.current().files(1).iter().map(|f| f.number).collect();
                assert_eq!(
                    files,
                    numbers[..2].to_vec(),
                    "byte {i}: recovered a wrong state"
                );
                tolerated += 1;
            }
        }
        // Recovery starts a new manifest; put the original back in place for the next round.
        setup_again(&fs, &manifest, &good);
    }
    assert!(
        tolerated <= 8,
        "{tolerated} flips were taken for a torn tail"
    );
}

/// Restores the original database state (CURRENT naming `manifest`, which holds `good`).
fn setup_again(fs: &MemFs, manifest: &Path, good: &[u8]) {
    rewrite(fs, manifest, good);
    let name = manifest.file_name().unwrap().to_str().unwrap();
    rewrite(
        fs,
        &lsm::filename::current(Path::new(DIR)),
        format!("{name}\n").as_bytes(),
    );
}

#[test]
fn a_torn_final_record_recovers_the_acknowledged_prefix() {
    let fs = MemFs::new();
    let (manifest, numbers) = setup(&fs);
    let good = fs.contents(&manifest).unwrap();
    // Cut inside the last record: the last file addition is lost, the others remain.
    rewrite(&fs, &manifest, &good[..good.len() - 3]);
    let set = recover(&fs).unwrap();
    let files: Vec<u64> = set.current().files(1).iter().map(|f| f.number).collect();
    assert_eq!(files, numbers[..2].to_vec());
    // Zeros after the last complete record are a torn tail too.
    let fs = MemFs::new();
    let (manifest, numbers) = setup(&fs);
    let mut zeros = fs.contents(&manifest).unwrap();
    zeros.extend_from_slice(&[0; 20]);
    rewrite(&fs, &manifest, &zeros);
    let set = recover(&fs).unwrap();
    assert_eq!(set.current().files(1).len(), numbers.len());
}

#[test]
fn a_damaged_or_missing_current_is_an_error() {
    let fs = MemFs::new();
    setup(&fs);
    let current = lsm::filename::current(Path::new(DIR));
    for bad in [
        &b""[..],
        b"MANIFEST-000001",
        b"garbage\n",
        b"MANIFEST-999999\n",
    ] {
        rewrite(&fs, &current, bad);
        let err = recover(&fs).unwrap_err();
        assert!(
            err.is_corruption() || matches!(err, lsm::Error::Io { .. }),
            "{bad:?}: {err}"
        );
    }
    fs.remove_file(&current).unwrap();
    assert!(matches!(recover(&fs), Err(lsm::Error::Io { .. })));
}
