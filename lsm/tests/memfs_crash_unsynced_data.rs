//! Scenario: a crash keeps each file's bytes up to its last successful `sync_data` and drops
//! the rest; handles open at the crash are dead afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::Path;

use common::{fs_with_db, read, write_file};
use lsm::fs::FileSystem;

#[test]
fn synced_data_survives_and_unsynced_data_is_dropped() {
    let fs = fs_with_db();
    let mut f = write_file(&fs, "db/a", b"synced");
    f.sync_data().unwrap();
    f.write_all(b" unsynced").unwrap();
    fs.sync_dir(Path::new("db")).unwrap();
    assert_eq!(read(&fs, "db/a").unwrap(), b"synced unsynced");

    fs.crash();
    assert_eq!(read(&fs, "db/a").unwrap(), b"synced");
    assert_eq!(fs.file_size(Path::new("db/a")).unwrap(), 6);
}

#[test]
fn a_file_never_synced_is_empty_after_a_crash() {
    let fs = fs_with_db();
    let _f = write_file(&fs, "db/a", b"never synced");
    fs.sync_dir(Path::new("db")).unwrap();
    fs.crash();
    assert_eq!(read(&fs, "db/a").unwrap(), b"");
}

#[test]
fn handles_open_at_the_crash_are_dead() {
    let fs = fs_with_db();
    let mut f = write_file(&fs, "db/a", b"x");
    f.sync_data().unwrap();
    fs.sync_dir(Path::new("db")).unwrap();
    fs.crash();

    assert!(f.write_all(b"more").is_err());
    assert!(f.flush().is_err());
    assert!(f.sync_data().is_err());
    assert_eq!(
        read(&fs, "db/a").unwrap(),
        b"x",
        "a dead handle changes nothing"
    );
    drop(f);

    // The restarted "process" works normally.
    let mut g = fs.create(Path::new("db/a")).unwrap();
    g.write_all(b"after").unwrap();
    g.sync_data().unwrap();
    assert_eq!(read(&fs, "db/a").unwrap(), b"after");
}

#[test]
fn a_truncating_create_is_undone_by_a_crash_until_synced() {
    let fs = fs_with_db();
    let mut f = write_file(&fs, "db/a", b"old");
    f.sync_data().unwrap();
    fs.sync_dir(Path::new("db")).unwrap();

    let _g = write_file(&fs, "db/a", b"new");
    fs.crash();
    assert_eq!(read(&fs, "db/a").unwrap(), b"old");

    let mut g = write_file(&fs, "db/a", b"new");
    g.sync_data().unwrap();
    fs.crash();
    assert_eq!(read(&fs, "db/a").unwrap(), b"new");
}
