//! GC through the unchanged client: `gc(safe_point)` resolves locks below it and advances
//! PD's safe point; a lower safe point never moves it back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use server::proto::pdpb;
use server::proto::pdpb::pd_client::PdClient;
use txn::ApiVersion;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gc_safe_point_only_moves_forward() {
    let t = common::TestNode::start(ApiVersion::V1).await;
    let client = t.txn(ApiVersion::V1).await;
    let mut w = client.begin_optimistic().await.unwrap();
    w.put(b"k".to_vec(), b"v".to_vec()).await.unwrap();
    w.commit().await.unwrap();

    let sp = client.current_timestamp().await.unwrap();
    assert!(client.gc(sp.clone()).await.unwrap());
    let mut pd = PdClient::connect(format!("http://{}", t.pd()))
        .await
        .unwrap();
    let cluster_id = t.node.ident().cluster_id;
    let header = Some(pdpb::RequestHeader {
        cluster_id,
        sender_id: 0,
    });
    let stored = pd
        .get_gc_safe_point(pdpb::GetGcSafePointRequest { header })
        .await
        .unwrap()
        .into_inner()
        .safe_point;
    let sp_version =
        (u64::try_from(sp.physical).unwrap() << 18) + u64::try_from(sp.logical).unwrap();
    assert_eq!(stored, sp_version);
    // A lower one is answered with the current one.
    let r = pd
        .update_gc_safe_point(pdpb::UpdateGcSafePointRequest {
            header,
            safe_point: 5,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.new_safe_point, sp_version);
    // Data written before the safe point is still readable at a later ts.
    let mut r = client.begin_optimistic().await.unwrap();
    assert_eq!(r.get(b"k".to_vec()).await.unwrap(), Some(b"v".to_vec()));
    r.rollback().await.unwrap();
    t.node.shutdown().await.unwrap();
}
