//! Regions: heartbeats, splits and the staleness rule that guards both.

use std::collections::HashSet;

use super::{Cluster, PdError};
use crate::pd::region_tree::RegionEntry;
use crate::pd::storage::Batch;
use crate::proto::{metapb, pdpb};

fn epoch(r: &metapb::Region) -> metapb::RegionEpoch {
    r.region_epoch.unwrap_or_default()
}

impl Cluster {
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
}

#[cfg(test)]
mod tests {
    use super::super::tests::{bootstrapped, open};
    use crate::pd::region_tree::test_region;

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
}
