//! What a store's Raft thread is asked to do (its inbox), and its configuration.

use raft::eraftpb::ConfChangeType;

use crate::callback::{ReadCallback, WriteCallback};
use crate::command::Request;
use crate::region::{Epoch, Peer};
use crate::split_check::SplitConfig;
use crate::transport::RaftMessage;

/// One request to a store's Raft thread.
pub enum StoreMsg {
    /// A message from another store.
    Raft(Box<RaftMessage>),
    /// Propose a command (write, split, compact) to a region; answered once applied.
    Propose {
        /// The region.
        region_id: u64,
        /// The epoch the caller saw.
        epoch: Epoch,
        /// What to do.
        request: Request,
        /// Answered after apply (or with the refusal).
        cb: WriteCallback,
    },
    /// Add or remove a peer; answered once the change is applied.
    ChangePeer {
        /// The region.
        region_id: u64,
        /// The epoch the caller saw (its `conf_ver` must be current).
        epoch: Epoch,
        /// Add or remove.
        change: ConfChangeType,
        /// The peer added or removed.
        peer: Peer,
        /// Answered after apply.
        cb: WriteCallback,
    },
    /// A linearizable read: answered with a snapshot once the leader confirmed its
    /// leadership (ReadIndex) and applied up to the confirmed commit index.
    Read {
        /// The region.
        region_id: u64,
        /// The epoch the caller saw.
        epoch: Epoch,
        /// Answered with the snapshot.
        cb: ReadCallback,
    },
    /// Hand leadership to `to` (a peer id of the region).
    TransferLeader {
        /// The region.
        region_id: u64,
        /// The peer to lead.
        to: u64,
    },
    /// Start an election now (tests; a split-born region's first leader).
    Campaign {
        /// The region.
        region_id: u64,
    },
    /// Stop the Raft thread: what is pending is failed with `Stopped`.
    Stop,
    /// From the transport: how sending a snapshot to `to_peer_id` ended (a transport that
    /// streams snapshots in the background reports here rather than when it queued it).
    SnapshotStatus {
        /// The region.
        region_id: u64,
        /// The peer the snapshot was for.
        to_peer_id: u64,
        /// True once the receiving store accepted every file.
        ok: bool,
    },
    /// From the transport: messages to `to_peer_id` were dropped (its store is out of
    /// reach); raft slows down to probing it.
    Unreachable {
        /// The region.
        region_id: u64,
        /// The peer.
        to_peer_id: u64,
    },
}

impl std::fmt::Debug for StoreMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreMsg::Raft(m) => write!(
                f,
                "Raft({:?} {} -> {})",
                m.message.get_msg_type(),
                m.from.id,
                m.to.id
            ),
            StoreMsg::Propose {
                region_id, request, ..
            } => {
                let kind = match request {
                    Request::Write(m) => format!("write of {}", m.len()),
                    Request::Split { .. } => "split".into(),
                    Request::BatchSplit { splits } => format!("split into {}", splits.len() + 1),
                    Request::CompactLog { .. } => "compact log".into(),
                };
                write!(f, "Propose(region {region_id}, {kind})")
            }
            StoreMsg::ChangePeer {
                region_id,
                change,
                peer,
                ..
            } => {
                write!(f, "ChangePeer(region {region_id}, {change:?} {peer:?})")
            }
            StoreMsg::Read { region_id, .. } => write!(f, "Read(region {region_id})"),
            StoreMsg::TransferLeader { region_id, to } => {
                write!(f, "TransferLeader(region {region_id} to {to})")
            }
            StoreMsg::Campaign { region_id } => write!(f, "Campaign(region {region_id})"),
            StoreMsg::Stop => write!(f, "Stop"),
            StoreMsg::SnapshotStatus {
                region_id,
                to_peer_id,
                ok,
            } => write!(
                f,
                "SnapshotStatus(region {region_id} to {to_peer_id}: {})",
                if *ok { "ok" } else { "failed" }
            ),
            StoreMsg::Unreachable {
                region_id,
                to_peer_id,
            } => write!(f, "Unreachable(region {region_id} peer {to_peer_id})"),
        }
    }
}

/// A store's Raft settings.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// This store's id (from PD).
    pub store_id: u64,
    /// Ticks without a leader's heartbeat before a follower campaigns (raft-rs randomises
    /// within `[election_tick, 2 × election_tick)`).
    pub election_tick: usize,
    /// Ticks between a leader's heartbeats.
    pub heartbeat_tick: usize,
    /// Every this many ticks a leader considers compacting its log.
    pub log_gc_tick_interval: u64,
    /// Compact once this many applied entries are kept, to what every follower has
    /// (followers that lag further catch up by snapshot once `log_gc_count_limit` is passed).
    pub log_gc_threshold: u64,
    /// Keep at most this many applied entries even for a lagging follower.
    pub log_gc_count_limit: u64,
    /// Fsync each round's Raft writes before anything is sent or applied. Off, a power
    /// loss may lose acknowledged writes (and Raft's vote), a process crash does not.
    pub sync_log: bool,
    /// A leader reports followers silent this long as down (PD replaces them).
    pub max_peer_down_duration: std::time::Duration,
    /// Largest batch of entries in one append message.
    pub max_size_per_msg: u64,
    /// Append messages in flight per follower.
    pub max_inflight_msgs: usize,
    /// Every this many ticks the leader's regions that took enough writes are sent to the
    /// split checker (TiKV's `split-region-check-tick-interval`, 10 s over its 1 s tick).
    pub split_check_tick_interval: u64,
    /// When regions split (only with a split observer set: `Store::set_split_observer`).
    pub split: SplitConfig,
}

impl StoreConfig {
    /// Defaults (TiKV's ratios) for store `store_id`.
    pub fn new(store_id: u64) -> StoreConfig {
        StoreConfig {
            store_id,
            election_tick: 10,
            heartbeat_tick: 2,
            log_gc_tick_interval: 10,
            log_gc_threshold: 50,
            log_gc_count_limit: 10_000,
            sync_log: true,
            max_peer_down_duration: std::time::Duration::from_secs(10 * 60),
            max_size_per_msg: 1 << 20,
            max_inflight_msgs: 256,
            split_check_tick_interval: 10,
            split: SplitConfig::default(),
        }
    }
}
