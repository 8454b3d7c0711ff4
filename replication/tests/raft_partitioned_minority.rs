//! A partition splits five replicas 2 | 3 with the leader in the minority: the minority can
//! neither commit nor confirm a read; the majority elects a leader and serves; after healing
//! the minority follows, and a restarted store recovers what it had acknowledged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use replication::transport::Filter;

#[test]
fn minority_side_cannot_write_or_read_and_catches_up_after_healing() {
    let mut c = common::Cluster::new(5, 5, 21);
    let old = c.wait_leader(1);
    c.put(old, 1, b"k0", b"v0").unwrap();
    let other = (1..=5).find(|&s| s != old).unwrap();
    let minority = vec![old, other];
    let majority: Vec<u64> = (1..=5).filter(|s| !minority.contains(s)).collect();
    c.net
        .add_filter(Filter::Partition(vec![minority.clone(), majority.clone()]));

    assert!(c.put(old, 1, b"minority", b"x").is_err());
    assert!(
        c.get(old, 1, b"k0").is_err(),
        "a minority leader must not serve reads"
    );

    let mut new = None;
    for _ in 0..300 {
        c.run(1);
        new = majority
            .iter()
            .copied()
            .find(|&s| c.store(s).meta().get(1).unwrap().is_leader());
        if new.is_some() {
            break;
        }
    }
    let new = new.expect("the majority elects a leader");
    for i in 1..30u32 {
        c.put(new, 1, format!("k{i}").as_bytes(), b"m").unwrap();
    }
    assert_eq!(c.get(new, 1, b"k0").unwrap(), Some(b"v0".to_vec()));

    c.net.clear_filters();
    c.run(50);
    for s in 1..=5 {
        assert_eq!(c.local(s, b"k29"), Some(b"m".to_vec()), "store {s}");
        assert_eq!(
            c.local(s, b"minority"),
            c.local(new, b"minority"),
            "store {s} agrees"
        );
    }

    // Restart one store: it recovers its applied data and log, and keeps following.
    c.stop(other);
    let leader = c.wait_leader(1);
    c.put(leader, 1, b"while-down", b"d").unwrap();
    c.restart(other);
    assert_eq!(c.local(other, b"k29"), Some(b"m".to_vec()));
    c.run(30);
    assert_eq!(c.local(other, b"while-down"), Some(b"d".to_vec()));
}
