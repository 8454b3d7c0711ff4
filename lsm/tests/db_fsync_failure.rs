//! An fsync error is fatal and never retried: the write that hit it fails, the engine refuses
//! every later write (it can no longer know what is durable), nothing is deleted, and a reopen
//! recovers a consistent prefix including every write acknowledged before the failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use lsm::fs::{Fail, MemFs};
use lsm::{Db, Error, Options, WriteOptions};

fn options(fs: &MemFs) -> Options {
    Options {
        fs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

#[test]
fn a_failed_wal_sync_stops_writes_without_retrying() {
    let fs = MemFs::new();
    let dir = Path::new("/db");
    let db = Db::open(dir, options(&fs)).unwrap();
    let sync = WriteOptions { sync: true };
    for i in 0..10u32 {
        db.put(0, &i.to_be_bytes(), b"before", sync).unwrap();
    }
    let failed_before = fs.stats().failed_syncs;
    fs.fail_sync_data(Fail::Next(1));
    let err = db.put(0, b"doomed", b"x", sync).unwrap_err();
    assert!(matches!(err, Error::Background(_)), "{err}");
    assert_eq!(fs.stats().failed_syncs, failed_before + 1);
    // The fault is gone, but the engine does not retry or resume: every write fails.
    let syncs = fs.stats().syncs;
    for _ in 0..3 {
        assert!(matches!(
            db.put(0, b"later", b"x", sync),
            Err(Error::Background(_))
        ));
        assert!(matches!(
            db.put(0, b"later", b"x", WriteOptions::default()),
            Err(Error::Background(_))
        ));
    }
    assert_eq!(fs.stats().syncs, syncs, "no sync was attempted again");
    // Reads still work.
    assert_eq!(
        db.get(0, &3u32.to_be_bytes(), None).unwrap().as_deref(),
        Some(&b"before"[..])
    );
    drop(db);

    fs.crash();
    let db = Db::open(dir, options(&fs)).unwrap();
    for i in 0..10u32 {
        assert_eq!(
            db.get(0, &i.to_be_bytes(), None).unwrap().as_deref(),
            Some(&b"before"[..]),
            "key {i}"
        );
    }
    assert_eq!(db.get(0, b"later", None).unwrap(), None);
    db.put(0, b"after-reopen", b"ok", sync).unwrap();
}
