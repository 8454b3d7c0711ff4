//! Validates the isolation checker (`si_common`: the `adya` crate fed by
//! `txn::testing::History`) on hand-written histories whose answer is known, before its
//! verdict on Strata's histories is trusted: lost update, read skew, an aborted read and a
//! stale read after a commit finished are caught; write skew (allowed by snapshot
//! isolation) and a serial history pass.
//!
//! Keys: x = 1, y = 2. `T0` writes the initial values x = 10, y = 20 and commits at 100.
#![allow(clippy::unwrap_used)]

mod si_common;

use mvcc::TimeStamp;
use si_common::{anomalies, assert_si};
use txn::testing::{History, Op};

const X: u64 = 1;
const Y: u64 = 2;

fn r(key: u64, value: u64) -> Op {
    Op::Read {
        key,
        value: Some(value),
    }
}

fn w(key: u64, value: u64) -> Op {
    Op::Write { key, value }
}

fn ts(t: u64) -> Option<TimeStamp> {
    Some(TimeStamp::new(t))
}

/// A history holding T0 (process 0).
fn initial() -> History {
    let h = History::new();
    let ops = [w(X, 10), w(Y, 20)];
    h.invoke(0, &ops);
    h.ok(0, ops.to_vec(), ts(100));
    h
}

#[test]
fn lost_update_is_caught() {
    let h = initial();
    // T1 and T2 both read x = 10 and both overwrite it; both commit.
    h.invoke(1, &[r(X, 0), w(X, 11)]);
    h.invoke(2, &[r(X, 0), w(X, 12)]);
    h.ok(1, vec![r(X, 10), w(X, 11)], ts(200));
    h.ok(2, vec![r(X, 10), w(X, 12)], ts(201));
    let found = anomalies(&h);
    assert!(found.iter().any(|a| a == "lost-update"), "{found:?}");
}

#[test]
fn read_skew_is_caught() {
    let h = initial();
    // T1 reads x before T2 moves 1 from x to y, and y after.
    h.invoke(1, &[r(X, 0), r(Y, 0)]);
    h.invoke(2, &[w(X, 9), w(Y, 21)]);
    h.ok(2, vec![w(X, 9), w(Y, 21)], ts(200));
    h.ok(1, vec![r(X, 10), r(Y, 21)], None);
    let found = anomalies(&h);
    assert!(found.iter().any(|a| a.starts_with("G-single")), "{found:?}");
}

#[test]
fn write_skew_is_allowed() {
    let h = initial();
    // Each reads both and writes a different one.
    h.invoke(1, &[r(X, 0), r(Y, 0), w(X, 11)]);
    h.invoke(2, &[r(X, 0), r(Y, 0), w(Y, 21)]);
    h.ok(1, vec![r(X, 10), r(Y, 20), w(X, 11)], ts(200));
    h.ok(2, vec![r(X, 10), r(Y, 20), w(Y, 21)], ts(201));
    assert_si(&h);
}

#[test]
fn serial_history_passes() {
    let h = initial();
    h.invoke(1, &[r(X, 0), w(Y, 21)]);
    h.ok(1, vec![r(X, 10), w(Y, 21)], ts(200));
    h.invoke(2, &[r(Y, 0), w(X, 11)]);
    h.ok(2, vec![r(Y, 21), w(X, 11)], ts(300));
    h.invoke(3, &[r(X, 0), r(Y, 0)]);
    h.ok(3, vec![r(X, 11), r(Y, 21)], None);
    assert_si(&h);
}

#[test]
fn aborted_read_is_caught() {
    let h = initial();
    h.invoke(1, &[w(X, 11)]);
    h.fail(1, vec![w(X, 11)]);
    h.invoke(2, &[r(X, 0)]);
    h.ok(2, vec![r(X, 11)], None);
    let found = anomalies(&h);
    assert!(found.iter().any(|a| a == "G1a"), "{found:?}");
}

#[test]
fn stale_read_after_a_finished_commit_is_caught() {
    let h = initial();
    // T1 commits x = 11 and finishes; T2 begins afterwards yet reads x = 10 and writes y.
    h.invoke(1, &[w(X, 11)]);
    h.ok(1, vec![w(X, 11)], ts(200));
    h.invoke(2, &[r(X, 0), w(Y, 21)]);
    h.ok(2, vec![r(X, 10), w(Y, 21)], ts(300));
    let found = anomalies(&h);
    assert!(found.iter().any(|a| a.ends_with("-realtime")), "{found:?}");
}
