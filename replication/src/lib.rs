//! Replication: each region of the key space is a Raft group (raft-rs, driven only through
//! its Ready loop); the Raft log lives in the LSM's `raft` column family; committed entries
//! carry the transaction layer's write batches and are applied to the KV column families.
//!
//! Map:
//! - `region.rs` (descriptors), `command.rs` (what log entries carry), `state.rs` (records
//!   in the `raft` column family and their keys), `codec.rs`: the formats of FORMAT.md;
//! - `storage.rs`: raft-rs's `Storage` over the LSM; `snapshot.rs`: SST-file snapshots,
//!   generated off the Raft thread by `snap_gen.rs`;
//!   `sending.rs`: a snapshot's files held apart while a transport streams them;
//! - `peer.rs` (one peer: proposals, ReadIndex reads, checks), `apply.rs` (applying
//!   entries), `proposal.rs` (what waits on a peer), `store.rs` (every peer of a store, one
//!   Ready round with one fsync);
//! - `transport/`: the seam between stores and its in-process implementation;
//! - `meta.rs`: what a store publishes about its regions; `health.rs`: a leader's pending
//!   and down followers;
//! - `split_check.rs` (the split policy, pure), `split_checker.rs` (the worker that sizes
//!   regions off the Raft thread and suggests cuts to the node);
//! - `runner.rs` (the Raft thread), `engine.rs` (the Raft-backed `txn::Engine`).
//!
//! Nothing here knows the wire protocol: the server converts.
#![doc = include_str!("../FORMAT.md")]

mod apply;
mod callback;
mod codec;
mod command;
mod engine;
mod engines;
mod error;
mod health;
mod keyspace;
mod logger;
mod meta;
mod msg;
mod peer;
mod proposal;
mod region;
mod runner;
mod sending;
mod snap_gen;
mod snapshot;
mod split_check;
mod split_checker;
mod state;
mod storage;
mod store;
pub mod transport;

pub use callback::{Callback, ReadCallback, WriteCallback};
pub use command::{Command, Request, SplitRequest};
pub use engine::{RaftKv, RegionEngine};
pub use engines::{Engines, RAFT_CF};
pub use error::{Error, Result};
pub use health::DownPeer;
pub use keyspace::KeySpace;
pub use logger::tracing_logger;
pub use meta::{RegionInfo, StoreMeta};
pub use msg::{StoreConfig, StoreMsg};
pub use raft::eraftpb::ConfChangeType;
pub use region::{Epoch, Peer, PeerRole, Region};
pub use runner::{inbox, spawn, spawn_with, Inbox, StoreHandle, WeakStoreHandle};
pub use sending::SendingSnapshot;
pub use snapshot::{SnapFile, SnapKey, SnapManager, SnapshotData};
pub use split_check::{
    pick_split_points, region_key, region_position, split_by, valid_split_keys, SplitBy,
    SplitConfig,
};
pub use split_checker::{check_split, SplitObserver, SplitSuggestion};
pub use state::{ApplyState, PeerState, RegionState, RAFT_INIT_INDEX, RAFT_INIT_TERM};
pub use storage::PeerStorage;
pub use store::Store;
