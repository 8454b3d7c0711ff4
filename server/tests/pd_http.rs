//! Scenario: one port serves PD's HTTP API (plain HTTP/1.1 GETs) and gRPC (HTTP/2 prior
//! knowledge), with gzip-compressed gRPC both ways when the client asks for it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pd_common;

use pd_common::{assert_ok, bootstrap, http_get, Pd};
use serde_json::Value;
use server::proto::pdpb;
use tonic::codec::CompressionEncoding;

async fn get(pd: &Pd, path: &str) -> (String, Value) {
    http_get(pd, path).await
}

#[tokio::test]
async fn http_and_grpc_share_the_port() {
    let dir = tempfile::tempdir().unwrap();
    let pd = Pd::start(dir.path()).await;
    let mut grpc = pd.client().await;
    let b = bootstrap(&pd, &mut grpc, "127.0.0.1:20160").await;

    let (status, regions) = get(&pd, "/pd/api/v1/regions").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(regions["count"], 1);
    let r = &regions["regions"][0];
    assert_eq!(r["id"], b.region_id);
    assert_eq!(r["start_key"], "");
    assert_eq!(r["epoch"]["version"], 1);
    assert_eq!(r["peers"][0]["store_id"], b.store_id);
    assert_eq!(r["leader"]["id"], b.peer_id);

    let (_, stores) = get(&pd, "/pd/api/v1/stores").await;
    assert_eq!(stores["count"], 1);
    assert_eq!(stores["stores"][0]["store"]["id"], b.store_id);
    assert_eq!(stores["stores"][0]["store"]["address"], "127.0.0.1:20160");
    assert_eq!(stores["stores"][0]["store"]["state_name"], "Up");
    assert_eq!(stores["stores"][0]["status"]["region_count"], 1);

    let (_, members) = get(&pd, "/pd/api/v1/members").await;
    assert_eq!(members["members"][0]["member_id"], pd.server.member_id());
    assert_eq!(
        members["leader"]["client_urls"][0],
        format!("http://{}", pd.addr)
    );
    assert_eq!(members["header"]["cluster_id"], pd.server.cluster_id());

    let (_, health) = get(&pd, "/pd/api/v1/health").await;
    assert_eq!(health[0]["health"], true);
    assert_eq!(health[0]["member_id"], pd.server.member_id());

    // gRPC on the same port, gzip in both directions.
    let mut gz = pd
        .client()
        .await
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);
    let resp = gz
        .get_region(pdpb::GetRegionRequest {
            header: pd.header(),
            region_key: vec![0x42; 4096],
            need_buckets: false,
        })
        .await
        .unwrap();
    let encoding = resp
        .metadata()
        .get("grpc-encoding")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(
        encoding.as_deref(),
        Some("gzip"),
        "responses compressed on request"
    );
    let resp = resp.into_inner();
    assert_ok(&pd, resp.header.as_ref());
    assert_eq!(resp.region.unwrap().id, b.region_id);
    // And plain when not asked.
    let plain = grpc
        .get_members(pdpb::GetMembersRequest { header: None })
        .await
        .unwrap();
    assert!(plain.metadata().get("grpc-encoding").is_none());
    pd.stop().await;
}
