//! Scenario: the bootstrapped region has one peer and three stores heartbeat. PD answers
//! the region's heartbeats with AddPeer operators, one at a time, each re-sent until a
//! heartbeat shows the new peer caught up; at three replicas it sends nothing more.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pd_common;

use std::collections::HashSet;

use pd_common::sched::{Cluster, Op, SimRegion};
use server::pd::PdOptions;
use server::proto::metapb;

#[tokio::test]
async fn one_peer_grows_to_three_replicas() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cluster::start(dir.path(), PdOptions::default(), 3).await;
    let mut r = SimRegion::bootstrapped(&c.boot);
    let mut added = Vec::new();
    while let Some(resp) = c.heartbeat_region(&r).await {
        let op = Op::of(&resp);
        let Op::Add(p) = op else {
            panic!("expected AddPeer, got {op:?}");
        };
        assert_eq!(p.role, metapb::PeerRole::Voter as i32);
        // Not applied yet: the same step, same peer id, again.
        assert_eq!(Op::of(&c.heartbeat_region(&r).await.unwrap()), op);
        // Applied but still catching up: still the same step.
        r.apply(op);
        r.pending = vec![p];
        assert_eq!(Op::of(&c.heartbeat_region(&r).await.unwrap()), op);
        r.pending.clear();
        added.push(p);
        assert!(added.len() <= 2, "too many peers added: {added:?}");
    }
    assert_eq!(added.len(), 2);
    let mut want = c.stores.clone();
    want.sort_unstable();
    assert_eq!(r.stores(), want, "one peer on each store");
    let ids: HashSet<u64> = r.region.peers.iter().map(|p| p.id).collect();
    assert_eq!(ids.len(), 3, "fresh peer ids");
    assert!(!ids.contains(&0));
    // Settled: nothing more, however often the leader reports.
    for _ in 0..3 {
        assert!(c.heartbeat_region(&r).await.is_none());
    }
}
