//! `wait_for_compactions` returns only once background work has settled: every immutable
//! memtable flushed and no level due for compaction; and it reports a background failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use lsm::fs::MemFs;
use lsm::{Db, Options, WriteOptions};

fn tables_on_disk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sst")
        })
        .count()
}

fn small_tree() -> Options {
    let mut options = Options {
        write_buffer_size: 32 << 10,
        max_immutable_memtables: 4,
        l0_slowdown_trigger: 100,
        l0_stop_trigger: 200,
        ..Options::default()
    };
    options.compaction.l0_trigger = 2;
    options.compaction.base_level_bytes = 128 << 10;
    options.compaction.target_file_size = 32 << 10;
    options
}

#[test]
fn returns_once_nothing_is_due() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path().join("db"), small_tree()).unwrap();
    let value = vec![0x5au8; 300];
    for i in 0..6000u32 {
        // Scattered keys, so that compactions overlap and cannot all be trivial moves.
        let key = i.wrapping_mul(2_654_435_761).to_be_bytes();
        db.put(0, &key, &value, WriteOptions::default()).unwrap();
    }
    db.wait_for_compactions().unwrap();
    let stats = db.stats();
    assert!(stats.flushes > 0 && stats.compactions > 0, "{stats}");
    for (level, (files, _, score)) in stats.levels.iter().enumerate() {
        assert!(
            *score < 1.0,
            "level {level} ({files} files) still due: {stats}"
        );
    }
    // The inputs of every finished compaction are gone from the disk.
    let on_disk = tables_on_disk(&tmp.path().join("db"));
    assert_eq!(on_disk, db.current_version().all_files().count(), "{stats}");
    // Everything written is readable after the wait, and a second wait returns at once.
    for i in (0..6000u32).step_by(97) {
        let key = i.wrapping_mul(2_654_435_761).to_be_bytes();
        assert_eq!(db.get(0, &key, None).unwrap().as_deref(), Some(&value[..]));
    }
    db.wait_for_compactions().unwrap();
}

#[test]
fn reports_a_background_failure() {
    let fs = Arc::new(MemFs::new());
    let db = Db::open(
        "/db",
        Options {
            fs: fs.clone(),
            ..small_tree()
        },
    )
    .unwrap();
    fs.fail_sync_data(lsm::fs::Fail::Always);
    let value = vec![1u8; 300];
    // The first flush's fsync fails; writes may themselves start failing once it has.
    for i in 0..2000u32 {
        if db
            .put(0, &i.to_be_bytes(), &value, WriteOptions::default())
            .is_err()
        {
            break;
        }
    }
    let err = db.wait_for_compactions().unwrap_err();
    assert!(matches!(err, lsm::Error::Background(_)), "{err}");
}

#[test]
fn deletes_files_a_reader_kept_alive_once_it_lets_go() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let db = Db::open(&dir, small_tree()).unwrap();
    let value = vec![7u8; 300];
    let tables = || tables_on_disk(&dir);
    for i in 0..500u32 {
        db.put(0, &i.to_be_bytes(), &value, WriteOptions::default())
            .unwrap();
    }
    db.flush().unwrap();
    // An iterator pins the current tables while everything is rewritten below them.
    let it = db.iter(0, lsm::iter::IterOptions::default(), None).unwrap();
    for i in 0..500u32 {
        db.put(0, &i.to_be_bytes(), &value, WriteOptions::default())
            .unwrap();
    }
    db.compact_range(0, None, None).unwrap();
    let pinned = tables();
    drop(it);
    db.wait_for_compactions().unwrap();
    let live = db.current_version().all_files().count();
    assert_eq!(tables(), live, "{pinned} tables while pinned");
    assert!(pinned > live);
}
