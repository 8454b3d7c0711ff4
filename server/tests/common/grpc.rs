//! Raw gRPC access to a node, for requests `tikv-client` would never send.

use server::proto::kvrpcpb;
use server::proto::tikvpb::tikv_client::TikvClient;
use server::region::Region;
use tonic::transport::Channel;

/// A gRPC client of the node's KV service.
pub async fn kv_client(addr: std::net::SocketAddr) -> TikvClient<Channel> {
    TikvClient::connect(format!("http://{addr}")).await.unwrap()
}

/// A context naming `region` with its current epoch.
pub fn ctx(region: &Region, api: kvrpcpb::ApiVersion) -> Option<kvrpcpb::Context> {
    Some(kvrpcpb::Context {
        region_id: region.id,
        region_epoch: Some(server::proto::metapb::RegionEpoch {
            conf_ver: region.epoch.conf_ver,
            version: region.epoch.version,
        }),
        api_version: api as i32,
        ..Default::default()
    })
}

/// A raw get through gRPC: the value, or panics on any error.
pub async fn raw_get(kv: &mut TikvClient<Channel>, region: &Region, key: &[u8]) -> Option<Vec<u8>> {
    let resp = kv
        .raw_get(kvrpcpb::RawGetRequest {
            context: ctx(region, kvrpcpb::ApiVersion::V1),
            key: key.to_vec(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        resp.region_error.is_none() && resp.error.is_empty(),
        "{resp:?}"
    );
    (!resp.not_found).then_some(resp.value)
}
