//! The Raft transport between Strata stores, over gRPC (`proto/strata_raft.proto`,
//! service `strata.raftnet.RaftNet`).
//!
//! Sending ([`GrpcTransport`], `replication`'s `Transport`): per destination store a
//! bounded queue drained into one long-lived `Raft` stream in batches (`link.rs`); a full
//! queue refuses (backpressure), a broken link drops what is queued and is re-dialled with
//! backoff; snapshots stream their files with `Snapshot`, one task each (`snap_send.rs`),
//! and report the outcome to the local store. Receiving ([`service`], `service.rs`):
//! messages go to the local store in order; a snapshot's files are written and checked
//! (`snap_recv.rs`) before its message does. Where stores are: [`StoreAddrs`]
//! (`addrs.rs`: a static map, or PD's GetStore cached). Wire conversion: `convert.rs`.
//!
//! Wiring (the node):
//! ```text
//! let (handle, inbox) = replication::inbox();
//! let transport = GrpcTransport::new(store_id, addrs, snaps.clone(),
//!     report_to(handle.downgrade()), tokio::runtime::Handle::current(), cfg)?;
//! let store = Store::open(.., Arc::new(transport), ..)?;
//! replication::spawn_with(store, inbox, tick)?;
//! server.add_service(raftnet::service(handle, snaps, stopped)?)   // beside the KV service
//! ```

mod addrs;
mod convert;
mod link;
mod service;
mod snap_recv;
mod snap_send;
#[cfg(test)]
mod testing;
mod transport;

pub use addrs::{BoxFuture, CachedAddrs, StaticAddrs, StoreAddrs, StoreLookup};
pub use service::RaftService;
pub use transport::{report_to, GrpcTransport, Report, TransportConfig};

use replication::{SnapManager, StoreHandle};
use tokio::sync::watch;

use crate::proto::raftnet::raft_net_server::RaftNetServer;

/// The `RaftNet` service for the store behind `handle` (snapshot files under `snaps`), to
/// add to the node's gRPC server; its streams end when `stopped` turns true (or its sender
/// is dropped), so that the server's graceful shutdown, which drains streams, can finish.
///
/// # Errors
/// I/O clearing partial receives an earlier process left.
pub fn service(
    handle: StoreHandle,
    snaps: SnapManager,
    stopped: watch::Receiver<bool>,
) -> crate::Result<RaftNetServer<RaftService>> {
    let limit = TransportConfig::default().max_message_size;
    Ok(
        RaftNetServer::new(RaftService::new(handle, snaps, stopped)?)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
    )
}
