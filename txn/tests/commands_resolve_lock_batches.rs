//! Scenario: resolving thousands of locks of several transactions over a key range, in
//! chunks: every listed transaction's locks are committed or rolled back, unlisted ones
//! stay, and no engine batch resolves more than one chunk. Also GC and delete_range over
//! what remains. Both engines.
#![allow(clippy::unwrap_used)]

mod cmd_common;

use std::collections::HashMap;

use cmd_common::*;
use mvcc::TimeStamp;
use txn::{Engine, TxnStorage, RESOLVE_LOCK_BATCH_SIZE};

fn key(i: usize) -> Vec<u8> {
    format!("k{i:05}").into_bytes()
}

/// Prewrites keys `range` for transaction `start` in requests of 500 keys.
async fn prewrite_many<E: Engine>(s: &TxnStorage<E>, range: std::ops::Range<usize>, start: u64) {
    let keys: Vec<Vec<u8>> = range.map(key).collect();
    for chunk in keys.chunks(500) {
        let kvs: Vec<(&[u8], &[u8])> = chunk.iter().map(|k| (&k[..], &b"v"[..])).collect();
        let r = s.prewrite(put_req(&keys[0], start, &kvs)).await.unwrap();
        assert!(r.errors.is_empty());
    }
}

async fn scenario<E: Engine>(s: &TxnStorage<E>) {
    // Interleaved: txn 10 on even keys, txn 20 on odd keys below 1000, txn 30 (unlisted)
    // on keys 3000..3100.
    prewrite_many(s, 0..2000, 10).await; // all of 0..2000 first …
    s.batch_rollback(
        &(0..2000)
            .filter(|i| i % 2 == 1)
            .map(key)
            .collect::<Vec<_>>(),
        ts(10),
    )
    .await
    .unwrap(); // … then give the odd ones back,
    let odd: Vec<Vec<u8>> = (0..1000).filter(|i| i % 2 == 1).map(key).collect();
    for chunk in odd.chunks(250) {
        let kvs: Vec<(&[u8], &[u8])> = chunk.iter().map(|k| (&k[..], &b"w"[..])).collect();
        assert!(s
            .prewrite(put_req(&odd[0], 20, &kvs))
            .await
            .unwrap()
            .errors
            .is_empty());
    }
    prewrite_many(s, 3000..3100, 30).await;
    let total = 1000 + 500;

    let status: HashMap<TimeStamp, TimeStamp> = [(ts(10), ts(15)), (ts(20), ts(0))].into();
    let (resolved, batches) = s
        .resolve_lock_in_batches(status.clone(), None, None, 100)
        .await
        .unwrap();
    assert_eq!(resolved, total);
    assert_eq!(batches, total.div_ceil(100));
    // Only txn 30's locks remain.
    let left = s.scan_lock(ts(100), None, None, 0).await.unwrap();
    assert_eq!(left.len(), 100);
    assert!(left.iter().all(|l| l.lock_version == ts(30)));
    assert_eq!(get(s, &key(0), 15).await, Some(b"v".to_vec()));
    assert_eq!(get(s, &key(1998), 15).await, Some(b"v".to_vec()));
    assert_eq!(get(s, &key(1), 100).await, None, "txn 20 rolled back");
    // Nothing left to do: a second pass resolves nothing.
    assert_eq!(s.resolve_lock(status, None, None).await.unwrap(), 0);

    // The default chunk size over a sub-range: txn 30 committed on 3000..3050 only.
    let (n, b) = s
        .resolve_lock_in_batches(
            [(ts(30), ts(40))].into(),
            Some(&key(3000)),
            Some(&key(3050)),
            RESOLVE_LOCK_BATCH_SIZE,
        )
        .await
        .unwrap();
    assert_eq!((n, b), (50, 1));
    assert_eq!(s.scan_lock(ts(100), None, None, 0).await.unwrap().len(), 50);
    s.resolve_lock_lite(ts(30), ts(40), &(3050..3100).map(key).collect::<Vec<_>>())
        .await
        .unwrap();
    assert!(s
        .scan_lock(ts(100), None, None, 0)
        .await
        .unwrap()
        .is_empty());

    // GC at 50 over keys with a second version: the older ones go, reads at 50 unchanged.
    must_put(s, &[(&key(0), b"new"), (&key(2), b"new")], 45, 46).await;
    let stats = s.gc(ts(50), None, None).await.unwrap();
    assert!(
        stats.deleted_versions >= 2 && stats.batches >= 1,
        "{stats:?}"
    );
    assert_eq!(get(s, &key(0), 50).await, Some(b"new".to_vec()));
    assert_eq!(get(s, &key(4), 50).await, Some(b"v".to_vec()));

    // delete_range removes every record of [k01000, k03000).
    s.delete_range(&key(1000), &key(3000)).await.unwrap();
    assert_eq!(get(s, &key(1998), 100).await, None);
    assert_eq!(get(s, &key(998), 100).await, Some(b"v".to_vec()));
    assert_eq!(get(s, &key(3000), 100).await, Some(b"v".to_vec()));
    assert!(s.delete_range(b"b", b"a").await.is_err());

    // delete_from removes every record from k03060 to the last key, and nothing before.
    s.delete_from(&key(3060)).await.unwrap();
    assert_eq!(get(s, &key(3060), 100).await, None);
    assert_eq!(get(s, &key(3099), 100).await, None);
    assert_eq!(get(s, &key(3059), 100).await, Some(b"v".to_vec()));
    s.delete_from(b"").await.unwrap();
    assert_eq!(get(s, &key(0), 100).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_lock_batches_on_memory_engine() {
    scenario(&memory().s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_lock_batches_on_local_engine() {
    let env = local();
    scenario(&env.s).await;
}
