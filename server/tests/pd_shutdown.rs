//! Scenario: stopping PD while clients hold TSO and region-heartbeat streams open ends those
//! streams, so the graceful shutdown completes (and the state directory is released).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pd_common;

use std::time::Duration;

use pd_common::{bootstrap, Pd};
use server::proto::pdpb;
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;

#[tokio::test]
async fn stop_ends_open_streams() {
    let dir = tempfile::tempdir().unwrap();
    let pd = Pd::start(dir.path()).await;
    let mut c = pd.client().await;
    bootstrap(&pd, &mut c, "127.0.0.1:20160").await;

    // Both streams stay open on the client side (the senders live on).
    let (tso_tx, tso_rx) = tokio::sync::mpsc::channel(4);
    let mut tso = c
        .tso(ReceiverStream::new(tso_rx))
        .await
        .unwrap()
        .into_inner();
    tso_tx
        .send(pdpb::TsoRequest {
            header: pd.header(),
            count: 1,
            dc_location: String::new(),
        })
        .await
        .unwrap();
    assert!(tso.message().await.unwrap().is_some());
    let (hb_tx, hb_rx) = tokio::sync::mpsc::channel::<pdpb::RegionHeartbeatRequest>(4);
    let mut hb = c
        .region_heartbeat(ReceiverStream::new(hb_rx))
        .await
        .unwrap()
        .into_inner();

    // A guard against hanging forever if streams kept the server up, not a speed check.
    tokio::time::timeout(Duration::from_secs(60), pd.stop())
        .await
        .expect("stop completes while streams are open");
    assert!(
        !matches!(tso.message().await, Ok(Some(_))),
        "TSO stream ended"
    );
    assert!(
        !matches!(hb.message().await, Ok(Some(_))),
        "heartbeat stream ended"
    );
    drop((tso_tx, hb_tx));

    // The directory is free again.
    let pd = Pd::start(dir.path()).await;
    assert!(pd.server.is_bootstrapped());
    pd.stop().await;
}
