//! A flush writes only the versions some reader can still see: an overwritten value is left
//! out unless a snapshot reads it, and a snapshot's view survives the flush unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use lsm::key::{CfUserKeyExtractor, InternalKeyComparator};
use lsm::{Db, Options, WriteOptions};
use sstable::{ReadOptions, Table};

/// Entries in the tables of `db` (in `dir`).
fn entries_on_disk(db: &Db, dir: &Path) -> u64 {
    let read = ReadOptions {
        comparator: Arc::new(InternalKeyComparator),
        filter_key: Arc::new(CfUserKeyExtractor),
        ..ReadOptions::default()
    };
    db.current_version()
        .all_files()
        .map(|(_, f)| {
            let t = Table::open(&lsm::filename::table(dir, f.number), &read).unwrap();
            t.properties().num_entries
        })
        .sum()
}

fn hot_and_cold(db: &Db, from: u32, to: u32) {
    for i in from..to {
        db.put(0, b"hot", &i.to_be_bytes(), WriteOptions::default())
            .unwrap();
    }
}

#[test]
fn overwritten_versions_stay_out_of_the_flushed_table_unless_a_snapshot_reads_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let db = Db::open(&dir, Options::default()).unwrap();
    hot_and_cold(&db, 0, 100);
    let snap = db.snapshot(); // reads value 99
    hot_and_cold(&db, 100, 200);
    db.put(0, b"cold", b"c", WriteOptions::default()).unwrap();
    db.flush().unwrap();
    // "hot" at 199 and at 99 (the snapshot's), and "cold".
    assert_eq!(entries_on_disk(&db, &dir), 3);
    assert_eq!(
        db.get(0, b"hot", None).unwrap().as_deref(),
        Some(&199u32.to_be_bytes()[..])
    );
    assert_eq!(
        db.get(0, b"hot", Some(&snap)).unwrap().as_deref(),
        Some(&99u32.to_be_bytes()[..])
    );
    drop(snap);
    drop(db);
    let db = Db::open(&dir, Options::default()).unwrap();
    assert_eq!(
        db.get(0, b"hot", None).unwrap().as_deref(),
        Some(&199u32.to_be_bytes()[..])
    );

    // Without a snapshot only the newest version is written.
    let dir2 = tmp.path().join("db2");
    let db2 = Db::open(&dir2, Options::default()).unwrap();
    hot_and_cold(&db2, 0, 200);
    db2.delete(0, b"gone", WriteOptions::default()).unwrap();
    db2.flush().unwrap();
    // A point tombstone stays: a flush knows nothing of what lies below it.
    assert_eq!(entries_on_disk(&db2, &dir2), 2);
}
