//! The node's side of the placement driver: join the cluster (identity, bootstrap, store
//! registration), report (store and region heartbeats) and split regions with PD's ids.
//!
//! Every call checks the response header: PD answers failures in `header.error`.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use crate::error::{Error, Result};
use crate::kv::{peer_pb, region_to_pb};
use crate::proto::metapb;
use crate::proto::pdpb::{self, pd_client::PdClient};
use crate::region::RegionInfo;

/// A PD connection that stamps requests with the cluster id.
#[derive(Debug, Clone)]
pub struct Pd {
    client: PdClient<Channel>,
    cluster_id: u64,
}

fn check(header: Option<&pdpb::ResponseHeader>, what: &str) -> Result<()> {
    match header.and_then(|h| h.error.as_ref()) {
        Some(e) if e.r#type != pdpb::ErrorType::Ok as i32 => Err(Error::Pd(format!(
            "{what}: {:?}: {}",
            pdpb::ErrorType::try_from(e.r#type).unwrap_or(pdpb::ErrorType::Unknown),
            e.message
        ))),
        _ => Ok(()),
    }
}

fn status(what: &str) -> impl Fn(tonic::Status) -> Error + '_ {
    move |s| Error::Pd(format!("{what}: {s}"))
}

impl Pd {
    /// Connects to the first endpoint that answers GetMembers, retrying until `timeout`.
    ///
    /// # Errors
    /// `Pd` when no endpoint answered in time.
    pub async fn connect(endpoints: &[String], timeout: Duration) -> Result<Pd> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = String::from("no endpoints");
        loop {
            for ep in endpoints {
                let url = if ep.contains("://") {
                    ep.clone()
                } else {
                    format!("http://{ep}")
                };
                match Self::try_connect(url).await {
                    Ok(pd) => return Ok(pd),
                    Err(e) => last = e.to_string(),
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Pd(format!(
                    "cannot reach PD at {endpoints:?}: {last}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn try_connect(url: String) -> Result<Pd> {
        let channel = tonic::transport::Endpoint::from_shared(url)
            .map_err(|e| Error::Pd(e.to_string()))?
            .connect_timeout(Duration::from_secs(2))
            .connect()
            .await?;
        let mut client = PdClient::new(channel);
        let members = client
            .get_members(pdpb::GetMembersRequest::default())
            .await
            .map_err(status("GetMembers"))?
            .into_inner();
        check(members.header.as_ref(), "GetMembers")?;
        let cluster_id = members.header.map_or(0, |h| h.cluster_id);
        Ok(Pd { client, cluster_id })
    }

    /// The cluster's id.
    pub fn cluster_id(&self) -> u64 {
        self.cluster_id
    }

    fn header(&self) -> Option<pdpb::RequestHeader> {
        Some(pdpb::RequestHeader {
            cluster_id: self.cluster_id,
            sender_id: 0,
        })
    }

    /// A fresh cluster-unique id.
    ///
    /// # Errors
    /// `Pd` on failure.
    pub async fn alloc_id(&self) -> Result<u64> {
        let r = self
            .client
            .clone()
            .alloc_id(pdpb::AllocIdRequest {
                header: self.header(),
            })
            .await
            .map_err(status("AllocID"))?
            .into_inner();
        check(r.header.as_ref(), "AllocID")?;
        Ok(r.id)
    }

    /// True if the cluster has its first region.
    ///
    /// # Errors
    /// `Pd` on failure.
    pub async fn is_bootstrapped(&self) -> Result<bool> {
        let r = self
            .client
            .clone()
            .is_bootstrapped(pdpb::IsBootstrappedRequest {
                header: self.header(),
            })
            .await
            .map_err(status("IsBootstrapped"))?
            .into_inner();
        check(r.header.as_ref(), "IsBootstrapped")?;
        Ok(r.bootstrapped)
    }

    /// Bootstraps the cluster with its first store and region.
    ///
    /// # Errors
    /// `Pd` on failure (also when another node bootstrapped first).
    pub async fn bootstrap(&self, store: metapb::Store, region: metapb::Region) -> Result<()> {
        let r = self
            .client
            .clone()
            .bootstrap(pdpb::BootstrapRequest {
                header: self.header(),
                store: Some(store),
                region: Some(region),
            })
            .await
            .map_err(status("Bootstrap"))?
            .into_inner();
        check(r.header.as_ref(), "Bootstrap")
    }

    /// Registers or updates the store (address, version, state).
    ///
    /// # Errors
    /// `Pd` on failure.
    pub async fn put_store(&self, store: metapb::Store) -> Result<()> {
        let r = self
            .client
            .clone()
            .put_store(pdpb::PutStoreRequest {
                header: self.header(),
                store: Some(store),
            })
            .await
            .map_err(status("PutStore"))?
            .into_inner();
        check(r.header.as_ref(), "PutStore")
    }

    /// One store heartbeat.
    ///
    /// # Errors
    /// `Pd` on failure.
    pub async fn store_heartbeat(&self, stats: pdpb::StoreStats) -> Result<()> {
        let r = self
            .client
            .clone()
            .store_heartbeat(pdpb::StoreHeartbeatRequest {
                header: self.header(),
                stats: Some(stats),
            })
            .await
            .map_err(status("StoreHeartbeat"))?
            .into_inner();
        check(r.header.as_ref(), "StoreHeartbeat")
    }

    /// Opens the region heartbeat stream: heartbeats sent on the returned sender reach PD
    /// in order; PD's answers (scheduling steps) arrive on the receiver, which ends when
    /// the stream breaks.
    ///
    /// # Errors
    /// `Pd` if the stream cannot be opened.
    pub async fn region_heartbeats(
        &self,
    ) -> Result<(
        mpsc::Sender<pdpb::RegionHeartbeatRequest>,
        mpsc::Receiver<pdpb::RegionHeartbeatResponse>,
    )> {
        let (tx, rx) = mpsc::channel(64);
        let mut responses = self
            .client
            .clone()
            .region_heartbeat(ReceiverStream::new(rx))
            .await
            .map_err(status("RegionHeartbeat"))?
            .into_inner();
        let (resp_tx, resp_rx) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                match responses.message().await {
                    Ok(Some(r)) => {
                        if resp_tx.send(r).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "PD region heartbeat stream failed");
                        return;
                    }
                }
            }
        });
        Ok((tx, resp_rx))
    }

    /// A heartbeat for a region this store leads, as of `now`.
    pub fn region_heartbeat(
        &self,
        info: &RegionInfo,
        now: std::time::Instant,
    ) -> pdpb::RegionHeartbeatRequest {
        pdpb::RegionHeartbeatRequest {
            header: self.header(),
            region: Some(region_to_pb(&info.region)),
            leader: info.leader.map(peer_pb),
            term: info.term,
            pending_peers: info.pending_peers.iter().copied().map(peer_pb).collect(),
            down_peers: info
                .down_peers
                .iter()
                .map(|d| pdpb::PeerStats {
                    peer: Some(peer_pb(d.peer)),
                    down_seconds: now.saturating_duration_since(d.silent_since).as_secs(),
                })
                .collect(),
            ..Default::default()
        }
    }

    /// New ids for splitting `region` once.
    ///
    /// # Errors
    /// `Pd` on failure or an empty answer.
    pub async fn ask_split(&self, region: metapb::Region) -> Result<pdpb::SplitId> {
        let r = self
            .client
            .clone()
            .ask_batch_split(pdpb::AskBatchSplitRequest {
                header: self.header(),
                region: Some(region),
                split_count: 1,
            })
            .await
            .map_err(status("AskBatchSplit"))?
            .into_inner();
        check(r.header.as_ref(), "AskBatchSplit")?;
        r.ids
            .into_iter()
            .next()
            .ok_or_else(|| Error::Pd("AskBatchSplit returned no ids".into()))
    }

    /// Reports the regions a split produced.
    ///
    /// # Errors
    /// `Pd` on failure.
    pub async fn report_split(&self, regions: Vec<metapb::Region>) -> Result<()> {
        let r = self
            .client
            .clone()
            .report_batch_split(pdpb::ReportBatchSplitRequest {
                header: self.header(),
                regions,
            })
            .await
            .map_err(status("ReportBatchSplit"))?
            .into_inner();
        check(r.header.as_ref(), "ReportBatchSplit")
    }

    /// The GC safe point PD holds.
    ///
    /// # Errors
    /// `Pd` on failure.
    pub async fn gc_safe_point(&self) -> Result<u64> {
        let r = self
            .client
            .clone()
            .get_gc_safe_point(pdpb::GetGcSafePointRequest {
                header: self.header(),
            })
            .await
            .map_err(status("GetGCSafePoint"))?
            .into_inner();
        check(r.header.as_ref(), "GetGCSafePoint")?;
        Ok(r.safe_point)
    }
}
