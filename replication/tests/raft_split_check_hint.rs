//! Which regions the store sends to the split checker: a region is due once the bytes
//! applied to it since its last check reach `split_check_diff` (the size diff hint, counted
//! in apply on every replica), is sent only by its leader, and only on a check tick; an idle
//! region is not sent again. After a split both halves are due at once (their sizes are
//! unknown). Deterministic: the hint is read back from the store; no check result is awaited.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use mvcc::{Cf, Modify};
use replication::{Request, SplitConfig, StoreConfig, StoreMsg};

const DIFF: u64 = 1000;

fn config(store_id: u64) -> StoreConfig {
    let mut c = StoreConfig::new(store_id);
    c.split_check_tick_interval = 2;
    // Limits no region reaches: checks run, nothing is suggested.
    c.split = SplitConfig {
        split_check_diff: DIFF,
        ..SplitConfig::default()
    };
    c
}

/// One write of `n` puts of 10-byte keys and 50-byte values: `60 × n` bytes.
fn write(c: &mut common::Cluster, leader: u64, first: usize, n: usize) {
    let modifies = (first..first + n)
        .map(|i| Modify::Put {
            cf: Cf::Raw,
            key: format!("key-{i:06}").into_bytes(),
            value: vec![b'v'; 50],
        })
        .collect();
    let epoch = c.epoch(leader, 1);
    c.call(leader, |cb| StoreMsg::Propose {
        region_id: 1,
        epoch,
        request: Request::Write(modifies),
        cb,
    })
    .unwrap()
    .unwrap();
}

#[test]
fn regions_are_checked_after_enough_writes_and_after_a_split() {
    let mut c = common::Cluster::with_config(3, 3, 9, config);
    for s in 1..=3 {
        c.store(s).set_split_observer(Box::new(|_| {})).unwrap();
    }
    let leader = c.wait_leader(1);
    let follower = (1..=3).find(|&s| s != leader).unwrap();
    c.run(3);
    // Opened peers are due; the leader's was sent (and reset), a follower's waits.
    assert_eq!(c.store(leader).split_check_hint(1), Some(0));
    assert_eq!(c.store(follower).split_check_hint(1), Some(u64::MAX));

    write(&mut c, leader, 0, 10);
    assert_eq!(c.store(leader).split_check_hint(1), Some(600));
    c.run(4);
    assert_eq!(
        c.store(leader).split_check_hint(1),
        Some(600),
        "below the diff: not sent"
    );
    write(&mut c, leader, 10, 10);
    assert_eq!(c.store(leader).split_check_hint(1), Some(1200));
    c.run(2);
    assert_eq!(c.store(leader).split_check_hint(1), Some(0), "sent");
    c.run(4);
    assert_eq!(c.store(leader).split_check_hint(1), Some(0), "idle");

    let epoch = c.epoch(leader, 1);
    c.call(leader, |cb| StoreMsg::Propose {
        region_id: 1,
        epoch,
        request: Request::Split {
            split_key: b"key-000010".to_vec(),
            new_region_id: 2,
            new_peer_ids: vec![201, 202, 203],
        },
        cb,
    })
    .unwrap()
    .unwrap();
    assert_eq!(c.store(leader).split_check_hint(1), Some(u64::MAX));
    assert_eq!(c.store(leader).split_check_hint(2), Some(u64::MAX));
    c.run(4);
    let right_leader = c.wait_leader(2);
    c.run(2);
    assert_eq!(c.store(leader).split_check_hint(1), Some(0));
    assert_eq!(c.store(right_leader).split_check_hint(2), Some(0));
}
