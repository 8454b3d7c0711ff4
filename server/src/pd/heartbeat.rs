//! Region heartbeats: the region map is updated, and the region's leader is answered with
//! the current step of the region's operator, if any (see `schedule`).
//!
//! What the node receives (on the same stream, in answer to a heartbeat it sent; PD sends
//! nothing when there is nothing to do):
//! - `change_peer { peer, change_type: AddLearnerNode }`: add `peer` as a learner (id from
//!   PD's allocator, `store_id` the store to create it on, `role` Learner) by a Raft conf
//!   change.
//! - `change_peer { peer, change_type: AddNode }`: promote the learner `peer` to a voter
//!   (`role` Voter). Sent only once the leader no longer reports it pending.
//! - `change_peer { peer, change_type: RemoveNode }`: remove `peer` by a conf change.
//!   Never the leader itself: PD transfers leadership first.
//! - `transfer_leader { peer, peers: [peer] }`: transfer leadership to `peer`.
//!
//! Each answer carries `region_id`, the `region_epoch` of the heartbeat it answers and
//! `target_peer` (the leader it is meant for); the node ignores an answer whose epoch is no
//! longer its region's. A step is re-sent on every heartbeat until one shows it done (the
//! peer present / present as a voter / absent / the leader on the target store), so the node
//! must treat a change it has already made or is making as done, not as an error.
//!
//! Operators are only ever sent in answer to the region's current leader: not for a
//! heartbeat PD ignores as stale (epoch older than PD's), nor one whose `term` is lower
//! than a term already reported for the region (a deposed leader: such a heartbeat is
//! ignored altogether, so it cannot overwrite the newer leader's report), nor one whose
//! `leader` is not a peer of the reported region. Term 0 means "not reported".

use super::schedule::{RegionView, Step};
use super::PdServer;
use crate::proto::{eraftpb, metapb, pdpb};

impl PdServer {
    /// Handles one region heartbeat; the answer to send, if any.
    pub(crate) fn region_heartbeat(
        &self,
        r: pdpb::RegionHeartbeatRequest,
    ) -> Option<pdpb::RegionHeartbeatResponse> {
        let region_id = r.region.as_ref().map_or(0, |x| x.id);
        let answer = |header, step: Option<Step>| {
            let mut resp = pdpb::RegionHeartbeatResponse {
                header,
                region_id,
                region_epoch: r.region.as_ref().and_then(|x| x.region_epoch),
                target_peer: r.leader,
                ..Default::default()
            };
            match step {
                Some(Step::AddLearner(peer)) => {
                    resp.change_peer = Some(change(peer, Change::AddLearner));
                }
                Some(Step::PromoteLearner(peer)) => {
                    resp.change_peer = Some(change(peer, Change::Promote));
                }
                Some(Step::RemovePeer(peer)) => {
                    resp.change_peer = Some(change(peer, Change::Remove));
                }
                Some(Step::TransferLeader { to, .. }) => {
                    resp.transfer_leader = Some(pdpb::TransferLeader {
                        peer: Some(to),
                        peers: vec![to],
                    });
                }
                None => {}
            }
            resp
        };
        if !self.operators().is_current_term(region_id, r.term) {
            return None;
        }
        let now = self.clock.now();
        let stores = {
            let mut cluster = self.cluster();
            match cluster.region_heartbeat(r.region.clone(), r.leader) {
                Err(e) => return Some(answer(self.error_header(e), None)),
                Ok(false) => return None,
                Ok(true) => {
                    cluster.store_views(self.started, now, self.schedule.max_store_down_time)
                }
            }
        };
        let view = view_of(&r)?;
        let step =
            self.operators()
                .on_heartbeat(&view, r.term, stores, &self.schedule, now, || {
                    self.alloc_id()
                });
        match step {
            Ok(step) => step.map(|s| answer(self.header(), Some(s))),
            Err(e) => {
                tracing::warn!(region = region_id, "no operator: {e}");
                None
            }
        }
    }
}

enum Change {
    AddLearner,
    Promote,
    Remove,
}

/// The ChangePeer PD sends for a step; the peer's `role` is the one it will have.
fn change(peer: metapb::Peer, c: Change) -> pdpb::ChangePeer {
    let (kind, role) = match c {
        Change::AddLearner => (
            eraftpb::ConfChangeType::AddLearnerNode,
            metapb::PeerRole::Learner,
        ),
        Change::Promote => (eraftpb::ConfChangeType::AddNode, metapb::PeerRole::Voter),
        Change::Remove => (
            eraftpb::ConfChangeType::RemoveNode,
            metapb::PeerRole::try_from(peer.role).unwrap_or(metapb::PeerRole::Voter),
        ),
    };
    pdpb::ChangePeer {
        peer: Some(metapb::Peer {
            role: role as i32,
            ..peer
        }),
        change_type: kind as i32,
    }
}

/// The heartbeat as the rules see it; `None` when its leader is not one of its peers.
fn view_of(r: &pdpb::RegionHeartbeatRequest) -> Option<RegionView> {
    let region = r.region.clone()?;
    let leader = r.leader?;
    if !(region.peers.iter()).any(|p| p.id == leader.id && p.store_id == leader.store_id) {
        return None;
    }
    Some(RegionView {
        region,
        leader,
        down_peers: (r.down_peers.iter())
            .filter_map(|d| Some((d.peer?.id, d.down_seconds)))
            .collect(),
        pending_peers: r.pending_peers.iter().map(|p| p.id).collect(),
    })
}
