//! A new replica joins as a learner: the leader keeps committing alone while the learner is
//! cut off (a learner is not in the quorum), the learner catches up by snapshot, never
//! leads, and once promoted the group has two voters and a write needs both. Roles survive
//! restarts, and a restarted leader builds its Raft membership with the learner as a
//! learner (else it could not commit alone).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use replication::transport::Filter;
use replication::{ConfChangeType, Error, Peer, PeerRole};

fn role_on(c: &mut common::Cluster, store: u64, peer: u64) -> Option<PeerRole> {
    let region = c.store(store).meta().get(1)?.region;
    region.peer(peer).map(|p| p.role)
}

#[test]
fn learner_catches_up_without_blocking_writes_then_is_promoted() {
    let mut c = common::Cluster::new(2, 1, 11);
    assert_eq!(c.wait_leader(1), 1);
    for i in 0..30u32 {
        c.put(1, 1, format!("k{i:02}").as_bytes(), b"v").unwrap();
    }

    // The learner's store is unreachable: adding it and writing still commit on store 1.
    c.net.add_filter(Filter::Isolate(2));
    c.change_peer(1, 1, ConfChangeType::AddLearnerNode, Peer::new(102, 2))
        .unwrap();
    let region = c.store(1).meta().get(1).unwrap().region;
    assert_eq!(region.peers, vec![Peer::new(101, 1), Peer::learner(102, 2)]);
    assert_eq!(region.epoch.conf_ver, 2);
    for i in 30..40u32 {
        c.put(1, 1, format!("k{i:02}").as_bytes(), b"v").unwrap();
    }
    let info = c.store(1).meta().get(1).unwrap();
    assert_eq!(
        info.pending_peers.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![102],
        "a learner without data is pending"
    );
    // A learner cannot be added twice, nor a voter demoted.
    assert!(c
        .change_peer(1, 1, ConfChangeType::AddLearnerNode, Peer::new(102, 2))
        .is_err());
    assert!(c
        .change_peer(1, 1, ConfChangeType::AddLearnerNode, Peer::new(101, 1))
        .is_err());

    // Restart the leader, the learner still away: the role comes back from disk and raft
    // counts only store 1 as a voter, so it leads and commits alone.
    c.stop(1);
    c.restart(1);
    c.net.add_filter(Filter::Isolate(2));
    assert_eq!(c.wait_leader(1), 1);
    assert_eq!(role_on(&mut c, 1, 102), Some(PeerRole::Learner));
    c.put(1, 1, b"after-restart", b"r").unwrap();

    // Healed: the learner gets the data by snapshot and stops being pending.
    c.net.clear_filters();
    c.run(30);
    assert_eq!(c.local(2, b"k39"), Some(b"v".to_vec()));
    assert_eq!(c.local(2, b"after-restart"), Some(b"r".to_vec()));
    assert_eq!(role_on(&mut c, 2, 102), Some(PeerRole::Learner));
    assert!(c.store(1).meta().get(1).unwrap().pending_peers.is_empty());

    // A learner never leads: asked to campaign it does not, and it refuses requests.
    let campaign = replication::StoreMsg::Campaign { region_id: 1 };
    c.store(2).handle(campaign);
    c.run(30);
    assert_eq!(c.leader(1), Some(1));
    assert!(matches!(
        c.put(2, 1, b"via-learner", b"x"),
        Err(Error::NotLeader { .. })
    ));

    // Promote (AddNode of the learner's id): two voters, one more membership change.
    c.change_peer(1, 1, ConfChangeType::AddNode, Peer::new(102, 2))
        .unwrap();
    c.run(5);
    for s in [1, 2] {
        let region = c.store(s).meta().get(1).unwrap().region;
        assert_eq!(
            region.peers,
            vec![Peer::new(101, 1), Peer::new(102, 2)],
            "store {s}"
        );
        assert_eq!(region.epoch.conf_ver, 3, "store {s}");
    }
    assert!(
        c.change_peer(1, 1, ConfChangeType::AddNode, Peer::new(102, 2))
            .is_err(),
        "already a voter"
    );

    // Two voters: a write needs both.
    c.net.add_filter(Filter::Isolate(2));
    assert!(c.put(1, 1, b"needs-both", b"b").is_err());
    c.net.clear_filters();
    c.run(30);
    let leader = c.wait_leader(1);
    c.put(leader, 1, b"healed", b"h").unwrap();
    c.run(5);
    assert_eq!(c.local(2, b"healed"), Some(b"h".to_vec()));

    // The promotion is on disk.
    c.stop(2);
    c.restart(2);
    assert_eq!(role_on(&mut c, 2, 102), Some(PeerRole::Voter));
}
