//! After each flush and compaction the engine returns freed heap pages to the OS, counts how
//! often and how long that took, and does neither when `release_freed_memory` is off.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use lsm::fs::MemFs;
use lsm::{Db, Options, WriteOptions};

fn options(release: bool) -> Options {
    Options {
        fs: Arc::new(MemFs::new()),
        write_buffer_size: 64 << 10,
        release_freed_memory: release,
        ..Options::default()
    }
}

/// Enough writes to fill several memtables, so flushes (and compactions) run.
fn fill(db: &Db) {
    for i in 0..3000u32 {
        db.put(
            0,
            format!("k{i:06}").as_bytes(),
            &[i as u8; 100],
            WriteOptions::default(),
        )
        .unwrap();
    }
    db.flush().unwrap();
    db.wait_for_compactions().unwrap();
}

#[test]
fn each_background_job_releases_freed_memory() {
    let db = Db::open(std::path::Path::new("db"), options(true)).unwrap();
    fill(&db);
    // The release follows the job's install, so `flush` may return just before it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stats = db.stats();
    while stats.memory_releases < stats.flushes + stats.compactions {
        assert!(Instant::now() < deadline, "releases lag jobs: {stats}");
        std::thread::sleep(Duration::from_millis(10));
        stats = db.stats();
    }
    assert!(stats.flushes >= 2, "{stats}");
    assert!(stats.to_string().contains("memory released"), "{stats}");
    for i in (0..3000u32).step_by(97) {
        assert_eq!(
            db.get(0, format!("k{i:06}").as_bytes(), None)
                .unwrap()
                .as_deref(),
            Some(&[i as u8; 100][..])
        );
    }
}

#[test]
fn switched_off_nothing_is_released() {
    let db = Db::open(std::path::Path::new("db"), options(false)).unwrap();
    fill(&db);
    std::thread::sleep(Duration::from_millis(50));
    let stats = db.stats();
    assert!(stats.flushes >= 2, "{stats}");
    assert_eq!(stats.memory_releases, 0, "{stats}");
    assert_eq!(stats.memory_release_micros, 0, "{stats}");
}
