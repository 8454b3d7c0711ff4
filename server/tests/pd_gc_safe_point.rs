//! Scenario: the GC safe point only moves forward (UpdateGCSafePoint answers the maximum)
//! and survives a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pd_common;

use pd_common::{assert_ok, bootstrap, error_type, Pd};
use server::proto::pdpb;
use tonic::transport::Channel;

async fn update(pd: &Pd, c: &mut pdpb::pd_client::PdClient<Channel>, sp: u64) -> u64 {
    let resp = c
        .update_gc_safe_point(pdpb::UpdateGcSafePointRequest {
            header: pd.header(),
            safe_point: sp,
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(pd, resp.header.as_ref());
    resp.new_safe_point
}

async fn get(pd: &Pd, c: &mut pdpb::pd_client::PdClient<Channel>) -> u64 {
    let resp = c
        .get_gc_safe_point(pdpb::GetGcSafePointRequest {
            header: pd.header(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(pd, resp.header.as_ref());
    resp.safe_point
}

#[tokio::test]
async fn safe_point_is_a_persisted_maximum() {
    let dir = tempfile::tempdir().unwrap();
    let pd = Pd::start(dir.path()).await;
    let mut c = pd.client().await;
    let early = c
        .update_gc_safe_point(pdpb::UpdateGcSafePointRequest {
            header: pd.header(),
            safe_point: 1,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        error_type(early.header.as_ref()),
        pdpb::ErrorType::NotBootstrapped
    );

    bootstrap(&pd, &mut c, "127.0.0.1:20160").await;
    assert_eq!(get(&pd, &mut c).await, 0);
    assert_eq!(update(&pd, &mut c, 100).await, 100);
    assert_eq!(update(&pd, &mut c, 50).await, 100, "never lowered");
    assert_eq!(update(&pd, &mut c, 100).await, 100);
    assert_eq!(get(&pd, &mut c).await, 100);
    pd.stop().await;

    let pd = Pd::start(dir.path()).await;
    let mut c = pd.client().await;
    assert_eq!(pd.server.gc_safe_point(), 100);
    assert_eq!(get(&pd, &mut c).await, 100);
    assert_eq!(update(&pd, &mut c, 99).await, 100);
    pd.stop().await;
}
