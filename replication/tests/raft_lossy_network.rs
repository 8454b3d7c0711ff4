//! Seeded random message loss while a client retries writes through whoever leads, with
//! the leader's store restarted now and then: every acknowledged write ends up on every
//! replica, and replicas agree on the rest. Each seed replays exactly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use replication::transport::Filter;

fn run(seed: u64) {
    let mut c = common::Cluster::new(3, 3, seed);
    c.net.add_filter(Filter::Loss(0.2));
    let mut acked = Vec::new();
    for i in 0..60u32 {
        let key = format!("k{i:03}").into_bytes();
        if i % 20 == 19 {
            let l = c.wait_leader(1);
            c.stop(l);
            c.run(5);
            c.restart(l);
            c.net.add_filter(Filter::Loss(0.2));
        }
        for _attempt in 0..5 {
            let leader = c.wait_leader(1);
            if c.put(leader, 1, &key, b"v").is_ok() {
                acked.push(key.clone());
                break;
            }
        }
    }
    assert!(
        acked.len() > 30,
        "seed {seed}: only {} writes succeeded",
        acked.len()
    );
    c.net.clear_filters();
    c.run(60);
    for s in 1..=3 {
        for k in &acked {
            assert!(c.local(s, k).is_some(), "seed {seed}: store {s} lost {k:?}");
        }
    }
    for i in 0..60u32 {
        let k = format!("k{i:03}").into_bytes();
        let v: Vec<_> = (1..=3).map(|s| c.local(s, &k)).collect();
        assert!(
            v.windows(2).all(|w| w[0] == w[1]),
            "seed {seed}: replicas disagree on {k:?}"
        );
    }
}

#[test]
fn acknowledged_writes_survive_loss_and_restarts() {
    for seed in 1..=4 {
        run(seed);
    }
}
