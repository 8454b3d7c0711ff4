//! Scenario: async commit and 1PC through the command API. A read at a high ts makes the
//! next async-commit prewrite promise a commit ts above it; a lock still only in memory
//! blocks readers; 1PC commits at prewrite and answers its commit ts; a commit ts above
//! max_commit_ts (CommitTsTooLarge inside) falls back to 2PC as TiKV does. Runs on both
//! engines.
#![allow(clippy::unwrap_used)]

mod cmd_common;

use cmd_common::*;
use mvcc::{Key, Lock, LockType};
use txn::actions::mutation::CommitKind;
use txn::{Engine, KeyError, ScanRequest, TxnStorage};

async fn scenario<E: Engine>(s: &TxnStorage<E>) {
    must_put(s, &[(b"a", b"a0")], 1, 2).await;

    // A reader at 100 (a snapshot read of another transaction).
    assert_eq!(get(s, b"a", 100).await, Some(b"a0".to_vec()));
    let asynk = CommitKind::Async {
        max_commit_ts: ts(0),
    };
    let r = s
        .prewrite(put_req_kind(
            b"a",
            50,
            &[(b"a", b"a1"), (b"b", b"b1")],
            asynk,
        ))
        .await
        .unwrap();
    assert!(r.errors.is_empty());
    assert_eq!(r.min_commit_ts, ts(101), "above the read at 100");
    assert!(r.one_pc_commit_ts.is_zero());
    // (scan_lock raises max_ts to its own max_ts: keep it at the read's 100.)
    let locks = s.scan_lock(ts(100), None, None, 0).await.unwrap();
    assert_eq!(locks.len(), 2);
    assert_eq!(locks[0].secondaries, vec![b"b".to_vec()]);
    assert!(locks
        .iter()
        .all(|l| l.use_async_commit && l.min_commit_ts == ts(101)));
    // The reader at 100 still reads the old value: the lock's min_commit_ts is above it.
    assert_eq!(get(s, b"a", 100).await, Some(b"a0".to_vec()));
    // A reader at 105 must wait for the outcome.
    assert!(matches!(
        key_err(s.get(b"a", ts(105), ro()).await.unwrap_err()),
        KeyError::KeyIsLocked(_)
    ));
    // Committing below the promised ts is refused; at it, fine.
    assert!(matches!(
        key_err(
            s.commit(&[b"a".to_vec()], ts(50), ts(100))
                .await
                .unwrap_err()
        ),
        KeyError::CommitTsExpired { .. }
    ));
    s.commit(&[b"a".to_vec(), b"b".to_vec()], ts(50), ts(101))
        .await
        .unwrap();
    assert_eq!(get(s, b"b", 101).await, Some(b"b1".to_vec()));

    // A prewrite between publishing its lock in memory and writing it: readers above
    // max_ts must see it although no snapshot has it.
    let cm = s.concurrency_manager().clone();
    let guard = cm.lock_key(&Key::from_raw(b"m"));
    let mut l = Lock::new(LockType::Put, b"m".to_vec(), ts(150), 3000);
    l.use_async_commit = true;
    l.min_commit_ts = ts(151);
    guard.with_lock(|slot| *slot = Some(l));
    assert!(matches!(
        key_err(s.get(b"m", ts(200), ro()).await.unwrap_err()),
        KeyError::KeyIsLocked(info) if info.lock_version == ts(150)
    ));
    let scan = ScanRequest {
        start_key: b"l".to_vec(),
        end_key: Some(b"n".to_vec()),
        limit: 10,
        ts: ts(200),
        ..ScanRequest::default()
    };
    assert!(s.scan(scan.clone()).await.is_err());
    assert!(s.batch_get(&[b"m".to_vec()], ts(200), ro()).await.is_err());
    assert!(
        s.scan_lock(ts(200), None, None, 0).await.is_err(),
        "GC must not pass it"
    );
    // Below its min_commit_ts the read goes on.
    assert_eq!(get(s, b"m", 140).await, None);
    drop(guard);
    assert!(s.scan(scan).await.unwrap().is_empty());

    // 1PC after a read at 300: committed at 301 by the prewrite, no locks left.
    assert_eq!(get(s, b"a", 300).await, Some(b"a1".to_vec()));
    let one_pc = CommitKind::OnePc {
        max_commit_ts: ts(0),
    };
    let r = s
        .prewrite(put_req_kind(
            b"c",
            250,
            &[(b"c", b"c1"), (b"d", b"d1")],
            one_pc,
        ))
        .await
        .unwrap();
    assert_eq!((r.one_pc_commit_ts, r.min_commit_ts), (ts(301), ts(301)));
    assert!(s
        .scan_lock(ts(1000), None, None, 0)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(get(s, b"d", 300).await, None);
    assert_eq!(get(s, b"d", 301).await, Some(b"d1".to_vec()));
    // A retried 1PC prewrite answers the same commit ts and writes nothing.
    let r = s
        .prewrite(put_req_kind(
            b"c",
            250,
            &[(b"c", b"c1"), (b"d", b"d1")],
            one_pc,
        ))
        .await
        .unwrap();
    assert_eq!(r.one_pc_commit_ts, ts(301));

    // max_commit_ts below what max_ts forces (a read at 500): the commit ts would be too
    // large, so the prewrite falls back to ordinary 2PC locks (min_commit_ts 0).
    assert_eq!(get(s, b"e", 500).await, None);
    for (start, kind) in [
        (
            400,
            CommitKind::OnePc {
                max_commit_ts: ts(450),
            },
        ),
        (
            410,
            CommitKind::Async {
                max_commit_ts: ts(450),
            },
        ),
    ] {
        let key = format!("e{start}").into_bytes();
        let r = s
            .prewrite(put_req_kind(&key, start, &[(&key, b"v")], kind))
            .await
            .unwrap();
        assert!(r.errors.is_empty());
        assert_eq!((r.min_commit_ts, r.one_pc_commit_ts), (ts(0), ts(0)));
        let locks = s.scan_lock(ts(1000), Some(&key), None, 1).await.unwrap();
        assert_eq!(locks[0].key, key);
        assert!(
            !locks[0].use_async_commit,
            "an ordinary lock: commit by 2PC"
        );
        s.commit(std::slice::from_ref(&key), ts(start), ts(600))
            .await
            .unwrap();
        assert_eq!(get(s, &key, 600).await, Some(b"v".to_vec()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_commit_and_1pc_on_memory_engine() {
    scenario(&memory().s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_commit_and_1pc_on_local_engine() {
    let env = local();
    scenario(&env.s).await;
}
