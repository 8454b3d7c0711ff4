//! Scenario: reads walk past Rollback and Lock records, pessimistic locks and stale
//! (GC-fenced) records to the right Put or Delete, on both engines, across a flush.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use mvcc::{Lock, LockType, ReadOptions, ScanOptions, Write, WriteType};

#[test]
fn reads_skip_rollback_and_lock_records() {
    for e in engines() {
        let e = &*e;
        must_commit(e, b"a", Some(&long("a2")), 1, 2);
        for ts in [3, 5, 7] {
            must_rollback(e, b"a", ts, ts == 5);
        }
        e.flush();
        must_put_write(e, b"a", 9, &Write::new(WriteType::Lock, 8.into(), None));
        must_commit(e, b"a", Some(b"a11"), 10, 11);
        must_commit(e, b"b", None, 1, 2);
        must_rollback(e, b"b", 4, false);
        let opts = ReadOptions::default;
        for ts in [2, 3, 6, 9, 10] {
            assert_eq!(
                get(e, b"a", ts, opts()).unwrap(),
                Some(long("a2")),
                "{} ts={ts}",
                e.name()
            );
        }
        assert_eq!(get(e, b"a", 11, opts()).unwrap().unwrap(), b"a11");
        assert_eq!(get(e, b"b", 10, opts()).unwrap(), None);
        assert_eq!(
            scan(e, 10, ScanOptions::default(), 10),
            vec![(b"a".to_vec(), Ok(long("a2")))]
        );
        let desc = ScanOptions {
            desc: true,
            ..ScanOptions::default()
        };
        assert_eq!(
            scan(e, 11, desc, 10),
            vec![(b"a".to_vec(), Ok(b"a11".to_vec()))]
        );
    }
}

#[test]
fn pessimistic_and_lock_type_locks_do_not_hide_values() {
    for e in engines() {
        let e = &*e;
        must_commit(e, b"a", Some(b"v"), 1, 2);
        let mut pessimistic = Lock::new(LockType::Pessimistic, b"a".to_vec(), 3.into(), 10);
        pessimistic.for_update_ts = 4.into();
        must_lock(e, b"a", &pessimistic, None);
        must_commit(e, b"b", Some(b"w"), 1, 2);
        must_lock(
            e,
            b"b",
            &Lock::new(LockType::Lock, b"a".to_vec(), 3.into(), 10),
            None,
        );
        e.flush();
        let rows = scan(e, 9, ScanOptions::default(), 10);
        assert_eq!(
            rows,
            vec![
                (b"a".to_vec(), Ok(b"v".to_vec())),
                (b"b".to_vec(), Ok(b"w".to_vec()))
            ]
        );
        assert_eq!(
            get(e, b"a", 9, ReadOptions::default()).unwrap().unwrap(),
            b"v"
        );
    }
}

#[test]
fn a_record_behind_a_passed_gc_fence_is_stale() {
    for e in engines() {
        let e = &*e;
        // As after GC dropped the Delete at 20 on a replica that then applied the flag.
        let flagged = Write::new(WriteType::Put, 5.into(), Some(b"v5".to_vec()))
            .set_overlapped_rollback(true, Some(20.into()));
        must_put_write(e, b"k", 10, &flagged);
        assert_eq!(
            get(e, b"k", 19, ReadOptions::default()).unwrap().unwrap(),
            b"v5"
        );
        assert_eq!(get(e, b"k", 25, ReadOptions::default()).unwrap(), None);
        assert!(scan(e, 25, ScanOptions::default(), 10).is_empty());
        assert_eq!(scan(e, 19, ScanOptions::default(), 10).len(), 1);
    }
}
