//! TiKV's KV service (`tikvpb.Tikv`): transactional and raw requests over the transaction
//! layer, each checked against the node's regions first.
//!
//! Layout: `service.rs` implements the generated tonic trait, one line per method (metrics,
//! then the handler); the handlers live in `txn_read.rs`, `txn_write.rs`, `txn_status.rs` and
//! `raw.rs`; `context.rs` checks requests; `convert.rs` and `errors.rs` map between wire and
//! library types; `respond.rs` says where each response carries its errors.
//!
//! Request-level failures are answered in the response, never as a gRPC status, as TiKV
//! does: a gRPC status is kept for what is not a request's outcome (a malformed or oversized
//! message, which tonic refuses before we see it).

mod context;
mod convert;
mod errors;
mod raw;
mod respond;
mod service;
mod txn_read;
mod txn_status;
mod txn_write;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

pub use context::Limits;
use context::{Checker, Family, Refusal};
pub use convert::region_to_pb;
pub(crate) use errors::peer_from_pb;
pub(crate) use errors::peer_to_pb as peer_pb;
use replication::{RaftKv, RegionEngine};
use respond::Respond;
use txn::{ApiVersion, LocalEngine, RawStorage, TxnStorage};

use crate::metrics::Metrics;
use crate::region::{Region, RegionTable};

/// The KV service of one node.
#[derive(Debug, Clone)]
pub struct KvService {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Transactional commands' shared state (latches, lock waiting, timestamps). A request
    /// runs on a copy bound to its region's Raft group ([`Inner::txn`]); this one, on the
    /// local engine, serves only what TiKV runs outside Raft on every store
    /// (UnsafeDestroyRange).
    txn: TxnStorage<LocalEngine>,
    /// The raw API's shared state (TTL clock, CAS latches); requests run on region copies.
    raw: RawStorage<LocalEngine>,
    /// The store's Raft groups.
    raft: RaftKv,
    /// Context and key checks against the node's regions.
    check: Checker,
    /// Per-method timings and failures.
    metrics: Arc<Metrics>,
}

impl KvService {
    /// A service for the regions in `regions`: requests run on `txn`'s and `raw`'s shared
    /// state over the region's Raft group in `raft`.
    pub fn new(
        txn: TxnStorage<LocalEngine>,
        raw: RawStorage<LocalEngine>,
        raft: RaftKv,
        regions: RegionTable,
        limits: Limits,
        metrics: Arc<Metrics>,
    ) -> KvService {
        let api_version = raw.api_version();
        KvService {
            inner: Arc::new(Inner {
                txn,
                raw,
                raft,
                check: Checker {
                    regions,
                    api_version,
                    limits,
                },
                metrics,
            }),
        }
    }

    /// The storage's API version.
    pub fn api_version(&self) -> ApiVersion {
        self.inner.check.api_version
    }
}

impl Inner {
    /// Checks a request's context and keys: the region, or the response refusing it.
    fn check<'k, R: Respond>(
        &self,
        ctx: Option<&crate::proto::kvrpcpb::Context>,
        family: Family,
        keys: impl IntoIterator<Item = &'k [u8]>,
    ) -> Result<Region, R> {
        self.check.check(ctx, family, keys).map_err(R::refused)
    }

    /// Transactional commands on `region` (its epoch as checked), through its Raft group.
    fn txn(&self, region: &Region) -> TxnStorage<RegionEngine> {
        self.txn
            .with_engine(self.raft.region(region.id, region.epoch))
    }

    /// Raw commands on `region`, through its Raft group.
    fn raw(&self, region: &Region) -> RawStorage<RegionEngine> {
        self.raw
            .with_engine(self.raft.region(region.id, region.epoch))
    }

    /// Runs one command of the transaction layer, recording its time under TiKV's command
    /// label (`prewrite`, `raw_put`, …) in the scheduler metrics.
    async fn timed<T>(&self, label: &'static str, command: impl Future<Output = T>) -> T {
        let start = Instant::now();
        let out = command.await;
        self.metrics.observe_scheduler(label, start.elapsed());
        out
    }
}

/// `Ok` as is; a failure as the response carrying it.
fn answer<R: Respond>(result: Result<R, txn::Error>) -> R {
    result.unwrap_or_else(|e| R::failed(&e))
}

/// A refusal as a response.
fn refuse<R: Respond>(r: Refusal) -> R {
    R::refused(r)
}
