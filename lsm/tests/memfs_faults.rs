//! Scenario: injected faults. A failed fsync is returned, counted, and makes nothing
//! durable; a write budget ends in a short write and then `StorageFull` (ENOSPC); failed
//! `sync_dir` and `rename` change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{self, Write};
use std::path::Path;

use common::{fs_with_db, read, write_file};
use lsm::fs::{Fail, FileSystem};

#[test]
fn an_injected_fsync_failure_is_returned_counted_and_not_durable() {
    let fs = fs_with_db();
    let mut f = write_file(&fs, "db/a", b"synced");
    f.sync_data().unwrap();
    fs.sync_dir(Path::new("db")).unwrap();

    fs.fail_sync_data(Fail::Next(2));
    f.write_all(b" lost").unwrap();
    assert!(f.sync_data().is_err());
    assert!(f.sync_data().is_err());
    let stats = fs.stats();
    assert_eq!((stats.syncs, stats.failed_syncs), (1, 2));

    fs.crash();
    assert_eq!(read(&fs, "db/a").unwrap(), b"synced");

    // The fault was used up: syncing works again.
    let mut g = write_file(&fs, "db/b", b"x");
    g.sync_data().unwrap();
    assert_eq!(fs.stats().syncs, 2);
}

#[test]
fn always_failing_fsync_fails_until_cleared() {
    let fs = fs_with_db();
    let mut f = write_file(&fs, "db/a", b"x");
    fs.fail_sync_data(Fail::Always);
    for _ in 0..5 {
        assert!(f.sync_data().is_err());
    }
    fs.clear_faults();
    f.sync_data().unwrap();
    assert_eq!(fs.stats().failed_syncs, 5);
}

#[test]
fn a_write_budget_gives_a_short_write_then_storage_full() {
    let fs = fs_with_db();
    let mut f = fs.create(Path::new("db/a")).unwrap();
    fs.set_write_budget(Some(10));
    assert_eq!(f.write(b"0123456").unwrap(), 7);
    assert_eq!(
        f.write(b"789abcdef").unwrap(),
        3,
        "partial write up to the budget"
    );
    let err = f.write(b"more").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    assert_eq!(read(&fs, "db/a").unwrap(), b"0123456789");
    assert_eq!(fs.stats().bytes_written, 10);

    // write_all sees the short write and then the error, as with ENOSPC.
    fs.set_write_budget(Some(2));
    let err = f.write_all(b"xyz").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    assert_eq!(read(&fs, "db/a").unwrap(), b"0123456789xy");

    fs.set_write_budget(None);
    f.write_all(b"!").unwrap();
    assert_eq!(fs.stats().bytes_written, 13);
}

#[test]
fn a_failed_sync_dir_makes_nothing_durable() {
    let fs = fs_with_db();
    let mut f = write_file(&fs, "db/a", b"data");
    f.sync_data().unwrap();
    fs.fail_sync_dir(Fail::Next(1));
    assert!(fs.sync_dir(Path::new("db")).is_err());
    assert_eq!(
        fs.stats().dir_syncs,
        1,
        "only the root's sync in fs_with_db"
    );
    fs.crash();
    assert_eq!(read(&fs, "db/a"), None);
}

#[test]
fn a_failed_rename_renames_nothing() {
    let fs = fs_with_db();
    drop(write_file(&fs, "db/a", b"new"));
    drop(write_file(&fs, "db/b", b"old"));
    fs.fail_rename(Fail::Always);
    assert!(fs.rename(Path::new("db/a"), Path::new("db/b")).is_err());
    assert_eq!(read(&fs, "db/a").unwrap(), b"new");
    assert_eq!(read(&fs, "db/b").unwrap(), b"old");
    fs.fail_rename(Fail::Never);
    fs.rename(Path::new("db/a"), Path::new("db/b")).unwrap();
    assert_eq!(read(&fs, "db/b").unwrap(), b"new");
}

#[test]
fn faults_set_through_one_handle_apply_to_all_and_survive_a_crash() {
    let fs = fs_with_db();
    let engine_side = fs.clone();
    fs.fail_sync_data(Fail::Always);
    fs.crash();
    let mut f = write_file(&engine_side, "db/a", b"x");
    assert!(f.sync_data().is_err());
}
