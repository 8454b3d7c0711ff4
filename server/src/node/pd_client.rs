//! The node's side of the placement driver: join the cluster (identity, bootstrap, store
//! registration), report (store and region heartbeats), split regions with PD's ids, and
//! find other stores (the Raft transport's `StoreLookup`).
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
use crate::raftnet::{BoxFuture, StoreLookup};
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

    /// Bootstraps the cluster with its first store and region. `Ok(false)` when another
    /// node bootstrapped it first (nodes started together race between IsBootstrapped and
    /// Bootstrap; PD takes one).
    ///
    /// # Errors
    /// `Pd` on any other failure.
    pub async fn bootstrap(&self, store: metapb::Store, region: metapb::Region) -> Result<bool> {
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
        let lost = r
            .header
            .as_ref()
            .and_then(|h| h.error.as_ref())
            .is_some_and(|e| e.r#type == pdpb::ErrorType::AlreadyBootstrapped as i32);
        if lost {
            return Ok(false);
        }
        check(r.header.as_ref(), "Bootstrap")?;
        Ok(true)
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

    /// New ids for splitting `region` into `count + 1` pieces: one region id and one peer
    /// id per peer for each new region.
    ///
    /// # Errors
    /// `Pd` on failure or an answer with another number of ids.
    pub async fn ask_batch_split(
        &self,
        region: metapb::Region,
        count: usize,
    ) -> Result<Vec<pdpb::SplitId>> {
        let peers = region.peers.len();
        let r = self
            .client
            .clone()
            .ask_batch_split(pdpb::AskBatchSplitRequest {
                header: self.header(),
                region: Some(region),
                split_count: u32::try_from(count)
                    .map_err(|_| Error::Pd(format!("{count} splits at once")))?,
            })
            .await
            .map_err(status("AskBatchSplit"))?
            .into_inner();
        check(r.header.as_ref(), "AskBatchSplit")?;
        if r.ids.len() != count || r.ids.iter().any(|i| i.new_peer_ids.len() != peers) {
            return Err(Error::Pd(format!(
                "AskBatchSplit answered {} ids for {count} splits of a {peers}-peer region",
                r.ids.len()
            )));
        }
        Ok(r.ids)
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

    /// Store `store_id` as PD has it registered.
    ///
    /// # Errors
    /// `Pd` on failure or when PD knows no such store.
    pub async fn get_store(&self, store_id: u64) -> Result<metapb::Store> {
        let r = self
            .client
            .clone()
            .get_store(pdpb::GetStoreRequest {
                header: self.header(),
                store_id,
            })
            .await
            .map_err(status("GetStore"))?
            .into_inner();
        check(r.header.as_ref(), "GetStore")?;
        r.store
            .ok_or_else(|| Error::Pd(format!("GetStore: no store {store_id}")))
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

/// Where the Raft transport finds other stores: the address each registered with PD (the
/// Raft service shares the KV port). A removed (tombstone) store is unreachable.
impl StoreLookup for Pd {
    fn store_address(&self, store_id: u64) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            let store = self.get_store(store_id).await?;
            if store.state == metapb::StoreState::Tombstone as i32 {
                return Err(Error::Unreachable {
                    store_id,
                    reason: "the store was removed".into(),
                });
            }
            Ok(store.address)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::raftnet::{CachedAddrs, StoreAddrs};

    fn store(id: u64, address: &str) -> metapb::Store {
        metapb::Store {
            id,
            address: address.into(),
            ..Default::default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_transport_finds_stores_through_pd() {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = crate::pd::PdServer::open(dir.path(), vec![url.clone()]).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(crate::pd::serve(server, listener, async move {
            let _ = stopped.await;
        }));

        let pd = Pd::connect(&[url], Duration::from_secs(10)).await.unwrap();
        let region = metapb::Region {
            id: 2,
            peers: vec![metapb::Peer {
                id: 3,
                store_id: 1,
                ..Default::default()
            }],
            ..Default::default()
        };
        pd.bootstrap(store(1, "127.0.0.1:7001"), region)
            .await
            .unwrap();
        pd.put_store(store(4, "127.0.0.1:7004")).await.unwrap();

        let addrs = CachedAddrs::new(pd.clone());
        assert_eq!(addrs.resolve(4).await.unwrap(), "127.0.0.1:7004");
        // Moved: the cache answers the old address until a failure invalidates it.
        pd.put_store(store(4, "127.0.0.1:7005")).await.unwrap();
        assert_eq!(addrs.resolve(4).await.unwrap(), "127.0.0.1:7004");
        addrs.invalidate(4);
        assert_eq!(addrs.resolve(4).await.unwrap(), "127.0.0.1:7005");
        assert!(addrs.resolve(9).await.is_err(), "an unknown store");

        let _ = stop.send(());
        task.await.unwrap().unwrap();
    }
}
