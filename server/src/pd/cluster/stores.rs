//! Stores: registration (`PutStore`), lookups and heartbeats.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Cluster, PdError};
use crate::pd::schedule::{StoreState, StoreView, Stores};
use crate::pd::storage::Batch;
use crate::proto::{metapb, pdpb};

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

impl StoreInfo {
    /// The store's state at `now` (PD started at `started`).
    pub fn state(&self, started: SystemTime, now: SystemTime, max_down: Duration) -> StoreState {
        StoreState::of(self.meta.state, self.last_heartbeat, started, now, max_down)
    }
}

pub(super) fn is_tombstone(s: &metapb::Store) -> bool {
    s.state == metapb::StoreState::Tombstone as i32
}

impl Cluster {
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

    /// Every store's state and load as the scheduling rules see them (module docs of
    /// `schedule`); `started` is when PD started. O(stores).
    pub fn store_views(&self, started: SystemTime, now: SystemTime, max_down: Duration) -> Stores {
        let regions = &self.regions;
        Stores(
            (self.stores.values())
                .map(|s| {
                    let id = s.meta.id;
                    let view = StoreView {
                        id,
                        state: s.state(started, now, max_down),
                        heartbeated: s.last_heartbeat.is_some(),
                        regions: i64::try_from(regions.region_count(id)).unwrap_or(i64::MAX),
                        leaders: i64::try_from(regions.leader_count(id)).unwrap_or(i64::MAX),
                    };
                    (id, view)
                })
                .collect(),
        )
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
}

#[cfg(test)]
mod tests {
    use super::super::tests::{bootstrapped, store};
    use super::*;

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
}
