//! Scenario: six regions, each with peers on the three stores, all led by store 1. PD
//! answers their heartbeats with TransferLeader operators until every store leads two, then
//! sends nothing more.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pd_common;

use std::collections::BTreeMap;

use pd_common::sched::{Cluster, Op, SimRegion};
use pd_common::{alloc_id, assert_ok, peer, region};
use server::pd::PdOptions;
use server::proto::pdpb;

#[tokio::test]
async fn leaders_spread_until_balanced() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Cluster::start(dir.path(), PdOptions::default(), 3).await;
    let stores = c.stores.clone();

    // Split the key space into six regions (version 2), each replicated on all stores.
    let bounds: [&[u8]; 7] = [b"", b"b", b"d", b"f", b"h", b"j", b""];
    let mut regions = Vec::new();
    for (i, w) in bounds.windows(2).enumerate() {
        let id = if i == 0 {
            c.boot.region_id
        } else {
            alloc_id(&c.pd, &mut c.client).await
        };
        let mut peers = Vec::new();
        for &s in &stores {
            let pid = if i == 0 && s == c.boot.store_id {
                c.boot.peer_id
            } else {
                alloc_id(&c.pd, &mut c.client).await
            };
            peers.push(peer(pid, s));
        }
        let mut meta = region(id, w[0], w[1], 2, peers);
        meta.region_epoch.as_mut().unwrap().conf_ver = 3;
        regions.push(SimRegion::new(meta));
    }
    let resp = c
        .client
        .report_batch_split(pdpb::ReportBatchSplitRequest {
            header: c.pd.header(),
            regions: regions.iter().map(|r| r.region.clone()).collect(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(&c.pd, resp.header.as_ref());

    let mut transfers = 0;
    for _round in 0..5 {
        let mut quiet = true;
        for r in &mut regions {
            if let Some(resp) = c.heartbeat_region(r).await {
                let op = Op::of(&resp);
                assert!(matches!(op, Op::Transfer(_)), "only transfers: {op:?}");
                r.apply(op);
                transfers += 1;
                quiet = false;
            }
        }
        if quiet {
            break;
        }
    }
    let mut led: BTreeMap<u64, usize> = stores.iter().map(|&s| (s, 0)).collect();
    for r in &regions {
        *led.get_mut(&r.leader.store_id).unwrap() += 1;
    }
    assert_eq!(led.values().copied().collect::<Vec<_>>(), vec![2, 2, 2]);
    assert_eq!(transfers, 4, "no leader moved twice");
    for r in &regions {
        assert!(c.heartbeat_region(r).await.is_none(), "balanced");
    }
}
