//! Damage on disk, seen through the engine: a damaged table is a typed corruption error when
//! read (never wrong data), a damaged manifest fails the open, and a torn WAL tail recovers
//! every record before it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use lsm::filename::{self, FileKind};
use lsm::iter::IterOptions;
use lsm::{Db, Error, Options, WriteOptions};

fn options() -> Options {
    let mut o = Options::default();
    o.table.block_size = 512;
    o
}

fn files_of(dir: &Path, pick: impl Fn(FileKind) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| filename::parse(p.file_name().unwrap().to_str().unwrap()).is_some_and(&pick))
        .collect();
    v.sort();
    v
}

fn flip(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x55;
    std::fs::write(path, bytes).unwrap();
}

fn write_and_flush(dir: &Path) {
    let db = Db::open(dir, options()).unwrap();
    for i in 0..500u32 {
        db.put(0, &i.to_be_bytes(), &[b'x'; 100], WriteOptions::default())
            .unwrap();
    }
    db.close().unwrap();
}

#[test]
fn a_damaged_data_block_is_a_corruption_error_never_wrong_data() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    write_and_flush(&dir);
    let table = files_of(&dir, |k| matches!(k, FileKind::Table(_)))[0].clone();
    flip(&table, 700); // inside an early data block
    let db = Db::open(&dir, options()).unwrap();
    let mut errors = 0;
    for i in 0..500u32 {
        match db.get(0, &i.to_be_bytes(), None) {
            Ok(Some(v)) => assert_eq!(&v[..], &[b'x'; 100][..], "key {i}: wrong data"),
            Ok(None) => panic!("key {i}: lost without an error"),
            Err(e) => {
                assert!(e.is_corruption(), "key {i}: {e}");
                errors += 1;
            }
        }
    }
    assert!(errors > 0, "the damage went unnoticed");
    let mut it = db.iter(0, IterOptions::default(), None).unwrap();
    let mut scan = it.seek_to_first();
    while scan.is_ok() && it.valid() {
        scan = it.next();
    }
    assert!(
        matches!(scan, Err(Error::Corruption { .. })),
        "a scan must stop at the damage"
    );
}

#[test]
fn a_damaged_table_footer_or_manifest_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    write_and_flush(&dir);
    let table = files_of(&dir, |k| matches!(k, FileKind::Table(_)))[0].clone();
    let len = std::fs::metadata(&table).unwrap().len() as usize;
    flip(&table, len - 3); // the magic number
    let db = Db::open(&dir, options()).unwrap();
    let err = db.get(0, &1u32.to_be_bytes(), None).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    drop(db);

    let manifest = files_of(&dir, |k| matches!(k, FileKind::Manifest(_)))[0].clone();
    flip(&manifest, 10);
    let err = Db::open(&dir, options()).unwrap_err();
    assert!(err.is_corruption(), "{err}");
}

#[test]
fn a_torn_wal_tail_recovers_every_record_before_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    {
        let db = Db::open(&dir, options()).unwrap();
        for i in 0..100u32 {
            db.put(
                0,
                &i.to_be_bytes(),
                &i.to_le_bytes(),
                WriteOptions::default(),
            )
            .unwrap();
        }
        // Dropped without close: the writes are only in the WAL.
    }
    let wal = files_of(&dir, |k| matches!(k, FileKind::Wal(_)))
        .pop()
        .unwrap();
    let len = std::fs::metadata(&wal).unwrap().len();
    // Cut into the last record, as a crash during its append would.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&wal)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let db = Db::open(&dir, options()).unwrap();
    for i in 0..99u32 {
        let v = db.get(0, &i.to_be_bytes(), None).unwrap();
        assert_eq!(v.as_deref(), Some(&i.to_le_bytes()[..]), "key {i}");
    }
    assert_eq!(
        db.get(0, &99u32.to_be_bytes(), None).unwrap(),
        None,
        "the torn record is gone"
    );
}
