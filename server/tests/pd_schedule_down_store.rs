//! Scenario: a region has peers on stores 1–3 and a 4th store is idle. Store 3 stops
//! heartbeating; once it has been silent for `max-store-down-time` (a manual clock moves
//! time) PD shows it Down, adds a replacement peer on store 4 (a learner, then promoted),
//! then removes the peer on store 3 — and not a moment before the limit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pd_common;

use std::sync::Arc;
use std::time::Duration;

use pd_common::sched::{Cluster, Op, SimRegion};
use pd_common::{http_get, peer, region};
use server::pd::{ManualClock, PdOptions, ScheduleConfig};

const DOWN_AFTER: Duration = Duration::from_secs(60);

async fn state_name(c: &Cluster, store_id: u64) -> String {
    let (_, body) = http_get(&c.pd, "/pd/api/v1/stores").await;
    let stores = body["stores"].as_array().unwrap();
    let s = stores
        .iter()
        .find(|s| s["store"]["id"] == store_id)
        .unwrap();
    s["store"]["state_name"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_silent_store_is_replaced_add_first() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let options = PdOptions {
        schedule: ScheduleConfig {
            max_store_down_time: DOWN_AFTER,
            ..ScheduleConfig::default()
        },
        clock: Arc::new(clock.clone()),
    };
    let mut c = Cluster::start(dir.path(), options, 4).await;
    let [s1, s2, s3, s4] = c.stores[..] else {
        panic!("four stores")
    };
    // The bootstrapped region, already replicated to stores 1-3 (conf_ver 3).
    let mut peers = vec![peer(c.boot.peer_id, s1)];
    peers.push(peer(pd_common::alloc_id(&c.pd, &mut c.client).await, s2));
    peers.push(peer(pd_common::alloc_id(&c.pd, &mut c.client).await, s3));
    let mut meta = region(c.boot.region_id, b"", b"", 1, peers);
    meta.region_epoch.as_mut().unwrap().conf_ver = 3;
    let mut r = SimRegion::new(meta);
    assert!(c.heartbeat_region(&r).await.is_none(), "healthy");

    // Store 3 falls silent; the others keep reporting. Just short of the limit: nothing.
    clock.advance(DOWN_AFTER - Duration::from_secs(1));
    for s in [s1, s2, s4] {
        c.store_heartbeat(s).await;
    }
    assert_eq!(state_name(&c, s3).await, "Up");
    assert!(c.heartbeat_region(&r).await.is_none());

    clock.advance(Duration::from_secs(1));
    for s in [s1, s2, s4] {
        c.store_heartbeat(s).await;
    }
    assert_eq!(state_name(&c, s3).await, "Down");
    assert_eq!(state_name(&c, s4).await, "Up");

    // First the replacement on store 4, as a learner, then promoted …
    let op = Op::of(&c.heartbeat_region(&r).await.unwrap());
    let Op::AddLearner(new) = op else {
        panic!("expected AddLearner first, got {op:?}")
    };
    assert_eq!(new.store_id, s4);
    r.apply(op);
    let op = Op::of(&c.heartbeat_region(&r).await.unwrap());
    assert!(matches!(op, Op::Promote(p) if p.id == new.id), "{op:?}");
    r.apply(op);
    // … then the down peer goes.
    let op = Op::of(&c.heartbeat_region(&r).await.unwrap());
    let lost = r.region.peers.iter().find(|p| p.store_id == s3).copied();
    assert_eq!(Some(op), lost.map(Op::Remove));
    r.apply(op);
    assert_eq!(r.stores(), vec![s1, s2, s4]);
    assert!(c.heartbeat_region(&r).await.is_none(), "settled");
}
