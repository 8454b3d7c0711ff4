//! Reads without a snapshot see every write acknowledged before they began, while memtables
//! switch, flush and compact underneath (readers load the published view without the state
//! lock, so a view older than the sequence number read would show an older value).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use lsm::{Db, Options, WriteOptions};

const WRITERS: usize = 3;
const WRITES: u64 = 1500;

fn key(w: usize) -> Vec<u8> {
    format!("counter-{w}").into_bytes()
}

/// The counter in the first 8 bytes, padding after it so memtables fill quickly.
fn value(n: u64) -> Vec<u8> {
    let mut v = n.to_be_bytes().to_vec();
    v.resize(512, b'.');
    v
}

#[test]
fn a_read_sees_every_write_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options {
        write_buffer_size: 32 << 10,
        ..Options::default()
    };
    options.compaction.base_level_bytes = 64 << 10;
    options.compaction.target_file_size = 16 << 10;
    let db = Arc::new(Db::open(dir.path().join("db"), options).unwrap());
    let acked: Arc<Vec<AtomicU64>> = Arc::new((0..WRITERS).map(|_| AtomicU64::new(0)).collect());
    let stop = Arc::new(AtomicBool::new(false));

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (db, acked) = (db.clone(), acked.clone());
            std::thread::spawn(move || {
                for n in 1..=WRITES {
                    db.put(0, &key(w), &value(n), WriteOptions::default())
                        .unwrap();
                    acked[w].store(n, Ordering::Release);
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (db, acked, stop) = (db.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(Ordering::Acquire) {
                    for w in 0..WRITERS {
                        let floor = acked[w].load(Ordering::Acquire);
                        let got = db.get(0, &key(w), None).unwrap();
                        let seen =
                            got.map_or(0, |v| u64::from_be_bytes(v[..8].try_into().unwrap()));
                        assert!(
                            seen >= floor,
                            "key {w}: read {seen}, {floor} was acknowledged"
                        );
                        reads += 1;
                    }
                }
                reads
            })
        })
        .collect();
    for t in writers {
        t.join().unwrap();
    }
    stop.store(true, Ordering::Release);
    for t in readers {
        assert!(t.join().unwrap() > 0);
    }
    let stats = db.stats();
    assert!(
        stats.flushes > 10,
        "memtables must switch under the readers: {stats:?}"
    );
    for w in 0..WRITERS {
        let v = db.get(0, &key(w), None).unwrap().unwrap();
        assert_eq!(&v[..8], &WRITES.to_be_bytes());
    }
}
