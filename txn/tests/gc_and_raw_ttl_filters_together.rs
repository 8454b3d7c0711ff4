//! One database serving both APIs runs both compaction filters: the raw TTL filter (a
//! stateless `compaction_filter`) and MVCC GC (a per-run `compaction_filter_factory`). Each
//! reclaims only its own column family's garbage in the same compactions, and neither
//! touches what the other API still reads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use mvcc::{Cf, Key, LsmEngine, Snapshot, TimeStamp};
use txn::{
    ApiVersion, ConcurrencyManager, Engine, GcCompactionFilterFactory, LocalEngine, ManualClock,
    RawStorage, RawTtlFilter, TxnStorage,
};

mod cmd_common;

use cmd_common::{get, must_put, ts};

const T0: u64 = 1_700_000_000;

/// Whether the engine holds `key` in `cf` at all (expired or not, visible or not).
async fn physically_present(engine: &LocalEngine, cf: Cf, key: &[u8]) -> bool {
    engine
        .snapshot()
        .await
        .unwrap()
        .get_cf(cf, key)
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn both_filters_reclaim_their_own_garbage_in_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let ttl_filter = Arc::new(RawTtlFilter::new(Arc::new(clock.clone())));
    let safe_point = Arc::new(AtomicU64::new(0));
    let gc = Arc::new(GcCompactionFilterFactory::new(safe_point.clone()));
    let options = lsm::Options {
        compaction_filter: Some(ttl_filter.clone()),
        compaction_filter_factory: Some(gc.clone()),
        background_threads: 1,
        ..lsm::Options::default()
    };
    let db = Arc::new(lsm::Db::open(dir.path(), options).unwrap());
    let lsm_engine = LsmEngine::new(db.clone()).unwrap();
    ttl_filter.bind(&lsm_engine);
    gc.attach(&db);
    let engine = LocalEngine::new(lsm_engine);
    let raw = RawStorage::new(engine.clone(), ApiVersion::V1Ttl)
        .with_clock(Arc::new(clock.clone()))
        .with_sync(false);
    let txn = TxnStorage::new(engine.clone(), ConcurrencyManager::new(TimeStamp::zero()))
        .with_sync(false);

    // Raw: one value expiring after 60 s, one forever.
    raw.put(b"r-short".to_vec(), b"v".to_vec(), 60)
        .await
        .unwrap();
    raw.put(b"r-long".to_vec(), b"v".to_vec(), 0).await.unwrap();
    // Transactional: two versions of one key; the older is garbage once the safe point
    // passes the newer.
    must_put(&txn, &[(b"t", b"old")], 5, 6).await;
    must_put(&txn, &[(b"t", b"new")], 10, 11).await;

    let old_write = Key::from_raw(b"t").append_ts(ts(6)).into_encoded();
    let new_write = Key::from_raw(b"t").append_ts(ts(11)).into_encoded();
    // API V1 stores raw keys as they are.
    let (raw_short, raw_long) = (b"r-short".to_vec(), b"r-long".to_vec());

    clock.advance(120);
    safe_point.store(20, Ordering::SeqCst);
    db.flush().unwrap();
    for cf in [Cf::Raw, Cf::Write] {
        let id = db.cf_id(cf.name()).unwrap();
        db.compact_range(id, None, None).unwrap();
    }

    assert!(
        !physically_present(&engine, Cf::Raw, &raw_short).await,
        "the expired raw value is reclaimed"
    );
    assert!(physically_present(&engine, Cf::Raw, &raw_long).await);
    assert!(
        !physically_present(&engine, Cf::Write, &old_write).await,
        "the old MVCC version is collected"
    );
    assert!(physically_present(&engine, Cf::Write, &new_write).await);
    assert_eq!(get(&txn, b"t", 30).await, Some(b"new".to_vec()));
    assert_eq!(raw.get(b"r-long").await.unwrap(), Some(b"v".to_vec()));
    assert_eq!(raw.get(b"r-short").await.unwrap(), None);
}
