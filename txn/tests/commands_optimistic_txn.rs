//! Scenario: optimistic transactions through the command API — prewrite, commit and reads
//! at various ts; a locked read (and reading past it with bypass_locks); a write conflict;
//! batch_get and scans forward, reverse, key-only and limited; cleanup and batch_rollback.
//! Runs on both engines.
#![allow(clippy::unwrap_used)]

mod cmd_common;

use cmd_common::*;
use mvcc::TsSet;
use txn::{Engine, KeyError, ReadOptions, ScanRequest, TxnStorage, WriteConflictReason};

async fn scenario<E: Engine>(s: &TxnStorage<E>) {
    must_put(s, &[(b"a", b"a1"), (b"c", b"c1")], 5, 6).await;

    // Txn 10 prewrites a and b.
    let r = s
        .prewrite(put_req(b"a", 10, &[(b"a", b"a2"), (b"b", b"b2")]))
        .await
        .unwrap();
    assert!(r.errors.is_empty() && r.min_commit_ts.is_zero() && r.one_pc_commit_ts.is_zero());
    // A read below the lock sees the old value; at or above it, the lock.
    assert_eq!(get(s, b"a", 9).await, Some(b"a1".to_vec()));
    let e = key_err(s.get(b"a", ts(12), ro()).await.unwrap_err());
    match e {
        KeyError::KeyIsLocked(l) => assert_eq!((l.key, l.lock_version), (b"a".to_vec(), ts(10))),
        e => panic!("{e:?}"),
    }
    assert!(
        s.concurrency_manager().max_ts() >= ts(12),
        "reads raise max_ts"
    );
    let bypass = ReadOptions {
        bypass_locks: TsSet::new(vec![ts(10)]),
        ..ReadOptions::default()
    };
    assert_eq!(
        s.get(b"a", ts(12), bypass).await.unwrap(),
        Some(b"a1".to_vec())
    );

    // Another writer meets the lock: reported per key, nothing written.
    let r = s
        .prewrite(put_req(b"b", 11, &[(b"b", b"x"), (b"d", b"x")]))
        .await
        .unwrap();
    assert_eq!(r.errors.len(), 1);
    assert!(matches!(&r.errors[0], KeyError::KeyIsLocked(l) if l.key == b"b"));
    assert_eq!(
        s.scan_lock(ts(100), None, None, 0).await.unwrap().len(),
        2,
        "d not locked"
    );

    // Commit; reads at each side of the commit ts.
    s.commit(&[b"a".to_vec(), b"b".to_vec()], ts(10), ts(20))
        .await
        .unwrap();
    assert_eq!(get(s, b"a", 19).await, Some(b"a1".to_vec()));
    assert_eq!(get(s, b"a", 20).await, Some(b"a2".to_vec()));
    assert_eq!(get(s, b"b", 19).await, None);
    assert_eq!(get(s, b"b", u64::MAX).await, Some(b"b2".to_vec()));
    // A repeated commit succeeds; a commit ts not above start ts is malformed.
    s.commit(&[b"a".to_vec()], ts(10), ts(20)).await.unwrap();
    assert!(s.commit(&[b"a".to_vec()], ts(30), ts(30)).await.is_err());

    // Write conflict: txn 15 started before the commit at 20.
    let e = key_err(
        s.prewrite(put_req(b"a", 15, &[(b"a", b"x")]))
            .await
            .unwrap_err(),
    );
    assert!(matches!(
        e,
        KeyError::WriteConflict { start_ts, conflict_start_ts, conflict_commit_ts, reason: WriteConflictReason::Optimistic, .. }
            if (start_ts, conflict_start_ts, conflict_commit_ts) == (ts(15), ts(10), ts(20))
    ));

    // batch_get: request order, missing keys left out, locks reported per key.
    s.prewrite(put_req(b"c", 30, &[(b"c", b"c3")]))
        .await
        .unwrap();
    let pairs = s
        .batch_get(
            &[b"c".to_vec(), b"zz".to_vec(), b"a".to_vec()],
            ts(40),
            ro(),
        )
        .await
        .unwrap();
    assert_eq!(pairs.len(), 2);
    assert!(matches!(&pairs[0].value, Err(l) if l.lock_version == ts(30)));
    assert_eq!(
        (pairs[1].key.as_slice(), pairs[1].value.as_deref()),
        (&b"a"[..], Ok(&b"a2"[..]))
    );

    // Scans at 25 (below the lock): forward, reverse, key-only, limited.
    let scan =
        |start: &[u8], end: Option<&[u8]>, reverse: bool, key_only: bool, limit| ScanRequest {
            start_key: start.to_vec(),
            end_key: end.map(<[u8]>::to_vec),
            limit,
            ts: ts(25),
            key_only,
            reverse,
            read: ReadOptions::default(),
        };
    let kv = |p: Vec<txn::TxnKvPair>| {
        p.into_iter()
            .map(|p| (p.key, p.value.unwrap()))
            .collect::<Vec<_>>()
    };
    let all = kv(s.scan(scan(b"", None, false, false, 10)).await.unwrap());
    assert_eq!(
        all,
        vec![
            (b"a".to_vec(), b"a2".to_vec()),
            (b"b".to_vec(), b"b2".to_vec()),
            (b"c".to_vec(), b"c1".to_vec())
        ]
    );
    // Reverse from "c" (exclusive) down to "a" (inclusive).
    let rev = kv(s
        .scan(scan(b"c", Some(b"a"), true, true, 10))
        .await
        .unwrap());
    assert_eq!(rev, vec![(b"b".to_vec(), vec![]), (b"a".to_vec(), vec![])]);
    // An empty start is unbounded (TiKV's `from_raw_maybe_unbounded`): reverse from the end.
    let from_end = kv(s.scan(scan(b"", None, true, true, 10)).await.unwrap());
    let keys: Vec<Vec<u8>> = from_end.into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, vec![b"c".to_vec(), b"b".to_vec(), b"a".to_vec()]);
    assert_eq!(
        kv(s.scan(scan(b"b", None, false, false, 1)).await.unwrap()).len(),
        1
    );
    // At 35 the scan meets txn 30's lock on c and reports it as an entry.
    let mut locked = scan(b"", None, false, false, 10);
    locked.ts = ts(35);
    let entries = s.scan(locked).await.unwrap();
    assert!(matches!(&entries[2].value, Err(l) if l.key == b"c"));

    // Cleanup of an expired lock (current ts far above its TTL), then the commit fails.
    let now = mvcc::TimeStamp::compose(1 << 30, 0).into_inner();
    s.cleanup(b"c", ts(30), ts(now)).await.unwrap();
    let e = key_err(
        s.commit(&[b"c".to_vec()], ts(30), ts(40))
            .await
            .unwrap_err(),
    );
    assert!(matches!(e, KeyError::TxnLockNotFound { .. }));
    // batch_rollback of a live transaction.
    s.prewrite(put_req(b"d", 50, &[(b"d", b"d5"), (b"e", b"e5")]))
        .await
        .unwrap();
    s.batch_rollback(&[b"d".to_vec(), b"e".to_vec()], ts(50))
        .await
        .unwrap();
    assert!(s
        .scan_lock(ts(100), None, None, 0)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(get(s, b"d", 60).await, None);
    // A rollback of a committed key is refused.
    let e = key_err(
        s.batch_rollback(&[b"a".to_vec()], ts(10))
            .await
            .unwrap_err(),
    );
    assert!(matches!(e, KeyError::Committed { commit_ts, .. } if commit_ts == ts(20)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimistic_txn_on_memory_engine() {
    scenario(&memory().s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimistic_txn_on_local_engine() {
    let env = local();
    scenario(&env.s).await;
}
