//! Scenario: which locks block a read at `ts`, clause by clause (TiKV's `check_ts_conflict`),
//! through both the point getter and the scanner in both directions, on both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use mvcc::{
    Error, IsolationLevel, Key, Lock, LockType, ReadOptions, ScanOptions, TimeStamp, TsSet,
};

/// Reads key "k" at `ts` every way; returns `Ok(value)` or `Err(lock start ts)`, checking
/// that point get and both scan directions agree.
fn read(
    e: &dyn TestEngine,
    ts: u64,
    options: ReadOptions,
) -> std::result::Result<Option<Vec<u8>>, TimeStamp> {
    let point = match get(e, b"k", ts, options.clone()) {
        Ok(v) => Ok(v),
        Err(Error::KeyIsLocked(info)) => {
            assert_eq!(info.key, b"k");
            Err(info.lock_version)
        }
        Err(other) => panic!("{other}"),
    };
    for desc in [false, true] {
        let rows = scan(
            e,
            ts,
            ScanOptions {
                read: options.clone(),
                desc,
                ..ScanOptions::default()
            },
            10,
        );
        let from_scan = match rows.as_slice() {
            [] => Ok(None),
            [(k, r)] if k == b"k" => r.clone().map(Some),
            other => panic!("unexpected rows {other:?}"),
        };
        assert_eq!(from_scan, point, "{} desc={desc} ts={ts}", e.name());
    }
    point
}

fn with_lock(lock: Lock) -> Vec<Box<dyn TestEngine>> {
    let engines = engines();
    for e in &engines {
        must_commit(&**e, b"k", Some(b"committed"), 1, 2);
        must_lock(&**e, b"k", &lock, None);
    }
    engines
}

fn put_lock(ts: u64) -> Lock {
    Lock {
        short_value: Some(b"pending".to_vec()),
        ..Lock::new(LockType::Put, b"pk".to_vec(), ts.into(), 3000)
    }
}

fn committed() -> std::result::Result<Option<Vec<u8>>, TimeStamp> {
    Ok(Some(b"committed".to_vec()))
}

#[test]
fn clause_1_only_locks_at_or_below_the_read_ts_block() {
    for e in with_lock(put_lock(10)) {
        let e = &*e;
        assert_eq!(read(e, 9, ReadOptions::default()), committed());
        assert_eq!(read(e, 10, ReadOptions::default()), Err(10.into()));
        assert_eq!(read(e, 11, ReadOptions::default()), Err(10.into()));
    }
}

#[test]
fn clause_2_only_put_and_delete_locks_block() {
    for (lock_type, blocks) in [
        (LockType::Put, true),
        (LockType::Delete, true),
        (LockType::Lock, false),
        (LockType::Pessimistic, false),
    ] {
        for e in with_lock(Lock {
            lock_type,
            ..put_lock(10)
        }) {
            let expected = if blocks { Err(10.into()) } else { committed() };
            assert_eq!(
                read(&*e, 20, ReadOptions::default()),
                expected,
                "{lock_type:?}"
            );
        }
    }
}

#[test]
fn clause_3_min_commit_ts_above_the_read_ts_does_not_block() {
    for e in with_lock(Lock {
        min_commit_ts: 15.into(),
        ..put_lock(10)
    }) {
        assert_eq!(read(&*e, 14, ReadOptions::default()), committed());
        assert_eq!(read(&*e, 15, ReadOptions::default()), Err(10.into()));
    }
}

#[test]
fn clause_4_resolved_locks_are_bypassed_and_accessible_ones_read_through() {
    for e in with_lock(put_lock(10)) {
        let bypass = ReadOptions {
            bypass_locks: TsSet::new(vec![10.into()]),
            ..ReadOptions::default()
        };
        assert_eq!(read(&*e, 20, bypass), committed());
        let other = ReadOptions {
            bypass_locks: TsSet::new(vec![11.into()]),
            ..ReadOptions::default()
        };
        assert_eq!(read(&*e, 20, other), Err(10.into()));
        let access = ReadOptions {
            access_locks: TsSet::new(vec![10.into()]),
            ..ReadOptions::default()
        };
        assert_eq!(read(&*e, 20, access), Ok(Some(b"pending".to_vec())));
    }
    // Read through a Delete lock: the key reads as deleted.
    for e in with_lock(Lock {
        lock_type: LockType::Delete,
        short_value: None,
        ..put_lock(10)
    }) {
        let access = ReadOptions {
            access_locks: TsSet::new(vec![10.into()]),
            ..ReadOptions::default()
        };
        assert_eq!(read(&*e, 20, access), Ok(None));
    }
}

#[test]
fn clause_5_max_ts_reads_skip_the_primary_lock_unless_async_commit() {
    let max = u64::MAX;
    // The lock's primary is "k" itself.
    for e in with_lock(Lock {
        primary: b"k".to_vec(),
        ..put_lock(10)
    }) {
        assert_eq!(read(&*e, max, ReadOptions::default()), committed());
        assert_eq!(read(&*e, max - 1, ReadOptions::default()), Err(10.into()));
    }
    for e in with_lock(put_lock(10)) {
        assert_eq!(
            read(&*e, max, ReadOptions::default()),
            Err(10.into()),
            "secondary"
        );
    }
    let async_primary = Lock {
        primary: b"k".to_vec(),
        use_async_commit: true,
        ..put_lock(10)
    };
    for e in with_lock(async_primary) {
        assert_eq!(read(&*e, max, ReadOptions::default()), Err(10.into()));
    }
}

#[test]
fn read_committed_ignores_every_lock_and_lock_info_is_complete() {
    let lock = Lock {
        use_async_commit: true,
        secondaries: vec![b"s".to_vec()],
        txn_size: 2,
        for_update_ts: 9.into(),
        min_commit_ts: 11.into(),
        ..put_lock(10)
    };
    for e in with_lock(lock.clone()) {
        let rc = ReadOptions {
            isolation_level: IsolationLevel::Rc,
            ..ReadOptions::default()
        };
        assert_eq!(read(&*e, 20, rc), committed());
        let Err(Error::KeyIsLocked(info)) = get(&*e, b"k", 20, ReadOptions::default()) else {
            panic!("expected KeyIsLocked");
        };
        assert_eq!(*info, lock.clone().into_lock_info(b"k".to_vec()));
        assert_eq!(Key::from_raw(&info.key).to_raw().unwrap(), b"k");
    }
}
