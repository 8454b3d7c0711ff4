//! The regions this node serves, and the checks every request's context goes through.
//!
//! A region is a key range `[start_key, end_key)` (empty end: unbounded) in *region key
//! space*: memcomparable-encoded keys for transactional requests and for API V2, the raw key
//! for API V1 raw requests — the encodings TiKV clients look regions up with. Its epoch has
//! `version` (bumped by splits and merges) and `conf_ver` (bumped by membership changes).
//!
//! Concurrency: [`RegionTable`] is read by every request (a read lock and an `Arc` clone) and
//! changed only by the node (bootstrap, split) under the write lock.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

/// One replica of a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// The peer's id (unique in the cluster).
    pub id: u64,
    /// The store it lives on.
    pub store_id: u64,
}

/// A region's epoch: requests carrying an older one are refused with `EpochNotMatch`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Epoch {
    /// Bumped by membership changes.
    pub conf_ver: u64,
    /// Bumped by splits and merges.
    pub version: u64,
}

/// A region as this node knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// The region's id.
    pub id: u64,
    /// First key (inclusive), in region key space.
    pub start_key: Vec<u8>,
    /// End key (exclusive; empty: unbounded), in region key space.
    pub end_key: Vec<u8>,
    /// The region's epoch.
    pub epoch: Epoch,
    /// Its replicas.
    pub peers: Vec<Peer>,
    /// The peer id of the leader (0: unknown).
    pub leader: u64,
}

impl Region {
    /// True if `key` (region key space) lies in `[start_key, end_key)`.
    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start_key.as_slice()
            && (self.end_key.is_empty() || key < self.end_key.as_slice())
    }

    /// The peer of this region on `store_id`.
    pub fn peer_on(&self, store_id: u64) -> Option<Peer> {
        self.peers.iter().copied().find(|p| p.store_id == store_id)
    }

    /// The leader peer, if known.
    pub fn leader_peer(&self) -> Option<Peer> {
        self.peers.iter().copied().find(|p| p.id == self.leader)
    }
}

/// Why a request's context was refused: TiKV's region errors, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionError {
    /// No region with this id on this store.
    RegionNotFound { region_id: u64 },
    /// This store's peer is not the leader; `leader` is the one we know of.
    NotLeader {
        region_id: u64,
        leader: Option<Peer>,
    },
    /// The request names another store than this one.
    StoreNotMatch {
        request_store_id: u64,
        actual_store_id: u64,
    },
    /// The request's epoch is stale (or from the future); the regions it should retry with.
    EpochNotMatch {
        message: String,
        current_regions: Vec<Region>,
    },
    /// A key of the request lies outside the region.
    KeyNotInRegion { key: Vec<u8>, region: Box<Region> },
}

/// What a request's context names (the parts of TiKV's `Context` checked here).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestRegion {
    /// The region id.
    pub region_id: u64,
    /// The epoch the client has (`None`: the client sent none, TiKV then skips the check).
    pub epoch: Option<Epoch>,
    /// The store the client believes it talks to (0: not given).
    pub store_id: u64,
}

/// The regions of this node.
#[derive(Debug)]
pub struct RegionTable {
    store_id: u64,
    regions: RwLock<BTreeMap<u64, Arc<Region>>>,
}

impl RegionTable {
    /// A table for `store_id` holding `regions`.
    pub fn new(store_id: u64, regions: impl IntoIterator<Item = Region>) -> RegionTable {
        let regions = regions.into_iter().map(|r| (r.id, Arc::new(r))).collect();
        RegionTable {
            store_id,
            regions: RwLock::new(regions),
        }
    }

    /// This node's store id.
    pub fn store_id(&self) -> u64 {
        self.store_id
    }

    /// The region with `id`.
    pub fn get(&self, id: u64) -> Option<Arc<Region>> {
        self.regions.read().get(&id).cloned()
    }

    /// Every region, by id.
    pub fn all(&self) -> Vec<Arc<Region>> {
        self.regions.read().values().cloned().collect()
    }

    /// Inserts or replaces regions (a split's results).
    pub fn upsert(&self, regions: impl IntoIterator<Item = Region>) {
        let mut map = self.regions.write();
        for r in regions {
            map.insert(r.id, Arc::new(r));
        }
    }

    /// The region a request may run on, or the region error TiKV would answer.
    ///
    /// # Errors
    /// `RegionNotFound`, `StoreNotMatch`, `NotLeader`, `EpochNotMatch` in TiKV's order of
    /// checks.
    pub fn check(&self, req: &RequestRegion) -> Result<Arc<Region>, RegionError> {
        let map = self.regions.read();
        let Some(region) = map.get(&req.region_id).cloned() else {
            return Err(RegionError::RegionNotFound {
                region_id: req.region_id,
            });
        };
        if req.store_id != 0 && req.store_id != self.store_id {
            return Err(RegionError::StoreNotMatch {
                request_store_id: req.store_id,
                actual_store_id: self.store_id,
            });
        }
        let ours = region.peer_on(self.store_id);
        if ours.is_none() || region.leader != ours.map_or(0, |p| p.id) {
            return Err(RegionError::NotLeader {
                region_id: region.id,
                leader: region.leader_peer(),
            });
        }
        if let Some(epoch) = req.epoch {
            if epoch != region.epoch {
                // As TiKV: the current region and its neighbours from the same split, so the
                // client can refresh its cache in one round trip.
                let mut current: Vec<Region> = map
                    .values()
                    .filter(|r| r.epoch.version == region.epoch.version || r.id == region.id)
                    .map(|r| (**r).clone())
                    .collect();
                current.sort_by(|a, b| a.start_key.cmp(&b.start_key));
                return Err(RegionError::EpochNotMatch {
                    message: format!(
                        "epoch not match for region {}: request {:?}, current {:?}",
                        region.id, epoch, region.epoch
                    ),
                    current_regions: current,
                });
            }
        }
        Ok(region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(id: u64, start: &[u8], end: &[u8], version: u64) -> Region {
        Region {
            id,
            start_key: start.to_vec(),
            end_key: end.to_vec(),
            epoch: Epoch {
                conf_ver: 1,
                version,
            },
            peers: vec![Peer {
                id: id + 100,
                store_id: 1,
            }],
            leader: id + 100,
        }
    }

    fn req(region_id: u64, version: u64) -> RequestRegion {
        RequestRegion {
            region_id,
            epoch: Some(Epoch {
                conf_ver: 1,
                version,
            }),
            store_id: 1,
        }
    }

    #[test]
    fn contains_honours_half_open_and_unbounded_ranges() {
        let r = region(2, b"b", b"d", 1);
        assert!(!r.contains(b"a"));
        assert!(r.contains(b"b"));
        assert!(r.contains(b"c\xff"));
        assert!(!r.contains(b"d"));
        let all = region(3, b"", b"", 1);
        assert!(all.contains(b"") && all.contains(b"\xff\xff"));
    }

    #[test]
    fn each_region_error_in_tikvs_order() {
        let t = RegionTable::new(1, [region(2, b"", b"m", 2), region(4, b"m", b"", 2)]);
        assert_eq!(t.check(&req(2, 2)).unwrap().id, 2);
        assert_eq!(
            t.check(&req(9, 2)).unwrap_err(),
            RegionError::RegionNotFound { region_id: 9 }
        );
        let mut other_store = req(2, 2);
        other_store.store_id = 7;
        assert!(matches!(
            t.check(&other_store),
            Err(RegionError::StoreNotMatch {
                request_store_id: 7,
                actual_store_id: 1
            })
        ));
        // A stale epoch answers both halves of the split.
        match t.check(&req(2, 1)) {
            Err(RegionError::EpochNotMatch {
                current_regions, ..
            }) => {
                let ids: Vec<_> = current_regions.iter().map(|r| r.id).collect();
                assert_eq!(ids, vec![2, 4]);
            }
            other => panic!("{other:?}"),
        }
        // No epoch given: not checked (TiKV skips it too).
        let mut no_epoch = req(2, 1);
        no_epoch.epoch = None;
        assert!(t.check(&no_epoch).is_ok());
    }

    #[test]
    fn a_follower_answers_not_leader_naming_the_leader() {
        let mut r = region(2, b"", b"", 1);
        r.peers.push(Peer {
            id: 500,
            store_id: 5,
        });
        r.leader = 500;
        let t = RegionTable::new(1, [r]);
        assert_eq!(
            t.check(&req(2, 1)).unwrap_err(),
            RegionError::NotLeader {
                region_id: 2,
                leader: Some(Peer {
                    id: 500,
                    store_id: 5
                })
            }
        );
    }
}
