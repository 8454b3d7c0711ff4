//! Splitting a region through Raft under writes: both halves get leaders at once, serve
//! their keys, and a command made under the old epoch is refused with EpochNotMatch.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use parking_lot::Mutex;
use replication::{Error, Request, StoreMsg};

#[test]
fn split_applies_on_every_replica_and_refuses_stale_epochs() {
    let mut c = common::Cluster::new(3, 3, 3);
    let leader = c.wait_leader(1);
    for k in [&b"a"[..], b"l", b"m", b"z"] {
        c.put(leader, 1, k, b"v").unwrap();
    }
    let old = c.epoch(leader, 1);
    // A write proposed right behind the split, under the same epoch: accepted at proposal,
    // refused when applied after the split (every replica decides alike).
    let behind: Arc<Mutex<Option<replication::Result<()>>>> = Arc::default();
    let b = behind.clone();
    c.store(leader).handle(StoreMsg::Propose {
        region_id: 1,
        epoch: old,
        request: Request::Split {
            split_key: b"m".to_vec(),
            new_region_id: 2,
            new_peer_ids: vec![201, 202, 203],
        },
        cb: Box::new(|r| r.unwrap()),
    });
    c.store(leader).handle(StoreMsg::Propose {
        region_id: 1,
        epoch: old,
        request: Request::Write(vec![mvcc::Modify::Put {
            cf: mvcc::Cf::Raw,
            key: b"behind".to_vec(),
            value: b"x".to_vec(),
        }]),
        cb: Box::new(move |r| *b.lock() = Some(r)),
    });
    c.run(20);
    assert!(
        matches!(*behind.lock(), Some(Err(Error::EpochNotMatch { .. }))),
        "{:?}",
        behind.lock()
    );
    for s in 1..=3 {
        assert_eq!(c.local(s, b"behind"), None);
        let meta = c.store(s).meta();
        let left = meta.get(1).unwrap().region;
        let right = meta.get(2).unwrap().region;
        assert_eq!(
            (left.start_key.as_slice(), left.end_key.as_slice()),
            (&b""[..], &b"m"[..])
        );
        assert_eq!(
            (right.start_key.as_slice(), right.end_key.as_slice()),
            (&b"m"[..], &b""[..])
        );
        assert_eq!(left.epoch.version, old.version + 1);
        assert_eq!(
            right.peers.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![201, 202, 203]
        );
    }
    let right_leader = c.wait_leader(2);
    c.put(right_leader, 2, b"n", b"new").unwrap();
    assert_eq!(c.get(right_leader, 2, b"z").unwrap(), Some(b"v".to_vec()));
    c.put(leader, 1, b"b", b"left").unwrap();

    // A write made under the epoch before the split is refused, with the current region.
    let m = vec![mvcc::Modify::Put {
        cf: mvcc::Cf::Raw,
        key: b"q".to_vec(),
        value: b"stale".to_vec(),
    }];
    let leader = c.wait_leader(1);
    let stale = c
        .call(leader, |cb| StoreMsg::Propose {
            region_id: 1,
            epoch: old,
            request: Request::Write(m),
            cb,
        })
        .unwrap();
    match stale {
        Err(Error::EpochNotMatch { current, .. }) => assert_eq!(current[0].end_key, b"m"),
        other => panic!("{other:?}"),
    }
    c.run(10);
    for s in 1..=3 {
        assert_eq!(c.local(s, b"n"), Some(b"new".to_vec()));
        assert_eq!(c.local(s, b"q"), None);
    }
}
