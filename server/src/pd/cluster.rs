//! The cluster PD describes: bootstrap state, stores, regions and the GC safe point.
//!
//! Every change is written to storage first and applied in memory only once durable, so a
//! failed write leaves memory and disk agreeing. Callers hold the `Cluster` under PD's mutex;
//! writes are synchronous (rare: bootstrap, store registration, region changes, splits).
//!
//! Invariant: the persisted regions never overlap (every change that replaces regions
//! deletes them in the same batch), so overlapping regions at load mean damage.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::region_tree::{RegionEntry, RegionTree};
use super::storage::{Batch, Loaded, Storage};
use crate::proto::{metapb, pdpb};

/// PD's default `max-replicas`, reported as the cluster's `max_peer_count`.
const MAX_PEER_COUNT: u32 = 3;

/// A request PD answers with an error in the response header (`pdpb.Error`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PdError {
    pub kind: pdpb::ErrorType,
    pub message: String,
}

impl PdError {
    pub fn new(kind: pdpb::ErrorType, message: impl Into<String>) -> Self {
        PdError {
            kind,
            message: message.into(),
        }
    }
    fn unknown(message: impl Into<String>) -> Self {
        Self::new(pdpb::ErrorType::Unknown, message)
    }
    fn invalid(message: impl Into<String>) -> Self {
        Self::new(pdpb::ErrorType::InvalidValue, message)
    }
}

impl From<crate::Error> for PdError {
    fn from(e: crate::Error) -> Self {
        PdError::unknown(e.to_string())
    }
}

/// A store and what its heartbeats said.
#[derive(Debug, Clone)]
pub(crate) struct StoreInfo {
    /// The store's metadata (persisted), with `last_heartbeat` set in memory.
    pub meta: metapb::Store,
    /// The last heartbeat's statistics.
    pub stats: Option<pdpb::StoreStats>,
    /// When the last heartbeat arrived.
    pub last_heartbeat: Option<SystemTime>,
}

/// The cluster's state.
#[derive(Debug)]
pub(crate) struct Cluster {
    storage: Arc<Storage>,
    /// `Some` once bootstrapped.
    meta: Option<metapb::Cluster>,
    stores: BTreeMap<u64, StoreInfo>,
    regions: RegionTree,
    gc_safe_point: u64,
}

fn is_tombstone(s: &metapb::Store) -> bool {
    s.state == metapb::StoreState::Tombstone as i32
}

fn epoch(r: &metapb::Region) -> metapb::RegionEpoch {
    r.region_epoch.unwrap_or_default()
}

impl Cluster {
    /// The cluster as persisted.
    ///
    /// # Errors
    /// `Corruption` if persisted regions overlap.
    pub fn load(storage: Arc<Storage>, loaded: &mut Loaded) -> crate::Result<Cluster> {
        let mut regions = RegionTree::default();
        for region in std::mem::take(&mut loaded.regions) {
            let id = region.id;
            if !regions
                .insert(RegionEntry {
                    region,
                    leader: None,
                })
                .is_empty()
            {
                return Err(storage.corruption(&format!("region {id} overlaps another")));
            }
        }
        let stores = std::mem::take(&mut loaded.stores)
            .into_iter()
            .map(|meta| {
                let info = StoreInfo {
                    meta,
                    stats: None,
                    last_heartbeat: None,
                };
                (info.meta.id, info)
            })
            .collect();
        Ok(Cluster {
            storage,
            meta: loaded.cluster.take(),
            stores,
            regions,
            gc_safe_point: loaded.gc_safe_point,
        })
    }

    pub fn is_bootstrapped(&self) -> bool {
        self.meta.is_some()
    }

    fn bootstrapped(&self) -> Result<&metapb::Cluster, PdError> {
        self.meta.as_ref().ok_or_else(|| {
            PdError::new(
                pdpb::ErrorType::NotBootstrapped,
                "cluster is not bootstrapped",
            )
        })
    }

    /// Bootstraps with the first store and the first region (covering all keys, one peer on
    /// that store), as the first node asks.
    pub fn bootstrap(
        &mut self,
        cluster_id: u64,
        store: Option<metapb::Store>,
        region: Option<metapb::Region>,
    ) -> Result<(), PdError> {
        if self.meta.is_some() {
            return Err(PdError::new(
                pdpb::ErrorType::AlreadyBootstrapped,
                "cluster is already bootstrapped",
            ));
        }
        let store = store.ok_or_else(|| PdError::invalid("missing store meta for bootstrap"))?;
        let region = region.ok_or_else(|| PdError::invalid("missing region meta for bootstrap"))?;
        if store.id == 0 {
            return Err(PdError::invalid("invalid zero store id"));
        }
        if region.id == 0 {
            return Err(PdError::invalid("invalid zero region id"));
        }
        if !region.start_key.is_empty() || !region.end_key.is_empty() {
            return Err(PdError::invalid("the first region must cover all keys"));
        }
        let [peer] = region.peers.as_slice() else {
            return Err(PdError::invalid(format!(
                "invalid first region peer count {}, must be 1",
                region.peers.len()
            )));
        };
        if peer.id == 0 || peer.store_id != store.id {
            return Err(PdError::invalid("invalid first region peer"));
        }
        let meta = metapb::Cluster {
            id: cluster_id,
            max_peer_count: MAX_PEER_COUNT,
        };
        let mut b = Batch::default();
        b.put_cluster(&meta);
        b.put_store(&store);
        b.put_region(&region);
        self.storage.write(b)?;
        let leader = Some(*peer);
        self.meta = Some(meta);
        self.stores.insert(
            store.id,
            StoreInfo {
                meta: store,
                stats: None,
                last_heartbeat: None,
            },
        );
        self.regions.insert(RegionEntry { region, leader });
        Ok(())
    }

    pub fn config(&self) -> Result<metapb::Cluster, PdError> {
        self.bootstrapped().copied()
    }

    /// Registers or updates a store. An existing store keeps its state (only PD changes it).
    pub fn put_store(&mut self, store: Option<metapb::Store>) -> Result<(), PdError> {
        self.bootstrapped()?;
        let mut store = store.ok_or_else(|| PdError::invalid("missing store"))?;
        if store.id == 0 {
            return Err(PdError::invalid("invalid zero store id"));
        }
        if let Some(other) = self.stores.values().find(|s| {
            s.meta.id != store.id && s.meta.address == store.address && !is_tombstone(&s.meta)
        }) {
            return Err(PdError::unknown(format!(
                "duplicated store address: {}, already registered by store {}",
                store.address, other.meta.id
            )));
        }
        let existing = self.stores.get(&store.id);
        if let Some(old) = existing {
            if is_tombstone(&old.meta) {
                return Err(PdError::new(
                    pdpb::ErrorType::StoreTombstone,
                    "store is tombstone",
                ));
            }
            store.state = old.meta.state;
            store.node_state = old.meta.node_state;
        }
        let mut b = Batch::default();
        b.put_store(&store);
        self.storage.write(b)?;
        let (stats, last_heartbeat) =
            existing.map_or((None, None), |o| (o.stats.clone(), o.last_heartbeat));
        store.last_heartbeat = existing.map_or(0, |o| o.meta.last_heartbeat);
        self.stores.insert(
            store.id,
            StoreInfo {
                meta: store,
                stats,
                last_heartbeat,
            },
        );
        Ok(())
    }

    pub fn get_store(&self, id: u64) -> Result<&StoreInfo, PdError> {
        self.bootstrapped()?;
        let s = self
            .stores
            .get(&id)
            .ok_or_else(|| PdError::unknown(format!("invalid store ID {id}, not found")))?;
        if is_tombstone(&s.meta) {
            return Err(PdError::new(
                pdpb::ErrorType::StoreTombstone,
                "store is tombstone",
            ));
        }
        Ok(s)
    }

    pub fn stores(&self) -> Result<impl Iterator<Item = &StoreInfo>, PdError> {
        self.bootstrapped()?;
        Ok(self.stores.values())
    }

    /// Records a store heartbeat (in memory: it is statistics, rewritten every few seconds).
    pub fn store_heartbeat(
        &mut self,
        stats: Option<pdpb::StoreStats>,
        now: SystemTime,
    ) -> Result<(), PdError> {
        self.bootstrapped()?;
        let stats = stats.ok_or_else(|| PdError::invalid("store heartbeat without stats"))?;
        let s = self
            .stores
            .get_mut(&stats.store_id)
            .ok_or_else(|| PdError::unknown(format!("store {} not found", stats.store_id)))?;
        if is_tombstone(&s.meta) {
            return Err(PdError::new(
                pdpb::ErrorType::StoreTombstone,
                "store is tombstone",
            ));
        }
        let nanos = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        s.meta.last_heartbeat = i64::try_from(nanos).unwrap_or(i64::MAX);
        s.stats = Some(stats);
        s.last_heartbeat = Some(now);
        Ok(())
    }

    /// Takes a region heartbeat: the region is updated unless its epoch is stale (then the
    /// heartbeat is ignored, and `Ok(false)` returned); the leader is remembered.
    pub fn region_heartbeat(
        &mut self,
        region: Option<metapb::Region>,
        leader: Option<metapb::Peer>,
    ) -> Result<bool, PdError> {
        self.bootstrapped()?;
        let region = region.ok_or_else(|| PdError::unknown("invalid request region: missing"))?;
        let Some(leader) = leader else {
            return Err(PdError::unknown("invalid request leader: missing"));
        };
        if region.id == 0 {
            return Err(PdError::unknown("invalid request region: zero id"));
        }
        if region.peers.is_empty() {
            return Err(PdError::unknown("invalid region, zero region peer count"));
        }
        if !self.stores.contains_key(&leader.store_id) {
            return Err(PdError::unknown(format!(
                "invalid store ID {}, not found",
                leader.store_id
            )));
        }
        Ok(self.apply_regions(vec![(region, Some(leader))])? == 1)
    }

    /// Applies the regions of a finished split (new regions and the shrunk original).
    pub fn report_split(&mut self, regions: Vec<metapb::Region>) -> Result<(), PdError> {
        self.bootstrapped()?;
        if regions.is_empty() {
            return Err(PdError::invalid("no regions in split report"));
        }
        for pair in regions.windows(2) {
            if let [a, b] = pair {
                if a.end_key != b.start_key || a.end_key.is_empty() {
                    return Err(PdError::invalid(format!(
                        "split regions {} and {} are not adjacent",
                        a.id, b.id
                    )));
                }
            }
        }
        self.apply_regions(regions.into_iter().map(|r| (r, None)).collect())?;
        Ok(())
    }

    /// Checks an `AskBatchSplit` request: returns the number of peers of the region to split.
    pub fn check_split(&self, region: Option<&metapb::Region>) -> Result<usize, PdError> {
        self.bootstrapped()?;
        let region = region.ok_or_else(|| {
            PdError::new(pdpb::ErrorType::RegionNotFound, "missing region for split")
        })?;
        let known = self.regions.get(region.id).ok_or_else(|| {
            PdError::new(
                pdpb::ErrorType::RegionNotFound,
                format!("region {} not found", region.id),
            )
        })?;
        if epoch(&known.region).version > epoch(region).version {
            return Err(PdError::unknown(format!("region {} is stale", region.id)));
        }
        Ok(region.peers.len())
    }

    /// Writes the non-stale `updates` in one batch (with the regions they replace deleted),
    /// then applies them in memory; returns how many were applied. REQUIRES: the updates'
    /// ranges do not overlap each other (memory then matches the batch exactly).
    fn apply_regions(
        &mut self,
        updates: Vec<(metapb::Region, Option<metapb::Peer>)>,
    ) -> Result<usize, PdError> {
        let mut batch = Batch::default();
        let mut put = HashSet::new();
        let mut replaced = Vec::new();
        let mut accepted = Vec::new();
        for (region, leader) in updates {
            if self.is_stale(&region) {
                continue;
            }
            let old = self.regions.get(region.id);
            if old.is_none_or(|o| o.region != region) {
                batch.put_region(&region);
                put.insert(region.id);
                replaced.extend(self.regions.overlaps(&region));
            }
            // Without a reported leader, keep the old one if it is still a peer.
            let leader = leader.or_else(|| {
                old.and_then(|o| o.leader)
                    .filter(|l| region.peers.iter().any(|p| p.id == l.id))
            });
            accepted.push(RegionEntry { region, leader });
        }
        for id in replaced.into_iter().filter(|id| !put.contains(id)) {
            batch.delete_region(id);
        }
        self.storage.write(batch)?;
        let n = accepted.len();
        for entry in accepted {
            self.regions.insert(entry);
        }
        Ok(n)
    }

    /// Stale: older than what PD has for the same id, or than a region it would replace.
    fn is_stale(&self, region: &metapb::Region) -> bool {
        let new = epoch(region);
        if let Some(old) = self.regions.get(region.id) {
            let old = epoch(&old.region);
            if new.version < old.version || new.conf_ver < old.conf_ver {
                return true;
            }
        }
        self.regions.overlaps(region).into_iter().any(|id| {
            self.regions
                .get(id)
                .is_some_and(|o| epoch(&o.region).version > new.version)
        })
    }

    pub fn regions(&self) -> Result<&RegionTree, PdError> {
        self.bootstrapped()?;
        Ok(&self.regions)
    }

    pub fn gc_safe_point(&self) -> Result<u64, PdError> {
        self.bootstrapped()?;
        Ok(self.gc_safe_point)
    }

    /// Raises the safe point to `sp` (never lowers it); returns the safe point now in force.
    pub fn update_gc_safe_point(&mut self, sp: u64) -> Result<u64, PdError> {
        self.bootstrapped()?;
        if sp > self.gc_safe_point {
            let mut b = Batch::default();
            b.put_gc_safe_point(sp);
            self.storage.write(b)?;
            self.gc_safe_point = sp;
        }
        Ok(self.gc_safe_point)
    }
}

#[cfg(test)]
mod tests {
    use super::super::region_tree::test_region;
    use super::*;

    fn open(dir: &std::path::Path) -> Cluster {
        let (storage, mut loaded) = Storage::open(dir, || (1, 2)).unwrap();
        Cluster::load(Arc::new(storage), &mut loaded).unwrap()
    }

    fn store(id: u64, addr: &str) -> metapb::Store {
        metapb::Store {
            id,
            address: addr.into(),
            ..Default::default()
        }
    }

    fn bootstrapped(dir: &std::path::Path) -> Cluster {
        let mut c = open(dir);
        let mut r = test_region(1, b"", b"", 1);
        r.peers[0].store_id = 1;
        c.bootstrap(1, Some(store(1, "a:1")), Some(r)).unwrap();
        c
    }

    #[test]
    fn requires_bootstrap_and_bootstraps_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = open(dir.path());
        let kind = |r: Result<(), PdError>| r.unwrap_err().kind;
        assert_eq!(
            kind(c.put_store(Some(store(1, "a")))),
            pdpb::ErrorType::NotBootstrapped
        );
        assert_eq!(
            kind(c.bootstrap(1, Some(store(1, "a")), Some(test_region(1, b"a", b"", 1)))),
            pdpb::ErrorType::InvalidValue
        );
        drop(c);
        let mut c = bootstrapped(dir.path());
        assert_eq!(
            kind(c.bootstrap(1, Some(store(2, "b")), Some(test_region(2, b"", b"", 1)))),
            pdpb::ErrorType::AlreadyBootstrapped
        );
        drop(c);
        let c = open(dir.path());
        assert!(c.is_bootstrapped());
        assert_eq!(c.regions().unwrap().len(), 1);
        assert_eq!(c.get_store(1).unwrap().meta.address, "a:1");
    }

    #[test]
    fn stores_refuse_duplicate_addresses_and_tombstones() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = bootstrapped(dir.path());
        assert!(c.put_store(Some(store(2, "a:1"))).is_err());
        c.put_store(Some(store(2, "b:1"))).unwrap();
        c.put_store(Some(store(2, "b:2"))).unwrap();
        let mut dead = store(3, "c:1");
        dead.state = metapb::StoreState::Tombstone as i32;
        c.put_store(Some(dead)).unwrap();
        // A tombstone's address may be reused; the tombstone itself is refused.
        c.put_store(Some(store(4, "c:1"))).unwrap();
        let tomb = pdpb::ErrorType::StoreTombstone;
        assert_eq!(c.get_store(3).unwrap_err().kind, tomb);
        assert_eq!(c.put_store(Some(store(3, "c:9"))).unwrap_err().kind, tomb);
        assert_eq!(c.get_store(9).unwrap_err().kind, pdpb::ErrorType::Unknown);
        assert_eq!(c.get_store(2).unwrap().meta.address, "b:2");
    }

    #[test]
    fn stale_heartbeats_are_ignored_and_splits_replace_the_parent() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = bootstrapped(dir.path());
        let leader = Some(test_region(1, b"", b"", 1).peers[0]);
        // Split region 1 at "m": region 2 takes [, m), region 1 keeps [m, ∞).
        c.report_split(vec![
            test_region(2, b"", b"m", 2),
            test_region(1, b"m", b"", 2),
        ])
        .unwrap();
        let tree = c.regions().unwrap();
        assert_eq!(tree.len(), 2);
        assert_eq!(tree.get_by_key(b"a").unwrap().region.id, 2);
        // A heartbeat with the pre-split epoch is ignored.
        assert!(!c
            .region_heartbeat(Some(test_region(1, b"", b"", 1)), leader)
            .unwrap());
        assert_eq!(c.regions().unwrap().len(), 2);
        // A newer one is applied and survives a restart.
        assert!(c
            .region_heartbeat(Some(test_region(1, b"m", b"x", 3)), leader)
            .unwrap());
        drop(c);
        let c = open(dir.path());
        let tree = c.regions().unwrap();
        assert_eq!(tree.len(), 2);
        assert_eq!(tree.get(1).unwrap().region.end_key, b"x");
        assert!(tree.get_by_key(b"y").is_none());
    }

    #[test]
    fn overlapping_persisted_regions_are_corruption() {
        let dir = tempfile::tempdir().unwrap();
        drop(bootstrapped(dir.path()));
        {
            let (storage, _) = Storage::open(dir.path(), || (1, 2)).unwrap();
            let mut b = Batch::default();
            b.put_region(&test_region(7, b"k", b"", 1));
            storage.write(b).unwrap();
        }
        let (storage, mut loaded) = Storage::open(dir.path(), || (1, 2)).unwrap();
        let err = Cluster::load(Arc::new(storage), &mut loaded).unwrap_err();
        assert!(matches!(err, crate::Error::Corruption { .. }), "{err}");
    }

    #[test]
    fn safe_point_only_rises_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = bootstrapped(dir.path());
        assert_eq!(c.update_gc_safe_point(10).unwrap(), 10);
        assert_eq!(c.update_gc_safe_point(5).unwrap(), 10);
        drop(c);
        assert_eq!(open(dir.path()).gc_safe_point().unwrap(), 10);
    }
}
