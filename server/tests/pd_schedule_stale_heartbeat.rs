//! Scenario: a region with one peer has an AddPeer operator in flight. Heartbeats that do
//! not come from its current leader get nothing — one with an epoch older than PD's, one
//! from a deposed leader (a lower Raft term), one naming a leader that is not a peer — while
//! the leader's own heartbeats keep getting the step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pd_common;

use pd_common::peer;
use pd_common::sched::{Cluster, Op, SimRegion};
use server::pd::PdOptions;

#[tokio::test]
async fn only_the_current_leader_gets_operators() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cluster::start(dir.path(), PdOptions::default(), 3).await;
    let mut r = SimRegion::bootstrapped(&c.boot);
    // PD learns a newer epoch (version 2, as after a split elsewhere) and term 5.
    r.region.region_epoch.as_mut().unwrap().version = 2;
    r.term = 5;
    let step = Op::of(&c.heartbeat_region(&r).await.unwrap());
    assert!(matches!(step, Op::AddLearner(_)));

    let mut stale = r.clone();
    stale.region.region_epoch.as_mut().unwrap().version = 1;
    assert!(c.heartbeat_region(&stale).await.is_none(), "stale epoch");

    let mut deposed = r.clone();
    deposed.term = 4;
    assert!(c.heartbeat_region(&deposed).await.is_none(), "lower term");

    let mut stranger = r.clone();
    stranger.leader = peer(9_999, c.stores[1]);
    assert!(
        c.heartbeat_region(&stranger).await.is_none(),
        "leader not a peer"
    );

    // The leader still gets its step (the same peer).
    assert_eq!(Op::of(&c.heartbeat_region(&r).await.unwrap()), step);
}
