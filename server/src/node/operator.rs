//! Carrying out PD's scheduling steps, which arrive as region heartbeat responses: add or
//! remove a peer (a Raft membership change) or hand leadership to another peer.
//!
//! PD re-sends a step with every heartbeat until a heartbeat shows it done, so a step that
//! is already done here, already under way, or not ours to do (this store no longer leads
//! the region) is skipped: [`decide`] is the pure part, [`Executor`] the one that acts.

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::Mutex;
use replication::{ConfChangeType, Epoch, Peer, RaftKv, StoreMsg};

use crate::proto::{eraftpb, pdpb};
use crate::region::RegionInfo;

/// What a step asks of this store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Propose a membership change.
    ChangePeer {
        /// The region.
        region_id: u64,
        /// Its epoch as this store applied it (the change is refused if it moved on).
        epoch: Epoch,
        /// Add or remove.
        change: ConfChangeType,
        /// The peer.
        peer: Peer,
    },
    /// Hand leadership to a peer.
    TransferLeader {
        /// The region.
        region_id: u64,
        /// The new leader.
        to: Peer,
    },
}

/// The action a PD response asks for, given the region as this store knows it (`None`: not
/// here). `None` when there is nothing to do: no step, not the leader here, or already done.
pub fn decide(resp: &pdpb::RegionHeartbeatResponse, info: Option<&RegionInfo>) -> Option<Action> {
    let info = info.filter(|i| i.is_leader())?;
    let region = &info.region;
    if let Some(cp) = &resp.change_peer {
        let p = cp.peer.as_ref()?;
        let peer = Peer::new(p.id, p.store_id);
        let present = region.peer(peer.id).is_some();
        let change = match eraftpb::ConfChangeType::try_from(cp.change_type).ok()? {
            eraftpb::ConfChangeType::AddNode if !present => ConfChangeType::AddNode,
            eraftpb::ConfChangeType::RemoveNode if present => ConfChangeType::RemoveNode,
            // Done already (a repeat), or learners, which this store never runs.
            _ => return None,
        };
        return Some(Action::ChangePeer {
            region_id: region.id,
            epoch: region.epoch,
            change,
            peer,
        });
    }
    if let Some(tl) = &resp.transfer_leader {
        let p = tl.peer.as_ref()?;
        let to = region.peer(p.id)?;
        if to == info.peer {
            return None;
        }
        return Some(Action::TransferLeader {
            region_id: region.id,
            to,
        });
    }
    None
}

/// Carries out actions on this store's Raft groups, one membership change per region at a
/// time (Raft allows no more; a repeat while one is in flight is dropped).
#[derive(Debug, Clone)]
pub struct Executor {
    raft: RaftKv,
    in_flight: Arc<Mutex<HashSet<u64>>>,
}

impl Executor {
    /// Acts on `raft`'s groups.
    pub fn new(raft: RaftKv) -> Executor {
        Executor {
            raft,
            in_flight: Arc::default(),
        }
    }

    /// Starts `action`; returns at once (a membership change completes in the background).
    pub fn run(&self, action: Action) {
        match action {
            Action::TransferLeader { region_id, to } => {
                tracing::info!(region_id, to = to.id, "PD: transfer leader");
                if let Err(e) = self.raft.handle().send(StoreMsg::TransferLeader {
                    region_id,
                    to: to.id,
                }) {
                    tracing::warn!(region_id, error = %e, "transfer leader not sent");
                }
            }
            Action::ChangePeer {
                region_id,
                epoch,
                change,
                peer,
            } => {
                if !self.in_flight.lock().insert(region_id) {
                    return;
                }
                tracing::info!(
                    region_id,
                    ?change,
                    peer = peer.id,
                    store = peer.store_id,
                    "PD: change peer"
                );
                let raft = self.raft.clone();
                let in_flight = self.in_flight.clone();
                tokio::spawn(async move {
                    let r = raft
                        .call(region_id, |cb| StoreMsg::ChangePeer {
                            region_id,
                            epoch,
                            change,
                            peer,
                            cb,
                        })
                        .await;
                    in_flight.lock().remove(&region_id);
                    if let Err(e) = r {
                        tracing::warn!(region_id, error = %e, "membership change failed; PD will retry");
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use replication::Region;

    use super::*;
    use crate::proto::metapb;

    fn info() -> RegionInfo {
        let me = Peer::new(11, 1);
        RegionInfo {
            region: Region {
                id: 2,
                epoch: Epoch {
                    conf_ver: 3,
                    version: 1,
                },
                peers: vec![me, Peer::new(12, 2)],
                ..Default::default()
            },
            leader: Some(me),
            peer: me,
            ..Default::default()
        }
    }

    fn change(id: u64, store_id: u64, t: eraftpb::ConfChangeType) -> pdpb::RegionHeartbeatResponse {
        pdpb::RegionHeartbeatResponse {
            region_id: 2,
            change_peer: Some(pdpb::ChangePeer {
                peer: Some(metapb::Peer {
                    id,
                    store_id,
                    ..Default::default()
                }),
                change_type: t as i32,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn membership_steps_are_skipped_when_already_done() {
        let i = info();
        assert_eq!(
            decide(&change(13, 3, eraftpb::ConfChangeType::AddNode), Some(&i)),
            Some(Action::ChangePeer {
                region_id: 2,
                epoch: i.region.epoch,
                change: ConfChangeType::AddNode,
                peer: Peer::new(13, 3),
            })
        );
        // A repeat after the add applied; a removal of a peer already gone.
        assert_eq!(
            decide(&change(12, 2, eraftpb::ConfChangeType::AddNode), Some(&i)),
            None
        );
        assert_eq!(
            decide(
                &change(14, 4, eraftpb::ConfChangeType::RemoveNode),
                Some(&i)
            ),
            None
        );
        assert!(matches!(
            decide(
                &change(12, 2, eraftpb::ConfChangeType::RemoveNode),
                Some(&i)
            ),
            Some(Action::ChangePeer {
                change: ConfChangeType::RemoveNode,
                ..
            })
        ));
        // Learners are never run here.
        assert_eq!(
            decide(
                &change(13, 3, eraftpb::ConfChangeType::AddLearnerNode),
                Some(&i)
            ),
            None
        );
    }

    #[test]
    fn only_a_leader_acts_and_transfers_go_to_members_only() {
        let mut follower = info();
        follower.leader = Some(Peer::new(12, 2));
        assert_eq!(
            decide(
                &change(13, 3, eraftpb::ConfChangeType::AddNode),
                Some(&follower)
            ),
            None
        );
        assert_eq!(
            decide(&change(13, 3, eraftpb::ConfChangeType::AddNode), None),
            None
        );
        let transfer = |id: u64| pdpb::RegionHeartbeatResponse {
            region_id: 2,
            transfer_leader: Some(pdpb::TransferLeader {
                peer: Some(metapb::Peer {
                    id,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            decide(&transfer(12), Some(&info())),
            Some(Action::TransferLeader {
                region_id: 2,
                to: Peer::new(12, 2)
            })
        );
        assert_eq!(decide(&transfer(11), Some(&info())), None, "already leads");
        assert_eq!(decide(&transfer(99), Some(&info())), None, "not a member");
    }
}
