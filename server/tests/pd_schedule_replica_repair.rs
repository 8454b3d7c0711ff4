//! Scenario: the bootstrapped region has one peer and three stores heartbeat. PD answers
//! the region's heartbeats with a new replica at a time: AddLearner, re-sent until a
//! heartbeat lists the learner; nothing while the learner is pending; then its promotion,
//! re-sent until a heartbeat shows it a voter. At three voters it sends nothing more.
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
        let Op::AddLearner(p) = op else {
            panic!("expected AddLearner, got {op:?}");
        };
        // Not applied yet: the same step, same peer id, again.
        assert_eq!(Op::of(&c.heartbeat_region(&r).await.unwrap()), op);
        // Applied but still catching up: PD waits, sending nothing.
        r.apply(op);
        r.pending = vec![p];
        assert!(c.heartbeat_region(&r).await.is_none());
        r.pending.clear();
        // Caught up: the promotion of that same peer, until applied.
        let promote = Op::of(&c.heartbeat_region(&r).await.unwrap());
        let voter = metapb::Peer {
            role: metapb::PeerRole::Voter as i32,
            ..p
        };
        assert_eq!(promote, Op::Promote(voter));
        assert_eq!(Op::of(&c.heartbeat_region(&r).await.unwrap()), promote);
        r.apply(promote);
        added.push(p);
        assert!(added.len() <= 2, "too many peers added: {added:?}");
    }
    assert_eq!(added.len(), 2);
    let mut want = c.stores.clone();
    want.sort_unstable();
    assert_eq!(r.stores(), want, "one peer on each store");
    let ids: HashSet<u64> = r.region.peers.iter().map(|p| p.id).collect();
    assert_eq!(ids.len(), 3, "fresh peer ids");
    let voter = metapb::PeerRole::Voter as i32;
    assert!(r.region.peers.iter().all(|p| p.role == voter), "all voters");
    assert!(!ids.contains(&0));
    // Settled: nothing more, however often the leader reports.
    for _ in 0..3 {
        assert!(c.heartbeat_region(&r).await.is_none());
    }
}
