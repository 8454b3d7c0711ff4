//! One peer: a raft-rs `RawNode` over its [`PeerStorage`], the proposals and reads waiting
//! on it, and the checks made before anything is handed to raft (leadership, epoch).
//! Applying committed entries is in `apply.rs`; the Ready round across peers in `store.rs`.
//!
//! Linearizable reads use ReadIndex (raft's `ReadOnlyOption::Safe`): the leader confirms
//! with a quorum that it still leads, then serves once it has applied up to the commit index
//! it had when asked. Not leases: a lease is only safe with bounded clock drift, and a
//! ReadIndex costs one heartbeat round that the Ready loop batches with other traffic.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use protobuf::Message as _;
use raft::eraftpb::{ConfChange, ConfChangeType};
use raft::{Config, RawNode, ReadOnlyOption, StateRole};

use crate::callback::{ReadCallback, WriteCallback};
use crate::command::{Command, Request};
use crate::engines::Engines;
use crate::error::{Error, Result};
use crate::health::{self, DownPeer};
use crate::meta::RegionInfo;
use crate::msg::StoreConfig;
use crate::proposal::{Pending, Proposal};
use crate::region::{self, Epoch, Layout, PeerRole, Region};
use crate::snapshot::SnapManager;
use crate::storage::PeerStorage;

/// The part of a peer's published state that changes without its region or leader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Health {
    term: u64,
    pending: Vec<u64>,
    down: Vec<u64>,
}

/// One peer of a region on this store.
pub(crate) struct Peer {
    pub(crate) raw: RawNode<PeerStorage>,
    pub(crate) pending: Pending,
    /// This peer.
    pub(crate) me: region::Peer,
    /// Ticks since the last log-compaction check.
    pub(crate) gc_ticks: u64,
    /// Bytes applied since the region was last sent to the split checker (TiKV's size diff
    /// hint): a region is checked again only once this passes `split_check_diff`, so idle
    /// regions are not re-read. Starts "due" (sizes are unknown after an open or a split).
    pub(crate) size_diff_hint: u64,
    /// The leader last published (to notice changes).
    pub(crate) published_leader: Option<u64>,
    /// The term and follower health last published (leaders only).
    pub(crate) published_health: Health,
    /// When a message last came from each peer (for down peers).
    pub(crate) last_heard: HashMap<u64, Instant>,
    /// When this peer last became leader.
    pub(crate) leader_since: Instant,
    /// Followers silent this long are reported down.
    max_down: Duration,
    /// Peers heard from: where to answer when the region does not list them yet (an empty
    /// peer waiting for its snapshot knows no members).
    pub(crate) peer_cache: HashMap<u64, region::Peer>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("region", &self.region().id)
            .field("me", &self.me)
            .field("role", &self.raw.raft.state)
            .field("pending", &self.pending)
            .finish()
    }
}

impl Peer {
    /// Opens the peer `me` of `region` from its stored state.
    ///
    /// # Errors
    /// Engine errors; `Corruption`; `Raft` if the stored state is inconsistent.
    pub(crate) fn open(
        cfg: &StoreConfig,
        engines: Engines,
        snaps: SnapManager,
        region: Region,
        me: region::Peer,
        logger: &slog::Logger,
    ) -> Result<Peer> {
        let storage = PeerStorage::load(engines, snaps, region)?;
        let raft_cfg = Config {
            id: me.id,
            election_tick: cfg.election_tick,
            heartbeat_tick: cfg.heartbeat_tick,
            applied: storage.apply.applied_index,
            max_size_per_msg: cfg.max_size_per_msg,
            max_inflight_msgs: cfg.max_inflight_msgs,
            check_quorum: true,
            pre_vote: true,
            read_only_option: ReadOnlyOption::Safe,
            ..Default::default()
        };
        let logger = logger.new(slog::o!("region" => storage.region.id, "peer" => me.id));
        let raw = RawNode::new(&raft_cfg, storage, &logger)?;
        Ok(Peer {
            raw,
            pending: Pending::default(),
            me,
            gc_ticks: 0,
            size_diff_hint: crate::split_checker::CHECK_NOW,
            published_leader: None,
            published_health: Health::default(),
            last_heard: HashMap::new(),
            leader_since: Instant::now(),
            max_down: cfg.max_peer_down_duration,
            peer_cache: HashMap::new(),
        })
    }

    pub(crate) fn region(&self) -> &Region {
        &self.raw.store().region
    }

    pub(crate) fn region_id(&self) -> u64 {
        self.raw.store().region.id
    }

    pub(crate) fn is_leader(&self) -> bool {
        self.raw.raft.state == StateRole::Leader
    }

    /// The leader this peer knows of.
    pub(crate) fn leader(&self) -> Option<region::Peer> {
        self.lookup(self.raw.raft.leader_id)
    }

    /// Peer `id` of the region: from its members, else from those heard from.
    pub(crate) fn lookup(&self, id: u64) -> Option<region::Peer> {
        self.region()
            .peer(id)
            .or_else(|| self.peer_cache.get(&id).copied())
    }

    pub(crate) fn info(&self) -> RegionInfo {
        let (pending_peers, down_peers) = if self.is_leader() {
            self.follower_health(Instant::now())
        } else {
            (Vec::new(), Vec::new())
        };
        RegionInfo {
            region: self.region().clone(),
            leader: self.leader(),
            peer: self.me,
            term: self.raw.raft.term,
            pending_peers,
            down_peers,
        }
    }

    /// A leader's pending and down followers at `now` (`health.rs`).
    fn follower_health(&self, now: Instant) -> (Vec<region::Peer>, Vec<DownPeer>) {
        let prs = self.raw.raft.prs();
        let pending = health::pending_peers(
            self.region(),
            self.me,
            |id| prs.get(id).map(|p| p.matched),
            self.raw.store().apply.truncated_index,
        );
        let down = health::down_peers(
            self.region(),
            self.me,
            &self.last_heard,
            self.leader_since,
            now,
            self.max_down,
        );
        (pending, down)
    }

    /// What a change of must be published: the term and, on a leader, which followers are
    /// pending or down.
    pub(crate) fn health(&self, now: Instant) -> Health {
        if !self.is_leader() {
            return Health {
                term: self.raw.raft.term,
                ..Health::default()
            };
        }
        let (pending, down) = self.follower_health(now);
        Health {
            term: self.raw.raft.term,
            pending: pending.iter().map(|p| p.id).collect(),
            down: down.iter().map(|d| d.peer.id).collect(),
        }
    }

    fn not_leader(&self) -> Error {
        Error::NotLeader {
            region_id: self.region_id(),
            leader: self.leader(),
        }
    }

    /// Refuses a request made under another epoch: `version` always, `conf_ver` when
    /// `check_conf` (membership changes).
    pub(crate) fn check_epoch(&self, epoch: Epoch, check_conf: bool) -> Result<()> {
        let current = self.region().epoch;
        if epoch.version != current.version || (check_conf && epoch.conf_ver != current.conf_ver) {
            return Err(Error::EpochNotMatch {
                reason: format!(
                    "region {} is at epoch {current:?}, the request at {epoch:?}",
                    self.region_id()
                ),
                current: vec![self.region().clone()],
            });
        }
        Ok(())
    }

    /// Proposes `request` made under `epoch`; `cb` is answered once it applies.
    pub(crate) fn propose(&mut self, epoch: Epoch, request: Request, cb: WriteCallback) {
        if !self.is_leader() {
            return cb(Err(self.not_leader()));
        }
        if request.checks_version() {
            let is_split = matches!(request, Request::Split { .. } | Request::BatchSplit { .. });
            if let Err(e) = self.check_epoch(epoch, is_split) {
                return cb(Err(e));
            }
        }
        let cmd = Command {
            region_id: self.region_id(),
            epoch,
            request,
        };
        let result = self.raw.propose(Vec::new(), cmd.encode());
        self.register(result, cb);
    }

    /// Proposes adding `peer` (AddNode: as a voter, or promoting it if it is a learner;
    /// AddLearnerNode: as a learner) or removing it. `peer.role` is not read: the change
    /// type says it.
    pub(crate) fn propose_conf_change(
        &mut self,
        epoch: Epoch,
        change: ConfChangeType,
        peer: region::Peer,
        cb: WriteCallback,
    ) {
        if !self.is_leader() {
            return cb(Err(self.not_leader()));
        }
        if let Err(e) = self.check_epoch(epoch, true) {
            return cb(Err(e));
        }
        let region = self.region();
        let present = region.peer(peer.id);
        let store_taken = region.peer_on(peer.store_id).is_some();
        let invalid = match (change, present) {
            // AddNode of a learner promotes it; of a voter, nothing is left to do.
            (ConfChangeType::AddNode, Some(p)) => !p.is_learner() || p.store_id != peer.store_id,
            (ConfChangeType::AddNode | ConfChangeType::AddLearnerNode, None) => store_taken,
            // raft-rs would demote a voter: never asked for.
            (ConfChangeType::AddLearnerNode, Some(_)) => true,
            (ConfChangeType::RemoveNode, p) => p.is_none() || peer.id == self.me.id,
        };
        if invalid {
            return cb(Err(Error::InvalidArgument(format!(
                "region {}: cannot {change:?} {peer:?} (peers {:?}; the leader cannot remove itself)",
                self.region_id(),
                self.region().peers
            ))));
        }
        let mut cc = ConfChange::default();
        cc.set_change_type(change);
        cc.node_id = peer.id;
        // Layout v1: the change type gives the role (and old log entries stay readable).
        cc.context = region::Region {
            peers: vec![peer],
            ..Default::default()
        }
        .encode_as(Layout::V1)
        .into();
        let result = self.raw.propose_conf_change(Vec::new(), cc);
        self.register(result, cb);
    }

    /// Queues `cb` for the entry just proposed (raft put it last in its log).
    fn register(&mut self, result: raft::Result<()>, cb: WriteCallback) {
        match result {
            Ok(()) => {
                let index = self.raw.raft.raft_log.last_index();
                let term = self.raw.raft.term;
                self.pending.push_proposal(Proposal { index, term, cb });
            }
            Err(raft::Error::ProposalDropped) => cb(Err(self.not_leader())),
            Err(e) => cb(Err(e.into())),
        }
    }

    /// A linearizable read (see the module docs).
    pub(crate) fn read(&mut self, epoch: Epoch, cb: ReadCallback) {
        if !self.is_leader() {
            return cb(Err(self.not_leader()));
        }
        if let Err(e) = self.check_epoch(epoch, false) {
            return cb(Err(e));
        }
        self.ask_read(cb);
    }

    fn ask_read(&mut self, cb: ReadCallback) {
        // raft-rs drops a ReadIndex before the leader commits an entry of its own term.
        if !self.raw.raft.commit_to_current_term() {
            return self.pending.defer_read(cb);
        }
        let id = self.pending.ask_read(cb);
        self.raw.read_index(id.to_le_bytes().to_vec());
    }

    /// Asks raft again for reads deferred until the leader committed in its term.
    pub(crate) fn retry_deferred_reads(&mut self) {
        if !self.is_leader() || !self.raw.raft.commit_to_current_term() {
            return;
        }
        for cb in self.pending.take_deferred_reads() {
            self.ask_read(cb);
        }
    }

    /// Raft confirmed reads (from a Ready).
    pub(crate) fn on_read_states(&mut self, states: &[raft::ReadState]) {
        for rs in states {
            let mut id = [0; 8];
            if rs.request_ctx.len() == 8 {
                id.copy_from_slice(&rs.request_ctx);
                self.pending.confirm_read(u64::from_le_bytes(id), rs.index);
            }
        }
    }

    /// Answers confirmed reads whose index is applied, with a snapshot of the store.
    pub(crate) fn answer_reads(&mut self) {
        let applied = self.raw.store().apply.applied_index;
        let ready = self.pending.reads_ready(applied);
        if ready.is_empty() {
            return;
        }
        let engines = self.raw.store().engines();
        for cb in ready {
            cb(Ok(engines.kv.snapshot()));
        }
    }

    /// Called when the leader changed: reads not yet confirmed may never be.
    pub(crate) fn on_role_change(&mut self) {
        if !self.is_leader() {
            let (region_id, leader) = (self.region_id(), self.leader());
            self.pending
                .fail_unconfirmed_reads(|| Error::NotLeader { region_id, leader });
        }
    }

    /// The conf change an entry carries, and the peer its context names, in the role the
    /// change gives it.
    pub(crate) fn decode_conf_change(&self, data: &[u8]) -> Result<(ConfChange, region::Peer)> {
        let what = || format!("conf change of region {}", self.region_id());
        let cc = ConfChange::parse_from_bytes(data)
            .map_err(|e| Error::corrupt(what(), e.to_string()))?;
        let mut peer = Region::decode_as(&cc.context, Layout::V1)?
            .peers
            .first()
            .copied()
            .ok_or_else(|| Error::corrupt(what(), "no peer in the context"))?;
        if cc.get_change_type() == ConfChangeType::AddLearnerNode {
            peer.role = PeerRole::Learner;
        }
        Ok((cc, peer))
    }

    /// Replaces the region (applied a conf change, a split or a snapshot); `me` follows
    /// its entry there, so this peer's role is current.
    pub(crate) fn set_region(&mut self, region: Region) {
        if let Some(me) = region.peer(self.me.id) {
            self.me = me;
        }
        self.raw.mut_store().region = region;
    }
}
