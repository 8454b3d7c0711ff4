//! `export_range` and `ingest_sst`: a range moves between databases as table files, and the
//! ingested data is newer than everything already in the target.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lsm::version::NUM_LEVELS;
use lsm::{Db, Options, WriteBatch, WriteOptions};

fn key(i: u32) -> Vec<u8> {
    format!("k{i:03}").into_bytes()
}

fn fill(db: &Db, range: std::ops::Range<u32>, tag: &str) {
    let mut batch = WriteBatch::new();
    for i in range {
        batch.put(0, &key(i), format!("{tag}-{i}").as_bytes());
    }
    db.write(WriteOptions::default(), batch).unwrap();
}

fn get(db: &Db, i: u32) -> Option<String> {
    db.get(0, &key(i), None)
        .unwrap()
        .map(|v| String::from_utf8(v.to_vec()).unwrap())
}

#[test]
fn an_exported_range_ingests_as_the_newest_data() {
    let tmp = tempfile::tempdir().unwrap();
    let source = Db::open(tmp.path().join("a"), Options::default()).unwrap();
    fill(&source, 0..200, "a");
    source.flush().unwrap();
    fill(&source, 120..130, "a2"); // newer versions still in the memtable
    source.delete(0, &key(60), WriteOptions::default()).unwrap();
    let files = source
        .export_range(
            0,
            Some(&key(50)),
            Some(&key(150)),
            &tmp.path().join("export"),
        )
        .unwrap();
    assert!(!files.is_empty());

    let target = Db::open(tmp.path().join("b"), Options::default()).unwrap();
    fill(&target, 40..160, "old");
    target.flush().unwrap();
    target.compact_range(0, None, None).unwrap();
    fill(&target, 90..95, "memtable-old");
    let before = target.snapshot();
    target.ingest_sst(&files).unwrap();

    assert_eq!(get(&target, 100).as_deref(), Some("a-100"));
    assert_eq!(
        get(&target, 92).as_deref(),
        Some("a-92"),
        "newer than the target's memtable"
    );
    assert_eq!(get(&target, 125).as_deref(), Some("a2-125"));
    assert_eq!(
        get(&target, 45).as_deref(),
        Some("old-45"),
        "outside the range"
    );
    assert_eq!(get(&target, 155).as_deref(), Some("old-155"));
    assert_eq!(
        get(&target, 60).as_deref(),
        Some("old-60"),
        "export carries values, not deletions"
    );
    let snap_value = target.get(0, &key(100), Some(&before)).unwrap();
    assert_eq!(
        snap_value.as_deref(),
        Some(&b"old-100"[..]),
        "the snapshot predates the ingest"
    );
    drop(before);

    // Writes continue after the ingested sequence number, and everything survives.
    target
        .put(0, &key(101), b"after", WriteOptions::default())
        .unwrap();
    target.close().unwrap();
    let target = Db::open(tmp.path().join("b"), Options::default()).unwrap();
    assert_eq!(get(&target, 100).as_deref(), Some("a-100"));
    assert_eq!(get(&target, 101).as_deref(), Some("after"));
    target.compact_range(0, None, None).unwrap();
    assert_eq!(get(&target, 100).as_deref(), Some("a-100"));
    assert_eq!(get(&target, 45).as_deref(), Some("old-45"));
}

#[test]
fn ingestion_into_an_empty_range_lands_at_the_bottom() {
    let tmp = tempfile::tempdir().unwrap();
    let source = Db::open(tmp.path().join("a"), Options::default()).unwrap();
    fill(&source, 0..10, "a");
    let files = source
        .export_range(0, None, None, &tmp.path().join("x"))
        .unwrap();
    let target = Db::open(tmp.path().join("b"), Options::default()).unwrap();
    target.ingest_sst(&files).unwrap();
    let v = target.current_version();
    assert_eq!(v.files(NUM_LEVELS - 1).len(), 1, "placed at the last level");
    assert_eq!(get(&target, 3).as_deref(), Some("a-3"));
}
