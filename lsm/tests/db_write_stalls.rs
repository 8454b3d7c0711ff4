//! Backpressure: under a sustained write load memory stays bounded (immutable memtables are
//! capped, and writes slow down and wait while L0 is behind), and nothing is lost.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use lsm::{Db, Options, WriteOptions};

#[test]
fn memory_stays_bounded_and_writes_slow_down_then_wait() {
    let tmp = tempfile::tempdir().unwrap();
    let buffer = 64 << 10;
    let mut options = Options {
        write_buffer_size: buffer,
        max_immutable_memtables: 1,
        l0_slowdown_trigger: 1,
        l0_stop_trigger: 3,
        ..Options::default()
    };
    options.compaction.l0_trigger = 2;
    options.compaction.base_level_bytes = 512 << 10;
    options.compaction.target_file_size = 128 << 10;
    let db = Arc::new(Db::open(tmp.path().join("db"), options).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (db, done, peak) = (db.clone(), done.clone(), peak.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(db.stats().memtable_bytes, Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        })
    };
    let value = vec![0xabu8; 1000];
    for i in 0..8000u32 {
        db.put(0, &i.to_be_bytes(), &value, WriteOptions::default())
            .unwrap();
    }
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();

    // One active and one immutable memtable, each at most a buffer plus the entry that
    // crossed the threshold.
    let bound = 2 * (buffer as u64 + 2048);
    let peak = peak.load(Ordering::Relaxed);
    assert!(
        peak <= bound,
        "memtables peaked at {peak} bytes, bound {bound}"
    );
    let stats = db.stats();
    assert!(stats.slowdowns > 0, "{stats}");
    assert!(stats.stall_micros > 0, "{stats}");
    for i in (0..8000u32).step_by(97) {
        assert!(
            db.get(0, &i.to_be_bytes(), None).unwrap().is_some(),
            "key {i}"
        );
    }
}
