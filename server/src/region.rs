//! The checks every request's context goes through, against the regions this store holds.
//!
//! A region is a key range `[start_key, end_key)` (empty end: unbounded) in *region key
//! space*: memcomparable-encoded keys for transactional requests and for API V2, the raw key
//! for API V1 raw requests — the encodings TiKV clients look regions up with. Its epoch has
//! `version` (bumped by splits and merges) and `conf_ver` (bumped by membership changes).
//! The regions and their leaders are replication's ([`StoreMeta`], published by the Raft
//! thread); this module only decides, as TiKV does, which region error a request gets.
//!
//! The check here is a fast early answer; the Raft layer checks leadership and epoch again
//! when the command is proposed and applied, so a change racing this check is still caught.

use std::sync::Arc;

pub use replication::{Epoch, Peer, Region, RegionInfo, StoreMeta};

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

/// The regions of this store, as requests are checked against them.
#[derive(Debug, Clone)]
pub struct RegionTable {
    store_id: u64,
    meta: Arc<StoreMeta>,
}

impl RegionTable {
    /// The regions `meta` publishes, for store `store_id`.
    pub fn new(store_id: u64, meta: Arc<StoreMeta>) -> RegionTable {
        RegionTable { store_id, meta }
    }

    /// This node's store id.
    pub fn store_id(&self) -> u64 {
        self.store_id
    }

    /// Region `id` and its leader.
    pub fn get(&self, id: u64) -> Option<RegionInfo> {
        self.meta.get(id)
    }

    /// Every region, by start key.
    pub fn all(&self) -> Vec<RegionInfo> {
        self.meta.all()
    }

    /// The region a request may run on, or the region error TiKV would answer.
    ///
    /// # Errors
    /// As [`check_request`].
    pub fn check(&self, req: &RequestRegion) -> Result<Region, RegionError> {
        check_request(
            self.store_id,
            self.meta.get(req.region_id),
            || self.meta.all(),
            req,
        )
    }
}

/// The region a request may run on: `info` is the region it names as this store knows it,
/// `all` every region here (asked only for `EpochNotMatch`).
///
/// # Errors
/// `RegionNotFound`, `StoreNotMatch`, `NotLeader`, `EpochNotMatch` in TiKV's order of
/// checks.
pub fn check_request(
    store_id: u64,
    info: Option<RegionInfo>,
    all: impl FnOnce() -> Vec<RegionInfo>,
    req: &RequestRegion,
) -> Result<Region, RegionError> {
    let Some(info) = info else {
        return Err(RegionError::RegionNotFound {
            region_id: req.region_id,
        });
    };
    if req.store_id != 0 && req.store_id != store_id {
        return Err(RegionError::StoreNotMatch {
            request_store_id: req.store_id,
            actual_store_id: store_id,
        });
    }
    if !info.is_leader() {
        return Err(RegionError::NotLeader {
            region_id: info.region.id,
            leader: info.leader,
        });
    }
    let region = info.region;
    if let Some(epoch) = req.epoch {
        if epoch != region.epoch {
            // As TiKV: the current region and its neighbours from the same split, so the
            // client can refresh its cache in one round trip.
            let mut current: Vec<Region> = all()
                .into_iter()
                .map(|i| i.region)
                .filter(|r| r.epoch.version == region.epoch.version || r.id == region.id)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: u64, start: &[u8], end: &[u8], version: u64) -> RegionInfo {
        let peer = Peer::new(id + 100, 1);
        RegionInfo {
            region: Region {
                id,
                start_key: start.to_vec(),
                end_key: end.to_vec(),
                epoch: Epoch {
                    conf_ver: 1,
                    version,
                },
                peers: vec![peer],
            },
            leader: Some(peer),
            peer,
            ..Default::default()
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

    fn check(regions: &[RegionInfo], r: &RequestRegion) -> Result<Region, RegionError> {
        let found = regions.iter().find(|i| i.region.id == r.region_id).cloned();
        check_request(1, found, || regions.to_vec(), r)
    }

    #[test]
    fn each_region_error_in_tikvs_order() {
        let t = [info(2, b"", b"m", 2), info(4, b"m", b"", 2)];
        assert_eq!(check(&t, &req(2, 2)).unwrap().id, 2);
        assert_eq!(
            check(&t, &req(9, 2)).unwrap_err(),
            RegionError::RegionNotFound { region_id: 9 }
        );
        let mut other_store = req(2, 2);
        other_store.store_id = 7;
        assert!(matches!(
            check(&t, &other_store),
            Err(RegionError::StoreNotMatch {
                request_store_id: 7,
                actual_store_id: 1
            })
        ));
        // A stale epoch answers both halves of the split.
        match check(&t, &req(2, 1)) {
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
        assert!(check(&t, &no_epoch).is_ok());
    }

    #[test]
    fn a_follower_answers_not_leader_naming_the_leader_it_knows() {
        let mut r = info(2, b"", b"", 1);
        let leader = Peer::new(500, 5);
        r.region.peers.push(leader);
        r.leader = Some(leader);
        assert_eq!(
            check(&[r.clone()], &req(2, 1)).unwrap_err(),
            RegionError::NotLeader {
                region_id: 2,
                leader: Some(leader)
            }
        );
        // Mid-election: no leader known yet.
        r.leader = None;
        assert_eq!(
            check(&[r], &req(2, 1)).unwrap_err(),
            RegionError::NotLeader {
                region_id: 2,
                leader: None
            }
        );
    }
}
