//! Scenario: a rollback lands on the slot of another transaction's commit record
//! (`commit_ts == start_ts`): the commit survives, flagged, and both fates stay readable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use mvcc::{Key, MvccReader, ReadOptions, TxnCommitRecord, WriteType};

fn record(e: &dyn TestEngine, key: &[u8], start: u64) -> TxnCommitRecord {
    let snap = e.snap();
    let mut reader = MvccReader::new(&*snap);
    reader
        .get_txn_commit_record(&Key::from_raw(key), start.into())
        .unwrap()
}

#[test]
fn protected_rollback_flags_the_commit_record_instead_of_overwriting_it() {
    for e in engines() {
        let e = &*e;
        // Txn 5 commits "k" at 10; then txn 10 (start_ts 10) is rolled back, protected.
        must_commit(e, b"k", Some(b"v5"), 5, 10);
        must_rollback(e, b"k", 10, true);
        e.flush();
        // Txn 5's value is intact at and above 10.
        assert_eq!(
            get(e, b"k", 10, ReadOptions::default()).unwrap().unwrap(),
            b"v5"
        );
        assert_eq!(
            get(e, b"k", 99, ReadOptions::default()).unwrap().unwrap(),
            b"v5"
        );
        // Txn 10 reads as rolled back, txn 5 as committed at 10 (with the flag).
        assert_eq!(
            record(e, b"k", 10),
            TxnCommitRecord::OverlappedRollback {
                commit_ts: 10.into()
            }
        );
        let TxnCommitRecord::SingleRecord { commit_ts, write } = record(e, b"k", 5) else {
            panic!("txn 5 must be committed");
        };
        assert_eq!((commit_ts, write.write_type), (10.into(), WriteType::Put));
        assert!(write.has_overlapped_rollback);
        assert_eq!(
            write.gc_fence,
            Some(0.into()),
            "no newer version when flagged"
        );
    }
}

#[test]
fn the_gc_fence_is_the_next_newer_data_version() {
    for e in engines() {
        let e = &*e;
        must_commit(e, b"k", Some(b"v5"), 5, 10);
        must_commit(e, b"k", None, 15, 20);
        must_rollback(e, b"k", 10, true);
        let snap = e.snap();
        let (_, w) = MvccReader::new(&*snap)
            .seek_write(&Key::from_raw(b"k"), 10.into())
            .unwrap()
            .unwrap();
        assert_eq!(
            (w.start_ts, w.has_overlapped_rollback, w.gc_fence),
            (5.into(), true, Some(20.into()))
        );
        // Reads are unchanged: the value below 20, the delete from 20.
        assert_eq!(
            get(e, b"k", 19, ReadOptions::default()).unwrap().unwrap(),
            b"v5"
        );
        assert!(get(e, b"k", 20, ReadOptions::default()).unwrap().is_none());
    }
}

#[test]
fn unprotected_rollback_on_a_commit_slot_writes_nothing() {
    for e in engines() {
        let e = &*e;
        must_commit(e, b"k", Some(b"v5"), 5, 10);
        must_rollback(e, b"k", 10, false);
        let TxnCommitRecord::SingleRecord { write, .. } = record(e, b"k", 5) else {
            panic!("txn 5 must be committed");
        };
        assert!(!write.has_overlapped_rollback && write.gc_fence.is_none());
        // Txn 10 has no record at all; its slot still holds txn 5's commit.
        let TxnCommitRecord::None {
            overlapped_write: Some(ow),
        } = record(e, b"k", 10)
        else {
            panic!("expected the overlapped write");
        };
        assert_eq!(ow.write.start_ts, 5.into());
    }
}

#[test]
fn plain_rollbacks_are_records_of_their_own() {
    for e in engines() {
        let e = &*e;
        must_rollback(e, b"k", 7, false);
        must_rollback(e, b"p", 7, true);
        assert!(record(e, b"k", 7).is_rolled_back());
        let TxnCommitRecord::SingleRecord { write, .. } = record(e, b"p", 7) else {
            panic!("expected a rollback record");
        };
        assert!(write.is_protected());
    }
}
