//! Scenario: a node bootstraps the cluster, registers stores, heartbeats, and clients look
//! regions up; everything survives a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pd_common;

use pd_common::{assert_ok, bootstrap, error_type, peer, region, store, Pd};
use server::proto::{metapb, pdpb};
use tonic::codegen::tokio_stream;
use tonic::transport::Channel;

type Client = pdpb::pd_client::PdClient<Channel>;

async fn get_region(pd: &Pd, c: &mut Client, key: &[u8]) -> pdpb::GetRegionResponse {
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
    resp
}

async fn put_store(pd: &Pd, c: &mut Client, s: metapb::Store) -> pdpb::PutStoreResponse {
    c.put_store(pdpb::PutStoreRequest {
        header: pd.header(),
        store: Some(s),
    })
    .await
    .unwrap()
    .into_inner()
}

#[tokio::test]
async fn bootstrap_stores_heartbeats_and_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let pd = Pd::start(dir.path()).await;
    let mut c = pd.client().await;

    // Before bootstrap: cluster requests are refused in the header.
    let before = c
        .get_region(pdpb::GetRegionRequest {
            header: pd.header(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        error_type(before.header.as_ref()),
        pdpb::ErrorType::NotBootstrapped
    );
    assert!(!pd.server.is_bootstrapped());

    let b = bootstrap(&pd, &mut c, "127.0.0.1:20160").await;
    assert!(pd.server.is_bootstrapped());
    let again = c
        .bootstrap(pdpb::BootstrapRequest {
            header: pd.header(),
            store: Some(store(b.store_id, "127.0.0.1:20160")),
            region: Some(region(99, b"", b"", 1, vec![peer(98, b.store_id)])),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        error_type(again.header.as_ref()),
        pdpb::ErrorType::AlreadyBootstrapped
    );
    let config = c
        .get_cluster_config(pdpb::GetClusterConfigRequest {
            header: pd.header(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(&pd, config.header.as_ref());
    assert_eq!(config.cluster.unwrap().id, pd.server.cluster_id());

    // Stores: a second one, an address clash, lookups, a heartbeat.
    assert_ok(
        &pd,
        put_store(&pd, &mut c, store(50, "127.0.0.1:20161"))
            .await
            .header
            .as_ref(),
    );
    let clash = put_store(&pd, &mut c, store(51, "127.0.0.1:20160")).await;
    assert!(
        clash.header.unwrap().error.is_some(),
        "same address, other id"
    );
    let all = c
        .get_all_stores(pdpb::GetAllStoresRequest {
            header: pd.header(),
            exclude_tombstone_stores: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(&pd, all.header.as_ref());
    let mut ids: Vec<u64> = all.stores.iter().map(|s| s.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![b.store_id, 50]);
    let hb = c
        .store_heartbeat(pdpb::StoreHeartbeatRequest {
            header: pd.header(),
            stats: Some(pdpb::StoreStats {
                store_id: 50,
                capacity: 1 << 30,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(&pd, hb.header.as_ref());
    let got = c
        .get_store(pdpb::GetStoreRequest {
            header: pd.header(),
            store_id: 50,
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(&pd, got.header.as_ref());
    assert_eq!(got.store.unwrap().address, "127.0.0.1:20161");
    assert_eq!(got.stats.unwrap().capacity, 1 << 30);
    let missing = c
        .get_store(pdpb::GetStoreRequest {
            header: pd.header(),
            store_id: 777,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(missing.header.unwrap().error.is_some());

    // Lookups on the one region: leader is its only peer.
    let r = get_region(&pd, &mut c, b"any key").await;
    assert_eq!(r.region.as_ref().unwrap().id, b.region_id);
    assert_eq!(r.leader.unwrap().id, b.peer_id);
    let by_id = c
        .get_region_by_id(pdpb::GetRegionByIdRequest {
            header: pd.header(),
            region_id: b.region_id,
            need_buckets: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(&pd, by_id.header.as_ref());
    assert_eq!(by_id.region, r.region);
    let prev = c
        .get_prev_region(pdpb::GetRegionRequest {
            header: pd.header(),
            region_key: Vec::new(),
            need_buckets: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(&pd, prev.header.as_ref());
    assert!(prev.region.is_none(), "nothing before the first key");

    // Region heartbeats: a new peer on store 50 leads; a stale one is ignored; one naming an
    // unknown store is answered with an error, and the stream stays open.
    let grown = region(
        b.region_id,
        b"",
        b"",
        1,
        vec![peer(b.peer_id, b.store_id), peer(60, 50)],
    );
    let mut grown_epoch = grown.clone();
    grown_epoch.region_epoch.as_mut().unwrap().conf_ver = 2;
    let stale = region(b.region_id, b"", b"k", 0, vec![peer(b.peer_id, b.store_id)]);
    let hb = |region: metapb::Region, leader: metapb::Peer| pdpb::RegionHeartbeatRequest {
        header: pd.header(),
        region: Some(region),
        leader: Some(leader),
        ..Default::default()
    };
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let mut responses = c
        .region_heartbeat(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    tx.send(hb(grown_epoch.clone(), peer(60, 50)))
        .await
        .unwrap();
    tx.send(hb(stale, peer(b.peer_id, b.store_id)))
        .await
        .unwrap();
    tx.send(hb(grown_epoch.clone(), peer(61, 4242)))
        .await
        .unwrap();
    let refused = responses.message().await.unwrap().unwrap();
    assert_eq!(
        error_type(refused.header.as_ref()),
        pdpb::ErrorType::Unknown
    );
    assert_eq!(refused.region_id, b.region_id);
    let r = get_region(&pd, &mut c, b"zzz").await;
    assert_eq!(r.region.as_ref().unwrap(), &grown_epoch);
    assert_eq!(r.leader.unwrap(), peer(60, 50));

    let scan = c
        .scan_regions(pdpb::ScanRegionsRequest {
            header: pd.header(),
            start_key: b"m".to_vec(),
            limit: 0,
            end_key: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(&pd, scan.header.as_ref());
    assert_eq!(scan.regions.len(), 1);
    assert_eq!(scan.region_metas, vec![grown_epoch.clone()]);
    assert_eq!(scan.leaders, vec![peer(60, 50)]);
    drop(tx);
    assert!(
        responses.message().await.unwrap().is_none(),
        "stream ends with the client's"
    );

    pd.stop().await;
    let pd = Pd::start(dir.path()).await;
    let mut c = pd.client().await;
    let r = get_region(&pd, &mut c, b"").await;
    assert_eq!(r.region.unwrap(), grown_epoch, "regions are persisted");
    // Leaders are not: until a heartbeat says, clients are given the first peer.
    assert_eq!(r.leader, Some(peer(b.peer_id, b.store_id)));
    let all = c
        .get_all_stores(pdpb::GetAllStoresRequest {
            header: pd.header(),
            exclude_tombstone_stores: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.stores.len(), 2, "stores are persisted");
    pd.stop().await;
}
