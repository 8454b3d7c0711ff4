//! Splitting a region on request: ids from PD (AskBatchSplit), the split applied through
//! the region's Raft group (every replica splits at the same log position), the result
//! reported to PD (ReportBatchSplit).

use replication::{Region, Request};

use super::Node;
use crate::error::{Error, Result};
use crate::kv::region_to_pb;

impl Node {
    /// Splits the region holding `split_key` (region key space) at it: the region keeps
    /// `[start, split_key)`, a new region with PD's ids takes `[split_key, end)`; both are
    /// one epoch version on. Returns `(left, right)` as applied here.
    ///
    /// # Errors
    /// `Config` if no region here holds the key, it is a region's start, or this store does
    /// not lead the region; PD or replication errors (a concurrent change of the region is
    /// refused as `EpochNotMatch`).
    pub async fn split_region(&self, split_key: &[u8]) -> Result<(Region, Region)> {
        let info = self
            .regions
            .all()
            .into_iter()
            .find(|i| i.region.contains(split_key))
            .ok_or_else(|| Error::Config(format!("no region holds {split_key:02x?}")))?;
        if info.region.start_key == split_key {
            return Err(Error::Config("split key is the region's start".into()));
        }
        if !info.is_leader() {
            return Err(Error::Config(format!(
                "this store does not lead region {} (leader: {:?})",
                info.region.id, info.leader
            )));
        }
        let region = info.region;
        let ids = self.pd.ask_split(region_to_pb(&region)).await?;
        let request = Request::Split {
            split_key: split_key.to_vec(),
            new_region_id: ids.new_region_id,
            new_peer_ids: ids.new_peer_ids,
        };
        self.raft.propose(region.id, region.epoch, request).await?;
        let applied = |id: u64| {
            self.regions
                .get(id)
                .map(|i| i.region)
                .ok_or_else(|| Error::Config(format!("region {id} vanished after the split")))
        };
        let (left, right) = (applied(region.id)?, applied(ids.new_region_id)?);
        self.pd
            .report_split(vec![region_to_pb(&left), region_to_pb(&right)])
            .await?;
        Ok((left, right))
    }
}
