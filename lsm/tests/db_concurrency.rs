//! Concurrency: writers commit multi-key batches while readers read at snapshots and at the
//! latest state. Every batch sets all of its keys to the same value, so a reader that ever sees
//! two different values among one batch's keys has seen half a batch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use lsm::iter::IterOptions;
use lsm::{Db, Options, WriteBatch, WriteOptions};

const WRITERS: u64 = 3;
const GROUPS: u64 = 8;
const KEYS_PER_GROUP: u64 = 6;

fn key(group: u64, i: u64) -> Vec<u8> {
    format!("g{group:02}-k{i:02}").into_bytes()
}

#[test]
fn readers_never_see_half_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options {
        write_buffer_size: 16 << 10,
        ..Options::default()
    };
    options.compaction.base_level_bytes = 64 << 10;
    options.compaction.target_file_size = 16 << 10;
    let db = Arc::new(Db::open(dir.path().join("db"), options).unwrap());
    let stop = Arc::new(AtomicBool::new(false));

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                for n in 0..400u64 {
                    let group = (w * 31 + n) % GROUPS;
                    let value = format!("{w}-{n}").into_bytes();
                    let mut batch = WriteBatch::new();
                    for i in 0..KEYS_PER_GROUP {
                        batch.put(0, &key(group, i), &value);
                    }
                    db.write(WriteOptions { sync: n % 50 == 0 }, batch).unwrap();
                }
            })
        })
        .collect();

    let readers: Vec<_> = (0..2)
        .map(|r| {
            let db = db.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut checks = 0u64;
                while !stop.load(Ordering::Relaxed) || checks < 50 {
                    let snap = db.snapshot();
                    let snapshot = (r == 0).then_some(&snap);
                    for group in 0..GROUPS {
                        let values: Vec<_> = (0..KEYS_PER_GROUP)
                            .map(|i| db.get(0, &key(group, i), snapshot).unwrap())
                            .collect();
                        if r == 0 {
                            assert!(
                                values.windows(2).all(|p| p[0] == p[1]),
                                "half a batch: {values:?}"
                            );
                        }
                    }
                    // A scan at the snapshot sees whole batches too.
                    let mut it = db.iter(0, IterOptions::default(), Some(&snap)).unwrap();
                    it.seek_to_first().unwrap();
                    let mut current: Option<(Vec<u8>, Vec<u8>)> = None;
                    while it.valid() {
                        let group = it.key()[..3].to_vec();
                        match &current {
                            Some((g, v)) if *g == group => {
                                assert_eq!(v.as_slice(), it.value(), "half a batch in a scan")
                            }
                            _ => current = Some((group, it.value().to_vec())),
                        }
                        it.next().unwrap();
                    }
                    checks += 1;
                }
                checks
            })
        })
        .collect();

    for w in writers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() >= 50);
    }
    let stats = db.stats();
    assert!(stats.flushes > 0, "the test should have flushed: {stats}");
    assert_eq!(stats.writes, WRITERS * 400);
}
