//! Scenario: directory entries (creations, removals, directories themselves) survive a crash
//! only once their parent directory was synced, whatever was synced of the files' data.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{fs_with_db, read, write_synced};
use lsm::fs::{FileSystem, MemFs};

#[test]
fn a_created_and_synced_file_is_gone_if_its_directory_was_not_synced() {
    let fs = fs_with_db();
    write_synced(&fs, "db/a", b"data");
    fs.crash();
    assert_eq!(read(&fs, "db/a"), None);

    write_synced(&fs, "db/a", b"data");
    fs.sync_dir(Path::new("db")).unwrap();
    fs.crash();
    assert_eq!(read(&fs, "db/a").unwrap(), b"data");
}

#[test]
fn a_removal_is_undone_unless_the_directory_was_synced() {
    let fs = fs_with_db();
    write_synced(&fs, "db/a", b"data");
    fs.sync_dir(Path::new("db")).unwrap();

    fs.remove_file(Path::new("db/a")).unwrap();
    assert_eq!(read(&fs, "db/a"), None);
    fs.crash();
    assert_eq!(
        read(&fs, "db/a").unwrap(),
        b"data",
        "the removal was not durable"
    );

    fs.remove_file(Path::new("db/a")).unwrap();
    fs.sync_dir(Path::new("db")).unwrap();
    fs.crash();
    assert_eq!(read(&fs, "db/a"), None);
}

#[test]
fn syncing_one_directory_does_not_sync_another() {
    let fs = fs_with_db();
    fs.create_dir_all(Path::new("db/archive")).unwrap();
    fs.sync_dir(Path::new("db")).unwrap();
    write_synced(&fs, "db/a", b"1");
    write_synced(&fs, "db/archive/b", b"2");
    fs.sync_dir(Path::new("db/archive")).unwrap();
    fs.crash();
    assert_eq!(read(&fs, "db/a"), None);
    assert_eq!(read(&fs, "db/archive/b").unwrap(), b"2");
}

#[test]
fn everything_under_a_directory_that_was_not_made_durable_is_lost() {
    let fs = MemFs::new();
    fs.create_dir_all(Path::new("db")).unwrap();
    write_synced(&fs, "db/a", b"data");
    fs.sync_dir(Path::new("db")).unwrap();
    // The root was never synced, so `db` itself is not durable.
    fs.crash();
    assert!(!fs.exists(Path::new("db")));
    assert_eq!(fs.list_dir(Path::new("")).unwrap(), Vec::<String>::new());
}

#[test]
fn list_dir_after_a_crash_shows_the_durable_entries() {
    let fs = fs_with_db();
    write_synced(&fs, "db/kept", b"");
    fs.sync_dir(Path::new("db")).unwrap();
    write_synced(&fs, "db/lost", b"");
    let mut names = fs.list_dir(Path::new("db")).unwrap();
    names.sort();
    assert_eq!(names, ["kept", "lost"]);
    fs.crash();
    assert_eq!(fs.list_dir(Path::new("db")).unwrap(), ["kept"]);
}
