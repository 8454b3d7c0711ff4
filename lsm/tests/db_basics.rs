//! The engine's API end to end on a real directory: writes, reads, deletes, range deletes,
//! snapshots, iterators, flush, compaction, column families and reopening.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lsm::iter::IterOptions;
use lsm::{Db, Options, WriteBatch, WriteOptions};

fn small_options() -> Options {
    let mut o = Options {
        write_buffer_size: 64 << 10,
        ..Options::default()
    };
    o.compaction.base_level_bytes = 256 << 10;
    o.compaction.target_file_size = 64 << 10;
    o.table.block_size = 1024;
    o
}

fn scan(db: &Db, cf: u8, opts: IterOptions) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut it = db.iter(cf, opts, None).unwrap();
    it.seek_to_first().unwrap();
    let mut out = Vec::new();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.next().unwrap();
    }
    out
}

#[test]
fn writes_reads_snapshots_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Db::open(&path, small_options()).unwrap();
    let w = WriteOptions::default();
    db.put(0, b"a", b"1", w).unwrap();
    db.put(0, b"b", b"2", w).unwrap();
    db.put(2, b"a", b"write-cf", w).unwrap();
    let snap = db.snapshot();
    db.put(0, b"a", b"1-new", w).unwrap();
    db.delete(0, b"b", w).unwrap();
    assert_eq!(
        db.get(0, b"a", None).unwrap().as_deref(),
        Some(&b"1-new"[..])
    );
    assert_eq!(db.get(0, b"b", None).unwrap(), None);
    assert_eq!(
        db.get(0, b"a", Some(&snap)).unwrap().as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(
        db.get(0, b"b", Some(&snap)).unwrap().as_deref(),
        Some(&b"2"[..])
    );
    assert_eq!(
        db.get(2, b"a", None).unwrap().as_deref(),
        Some(&b"write-cf"[..])
    );
    assert_eq!(
        db.get(1, b"a", None).unwrap(),
        None,
        "column families are separate"
    );

    // Range delete across a flush boundary.
    let mut batch = WriteBatch::new();
    for i in 0..100u32 {
        batch.put(0, format!("k{i:03}").as_bytes(), &[b'v'; 100]);
    }
    db.write(w, batch).unwrap();
    db.flush().unwrap();
    let mut batch = WriteBatch::new();
    batch.delete_range(0, b"k010", b"k020").unwrap();
    db.write(WriteOptions { sync: true }, batch).unwrap();
    assert_eq!(db.get(0, b"k015", None).unwrap(), None);
    assert!(db.get(0, b"k020", None).unwrap().is_some());
    let all = scan(&db, 0, IterOptions::default());
    assert_eq!(all.len(), 1 + 90, "a plus 90 surviving k keys");
    let bounded = scan(
        &db,
        0,
        IterOptions {
            lower_bound: Some(b"k005".to_vec()),
            upper_bound: Some(b"k025".to_vec()),
        },
    );
    assert_eq!(bounded.len(), 5 + 5);
    drop(snap);
    db.close().unwrap();

    let db = Db::open(&path, small_options()).unwrap();
    assert_eq!(
        db.get(0, b"a", None).unwrap().as_deref(),
        Some(&b"1-new"[..])
    );
    assert_eq!(db.get(0, b"k015", None).unwrap(), None);
    assert_eq!(scan(&db, 0, IterOptions::default()).len(), 91);
    db.compact_range(0, None, None).unwrap();
    assert_eq!(scan(&db, 0, IterOptions::default()).len(), 91);
    assert!(db.current_version().files(0).is_empty());
    let stats = db.stats();
    assert!(stats.compactions >= 1, "{stats}");
}

#[test]
fn unsynced_writes_survive_a_drop_without_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = Db::open(&path, small_options()).unwrap();
        for i in 0..2000u32 {
            db.put(0, &i.to_be_bytes(), &[7u8; 64], WriteOptions::default())
                .unwrap();
        }
        // Dropped without close: the memtable is only in the WAL.
    }
    let db = Db::open(&path, small_options()).unwrap();
    for i in 0..2000u32 {
        assert!(
            db.get(0, &i.to_be_bytes(), None).unwrap().is_some(),
            "key {i}"
        );
    }
    assert!(
        Db::open(&path, small_options()).is_err(),
        "a second open is refused"
    );
}

#[test]
fn column_families_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Db::open(&path, small_options()).unwrap();
    assert_eq!(db.cf_id("default"), Some(0));
    assert_eq!(db.cf_id("raft"), Some(3));
    let id = db.create_cf("ttl").unwrap();
    assert_eq!(db.create_cf("ttl").unwrap(), id);
    db.put(id, b"k", b"v", WriteOptions::default()).unwrap();
    db.close().unwrap();
    let db = Db::open(&path, small_options()).unwrap();
    assert_eq!(db.cf_id("ttl"), Some(id));
    assert_eq!(db.get(id, b"k", None).unwrap().as_deref(), Some(&b"v"[..]));
}
