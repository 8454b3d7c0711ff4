//! Three replicas: the leader is cut off; the other two elect a new leader and keep
//! accepting writes; the old leader cannot confirm a read; after healing it catches up and
//! every acknowledged write is on every replica.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use replication::transport::Filter;
use replication::Error;

#[test]
fn leader_failover_loses_nothing_acknowledged() {
    let mut c = common::Cluster::new(3, 3, 7);
    let first = c.wait_leader(1);
    let mut acked = Vec::new();
    for i in 0..20u32 {
        let k = format!("k{i:03}").into_bytes();
        c.put(first, 1, &k, b"a").unwrap();
        acked.push(k);
    }

    c.net.add_filter(Filter::Isolate(first));
    // The old leader's write cannot commit, and its read cannot be confirmed.
    let stuck = c.put(first, 1, b"lost", b"x");
    assert!(stuck.is_err(), "{stuck:?}");
    let read = c.get(first, 1, b"k000");
    assert!(
        matches!(read, Err(Error::NotLeader { .. })) || read.is_err(),
        "{read:?}"
    );

    let mut second = None;
    for _ in 0..300 {
        c.run(1);
        second = (1..=3)
            .filter(|&s| s != first)
            .find(|&s| c.store(s).meta().get(1).unwrap().is_leader());
        if second.is_some() {
            break;
        }
    }
    let second = second.expect("a new leader among the majority");
    for i in 20..40u32 {
        let k = format!("k{i:03}").into_bytes();
        c.put(second, 1, &k, b"b").unwrap();
        acked.push(k);
    }
    assert_eq!(c.get(second, 1, b"k039").unwrap(), Some(b"b".to_vec()));

    c.net.clear_filters();
    c.run(60);
    let leader = c.wait_leader(1);
    assert_eq!(c.get(leader, 1, b"k000").unwrap(), Some(b"a".to_vec()));
    for store in 1..=3 {
        for k in &acked {
            assert!(c.local(store, k).is_some(), "store {store} lacks {k:?}");
        }
    }
    // The old leader's unacknowledged write may or may not have survived, but never on one
    // replica only: all replicas agree.
    let lost: Vec<_> = (1..=3).map(|s| c.local(s, b"lost")).collect();
    assert!(lost.windows(2).all(|w| w[0] == w[1]), "{lost:?}");
}
