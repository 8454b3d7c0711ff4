//! Deleting most keys gives their space back once compactions settle, even when the
//! tombstones alone are too small to put their level over its target: a table that is mostly
//! deletions weighs in compaction priority as much as the data it deletes (compensated size),
//! so it is compacted down onto that data and both disappear.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lsm::{Db, Options, WriteOptions};

const KEYS: u32 = 20_000;

fn options() -> Options {
    let mut options = Options {
        write_buffer_size: 64 << 10,
        max_immutable_memtables: 4,
        l0_slowdown_trigger: 100,
        l0_stop_trigger: 200,
        ..Options::default()
    };
    options.compaction.l0_trigger = 2;
    options.compaction.base_level_bytes = 256 << 10;
    options.compaction.target_file_size = 64 << 10;
    options.table.compression = sstable::Compression::None;
    options
}

/// 100 bytes, different per key (tables are uncompressed, so sizes are predictable).
fn value(i: u32) -> Vec<u8> {
    format!("{i:0>100}").into_bytes()
}

fn live_bytes(db: &Db) -> u64 {
    let v = db.current_version();
    (0..lsm::version::NUM_LEVELS)
        .map(|l| v.level_bytes(l))
        .sum()
}

#[test]
fn deleting_two_thirds_of_the_keys_frees_their_space() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path().join("db"), options()).unwrap();
    for i in 0..KEYS {
        db.put(0, &i.to_be_bytes(), &value(i), WriteOptions::default())
            .unwrap();
    }
    db.compact_range(0, None, None).unwrap();
    let full = live_bytes(&db);
    let bottom = lsm::version::NUM_LEVELS - 1;
    assert_eq!(db.current_version().level_bytes(bottom), full);

    for i in (0..KEYS).filter(|i| i % 3 != 0) {
        db.delete(0, &i.to_be_bytes(), WriteOptions::default())
            .unwrap();
    }
    db.flush().unwrap();
    db.wait_for_compactions().unwrap();
    let stats = db.stats();
    let after = live_bytes(&db);
    // A third of the data is live; allow for table overhead and leftover tombstones.
    assert!(
        after * 2 < full,
        "{after} bytes of tables for a third of {full}: {stats}"
    );
    // The tombstones went down onto the data they delete.
    assert!(
        stats.compactions_by_level[bottom].read_upper > 0,
        "nothing was compacted into the last level: {stats}"
    );
    for i in (0..KEYS).step_by(7) {
        let got = db.get(0, &i.to_be_bytes(), None).unwrap();
        if i % 3 == 0 {
            assert_eq!(got.as_deref(), Some(&value(i)[..]), "key {i}");
        } else {
            assert_eq!(got, None, "key {i}");
        }
    }
}
