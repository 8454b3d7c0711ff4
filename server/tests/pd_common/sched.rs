//! For the `pd_schedule_*` scenarios: a bootstrapped cluster of heartbeating stores, one
//! region heartbeat stream, and regions whose simulated leader applies what PD answers.
//!
//! "PD answered nothing" is observed without waiting: every heartbeat is followed on the
//! stream by a probe PD must refuse (a heartbeat without a region), and answers arrive in
//! order, so the first answer is either the heartbeat's or the probe's refusal.

use server::pd::PdOptions;
use server::proto::{eraftpb, metapb, pdpb};
use tokio::sync::mpsc;
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::Streaming;

use super::{assert_ok, bootstrap, peer, store, Bootstrapped, Pd};

pub type Client = pdpb::pd_client::PdClient<Channel>;

/// A PD with stores and an open region heartbeat stream.
pub struct Cluster {
    pub pd: Pd,
    pub client: Client,
    pub boot: Bootstrapped,
    /// Store ids, the bootstrap store first.
    pub stores: Vec<u64>,
    to_pd: mpsc::Sender<pdpb::RegionHeartbeatRequest>,
    from_pd: Streaming<pdpb::RegionHeartbeatResponse>,
}

impl Cluster {
    /// Bootstraps PD in `dir`, registers `n - 1` more stores, and heartbeats every store.
    pub async fn start(dir: &std::path::Path, options: PdOptions, n: usize) -> Cluster {
        let pd = Pd::start_with(dir, options).await;
        let mut client = pd.client().await;
        let boot = bootstrap(&pd, &mut client, "127.0.0.1:1").await;
        let mut stores = vec![boot.store_id];
        for i in 2..=n {
            let id = super::alloc_id(&pd, &mut client).await;
            let resp = client
                .put_store(pdpb::PutStoreRequest {
                    header: pd.header(),
                    store: Some(store(id, &format!("127.0.0.1:{i}"))),
                })
                .await
                .unwrap()
                .into_inner();
            assert_ok(&pd, resp.header.as_ref());
            stores.push(id);
        }
        let (to_pd, rx) = mpsc::channel(16);
        let from_pd = client
            .region_heartbeat(ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        let mut c = Cluster {
            pd,
            client,
            boot,
            stores,
            to_pd,
            from_pd,
        };
        for s in c.stores.clone() {
            c.store_heartbeat(s).await;
        }
        c
    }

    pub async fn store_heartbeat(&mut self, store_id: u64) {
        let resp = self
            .client
            .store_heartbeat(pdpb::StoreHeartbeatRequest {
                header: self.pd.header(),
                stats: Some(pdpb::StoreStats {
                    store_id,
                    ..Default::default()
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_ok(&self.pd, resp.header.as_ref());
    }

    /// Sends `hb`; PD's answer to it, `None` if PD answered nothing.
    pub async fn heartbeat(
        &mut self,
        hb: pdpb::RegionHeartbeatRequest,
    ) -> Option<pdpb::RegionHeartbeatResponse> {
        let probe = pdpb::RegionHeartbeatRequest {
            header: self.pd.header(),
            ..Default::default()
        };
        self.to_pd.send(hb).await.unwrap();
        self.to_pd.send(probe).await.unwrap();
        let is_probe = |r: &pdpb::RegionHeartbeatResponse| {
            r.region_id == 0 && r.header.as_ref().is_some_and(|h| h.error.is_some())
        };
        let first = self.from_pd.message().await.unwrap().unwrap();
        if is_probe(&first) {
            return None;
        }
        let second = self.from_pd.message().await.unwrap().unwrap();
        assert!(is_probe(&second), "one answer per heartbeat: {second:?}");
        assert_ok(&self.pd, first.header.as_ref());
        Some(first)
    }

    /// Sends `r`'s heartbeat; the answer, checked to be addressed to `r`'s leader.
    pub async fn heartbeat_region(
        &mut self,
        r: &SimRegion,
    ) -> Option<pdpb::RegionHeartbeatResponse> {
        let hb = r.request(self.pd.header());
        let resp = self.heartbeat(hb).await?;
        assert_eq!(resp.region_id, r.region.id);
        assert_eq!(resp.region_epoch, r.region.region_epoch);
        assert_eq!(resp.target_peer, Some(r.leader));
        Some(resp)
    }
}

/// What PD asked of a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// ChangePeer AddLearnerNode.
    AddLearner(metapb::Peer),
    /// ChangePeer AddNode of a learner.
    Promote(metapb::Peer),
    Remove(metapb::Peer),
    Transfer(metapb::Peer),
}

impl Op {
    /// The single operation in `resp`.
    pub fn of(resp: &pdpb::RegionHeartbeatResponse) -> Op {
        match (&resp.change_peer, &resp.transfer_leader) {
            (Some(c), None) => {
                let p = c.peer.unwrap();
                match eraftpb::ConfChangeType::try_from(c.change_type).unwrap() {
                    eraftpb::ConfChangeType::AddLearnerNode => Op::AddLearner(p),
                    eraftpb::ConfChangeType::AddNode => Op::Promote(p),
                    eraftpb::ConfChangeType::RemoveNode => Op::Remove(p),
                }
            }
            (None, Some(t)) => {
                let p = t.peer.unwrap();
                assert_eq!(t.peers, vec![p]);
                Op::Transfer(p)
            }
            other => panic!("expected exactly one operation, got {other:?}"),
        }
    }
}

/// A region as its (simulated) leader knows it.
#[derive(Debug, Clone)]
pub struct SimRegion {
    pub region: metapb::Region,
    pub leader: metapb::Peer,
    pub term: u64,
    pub pending: Vec<metapb::Peer>,
    pub down: Vec<pdpb::PeerStats>,
}

impl SimRegion {
    /// The bootstrapped region: one peer, led by it.
    pub fn bootstrapped(b: &Bootstrapped) -> SimRegion {
        let leader = peer(b.peer_id, b.store_id);
        SimRegion::new(super::region(b.region_id, b"", b"", 1, vec![leader]))
    }

    /// `region`, led by its first peer, at term 1.
    pub fn new(region: metapb::Region) -> SimRegion {
        SimRegion {
            leader: region.peers[0],
            region,
            term: 1,
            pending: Vec::new(),
            down: Vec::new(),
        }
    }

    pub fn request(&self, header: Option<pdpb::RequestHeader>) -> pdpb::RegionHeartbeatRequest {
        pdpb::RegionHeartbeatRequest {
            header,
            region: Some(self.region.clone()),
            leader: Some(self.leader),
            down_peers: self.down.clone(),
            pending_peers: self.pending.clone(),
            term: self.term,
            ..Default::default()
        }
    }

    pub fn stores(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.region.peers.iter().map(|p| p.store_id).collect();
        v.sort_unstable();
        v
    }

    /// Carries out `op` as a node would: a conf change bumps `conf_ver`, a transfer the term.
    pub fn apply(&mut self, op: Op) {
        let learner = metapb::PeerRole::Learner as i32;
        let epoch = self.region.region_epoch.as_mut().unwrap();
        match op {
            Op::AddLearner(p) => {
                assert!(self.region.peers.iter().all(|q| q.store_id != p.store_id));
                assert_eq!(p.role, learner, "added as a learner");
                self.region.peers.push(p);
                epoch.conf_ver += 1;
            }
            Op::Promote(p) => {
                assert!(
                    !self.pending.iter().any(|q| q.id == p.id),
                    "PD promoted a learner still catching up"
                );
                let q = self.region.peers.iter_mut().find(|q| q.id == p.id).unwrap();
                assert_eq!(q.role, learner, "only a learner is promoted");
                q.role = metapb::PeerRole::Voter as i32;
                epoch.conf_ver += 1;
            }
            Op::Remove(p) => {
                assert_ne!(p.id, self.leader.id, "PD asked the leader to remove itself");
                let before = self.region.peers.len();
                self.region.peers.retain(|q| q.id != p.id);
                assert_eq!(self.region.peers.len(), before - 1);
                epoch.conf_ver += 1;
            }
            Op::Transfer(p) => {
                let q = self.region.peers.iter().find(|q| q.id == p.id).unwrap();
                assert_ne!(q.role, learner, "PD asked a learner to lead");
                self.leader = p;
                self.term += 1;
            }
        }
    }
}
