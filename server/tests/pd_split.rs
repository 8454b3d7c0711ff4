//! Scenario: a region splits — AskBatchSplit hands out fresh ids, ReportBatchSplit updates
//! the region map — and lookups, scans and a restart see the new layout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pd_common;

use std::collections::HashSet;

use pd_common::{alloc_id, assert_ok, bootstrap, error_type, peer, region, Pd};
use server::proto::pdpb;
use tonic::transport::Channel;

type Client = pdpb::pd_client::PdClient<Channel>;

async fn region_at(pd: &Pd, c: &mut Client, key: &[u8]) -> Option<u64> {
    let resp = c
        .get_region(pdpb::GetRegionRequest {
            header: pd.header(),
            region_key: key.to_vec(),
            need_buckets: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(pd, resp.header.as_ref());
    if let Some(r) = &resp.region {
        assert_eq!(
            resp.leader.unwrap().store_id,
            r.peers[0].store_id,
            "a leader on a peer"
        );
    }
    resp.region.map(|r| r.id)
}

async fn prev_region(pd: &Pd, c: &mut Client, key: &[u8]) -> Option<u64> {
    let resp = c
        .get_prev_region(pdpb::GetRegionRequest {
            header: pd.header(),
            region_key: key.to_vec(),
            need_buckets: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(pd, resp.header.as_ref());
    resp.region.map(|r| r.id)
}

async fn scan(pd: &Pd, c: &mut Client, start: &[u8], end: &[u8], limit: i32) -> Vec<u64> {
    let resp = c
        .scan_regions(pdpb::ScanRegionsRequest {
            header: pd.header(),
            start_key: start.to_vec(),
            limit,
            end_key: end.to_vec(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(pd, resp.header.as_ref());
    let ids: Vec<u64> = resp
        .regions
        .iter()
        .map(|r| r.region.as_ref().unwrap().id)
        .collect();
    let legacy: Vec<u64> = resp.region_metas.iter().map(|r| r.id).collect();
    assert_eq!(ids, legacy);
    assert_eq!(resp.leaders.len(), ids.len());
    ids
}

#[tokio::test]
async fn batch_split_then_lookups_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let pd = Pd::start(dir.path()).await;
    let mut c = pd.client().await;
    let b = bootstrap(&pd, &mut c, "127.0.0.1:20160").await;
    let parent = region(b.region_id, b"", b"", 1, vec![peer(b.peer_id, b.store_id)]);

    let asked = c
        .ask_batch_split(pdpb::AskBatchSplitRequest {
            header: pd.header(),
            region: Some(parent.clone()),
            split_count: 2,
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(&pd, asked.header.as_ref());
    assert_eq!(asked.ids.len(), 2);
    let mut seen = HashSet::from([b.store_id, b.region_id, b.peer_id]);
    for s in &asked.ids {
        assert_eq!(
            s.new_peer_ids.len(),
            1,
            "one new peer per peer of the region"
        );
        assert!(seen.insert(s.new_region_id));
        assert!(seen.insert(s.new_peer_ids[0]));
    }
    let unknown = c
        .ask_batch_split(pdpb::AskBatchSplitRequest {
            header: pd.header(),
            region: Some(region(12345, b"", b"", 1, vec![])),
            split_count: 1,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        error_type(unknown.header.as_ref()),
        pdpb::ErrorType::RegionNotFound
    );

    // Split at "g" and "p": the new regions take the left parts, the parent keeps the right.
    let (a, m) = (&asked.ids[0], &asked.ids[1]);
    let left = region(
        a.new_region_id,
        b"",
        b"g",
        3,
        vec![peer(a.new_peer_ids[0], b.store_id)],
    );
    let mid = region(
        m.new_region_id,
        b"g",
        b"p",
        3,
        vec![peer(m.new_peer_ids[0], b.store_id)],
    );
    let right = region(b.region_id, b"p", b"", 3, vec![peer(b.peer_id, b.store_id)]);
    let reported = c
        .report_batch_split(pdpb::ReportBatchSplitRequest {
            header: pd.header(),
            regions: vec![left, mid, right],
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(&pd, reported.header.as_ref());

    let layout = [a.new_region_id, m.new_region_id, b.region_id];
    check_layout(&pd, &mut c, layout).await;
    assert!(
        !seen.contains(&alloc_id(&pd, &mut c).await),
        "ids never repeat"
    );
    pd.stop().await;

    let pd = Pd::start(dir.path()).await;
    let mut c = pd.client().await;
    check_layout(&pd, &mut c, layout).await;
    assert!(
        !seen.contains(&alloc_id(&pd, &mut c).await),
        "ids never repeat"
    );
    pd.stop().await;
}

/// Regions `[left, mid, right]` split at "g" and "p".
async fn check_layout(pd: &Pd, c: &mut Client, [left, mid, right]: [u64; 3]) {
    assert_eq!(region_at(pd, c, b"").await, Some(left));
    assert_eq!(region_at(pd, c, b"f\xff").await, Some(left));
    assert_eq!(region_at(pd, c, b"g").await, Some(mid));
    assert_eq!(region_at(pd, c, b"p").await, Some(right));
    assert_eq!(region_at(pd, c, b"zzz").await, Some(right));
    assert_eq!(prev_region(pd, c, b"p").await, Some(mid));
    assert_eq!(prev_region(pd, c, b"g").await, Some(left));
    assert_eq!(prev_region(pd, c, b"").await, None);
    assert_eq!(scan(pd, c, b"", b"", 0).await, vec![left, mid, right]);
    assert_eq!(scan(pd, c, b"h", b"", 1).await, vec![mid]);
    assert_eq!(scan(pd, c, b"a", b"p", 0).await, vec![left, mid]);
}
