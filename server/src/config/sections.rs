//! The `[server]`, `[storage]`, `[pd]` and `[raftstore]` sections (`[lsm]` is in `lsm.rs`).
//!
//! Every section refuses unknown keys and takes TiKV's kebab-case names; a missing key takes
//! its default. Only keys that change behaviour exist: a key that does nothing would let an
//! operator believe it did.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::readable::{ReadableDuration, ReadableSize};
use crate::{Error, Result};

/// `[server]`: the gRPC service and the limits it enforces on requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerConfig {
    /// Where the gRPC (TiKV protocol) service listens: an IP address and port.
    pub addr: String,
    /// The address clients and PD are told to reach this store at (behind NAT, in
    /// containers); empty means `addr`.
    pub advertise_addr: String,
    /// Where the HTTP status server (`/metrics`, `/status`, `/config`) listens.
    pub status_addr: String,
    /// Largest gRPC request message accepted; larger ones are refused by gRPC itself, before
    /// any decoding, so one client cannot make the server allocate without bound.
    pub max_grpc_message_size: ReadableSize,
    /// Largest key accepted in a request (TiKV's `max-key-size` is 8 KiB too).
    pub max_key_size: ReadableSize,
    /// Most keys, pairs or mutations in one request: bounds the latches and the write batch
    /// a single command can take.
    pub max_batch_keys: usize,
    /// Most entries one scan request returns, whatever limit the client asks for.
    pub max_scan_limit: usize,
    /// Compression of responses. gzip-compressed requests are always accepted; with `gzip`
    /// responses are compressed when the client says it accepts gzip, with `none` never.
    pub grpc_compression: GrpcCompression,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: "127.0.0.1:20160".into(),
            advertise_addr: String::new(),
            status_addr: "127.0.0.1:20180".into(),
            max_grpc_message_size: ReadableSize::mib(64),
            max_key_size: ReadableSize::kib(8),
            max_batch_keys: 10240,
            max_scan_limit: 10240,
            grpc_compression: GrpcCompression::Gzip,
        }
    }
}

impl ServerConfig {
    /// The address to tell others: `advertise-addr`, or `addr` when that is empty.
    pub fn advertise_addr(&self) -> &str {
        if self.advertise_addr.is_empty() {
            &self.addr
        } else {
            &self.advertise_addr
        }
    }
}

/// How gRPC responses are compressed (see [`ServerConfig::grpc_compression`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GrpcCompression {
    /// Responses are never compressed.
    None,
    /// Responses are gzip-compressed for clients that accept it.
    Gzip,
}

/// `[storage]`: where data lives and how raw KV encodes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct StorageConfig {
    /// The directory holding the engine, PD's state and the store's identity.
    pub data_dir: PathBuf,
    /// TiKV's API version: 1 (raw and transactional keys as clients send them) or 2 (keys
    /// carry a mode prefix and keyspace; raw values always carry TTL metadata). Clients must
    /// use the same version; it cannot change once data is written.
    pub api_version: u8,
    /// Store raw values with a TTL field so `raw_put` TTLs work (with version 1: TiKV's
    /// V1TTL). Version 2 always keeps TTLs, so there it must be `true`: TiKV refuses
    /// `api-version = 2` with `enable-ttl = false` rather than ignore the key, and so do we.
    pub enable_ttl: bool,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("./strata-data"),
            api_version: 1,
            enable_ttl: false,
        }
    }
}

impl StorageConfig {
    /// The raw-KV mode `api-version` and `enable-ttl` select.
    ///
    /// # Errors
    /// `Config` naming the key for a version other than 1 or 2, or version 2 without TTL.
    pub fn api_version(&self) -> Result<txn::ApiVersion> {
        txn::ApiVersion::from_config(self.api_version, self.enable_ttl).map_err(|_| {
            if self.api_version == 2 {
                Error::Config(
                    "storage.enable-ttl: must be true with api-version = 2 (API V2 always keeps \
                     TTLs)"
                        .into(),
                )
            } else {
                Error::Config(format!(
                    "storage.api-version: must be 1 or 2, not {}",
                    self.api_version
                ))
            }
        })
    }
}

/// `[pd]`: the placement driver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct PdConfig {
    /// PD's addresses (`host:port`). Clients are given these too.
    pub endpoints: Vec<String>,
    /// This process runs PD itself, listening on `endpoints[0]`: one binary is a whole
    /// cluster. `--pd ADDR` turns it off and points at an external PD.
    pub embedded: bool,
    /// The embedded PD keeps this many replicas of every region (PD's
    /// `replication.max-replicas`), adding peers on other stores as they join.
    pub max_replicas: u32,
    /// The embedded PD replaces the peers of a store silent this long (PD's
    /// `schedule.max-store-down-time`).
    pub max_store_down_time: ReadableDuration,
}

impl Default for PdConfig {
    fn default() -> Self {
        let schedule = crate::pd::ScheduleConfig::default();
        PdConfig {
            endpoints: vec!["127.0.0.1:2379".into()],
            embedded: true,
            max_replicas: schedule.max_replicas,
            max_store_down_time: ReadableDuration(schedule.max_store_down_time),
        }
    }
}

impl PdConfig {
    /// The embedded PD's scheduling settings.
    pub fn schedule(&self) -> crate::pd::ScheduleConfig {
        crate::pd::ScheduleConfig {
            max_replicas: self.max_replicas,
            max_store_down_time: self.max_store_down_time.0,
            ..crate::pd::ScheduleConfig::default()
        }
    }
}

/// `[raftstore]`: the Raft groups every region runs (TiKV's key names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct RaftstoreConfig {
    /// Every round of Raft writes is fsynced before anything is acknowledged. Off, an
    /// acknowledged write survives a process crash but may be lost on power loss.
    pub sync_log: bool,
    /// One Raft tick. TiKV's default is 1s; ours is shorter so a leader's loss is noticed
    /// in about a second on a LAN.
    pub raft_base_tick_interval: ReadableDuration,
    /// Ticks without a leader's heartbeat before a follower campaigns (randomised up to
    /// twice this).
    pub raft_election_timeout_ticks: usize,
    /// Ticks between a leader's heartbeats.
    pub raft_heartbeat_ticks: usize,
    /// A leader compacts its log once this many applied entries are kept and every
    /// follower has them.
    pub raft_log_gc_threshold: u64,
    /// A leader keeps at most this many applied entries even for a lagging follower
    /// (which then catches up by snapshot).
    pub raft_log_gc_count_limit: u64,
    /// Largest batch of entries in one append message.
    pub raft_max_size_per_msg: ReadableSize,
    /// Append messages in flight per follower.
    pub raft_max_inflight_msgs: usize,
    /// How often a leader reports each region to PD when nothing changed (a change is
    /// reported at once).
    pub pd_heartbeat_tick_interval: ReadableDuration,
    /// A leader reports followers silent this long as down.
    pub max_peer_down_duration: ReadableDuration,
    /// How often a leader's regions that took writes are sized for splitting.
    pub split_region_check_tick_interval: ReadableDuration,
}

impl Default for RaftstoreConfig {
    fn default() -> Self {
        let raft = replication::StoreConfig::new(0);
        RaftstoreConfig {
            sync_log: true,
            raft_base_tick_interval: ReadableDuration::millis(100),
            raft_election_timeout_ticks: raft.election_tick,
            raft_heartbeat_ticks: raft.heartbeat_tick,
            raft_log_gc_threshold: raft.log_gc_threshold,
            raft_log_gc_count_limit: raft.log_gc_count_limit,
            raft_max_size_per_msg: ReadableSize(raft.max_size_per_msg),
            raft_max_inflight_msgs: raft.max_inflight_msgs,
            pd_heartbeat_tick_interval: ReadableDuration::secs(10),
            max_peer_down_duration: ReadableDuration(raft.max_peer_down_duration),
            split_region_check_tick_interval: ReadableDuration::secs(10),
        }
    }
}

impl RaftstoreConfig {
    /// The store's Raft settings with `coprocessor`'s split thresholds (`store_id` is
    /// filled in at start).
    pub fn store_config(&self, coprocessor: &CoprocessorConfig) -> replication::StoreConfig {
        let tick = self.raft_base_tick_interval.0.as_millis().max(1);
        let split_ticks = self.split_region_check_tick_interval.0.as_millis() / tick;
        replication::StoreConfig {
            split: coprocessor.split_config(),
            split_check_tick_interval: u64::try_from(split_ticks).unwrap_or(u64::MAX).max(1),
            election_tick: self.raft_election_timeout_ticks,
            heartbeat_tick: self.raft_heartbeat_ticks,
            log_gc_threshold: self.raft_log_gc_threshold,
            log_gc_count_limit: self.raft_log_gc_count_limit,
            max_size_per_msg: self.raft_max_size_per_msg.0,
            max_inflight_msgs: self.raft_max_inflight_msgs,
            sync_log: self.sync_log,
            max_peer_down_duration: self.max_peer_down_duration.0,
            ..replication::StoreConfig::new(0)
        }
    }
}

/// `[coprocessor]`: when regions split (TiKV's keys and defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct CoprocessorConfig {
    /// A region this large is split ...
    pub region_max_size: ReadableSize,
    /// ... into pieces of about this size.
    pub region_split_size: ReadableSize,
    /// A region with this many entries is split ...
    pub region_max_keys: u64,
    /// ... into pieces of about this many entries.
    pub region_split_keys: u64,
    /// Most cuts made at once (a bigger region is cut further at its next check).
    pub batch_split_limit: usize,
}

impl Default for CoprocessorConfig {
    fn default() -> Self {
        let s = replication::SplitConfig::default();
        CoprocessorConfig {
            region_max_size: ReadableSize(s.region_max_size),
            region_split_size: ReadableSize(s.region_split_size),
            region_max_keys: s.region_max_keys,
            region_split_keys: s.region_split_keys,
            batch_split_limit: s.batch_split_limit,
        }
    }
}

impl CoprocessorConfig {
    /// The store's split policy settings (re-checked after a sixteenth of the split size
    /// is written, as TiKV's `region-split-check-diff`).
    pub fn split_config(&self) -> replication::SplitConfig {
        replication::SplitConfig {
            region_max_size: self.region_max_size.0,
            region_split_size: self.region_split_size.0,
            region_max_keys: self.region_max_keys,
            region_split_keys: self.region_split_keys,
            batch_split_limit: self.batch_split_limit,
            split_check_diff: (self.region_split_size.0 / 16).max(1),
        }
    }
}
