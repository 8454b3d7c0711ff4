//! The seam between stores: Raft messages out of a store's Ready loop, and the snapshot
//! files that go with a snapshot message.
//!
//! - [`Transport`]: what the Raft thread calls to send. Implemented over gRPC by the server
//!   (batched, with backpressure) and in process by [`ChannelNetwork`] for tests.
//! - [`RaftMessage`]: a raft-rs message plus what the receiving store needs to route it and,
//!   for a region it has no peer of yet, to create one.
//!
//! Contract: `send` never blocks on the network; a message may be lost (Raft retries). A
//! transport may report back to its store through a `WeakStoreHandle`: snapshot outcomes
//! (`StoreMsg::SnapshotStatus`) and peers it could not reach (`StoreMsg::Unreachable`).
//! A snapshot message is only handed to the receiving store once its files are in the
//! receiver's snapshot directory (`SnapManager::recv_dir`).

mod channel;

pub use channel::{ChannelNetwork, Filter};

use crate::error::Result;
use crate::region::{Epoch, Peer};

/// A Raft message between two peers of a region.
#[derive(Debug, Clone)]
pub struct RaftMessage {
    /// The region.
    pub region_id: u64,
    /// Sending peer.
    pub from: Peer,
    /// Receiving peer (its store routes the message).
    pub to: Peer,
    /// The region's epoch at the sender.
    pub epoch: Epoch,
    /// The region's range at the sender: lets the receiver refuse to create a peer that
    /// overlaps one it has.
    pub start_key: Vec<u8>,
    /// End of that range (empty: unbounded).
    pub end_key: Vec<u8>,
    /// The raft-rs message.
    pub message: raft::eraftpb::Message,
}

/// Sends Raft messages to other stores.
pub trait Transport: Send + Sync {
    /// Queues `msg` for its store; moves a snapshot's files along with a snapshot message.
    ///
    /// # Errors
    /// The receiving store is unknown or unreachable; the message is dropped (the store
    /// reports the peer unreachable to raft).
    fn send(&self, msg: RaftMessage) -> Result<()>;

    /// True if, for a snapshot message `send` accepted, the transport reports the outcome
    /// later with `StoreMsg::SnapshotStatus` (it streams the files in the background).
    /// False (the default): an accepted snapshot counts as delivered.
    fn reports_snapshot_status(&self) -> bool {
        false
    }
}
