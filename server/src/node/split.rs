//! Splitting regions: new ids from PD (AskBatchSplit), the cut applied through the region's
//! Raft group as one BatchSplit (every replica splits at the same log position), the
//! resulting regions reported to PD (ReportBatchSplit). Two callers: the split checker's
//! suggestions ([`run_suggestions`], the automatic path) and [`Node::split_region`]
//! (operators, tests).

use std::future::Future;

use replication::{RaftKv, Region, SplitRequest, SplitSuggestion};
use tokio::sync::mpsc;

use super::pd_client::Pd;
use super::Node;
use crate::error::{Error, Result};
use crate::kv::region_to_pb;
use crate::region::RegionTable;

/// Splits `region` (led here, at the epoch given) at `keys` (ascending, strictly inside
/// it). Returns the regions as applied: the original (now ending at the first key) first,
/// then the new ones in key order.
///
/// # Errors
/// PD failures; replication's refusals (`EpochNotMatch` if the region changed meanwhile,
/// `NotLeader`, `InvalidArgument` for keys outside it).
pub async fn split_at(
    pd: &Pd,
    raft: &RaftKv,
    region: &Region,
    keys: Vec<Vec<u8>>,
) -> Result<Vec<Region>> {
    let ids = pd.ask_batch_split(region_to_pb(region), keys.len()).await?;
    let splits = keys
        .into_iter()
        .zip(ids)
        .map(|(split_key, id)| SplitRequest {
            split_key,
            new_region_id: id.new_region_id,
            new_peer_ids: id.new_peer_ids,
        })
        .collect();
    let regions = raft.split(region.id, region.epoch, splits).await?;
    pd.report_split(regions.iter().map(region_to_pb).collect())
        .await?;
    tracing::info!(
        region_id = region.id,
        pieces = regions.len(),
        "region split"
    );
    Ok(regions)
}

/// Carries out the split checker's suggestions until `shutdown`: each still current (this
/// store leads the region at the epoch it was sized at) is split; failures are logged —
/// the checker suggests again after more writes.
pub async fn run_suggestions(
    pd: Pd,
    raft: RaftKv,
    regions: RegionTable,
    mut suggestions: mpsc::UnboundedReceiver<SplitSuggestion>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    tokio::pin!(shutdown);
    loop {
        let s = tokio::select! {
            () = &mut shutdown => return Ok(()),
            s = suggestions.recv() => match s {
                Some(s) => s,
                None => return Ok(()),
            },
        };
        let Some(info) = regions.get(s.region_id) else {
            continue;
        };
        if !info.is_leader() || info.region.epoch != s.epoch {
            continue;
        }
        tracing::debug!(
            region_id = s.region_id,
            bytes = s.stats.bytes,
            keys = s.stats.keys,
            cuts = s.split_keys.len(),
            "split suggested"
        );
        if let Err(e) = split_at(&pd, &raft, &info.region, s.split_keys).await {
            tracing::warn!(region_id = s.region_id, error = %e, "split failed");
        }
    }
}

impl Node {
    /// Splits the region holding `split_key` (region key space) at it: the region keeps
    /// `[start, split_key)`, a new region with PD's ids takes `[split_key, end)`; both are
    /// one epoch version on. Returns `(left, right)` as applied here.
    ///
    /// # Errors
    /// `Config` if no region here holds the key, it is a region's start, or this store does
    /// not lead the region; as [`split_at`].
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
        let mut pieces = split_at(&self.pd, &self.raft, &info.region, vec![split_key.to_vec()])
            .await?
            .into_iter();
        match (pieces.next(), pieces.next()) {
            (Some(left), Some(right)) => Ok((left, right)),
            _ => Err(Error::Config(
                "a split returned fewer than two regions".into(),
            )),
        }
    }
}
