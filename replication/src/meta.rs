//! What a store publishes about its regions for the rest of the node (request checks, PD
//! heartbeats): each region's descriptor, leader, term and (on a leader) follower health,
//! updated by the Raft thread whenever any of them changes. Readers get a consistent copy of one region at a time.

use std::collections::HashMap;

use parking_lot::RwLock;

use crate::health::DownPeer;
use crate::region::{Peer, Region};

/// One region as this store sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegionInfo {
    /// The region as applied here.
    pub region: Region,
    /// The leader this store's peer knows of.
    pub leader: Option<Peer>,
    /// This store's peer of the region.
    pub peer: Peer,
    /// The Raft term this peer is in (PD ignores reports from older terms).
    pub term: u64,
    /// On a leader: followers that cannot catch up from the log (new, or needing a
    /// snapshot).
    pub pending_peers: Vec<Peer>,
    /// On a leader: followers not heard from for `max_peer_down_duration`.
    pub down_peers: Vec<DownPeer>,
}

impl RegionInfo {
    /// True if this store's peer leads the region (never a learner: raft-rs does not let
    /// one campaign).
    pub fn is_leader(&self) -> bool {
        self.leader.is_some_and(|l| l.id == self.peer.id)
    }
}

/// The store's regions (initialized peers only).
#[derive(Debug, Default)]
pub struct StoreMeta {
    regions: RwLock<HashMap<u64, RegionInfo>>,
}

/// A store's view built from known regions (tests; tools reading a store offline).
impl FromIterator<RegionInfo> for StoreMeta {
    fn from_iter<I: IntoIterator<Item = RegionInfo>>(iter: I) -> StoreMeta {
        StoreMeta {
            regions: RwLock::new(iter.into_iter().map(|i| (i.region.id, i)).collect()),
        }
    }
}

impl StoreMeta {
    /// Region `id`, if this store has an initialized peer of it.
    pub fn get(&self, id: u64) -> Option<RegionInfo> {
        self.regions.read().get(&id).cloned()
    }

    /// Every region, ordered by start key.
    pub fn all(&self) -> Vec<RegionInfo> {
        let mut v: Vec<_> = self.regions.read().values().cloned().collect();
        v.sort_by(|a, b| a.region.start_key.cmp(&b.region.start_key));
        v
    }

    /// The region holding `key` (in region key space), if any.
    pub fn find(&self, key: &[u8]) -> Option<RegionInfo> {
        self.regions
            .read()
            .values()
            .find(|i| i.region.contains(key))
            .cloned()
    }

    pub(crate) fn set(&self, info: RegionInfo) {
        self.regions.write().insert(info.region.id, info);
    }

    pub(crate) fn remove(&self, id: u64) {
        self.regions.write().remove(&id);
    }
}
