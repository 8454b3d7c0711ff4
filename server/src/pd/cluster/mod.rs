//! The cluster PD describes: bootstrap state, stores, regions and the GC safe point.
//!
//! Every change is written to storage first and applied in memory only once durable, so a
//! failed write leaves memory and disk agreeing. Callers hold the `Cluster` under PD's mutex;
//! writes are synchronous (rare: bootstrap, store registration, region changes, splits).
//!
//! Invariant: the persisted regions never overlap (every change that replaces regions
//! deletes them in the same batch), so overlapping regions at load mean damage.

//!
//! Submodules: `stores` (registration, lookups, heartbeats), `regions` (heartbeats, splits,
//! staleness).

mod regions;
mod stores;

use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) use stores::StoreInfo;

use super::region_tree::{RegionEntry, RegionTree};
use super::storage::{Batch, Loaded, Storage};
use crate::proto::{metapb, pdpb};

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
        max_peer_count: u32,
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
            max_peer_count,
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

    pub(super) fn open(dir: &std::path::Path) -> Cluster {
        let (storage, mut loaded) = Storage::open(dir, || (1, 2)).unwrap();
        Cluster::load(Arc::new(storage), &mut loaded).unwrap()
    }

    pub(super) fn store(id: u64, addr: &str) -> metapb::Store {
        metapb::Store {
            id,
            address: addr.into(),
            ..Default::default()
        }
    }

    pub(super) fn bootstrapped(dir: &std::path::Path) -> Cluster {
        let mut c = open(dir);
        let mut r = test_region(1, b"", b"", 1);
        r.peers[0].store_id = 1;
        c.bootstrap(1, 3, Some(store(1, "a:1")), Some(r)).unwrap();
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
            kind(c.bootstrap(
                1,
                3,
                Some(store(1, "a")),
                Some(test_region(1, b"a", b"", 1))
            )),
            pdpb::ErrorType::InvalidValue
        );
        drop(c);
        let mut c = bootstrapped(dir.path());
        assert_eq!(
            kind(c.bootstrap(1, 3, Some(store(2, "b")), Some(test_region(2, b"", b"", 1)))),
            pdpb::ErrorType::AlreadyBootstrapped
        );
        drop(c);
        let c = open(dir.path());
        assert!(c.is_bootstrapped());
        assert_eq!(c.regions().unwrap().len(), 1);
        assert_eq!(c.get_store(1).unwrap().meta.address, "a:1");
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
