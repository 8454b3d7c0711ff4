//! A store: every peer this node holds, driven together through raft-rs's Ready loop.
//!
//! One round ([`Store::on_ready`]):
//! 1. collect every peer's Ready: send the leader's messages at once; put snapshots, new
//!    entries and hard states of all peers into ONE write batch;
//! 2. write it with one fsync (group persistence across regions);
//! 3. send the messages that had to wait for persistence; apply committed entries of all
//!    peers into one apply batch (with their apply states and split-born regions' records);
//!    write it (no fsync: the WAL is ordered, and the synced log above replays it);
//! 4. answer proposals and reads; create split-born peers; destroy removed ones; publish
//!    region and leader changes to [`StoreMeta`].
//!
//! Concurrency: a `Store` is owned by one thread (the Raft thread, or a deterministic test);
//! the rest of the node reaches it through [`StoreMsg`]s and reads [`StoreMeta`].
//!
//! Invariants:
//! 1. Nothing is applied before the entries that carry it are durable here.
//! 2. An fsync error stops the store (`on_ready` returns it; the caller must not retry).
//! 3. At most one initialized peer on this store covers any key.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use lsm::{WriteBatch, WriteOptions};
use raft::eraftpb::{HardState, Message, MessageType, Snapshot};
use raft::SnapshotStatus;

use crate::apply::{write_region_state, Applied};
use crate::engines::Engines;
use crate::error::{Error, Result};
use crate::meta::StoreMeta;
use crate::msg::{StoreConfig, StoreMsg};
use crate::peer::Peer;
use crate::region::{self, Region};
use crate::snapshot::{SnapKey, SnapManager, SnapshotData};
use crate::split_checker::{SplitChecker, SplitObserver};
use crate::state::{self, ApplyState, PeerState, RegionState, RAFT_INIT_INDEX, RAFT_INIT_TERM};
use crate::transport::{RaftMessage, Transport};

/// The peers of one store and their Ready loop.
pub struct Store {
    cfg: StoreConfig,
    engines: Engines,
    snaps: SnapManager,
    transport: Arc<dyn Transport>,
    meta: Arc<StoreMeta>,
    peers: BTreeMap<u64, Peer>,
    /// Regions whose peer here was removed, and that peer's id: messages to it are
    /// dropped (a newer peer id of the region may still be created).
    tombstones: HashMap<u64, u64>,
    /// The split-check worker, once the node gave an observer for its suggestions.
    split_checker: Option<SplitChecker>,
    /// Ticks since regions were last sent to the split checker.
    split_check_ticks: u64,
    logger: slog::Logger,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("store_id", &self.cfg.store_id)
            .field("peers", &self.peers.len())
            .finish_non_exhaustive()
    }
}

/// Writes the records of a region's first peer here: a bootstrapped region, or one born of
/// a split. Its log starts "truncated" at [`RAFT_INIT_INDEX`].
pub(crate) fn write_initial_state(
    engines: &Engines,
    region: &Region,
    wb: &mut WriteBatch,
) -> Result<()> {
    write_region_state(engines, region, PeerState::Normal, wb);
    wb.put(
        engines.raft_cf,
        &state::apply_state_key(region.id),
        &ApplyState::initial().encode(),
    );
    let hs = HardState {
        term: RAFT_INIT_TERM,
        commit: RAFT_INIT_INDEX,
        ..Default::default()
    };
    let bytes = protobuf::Message::write_to_bytes(&hs)
        .map_err(|e| Error::corrupt("hard state", e.to_string()))?;
    wb.put(engines.raft_cf, &state::hard_state_key(region.id), &bytes);
    Ok(())
}

impl Store {
    /// Creates `region` on this store (every store listed in its peers does the same, or
    /// only the first node for a one-replica start): durable before it returns.
    ///
    /// # Errors
    /// `InvalidArgument` if this store already has records of the region; engine errors.
    pub fn bootstrap_region(engines: &Engines, region: &Region) -> Result<()> {
        if engines
            .db
            .get(engines.raft_cf, &state::region_state_key(region.id), None)?
            .is_some()
        {
            return Err(Error::InvalidArgument(format!(
                "region {} exists already",
                region.id
            )));
        }
        let mut wb = WriteBatch::new();
        write_initial_state(engines, region, &mut wb)?;
        engines.db.write(WriteOptions { sync: true }, wb)?;
        Ok(())
    }

    /// Removes what [`bootstrap_region`](Self::bootstrap_region) wrote for `region_id`
    /// (region, apply and hard state), durably. Only for a region that never ran: a node
    /// that prepared the cluster's first region and lost the bootstrap to another node,
    /// before the store was opened with it.
    ///
    /// # Errors
    /// `InvalidArgument` if the region has moved past its initial state (it took entries or
    /// a snapshot); engine errors.
    pub fn clear_bootstrapped_region(engines: &Engines, region_id: u64) -> Result<()> {
        let apply = engines
            .db
            .get(engines.raft_cf, &state::apply_state_key(region_id), None)?;
        if let Some(bytes) = apply {
            if ApplyState::decode(&bytes)? != ApplyState::initial() {
                return Err(Error::InvalidArgument(format!(
                    "region {region_id} has applied entries; it is not a prepared bootstrap"
                )));
            }
        }
        let mut wb = WriteBatch::new();
        for key in [
            state::region_state_key(region_id),
            state::apply_state_key(region_id),
            state::hard_state_key(region_id),
        ] {
            wb.delete(engines.raft_cf, &key);
        }
        engines.db.write(WriteOptions { sync: true }, wb)?;
        Ok(())
    }

    /// Opens the store: every region with records in the `raft` column family.
    ///
    /// # Errors
    /// Engine errors; `Corruption` of a record.
    pub fn open(
        cfg: StoreConfig,
        engines: Engines,
        snaps: SnapManager,
        transport: Arc<dyn Transport>,
        logger: slog::Logger,
    ) -> Result<Store> {
        let mut store = Store {
            cfg,
            engines,
            snaps,
            transport,
            meta: Arc::new(StoreMeta::default()),
            peers: BTreeMap::new(),
            tombstones: HashMap::new(),
            split_checker: None,
            split_check_ticks: 0,
            logger,
        };
        for rs in store.load_region_states()? {
            let me = rs.region.peer_on(store.cfg.store_id);
            match (rs.state, me) {
                (PeerState::Tombstone, _) | (_, None) => {
                    store
                        .tombstones
                        .insert(rs.region.id, me.map_or(0, |p| p.id));
                }
                (PeerState::Applying, Some(me)) => {
                    // A crash mid-ingest: the range holds an unknown mix. Clear it and
                    // start empty; the leader sends the snapshot again.
                    store.clear_for_snapshot(&rs.region)?;
                    store.open_peer(rs.region, me)?;
                }
                (PeerState::Normal, Some(me)) => store.open_peer(rs.region, me)?,
            }
        }
        Ok(store)
    }

    fn load_region_states(&self) -> Result<Vec<RegionState>> {
        let mut it = self.engines.db.iter(
            self.engines.raft_cf,
            lsm::iter::IterOptions::default(),
            None,
        )?;
        it.seek_to_first()?;
        let mut out = Vec::new();
        while it.valid() {
            if state::region_of_state_key(it.key()).is_some() {
                out.push(RegionState::decode(it.value())?);
                it.next()?;
            } else if let Some(id) = region_of_any_key(it.key()) {
                // Skip the region's entries and states: seek to its region state.
                it.seek(&state::region_state_key(id))?;
            } else {
                it.next()?;
            }
        }
        Ok(out)
    }

    fn open_peer(&mut self, region: Region, me: region::Peer) -> Result<()> {
        let peer = Peer::open(
            &self.cfg,
            self.engines.clone(),
            self.snaps.clone(),
            region,
            me,
            &self.logger,
        )?;
        if peer.raw.store().is_initialized() {
            self.meta.set(peer.info());
        }
        let mut peer = peer;
        // The only voter needs no election timeout: it leads at once (a single-node
        // cluster serves as soon as it starts, and after a split; learners do not vote).
        let only_voter = {
            let mut voters = peer.region().voters();
            voters.next().is_some_and(|v| v.id == peer.me.id) && voters.next().is_none()
        };
        if only_voter {
            peer.raw.campaign()?;
        }
        self.peers.insert(peer.region_id(), peer);
        Ok(())
    }

    /// Starts checking the regions this store leads for splits (`split_checker.rs`), each
    /// suggestion going to `observer`; replaces an earlier observer (its worker finishes
    /// the check in progress first).
    ///
    /// # Errors
    /// If the worker thread cannot be spawned.
    pub fn set_split_observer(&mut self, observer: SplitObserver) -> Result<()> {
        self.split_checker = None;
        self.split_checker = Some(SplitChecker::spawn(
            self.cfg.store_id,
            self.engines.clone(),
            self.cfg.split,
            observer,
        )?);
        Ok(())
    }

    /// What this store publishes about its regions.
    pub fn meta(&self) -> Arc<StoreMeta> {
        self.meta.clone()
    }

    /// The store's storage.
    pub fn engines(&self) -> &Engines {
        &self.engines
    }

    /// This store's id.
    pub fn store_id(&self) -> u64 {
        self.cfg.store_id
    }

    /// Handles one request. Refusals are answered through the request's callback.
    pub fn handle(&mut self, msg: StoreMsg) {
        match msg {
            StoreMsg::Raft(m) => self.on_raft_message(*m),
            StoreMsg::Propose {
                region_id,
                epoch,
                request,
                cb,
            } => match self.peers.get_mut(&region_id) {
                Some(p) => p.propose(epoch, request, cb),
                None => cb(Err(Error::RegionNotFound(region_id))),
            },
            StoreMsg::ChangePeer {
                region_id,
                epoch,
                change,
                peer,
                cb,
            } => match self.peers.get_mut(&region_id) {
                Some(p) => p.propose_conf_change(epoch, change, peer, cb),
                None => cb(Err(Error::RegionNotFound(region_id))),
            },
            StoreMsg::Read {
                region_id,
                epoch,
                cb,
            } => match self.peers.get_mut(&region_id) {
                Some(p) => p.read(epoch, cb),
                None => cb(Err(Error::RegionNotFound(region_id))),
            },
            StoreMsg::TransferLeader { region_id, to } => {
                if let Some(p) = self.peers.get_mut(&region_id) {
                    p.raw.transfer_leader(to);
                }
            }
            // The runner stops on it before it gets here.
            StoreMsg::Stop => {}
            StoreMsg::Campaign { region_id } => {
                if let Some(p) = self.peers.get_mut(&region_id) {
                    if let Err(e) = p.raw.campaign() {
                        slog::warn!(self.logger, "campaign failed"; "region" => region_id, "error" => %e);
                    }
                }
            }
            StoreMsg::SnapshotStatus {
                region_id,
                to_peer_id,
                ok,
            } => {
                if let Some(p) = self.peers.get_mut(&region_id) {
                    let status = if ok {
                        SnapshotStatus::Finish
                    } else {
                        SnapshotStatus::Failure
                    };
                    p.raw.report_snapshot(to_peer_id, status);
                }
            }
            StoreMsg::Unreachable {
                region_id,
                to_peer_id,
            } => {
                if let Some(p) = self.peers.get_mut(&region_id) {
                    p.raw.report_unreachable(to_peer_id);
                }
            }
        }
    }

    /// One logical clock tick for every peer (elections, heartbeats, log compaction).
    pub fn tick(&mut self) {
        let mut compactions = Vec::new();
        for peer in self.peers.values_mut() {
            peer.raw.tick();
            peer.gc_ticks += 1;
            if peer.gc_ticks >= self.cfg.log_gc_tick_interval {
                peer.gc_ticks = 0;
                if let Some(c) = compact_target(&self.cfg, peer) {
                    compactions.push((peer.region_id(), c));
                }
            }
        }
        self.split_check_ticks += 1;
        if self.split_check_ticks >= self.cfg.split_check_tick_interval {
            self.split_check_ticks = 0;
            self.schedule_split_checks();
        }
        for (region_id, (index, term)) in compactions {
            let logger = self.logger.clone();
            if let Some(p) = self.peers.get_mut(&region_id) {
                let epoch = p.region().epoch;
                let request = crate::command::Request::CompactLog { index, term };
                p.propose(epoch, request, Box::new(move |r| {
                    if let Err(e) = r {
                        slog::debug!(logger, "log compaction not applied"; "region" => region_id, "error" => %e);
                    }
                }));
            }
        }
    }

    /// Sends the split checker every region led here that took `split_check_diff` bytes
    /// since its last check.
    fn schedule_split_checks(&mut self) {
        let Some(checker) = &self.split_checker else {
            return;
        };
        for peer in self.peers.values_mut() {
            let due = peer.size_diff_hint >= self.cfg.split.split_check_diff;
            if due && peer.is_leader() && peer.raw.store().is_initialized() {
                peer.size_diff_hint = 0;
                checker.schedule(peer.region().clone());
            }
        }
    }

    fn on_raft_message(&mut self, m: RaftMessage) {
        let region_id = m.region_id;
        if self
            .tombstones
            .get(&region_id)
            .is_some_and(|&gone| m.to.id <= gone)
        {
            return;
        }
        if m.to.store_id != self.cfg.store_id {
            return;
        }
        if m.message.get_msg_type() == MessageType::MsgSnapshot {
            if let Err(e) = self.check_snapshot(&m) {
                slog::warn!(self.logger, "snapshot refused"; "region" => region_id, "error" => %e);
                return;
            }
        }
        if !self.peers.contains_key(&region_id) && !self.maybe_create_peer(&m) {
            return;
        }
        if let Some(peer) = self.peers.get_mut(&region_id) {
            if peer.me.id != m.to.id {
                return;
            }
            peer.peer_cache.insert(m.from.id, m.from);
            peer.last_heard.insert(m.from.id, std::time::Instant::now());
            if let Err(e) = peer.raw.step(m.message) {
                slog::debug!(self.logger, "step failed"; "region" => region_id, "error" => %e);
            }
        }
    }

    /// A snapshot is stepped only once its files are here and intact, and if its range
    /// overlaps no other region of this store (invariant 3).
    fn check_snapshot(&self, m: &RaftMessage) -> Result<()> {
        let snap = m.message.get_snapshot();
        let data = SnapshotData::decode(&snap.data)?;
        let key = SnapKey::of(m.region_id, snap);
        self.snaps.verify_received(&self.engines, key, &data)?;
        self.check_no_overlap(&data.region)
    }

    fn check_no_overlap(&self, region: &Region) -> Result<()> {
        for p in self.peers.values() {
            if p.region_id() != region.id
                && p.raw.store().is_initialized()
                && p.region().overlaps(region)
            {
                return Err(Error::InvalidArgument(format!(
                    "region {} overlaps region {} here",
                    region.id,
                    p.region_id()
                )));
            }
        }
        Ok(())
    }

    /// Creates an empty peer for a message to a region this store lacks: a new replica
    /// (it will get a snapshot), or the half of a split this store has not applied yet —
    /// refused while the range is still covered here (the split will create it).
    fn maybe_create_peer(&mut self, m: &RaftMessage) -> bool {
        let creates = matches!(
            m.message.get_msg_type(),
            MessageType::MsgAppend
                | MessageType::MsgHeartbeat
                | MessageType::MsgSnapshot
                | MessageType::MsgRequestVote
                | MessageType::MsgRequestPreVote
        );
        let range = Region {
            id: m.region_id,
            start_key: m.start_key.clone(),
            end_key: m.end_key.clone(),
            ..Default::default()
        };
        if !creates || self.check_no_overlap(&range).is_err() {
            return false;
        }
        let empty = Region {
            id: m.region_id,
            ..Default::default()
        };
        match self.open_peer(empty, m.to) {
            Ok(()) => true,
            Err(e) => {
                slog::warn!(self.logger, "cannot create peer"; "region" => m.region_id, "error" => %e);
                false
            }
        }
    }

    /// True if some peer has a Ready to handle.
    pub fn has_ready(&self) -> bool {
        self.peers.values().any(|p| p.raw.has_ready())
    }

    /// One round of the Ready loop for every peer (see the module docs).
    ///
    /// # Errors
    /// A failed write (fsync) or a corrupt entry: fatal for the store (invariant 2).
    pub fn on_ready(&mut self) -> Result<()> {
        let ids: Vec<u64> = self
            .peers
            .iter()
            .filter(|(_, p)| p.raw.has_ready())
            .map(|(id, _)| *id)
            .collect();
        if ids.is_empty() {
            self.after_round();
            return Ok(());
        }
        let mut wb = WriteBatch::new();
        let mut readies = Vec::with_capacity(ids.len());
        let mut received = Vec::new();
        for id in ids {
            let Some(peer) = self.peers.get_mut(&id) else {
                continue;
            };
            let mut rd = peer.raw.ready();
            let msgs = rd.take_messages();
            self.send(id, msgs);
            let Some(peer) = self.peers.get_mut(&id) else {
                continue;
            };
            if !rd.snapshot().is_empty() {
                received.push(SnapKey::of(id, rd.snapshot()));
                apply_snapshot(&self.engines, &self.snaps, peer, rd.snapshot(), &mut wb)?;
                self.meta.set(peer.info());
            }
            peer.raw.mut_store().append(rd.entries(), &mut wb)?;
            if let Some(hs) = rd.hs() {
                peer.raw.mut_store().set_hard_state(hs, &mut wb)?;
            }
            peer.on_read_states(rd.read_states());
            readies.push((id, rd));
        }
        if !wb.is_empty() {
            let sync = self.cfg.sync_log;
            self.engines.db.write(WriteOptions { sync }, wb)?;
        }
        let mut apply_wb = WriteBatch::new();
        let mut applied = Vec::with_capacity(readies.len());
        for (id, mut rd) in readies {
            let persisted = rd.take_persisted_messages();
            self.send(id, persisted);
            let Some(peer) = self.peers.get_mut(&id) else {
                continue;
            };
            let mut out = Applied::default();
            peer.apply_entries(&rd.take_committed_entries(), &mut apply_wb, &mut out)?;
            let mut light = peer.raw.advance(rd);
            if let Some(commit) = light.commit_index() {
                let mut hs = peer.raw.store().hard_state.clone();
                hs.commit = commit;
                peer.raw.mut_store().set_hard_state(&hs, &mut apply_wb)?;
            }
            peer.apply_entries(&light.take_committed_entries(), &mut apply_wb, &mut out)?;
            peer.raw.advance_apply();
            let msgs = light.take_messages();
            self.send(id, msgs);
            for region in &out.split_born {
                self.prepare_split_born(region, &mut apply_wb)?;
            }
            applied.push((id, out));
        }
        if !apply_wb.is_empty() {
            self.engines
                .db
                .write(WriteOptions { sync: false }, apply_wb)?;
        }
        for (id, out) in applied {
            self.after_apply(id, out)?;
        }
        for key in received {
            self.snaps.remove_received(key)?;
        }
        self.after_round();
        Ok(())
    }

    /// A split-born region's records go in the same apply batch as the split (so a crash
    /// cannot keep one without the other) unless this store already has it initialized
    /// (it got a snapshot of the new region first).
    fn prepare_split_born(&mut self, region: &Region, wb: &mut WriteBatch) -> Result<()> {
        let initialized = self
            .peers
            .get(&region.id)
            .is_some_and(|p| p.raw.store().is_initialized());
        if !initialized && region.peer_on(self.cfg.store_id).is_some() {
            write_initial_state(&self.engines, region, wb)?;
        }
        Ok(())
    }

    /// Creates split-born peers, compacts logs, destroys removed peers, publishes region
    /// changes — and only then answers the proposals, so a caller woken by its answer
    /// already sees what its command did in [`StoreMeta`] (an answered split finds its
    /// regions).
    fn after_apply(&mut self, id: u64, mut out: Applied) -> Result<()> {
        let answers = std::mem::take(&mut out.answers);
        self.finish_apply(id, out)?;
        for (cb, result) in answers {
            cb(result);
        }
        Ok(())
    }

    fn finish_apply(&mut self, id: u64, out: Applied) -> Result<()> {
        let was_leader = self.peers.get(&id).is_some_and(Peer::is_leader);
        for region in out.split_born {
            let initialized = self
                .peers
                .get(&region.id)
                .is_some_and(|p| p.raw.store().is_initialized());
            let Some(me) = region.peer_on(self.cfg.store_id) else {
                continue;
            };
            if initialized {
                continue;
            }
            self.peers.remove(&region.id);
            self.open_peer(region.clone(), me)?;
            // The parent's leader leads the new region at once (no election timeout).
            if was_leader && region.peers.len() > 1 {
                if let Some(p) = self.peers.get_mut(&region.id) {
                    let _ = p.raw.campaign();
                }
            }
        }
        if let Some((from, to)) = out.gc {
            if let Some(p) = self.peers.get(&id) {
                let mut wb = WriteBatch::new();
                p.raw.store().gc_log(from, to, &mut wb)?;
                self.engines.db.write(WriteOptions { sync: false }, wb)?;
            }
        }
        if out.destroy {
            self.destroy_peer(id)?;
        } else if out.region_changed {
            if let Some(p) = self.peers.get(&id) {
                self.meta.set(p.info());
            }
        }
        Ok(())
    }

    /// Publishes changes of leader, term and follower health; fails reads a lost
    /// leadership strands; answers reads whose index is applied.
    fn after_round(&mut self) {
        let now = std::time::Instant::now();
        for peer in self.peers.values_mut() {
            let leader = peer.raw.raft.leader_id;
            let mut changed = false;
            if peer.published_leader != Some(leader) {
                peer.published_leader = Some(leader);
                if peer.is_leader() {
                    peer.leader_since = now;
                }
                peer.on_role_change();
                changed = true;
            }
            let health = peer.health(now);
            if health != peer.published_health {
                peer.published_health = health;
                changed = true;
            }
            if changed && peer.raw.store().is_initialized() {
                self.meta.set(peer.info());
            }
            peer.retry_deferred_reads();
            peer.answer_reads();
        }
    }

    fn send(&mut self, region_id: u64, msgs: Vec<Message>) {
        if msgs.is_empty() {
            return;
        }
        let Some(peer) = self.peers.get(&region_id) else {
            return;
        };
        let region = peer.region().clone();
        let me = peer.me;
        let mut unreachable = Vec::new();
        let mut snapshots = Vec::new();
        // A transport that streams snapshots in the background reports their outcome later
        // (`StoreMsg::SnapshotStatus`); here only a refused send is known.
        let reports_later = self.transport.reports_snapshot_status();
        for m in msgs {
            let Some(to) = peer.lookup(m.to) else {
                continue;
            };
            let is_snapshot = m.get_msg_type() == MessageType::MsgSnapshot;
            let rm = RaftMessage {
                region_id,
                from: me,
                to,
                epoch: region.epoch,
                start_key: region.start_key.clone(),
                end_key: region.end_key.clone(),
                message: m,
            };
            let ok = self.transport.send(rm).is_ok();
            if !ok {
                unreachable.push(to.id);
            }
            if is_snapshot && !(ok && reports_later) {
                snapshots.push((to.id, ok));
            }
        }
        if let Some(peer) = self.peers.get_mut(&region_id) {
            for id in unreachable {
                peer.raw.report_unreachable(id);
            }
            for (id, ok) in snapshots {
                let status = if ok {
                    SnapshotStatus::Finish
                } else {
                    SnapshotStatus::Failure
                };
                peer.raw.report_snapshot(id, status);
            }
        }
    }

    /// Removes a peer this store no longer holds: its data, its log, and a tombstone.
    fn destroy_peer(&mut self, id: u64) -> Result<()> {
        let Some(mut peer) = self.peers.remove(&id) else {
            return Ok(());
        };
        peer.pending.fail_all(|| Error::RegionNotFound(id));
        peer.raw.store().cancel_snapshot_generation();
        let region = peer.region().clone();
        let mut wb = WriteBatch::new();
        let (start, _) = state::region_records(id);
        wb.delete_range(self.engines.raft_cf, &start, &state::region_state_key(id))?;
        write_region_state(&self.engines, &region, PeerState::Tombstone, &mut wb);
        clear_range(&self.engines, &region, &mut wb)?;
        self.engines.db.write(WriteOptions { sync: true }, wb)?;
        self.meta.remove(id);
        self.tombstones.insert(id, peer.me.id);
        self.snaps.remove_generated(id)?;
        Ok(())
    }

    /// After a crash mid-ingest: the range cleared, the log and apply state reset to empty.
    fn clear_for_snapshot(&self, region: &Region) -> Result<()> {
        let mut wb = WriteBatch::new();
        clear_range(&self.engines, region, &mut wb)?;
        let (start, _) = state::region_records(region.id);
        wb.delete_range(
            self.engines.raft_cf,
            &start,
            &state::hard_state_key(region.id),
        )?;
        wb.put(
            self.engines.raft_cf,
            &state::apply_state_key(region.id),
            &ApplyState::default().encode(),
        );
        write_region_state(&self.engines, region, PeerState::Normal, &mut wb);
        self.engines.db.write(WriteOptions { sync: true }, wb)?;
        Ok(())
    }

    /// Fails everything pending (the store is stopping).
    pub fn stop(&mut self) {
        for peer in self.peers.values_mut() {
            peer.pending.fail_all(|| Error::Stopped);
        }
    }

    /// Ids of the regions this store has a peer of (initialized or not).
    pub fn region_ids(&self) -> Vec<u64> {
        self.peers.keys().copied().collect()
    }

    /// Bytes applied to a region's peer here since it was last sent to the split checker
    /// (`u64::MAX`: due at the next check) — tests, diagnostics.
    pub fn split_check_hint(&self, region_id: u64) -> Option<u64> {
        self.peers.get(&region_id).map(|p| p.size_diff_hint)
    }

    /// The raft-rs status of a region's peer here (tests, diagnostics).
    pub fn raft_status(&self, region_id: u64) -> Option<(raft::StateRole, u64, u64, u64)> {
        self.peers.get(&region_id).map(|p| {
            let s = p.raw.store();
            (
                p.raw.raft.state,
                p.raw.raft.term,
                s.apply.applied_index,
                s.apply.truncated_index,
            )
        })
    }
}

/// The region id any key of the `raft` column family belongs to.
fn region_of_any_key(key: &[u8]) -> Option<u64> {
    let id = key.get(1..9)?;
    let mut b = [0; 8];
    b.copy_from_slice(id);
    Some(u64::from_be_bytes(b))
}

/// Deletes `region`'s data in every KV family into `wb`.
fn clear_range(engines: &Engines, region: &Region, wb: &mut WriteBatch) -> Result<()> {
    let snap = engines.kv.snapshot();
    for cf in mvcc::Cf::ALL {
        let (start, end) = engines.keyspace.cf_bounds(region, cf)?;
        let end = match end {
            Some(e) => Some(e),
            None => mvcc::end_past_last(&snap, cf, &start)?,
        };
        if let Some(end) = end {
            if start < end {
                wb.delete_range(engines.kv.cf_id(cf), &start, &end)?;
            }
        }
    }
    Ok(())
}

/// Applies a received snapshot: clear the range and mark the peer Applying (durable), ingest
/// the files, then (in the round's batch) the new region, apply state and an empty log.
fn apply_snapshot(
    engines: &Engines,
    snaps: &SnapManager,
    peer: &mut Peer,
    snap: &Snapshot,
    wb: &mut WriteBatch,
) -> Result<()> {
    let data = SnapshotData::decode(&snap.data)?;
    let key = SnapKey::of(peer.region_id(), snap);
    let paths = snaps.verify_received(engines, key, &data)?;
    let mut pre = WriteBatch::new();
    write_region_state(engines, &data.region, PeerState::Applying, &mut pre);
    clear_range(engines, &data.region, &mut pre)?;
    engines.db.write(WriteOptions { sync: true }, pre)?;
    if !paths.is_empty() {
        engines.db.ingest_sst(&paths)?;
    }
    let (index, term) = (key.index, key.term);
    write_region_state(engines, &data.region, PeerState::Normal, wb);
    peer.set_region(data.region);
    let storage = peer.raw.mut_store();
    storage.reset_log(index, term, wb)?;
    storage.set_apply_state(
        ApplyState {
            applied_index: index,
            truncated_index: index,
            truncated_term: term,
        },
        wb,
    );
    Ok(())
}

/// Where a leader compacts its log to, if anywhere: to what every follower has, once
/// `log_gc_threshold` applied entries are kept; to the applied index (lagging followers
/// then need a snapshot) once more than `log_gc_count_limit` are.
fn compact_target(cfg: &StoreConfig, peer: &Peer) -> Option<(u64, u64)> {
    if !peer.is_leader() {
        return None;
    }
    let apply = peer.raw.store().apply;
    let kept = apply.applied_index.saturating_sub(apply.truncated_index);
    if kept < cfg.log_gc_threshold {
        return None;
    }
    let replicated = peer
        .raw
        .raft
        .prs()
        .iter()
        .map(|(_, pr)| pr.matched)
        .min()
        .unwrap_or(0);
    let target = if kept > cfg.log_gc_count_limit {
        apply.applied_index
    } else {
        replicated.min(apply.applied_index)
    };
    if target <= apply.truncated_index {
        return None;
    }
    let term = peer.raw.raft.raft_log.term(target).ok()?;
    Some((target, term))
}
