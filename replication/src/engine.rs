//! The Raft-backed [`txn::Engine`]: a write is proposed to the region's Raft group and
//! resolves once applied on this (leader) store; a snapshot is a linearizable read
//! (ReadIndex, see `peer.rs`). One [`RegionEngine`] per request, bound to the region and
//! epoch the request named, so the transaction layer stays unaware of regions.
//!
//! `sync` is ignored: the Raft log is always synced before anything applies, and an
//! applied write is durable on a quorum.

use std::sync::Arc;
use std::time::Duration;

use mvcc::{LsmSnapshot, Modify};
use tokio::sync::oneshot;

use crate::command::{Request, SplitRequest};
use crate::error::{Error, Result};
use crate::meta::StoreMeta;
use crate::msg::StoreMsg;
use crate::region::{Epoch, Region};
use crate::runner::StoreHandle;

/// The store's Raft-backed storage, for every region.
#[derive(Debug, Clone)]
pub struct RaftKv {
    handle: StoreHandle,
    /// The store's KV families, for reads that need no Raft (what this replica applied).
    kv: mvcc::LsmEngine,
    meta: Arc<StoreMeta>,
    /// How long a write or read may wait for Raft before failing (an election in progress
    /// retries inside; a partitioned leader never answers).
    timeout: Duration,
}

impl RaftKv {
    /// Storage over the store behind `handle`.
    pub fn new(
        handle: StoreHandle,
        meta: Arc<StoreMeta>,
        kv: mvcc::LsmEngine,
        timeout: Duration,
    ) -> RaftKv {
        RaftKv {
            handle,
            kv,
            meta,
            timeout,
        }
    }

    /// What this replica has applied, without asking Raft: stale on a follower, for
    /// diagnostics and tests — never for a client's read.
    pub fn local_snapshot(&self) -> LsmSnapshot {
        self.kv.snapshot()
    }

    /// The store's published regions.
    pub fn meta(&self) -> &Arc<StoreMeta> {
        &self.meta
    }

    /// The raw handle (admin requests: splits, conf changes, leader transfer).
    pub fn handle(&self) -> &StoreHandle {
        &self.handle
    }

    /// An engine for requests to `region_id` made under `epoch`.
    pub fn region(&self, region_id: u64, epoch: Epoch) -> RegionEngine {
        RegionEngine {
            kv: self.clone(),
            region_id,
            epoch,
        }
    }

    /// Sends a request built around a fresh callback, and waits for the answer.
    ///
    /// # Errors
    /// The request's refusal; `Stopped` if the store is gone; `Timeout` (outcome unknown)
    /// when no answer came in time.
    pub async fn call<T: Send + 'static>(
        &self,
        region_id: u64,
        make: impl FnOnce(crate::callback::Callback<T>) -> StoreMsg,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        let cb: crate::callback::Callback<T> = Box::new(move |r| {
            let _ = tx.send(r);
        });
        self.handle.send(make(cb))?;
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(Error::Stopped),
            Err(_) => Err(Error::Timeout {
                region_id,
                timeout: self.timeout,
            }),
        }
    }

    /// Proposes `request` to `region_id` and waits until it applies.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn propose(&self, region_id: u64, epoch: Epoch, request: Request) -> Result<()> {
        self.call(region_id, |cb| StoreMsg::Propose {
            region_id,
            epoch,
            request,
            cb,
        })
        .await
    }

    /// Cuts `region_id` (made under `epoch`) at every key of `splits` at once (one
    /// `BatchSplit` entry; the new ids come from PD) and returns the resulting regions as
    /// this store published them once the split applied: the region itself (now ending at
    /// the first key), then each new region in key order — for the node to report to PD.
    ///
    /// # Errors
    /// As [`call`](Self::call); `EpochNotMatch` if the region changed since `epoch`;
    /// `InvalidArgument` for cuts the region cannot take ([`Region::split`]);
    /// `RegionNotFound` if a resulting region is not on this store any more.
    pub async fn split(
        &self,
        region_id: u64,
        epoch: Epoch,
        splits: Vec<SplitRequest>,
    ) -> Result<Vec<Region>> {
        let ids: Vec<u64> = std::iter::once(region_id)
            .chain(splits.iter().map(|s| s.new_region_id))
            .collect();
        self.propose(region_id, epoch, Request::BatchSplit { splits })
            .await?;
        // The store publishes the regions before it answers (`Store::after_apply`).
        ids.into_iter()
            .map(|id| {
                self.meta
                    .get(id)
                    .map(|info| info.region)
                    .ok_or(Error::RegionNotFound(id))
            })
            .collect()
    }

    /// A linearizable snapshot of `region_id`.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn read(&self, region_id: u64, epoch: Epoch) -> Result<LsmSnapshot> {
        self.call(region_id, |cb| StoreMsg::Read {
            region_id,
            epoch,
            cb,
        })
        .await
    }
}

/// [`RaftKv`] bound to one region and epoch: what the transaction layer runs on.
#[derive(Debug, Clone)]
pub struct RegionEngine {
    kv: RaftKv,
    region_id: u64,
    epoch: Epoch,
}

impl txn::Engine for RegionEngine {
    type Snap = LsmSnapshot;

    async fn snapshot(&self) -> txn::Result<LsmSnapshot> {
        Ok(self.kv.read(self.region_id, self.epoch).await?)
    }

    async fn write(&self, modifies: Vec<Modify>, _sync: bool) -> txn::Result<()> {
        if modifies.is_empty() {
            return Ok(());
        }
        Ok(self
            .kv
            .propose(self.region_id, self.epoch, Request::Write(modifies))
            .await?)
    }
}
