//! Growing a one-replica region to three (the new peers start empty and get snapshots),
//! then removing one: the removed store drops the region's data and refuses its messages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use replication::{ConfChangeType, Peer};

#[test]
fn add_two_peers_then_remove_one() {
    let mut c = common::Cluster::new(3, 1, 5);
    let leader = c.wait_leader(1);
    assert_eq!(leader, 1);
    for i in 0..30u32 {
        c.put(1, 1, format!("k{i:02}").as_bytes(), b"v").unwrap();
    }
    for s in [2, 3] {
        c.change_peer(1, 1, ConfChangeType::AddNode, Peer::new(100 + s, s))
            .unwrap();
        c.run(20);
    }
    for s in 1..=3 {
        let region = c
            .store(s)
            .meta()
            .get(1)
            .expect("every store has the region")
            .region;
        assert_eq!(region.peers.len(), 3, "store {s}: {region:?}");
        assert_eq!(region.epoch.conf_ver, 3);
        assert_eq!(c.local(s, b"k29"), Some(b"v".to_vec()), "store {s}");
    }
    // A write now needs two of three.
    c.put(1, 1, b"more", b"w").unwrap();
    c.run(5);
    assert_eq!(c.local(3, b"more"), Some(b"w".to_vec()));

    c.change_peer(1, 1, ConfChangeType::RemoveNode, Peer::new(103, 3))
        .unwrap();
    c.run(10);
    assert!(c.store(3).meta().get(1).is_none());
    assert_eq!(
        c.local(3, b"k00"),
        None,
        "the removed store dropped the data"
    );
    assert_eq!(c.store(1).meta().get(1).unwrap().region.peers.len(), 2);
    c.put(1, 1, b"after", b"x").unwrap();
    assert_eq!(c.get(1, 1, b"after").unwrap(), Some(b"x".to_vec()));
    // Invalid changes are refused, not proposed.
    assert!(c
        .change_peer(1, 1, ConfChangeType::RemoveNode, Peer::new(101, 1))
        .is_err());
    assert!(c
        .change_peer(1, 1, ConfChangeType::AddNode, Peer::new(109, 2))
        .is_err());
}
