//! Scenario: the seam end to end for a table. `sstable::TableBuilder` writes through a
//! `Box<dyn WritableFile>` from MemFs (its `finish` syncs the data); once the directory is
//! synced the table survives a crash and `Table::from_file(open_random(..))` reads it back.
//! Without the directory sync the table is gone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{bytes, fs_with_db};
use lsm::fs::{FileSystem, MemFs};
use lsm::key::{internal_key, CfUserKeyExtractor, InternalKeyComparator, ValueKind};
use sstable::{ReadOptions, Table, TableBuilder, TableOptions};

const TABLE: &str = "db/000007.sst";

fn entries() -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..2_000u64)
        .map(|i| {
            let user_key = format!("user{i:06}");
            let key = internal_key(0, user_key.as_bytes(), 100 + i, ValueKind::Put);
            (key, bytes(i, 20 + (i % 50) as usize))
        })
        .collect()
}

fn build(fs: &MemFs) {
    let options = TableOptions {
        comparator: Arc::new(InternalKeyComparator),
        filter_key: Arc::new(CfUserKeyExtractor),
        ..TableOptions::default()
    };
    let file = fs.create(Path::new(TABLE)).unwrap();
    let mut builder = TableBuilder::new(file, TABLE, options).unwrap();
    for (k, v) in entries() {
        builder.add(&k, &v).unwrap();
    }
    builder.finish().unwrap();
}

fn read_options() -> ReadOptions {
    ReadOptions {
        comparator: Arc::new(InternalKeyComparator),
        filter_key: Arc::new(CfUserKeyExtractor),
        ..ReadOptions::default()
    }
}

#[test]
fn a_finished_table_in_a_synced_directory_survives_a_crash() {
    let fs = fs_with_db();
    let syncs_before = fs.stats().syncs;
    build(&fs);
    assert!(fs.stats().syncs > syncs_before, "finish syncs the table");
    fs.sync_dir(Path::new("db")).unwrap();
    fs.crash();

    let file = fs.open_random(Path::new(TABLE)).unwrap();
    let table = Table::from_file(file, TABLE, &read_options()).unwrap();
    assert_eq!(table.properties().num_entries, 2_000);
    for (k, v) in entries().iter().step_by(97) {
        assert_eq!(table.get(k).unwrap().as_deref(), Some(&v[..]));
    }
    let mut iter = table.iter();
    iter.seek_to_first().unwrap();
    let mut n = 0;
    while iter.valid() {
        n += 1;
        iter.next().unwrap();
    }
    assert_eq!(n, 2_000);
}

#[test]
fn a_table_whose_directory_was_not_synced_is_gone_after_a_crash() {
    let fs = fs_with_db();
    build(&fs);
    fs.crash();
    assert!(!fs.exists(Path::new(TABLE)));
}
