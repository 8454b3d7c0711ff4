//! The gRPC `pdpb.PD` service: validates headers, calls the cluster, the allocators and the
//! TSO, and answers as PD does — refusals in the response header (`pdpb.Error`), a cluster
//! id mismatch as a `FailedPrecondition` status.

use std::sync::Arc;
use tokio::sync::watch;
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::cluster::PdError;
use super::respond::{region_response, serve_stream};
use super::PdServer;
use crate::proto::{metapb, pdpb};

/// The PD gRPC service.
#[derive(Debug)]
pub(crate) struct PdService {
    pd: Arc<PdServer>,
    /// Becomes true at shutdown: open streams end so the server can stop.
    closing: watch::Receiver<bool>,
}

impl PdService {
    pub fn new(pd: Arc<PdServer>, closing: watch::Receiver<bool>) -> Self {
        PdService { pd, closing }
    }

    fn stream<In, Out, F>(
        &self,
        inbound: Streaming<In>,
        handle: F,
    ) -> ReceiverStream<Result<Out, Status>>
    where
        In: Send + 'static,
        Out: Send + 'static,
        F: FnMut(&PdServer, In) -> Option<Result<Out, Status>> + Send + 'static,
    {
        serve_stream(self.pd.clone(), self.closing.clone(), inbound, handle)
    }
}

#[tonic::async_trait]
impl pdpb::pd_server::Pd for PdService {
    async fn get_members(
        &self,
        _: Request<pdpb::GetMembersRequest>,
    ) -> Result<Response<pdpb::GetMembersResponse>, Status> {
        let me = self.pd.member.clone();
        Ok(Response::new(pdpb::GetMembersResponse {
            header: self.pd.header(),
            members: vec![me.clone()],
            leader: Some(me.clone()),
            etcd_leader: Some(me),
            ..Default::default()
        }))
    }

    type TsoStream = ReceiverStream<Result<pdpb::TsoResponse, Status>>;

    async fn tso(
        &self,
        req: Request<Streaming<pdpb::TsoRequest>>,
    ) -> Result<Response<Self::TsoStream>, Status> {
        Ok(Response::new(self.stream(
            req.into_inner(),
            |pd, r: pdpb::TsoRequest| {
                if let Err(s) = pd.check_header(r.header.as_ref()) {
                    return Some(Err(s));
                }
                Some(match pd.timestamp(r.count) {
                    Ok((physical, logical)) => Ok(pdpb::TsoResponse {
                        header: pd.header(),
                        count: r.count,
                        timestamp: Some(pdpb::Timestamp {
                            physical,
                            logical,
                            suffix_bits: 0,
                        }),
                    }),
                    Err(e) => Err(Status::unknown(e.to_string())),
                })
            },
        )))
    }

    async fn bootstrap(
        &self,
        req: Request<pdpb::BootstrapRequest>,
    ) -> Result<Response<pdpb::BootstrapResponse>, Status> {
        let r = req.into_inner();
        self.pd.check_header(r.header.as_ref())?;
        let done = self.pd.cluster().bootstrap(
            self.pd.cluster_id,
            self.pd.schedule.max_replicas,
            r.store,
            r.region,
        );
        self.pd
            .reply(done.map(|()| pdpb::BootstrapResponse::default()))
    }

    async fn is_bootstrapped(
        &self,
        req: Request<pdpb::IsBootstrappedRequest>,
    ) -> Result<Response<pdpb::IsBootstrappedResponse>, Status> {
        self.pd.check_header(req.get_ref().header.as_ref())?;
        let bootstrapped = self.pd.is_bootstrapped();
        self.pd.reply(Ok(pdpb::IsBootstrappedResponse {
            bootstrapped,
            ..Default::default()
        }))
    }

    async fn alloc_id(
        &self,
        req: Request<pdpb::AllocIdRequest>,
    ) -> Result<Response<pdpb::AllocIdResponse>, Status> {
        self.pd.check_header(req.get_ref().header.as_ref())?;
        let id = self.pd.alloc_id().map_err(PdError::from);
        self.pd.reply(id.map(|id| pdpb::AllocIdResponse {
            id,
            ..Default::default()
        }))
    }

    async fn get_store(
        &self,
        req: Request<pdpb::GetStoreRequest>,
    ) -> Result<Response<pdpb::GetStoreResponse>, Status> {
        let r = req.into_inner();
        self.pd.check_header(r.header.as_ref())?;
        let cluster = self.pd.cluster();
        let store = cluster
            .get_store(r.store_id)
            .map(|s| pdpb::GetStoreResponse {
                store: Some(s.meta.clone()),
                stats: s.stats.clone(),
                ..Default::default()
            });
        self.pd.reply(store)
    }

    async fn put_store(
        &self,
        req: Request<pdpb::PutStoreRequest>,
    ) -> Result<Response<pdpb::PutStoreResponse>, Status> {
        let r = req.into_inner();
        self.pd.check_header(r.header.as_ref())?;
        let done = self.pd.cluster().put_store(r.store);
        self.pd
            .reply(done.map(|()| pdpb::PutStoreResponse::default()))
    }

    async fn get_all_stores(
        &self,
        req: Request<pdpb::GetAllStoresRequest>,
    ) -> Result<Response<pdpb::GetAllStoresResponse>, Status> {
        let r = req.into_inner();
        self.pd.check_header(r.header.as_ref())?;
        let cluster = self.pd.cluster();
        let stores = cluster.stores().map(|all| pdpb::GetAllStoresResponse {
            stores: all
                .filter(|s| {
                    !(r.exclude_tombstone_stores
                        && s.meta.state == metapb::StoreState::Tombstone as i32)
                })
                .map(|s| s.meta.clone())
                .collect(),
            ..Default::default()
        });
        self.pd.reply(stores)
    }

    async fn store_heartbeat(
        &self,
        req: Request<pdpb::StoreHeartbeatRequest>,
    ) -> Result<Response<pdpb::StoreHeartbeatResponse>, Status> {
        let r = req.into_inner();
        self.pd.check_header(r.header.as_ref())?;
        let done = self
            .pd
            .cluster()
            .store_heartbeat(r.stats, self.pd.clock.now());
        self.pd
            .reply(done.map(|()| pdpb::StoreHeartbeatResponse::default()))
    }

    type RegionHeartbeatStream = ReceiverStream<Result<pdpb::RegionHeartbeatResponse, Status>>;

    async fn region_heartbeat(
        &self,
        req: Request<Streaming<pdpb::RegionHeartbeatRequest>>,
    ) -> Result<Response<Self::RegionHeartbeatStream>, Status> {
        Ok(Response::new(self.stream(
            req.into_inner(),
            |pd, r: pdpb::RegionHeartbeatRequest| {
                if let Err(s) = pd.check_header(r.header.as_ref()) {
                    return Some(Err(s));
                }
                pd.region_heartbeat(r).map(Ok)
            },
        )))
    }

    async fn get_region(
        &self,
        req: Request<pdpb::GetRegionRequest>,
    ) -> Result<Response<pdpb::GetRegionResponse>, Status> {
        let r = req.into_inner();
        self.pd.check_header(r.header.as_ref())?;
        let cluster = self.pd.cluster();
        let found = cluster
            .regions()
            .map(|t| t.get_by_key(&r.region_key).cloned());
        self.pd.reply(found.map(region_response))
    }

    async fn get_prev_region(
        &self,
        req: Request<pdpb::GetRegionRequest>,
    ) -> Result<Response<pdpb::GetRegionResponse>, Status> {
        let r = req.into_inner();
        self.pd.check_header(r.header.as_ref())?;
        let cluster = self.pd.cluster();
        let found = cluster
            .regions()
            .map(|t| t.get_prev(&r.region_key).cloned());
        self.pd.reply(found.map(region_response))
    }

    async fn get_region_by_id(
        &self,
        req: Request<pdpb::GetRegionByIdRequest>,
    ) -> Result<Response<pdpb::GetRegionResponse>, Status> {
        let r = req.into_inner();
        self.pd.check_header(r.header.as_ref())?;
        let cluster = self.pd.cluster();
        let found = cluster.regions().map(|t| t.get(r.region_id).cloned());
        self.pd.reply(found.map(region_response))
    }

    async fn scan_regions(
        &self,
        req: Request<pdpb::ScanRegionsRequest>,
    ) -> Result<Response<pdpb::ScanRegionsResponse>, Status> {
        let r = req.into_inner();
        self.pd.check_header(r.header.as_ref())?;
        let limit = usize::try_from(r.limit).unwrap_or(0);
        let cluster = self.pd.cluster();
        let scanned = cluster.regions().map(|t| {
            let mut resp = pdpb::ScanRegionsResponse::default();
            for e in t.scan(&r.start_key, &r.end_key, limit) {
                let leader = e.leader_or_first_peer().unwrap_or_default();
                // The legacy parallel lists too, for older clients (as PD).
                resp.region_metas.push(e.region.clone());
                resp.leaders.push(leader);
                resp.regions.push(pdpb::Region {
                    region: Some(e.region.clone()),
                    leader: Some(leader),
                    ..Default::default()
                });
            }
            resp
        });
        self.pd.reply(scanned)
    }

    async fn ask_batch_split(
        &self,
        req: Request<pdpb::AskBatchSplitRequest>,
    ) -> Result<Response<pdpb::AskBatchSplitResponse>, Status> {
        let r = req.into_inner();
        self.pd.check_header(r.header.as_ref())?;
        let peers = self.pd.cluster().check_split(r.region.as_ref());
        let ids = peers.and_then(|peers| {
            (0..r.split_count)
                .map(|_| {
                    Ok(pdpb::SplitId {
                        new_region_id: self.pd.alloc_id()?,
                        new_peer_ids: (0..peers)
                            .map(|_| self.pd.alloc_id())
                            .collect::<crate::Result<_>>()?,
                    })
                })
                .collect::<Result<Vec<_>, crate::Error>>()
                .map_err(PdError::from)
        });
        self.pd.reply(ids.map(|ids| pdpb::AskBatchSplitResponse {
            ids,
            ..Default::default()
        }))
    }

    async fn report_batch_split(
        &self,
        req: Request<pdpb::ReportBatchSplitRequest>,
    ) -> Result<Response<pdpb::ReportBatchSplitResponse>, Status> {
        let r = req.into_inner();
        self.pd.check_header(r.header.as_ref())?;
        let done = self.pd.cluster().report_split(r.regions);
        self.pd
            .reply(done.map(|()| pdpb::ReportBatchSplitResponse::default()))
    }

    async fn get_cluster_config(
        &self,
        req: Request<pdpb::GetClusterConfigRequest>,
    ) -> Result<Response<pdpb::GetClusterConfigResponse>, Status> {
        self.pd.check_header(req.get_ref().header.as_ref())?;
        let config = self.pd.cluster().config();
        self.pd
            .reply(config.map(|c| pdpb::GetClusterConfigResponse {
                // The replica count scheduling works to, whatever bootstrap recorded.
                cluster: Some(metapb::Cluster {
                    max_peer_count: self.pd.schedule.max_replicas,
                    ..c
                }),
                ..Default::default()
            }))
    }

    async fn get_gc_safe_point(
        &self,
        req: Request<pdpb::GetGcSafePointRequest>,
    ) -> Result<Response<pdpb::GetGcSafePointResponse>, Status> {
        self.pd.check_header(req.get_ref().header.as_ref())?;
        let sp = self.pd.cluster().gc_safe_point();
        self.pd
            .reply(sp.map(|safe_point| pdpb::GetGcSafePointResponse {
                safe_point,
                ..Default::default()
            }))
    }

    async fn update_gc_safe_point(
        &self,
        req: Request<pdpb::UpdateGcSafePointRequest>,
    ) -> Result<Response<pdpb::UpdateGcSafePointResponse>, Status> {
        let r = req.into_inner();
        self.pd.check_header(r.header.as_ref())?;
        let sp = self.pd.cluster().update_gc_safe_point(r.safe_point);
        self.pd
            .reply(sp.map(|new_safe_point| pdpb::UpdateGcSafePointResponse {
                new_safe_point,
                ..Default::default()
            }))
    }
}
