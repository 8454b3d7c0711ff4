//! A follower cut off while the leader writes and compacts its log past what the follower
//! has catches up by snapshot (SST files exported, moved, ingested), then by log.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use replication::transport::Filter;
use replication::StoreConfig;

fn eager_gc(store_id: u64) -> StoreConfig {
    let mut cfg = StoreConfig::new(store_id);
    cfg.log_gc_tick_interval = 1;
    cfg.log_gc_threshold = 5;
    cfg.log_gc_count_limit = 20;
    cfg
}

#[test]
fn lagging_follower_catches_up_by_snapshot() {
    let mut c = common::Cluster::with_config(3, 3, 11, eager_gc);
    let leader = c.wait_leader(1);
    let lagging = (1..=3).find(|&s| s != leader).unwrap();
    c.put(leader, 1, b"before", b"1").unwrap();
    c.run(5);
    assert_eq!(c.local(lagging, b"before"), Some(b"1".to_vec()));

    c.net.add_filter(Filter::Isolate(lagging));
    for i in 0..100u32 {
        c.put(leader, 1, format!("k{i:03}").as_bytes(), b"v")
            .unwrap();
    }
    c.run(5);
    let (_, _, _, truncated) = c.store(leader).raft_status(1).unwrap();
    let (_, _, lag_applied, _) = c.store(lagging).raft_status(1).unwrap();
    assert!(
        truncated > lag_applied,
        "the leader's log no longer reaches the follower ({truncated} <= {lag_applied})"
    );

    c.net.clear_filters();
    c.run(40);
    let (_, _, applied, lag_truncated) = c.store(lagging).raft_status(1).unwrap();
    assert!(
        lag_truncated >= truncated,
        "the follower restarted its log at a snapshot ({lag_truncated})"
    );
    assert!(applied >= lag_truncated);
    for i in 0..100u32 {
        assert_eq!(
            c.local(lagging, format!("k{i:03}").as_bytes()),
            Some(b"v".to_vec()),
            "k{i:03}"
        );
    }
    assert_eq!(c.local(lagging, b"before"), Some(b"1".to_vec()));
    // And it keeps following by log afterwards.
    c.put(leader, 1, b"after", b"2").unwrap();
    c.run(5);
    assert_eq!(c.local(lagging, b"after"), Some(b"2".to_vec()));
}
