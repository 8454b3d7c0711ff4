//! The cluster as the scheduling rules see it: each store's state and load, and one region
//! as its leader last reported it. Built per heartbeat by the caller; the rules only read it.
//!
//! A peer is *down* when its store is Down or Tombstone (or unknown to PD), or when the
//! leader reports it in `down_peers` for at least `max-store-down-time`. Every other peer
//! is *healthy*, pending ones included (they are catching up, not lost).
//!
//! Peers are voters or learners (`metapb::PeerRole`; no joint-consensus roles are ever
//! made). Only voters are replicas for `max-replicas`; a learner is a replica on its way in.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::ScheduleConfig;
use crate::proto::metapb;

/// True for a learner (any other role counts as a voter: joint roles are never made here).
pub(crate) fn is_learner(p: &metapb::Peer) -> bool {
    p.role == metapb::PeerRole::Learner as i32
}

/// A store's state as PD's API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreState {
    /// Registered and heartbeating (or not yet silent for `max-store-down-time`).
    Up,
    /// Being taken out of service by an operator: keeps its peers, takes no new ones.
    Offline,
    /// Silent for at least `max-store-down-time`: its peers are replaced.
    Down,
    /// Removed for good.
    Tombstone,
}

impl StoreState {
    /// The name PD's HTTP API shows (`state_name`).
    pub fn name(self) -> &'static str {
        match self {
            StoreState::Up => "Up",
            StoreState::Offline => "Offline",
            StoreState::Down => "Down",
            StoreState::Tombstone => "Tombstone",
        }
    }

    /// The state of a store whose persisted state is `meta_state` and whose last heartbeat
    /// was at `last_heartbeat`. A store not heard from since PD started counts from
    /// `started`, so a PD restart does not declare every store down at once.
    pub fn of(
        meta_state: i32,
        last_heartbeat: Option<SystemTime>,
        started: SystemTime,
        now: SystemTime,
        max_down: Duration,
    ) -> StoreState {
        if meta_state == metapb::StoreState::Tombstone as i32 {
            return StoreState::Tombstone;
        }
        let since = last_heartbeat.unwrap_or(started);
        if now.duration_since(since).unwrap_or_default() >= max_down {
            return StoreState::Down;
        }
        if meta_state == metapb::StoreState::Offline as i32 {
            StoreState::Offline
        } else {
            StoreState::Up
        }
    }
}

/// One store: state and load, the load including the in-flight operators' effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoreView {
    pub id: u64,
    pub state: StoreState,
    /// Has heartbeated since PD started: only such stores receive new peers (a store that
    /// never reported may not be running).
    pub heartbeated: bool,
    /// Peers on the store.
    pub regions: i64,
    /// Region leaders on the store.
    pub leaders: i64,
}

impl StoreView {
    /// May receive a new peer or leadership.
    pub fn is_target(&self) -> bool {
        self.state == StoreState::Up && self.heartbeated
    }
}

/// All stores by id (ordered: ties are broken by the lowest id, deterministically).
#[derive(Debug, Clone, Default)]
pub(crate) struct Stores(pub BTreeMap<u64, StoreView>);

impl Stores {
    pub fn get(&self, id: u64) -> Option<&StoreView> {
        self.0.get(&id)
    }

    /// Adds an operator's pending effect on store `id` (unknown stores are ignored).
    pub fn add_load(&mut self, id: u64, regions: i64, leaders: i64) {
        if let Some(s) = self.0.get_mut(&id) {
            s.regions += regions;
            s.leaders += leaders;
        }
    }
}

/// A region as its leader reported it in the heartbeat being handled.
#[derive(Debug, Clone)]
pub(crate) struct RegionView {
    pub region: metapb::Region,
    /// REQUIRES: one of `region.peers`.
    pub leader: metapb::Peer,
    /// `(peer id, seconds down)` as the leader reported.
    pub down_peers: Vec<(u64, u64)>,
    /// Ids of the peers still catching up (receiving a snapshot or log).
    pub pending_peers: Vec<u64>,
}

impl RegionView {
    pub fn peer_on(&self, store_id: u64) -> Option<&metapb::Peer> {
        self.region.peers.iter().find(|p| p.store_id == store_id)
    }

    pub fn has_peer(&self, peer_id: u64) -> bool {
        self.peer(peer_id).is_some()
    }

    pub fn peer(&self, peer_id: u64) -> Option<&metapb::Peer> {
        self.region.peers.iter().find(|p| p.id == peer_id)
    }

    /// The voters: the region's replicas for `max-replicas`.
    pub fn voters(&self) -> impl Iterator<Item = &metapb::Peer> {
        self.region.peers.iter().filter(|p| !is_learner(p))
    }

    /// The learners, in the order reported.
    pub fn learners(&self) -> impl Iterator<Item = &metapb::Peer> {
        self.region.peers.iter().filter(|p| is_learner(p))
    }

    pub fn is_pending(&self, peer_id: u64) -> bool {
        self.pending_peers.contains(&peer_id)
    }

    /// See the module docs.
    pub fn is_down(&self, p: &metapb::Peer, stores: &Stores, cfg: &ScheduleConfig) -> bool {
        let store_lost = stores
            .get(p.store_id)
            .is_none_or(|s| matches!(s.state, StoreState::Down | StoreState::Tombstone));
        let reported = self
            .down_peers
            .iter()
            .any(|&(id, secs)| id == p.id && secs >= cfg.max_store_down_time.as_secs());
        store_lost || reported
    }

    /// The down peers, in peer id order.
    pub fn down(&self, stores: &Stores, cfg: &ScheduleConfig) -> Vec<metapb::Peer> {
        let mut v: Vec<_> = (self.region.peers.iter())
            .filter(|p| self.is_down(p, stores, cfg))
            .copied()
            .collect();
        v.sort_by_key(|p| p.id);
        v
    }

    /// The store that should receive a new peer: a target store without a peer of this
    /// region, the one with the fewest regions (ties: lowest id).
    pub fn add_target(&self, stores: &Stores) -> Option<u64> {
        (stores.0.values())
            .filter(|s| s.is_target() && self.peer_on(s.id).is_none())
            .min_by_key(|s| (s.regions, s.id))
            .map(|s| s.id)
    }

    /// The follower that should take leadership: a voter, healthy, not pending, on a target
    /// store with the fewest leaders (ties: lowest store id), never `except`.
    pub fn leader_target(
        &self,
        stores: &Stores,
        cfg: &ScheduleConfig,
        except: u64,
    ) -> Option<(metapb::Peer, StoreView)> {
        self.voters()
            .filter(|p| p.id != self.leader.id && p.id != except && !self.is_pending(p.id))
            .filter(|p| !self.is_down(p, stores, cfg))
            .filter_map(|p| Some((*p, *stores.get(p.store_id)?)))
            .filter(|(_, s)| s.is_target())
            .min_by_key(|(_, s)| (s.leaders, s.id))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Stores `1..=n`, Up and heartbeated, with the given region and leader counts.
    pub fn stores(load: &[(i64, i64)]) -> Stores {
        Stores(
            (1..)
                .zip(load)
                .map(|(id, &(regions, leaders))| {
                    let s = StoreView {
                        id,
                        state: StoreState::Up,
                        heartbeated: true,
                        regions,
                        leaders,
                    };
                    (id, s)
                })
                .collect(),
        )
    }

    pub fn peer(id: u64, store_id: u64) -> metapb::Peer {
        metapb::Peer {
            id,
            store_id,
            ..Default::default()
        }
    }

    pub fn learner(id: u64, store_id: u64) -> metapb::Peer {
        metapb::Peer {
            role: metapb::PeerRole::Learner as i32,
            ..peer(id, store_id)
        }
    }

    /// Region 1 with peers `(id, store)`, led by the first.
    pub fn region(peers: &[(u64, u64)]) -> RegionView {
        let peers: Vec<_> = peers.iter().map(|&(id, s)| peer(id, s)).collect();
        RegionView {
            leader: peers[0],
            region: metapb::Region {
                id: 1,
                peers,
                region_epoch: Some(metapb::RegionEpoch {
                    conf_ver: 1,
                    version: 1,
                }),
                ..Default::default()
            },
            down_peers: Vec::new(),
            pending_peers: Vec::new(),
        }
    }

    #[test]
    fn store_state_follows_heartbeats_and_meta() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let down = Duration::from_secs(60);
        let at = |s| t0 + Duration::from_secs(s);
        let up = metapb::StoreState::Up as i32;
        assert_eq!(
            StoreState::of(up, Some(t0), t0, at(59), down),
            StoreState::Up
        );
        assert_eq!(
            StoreState::of(up, Some(t0), t0, at(60), down),
            StoreState::Down
        );
        // Never heard from: counted from PD's start.
        assert_eq!(
            StoreState::of(up, None, at(30), at(80), down),
            StoreState::Up
        );
        assert_eq!(
            StoreState::of(up, None, at(30), at(90), down),
            StoreState::Down
        );
        let tomb = metapb::StoreState::Tombstone as i32;
        assert_eq!(
            StoreState::of(tomb, Some(t0), t0, t0, down),
            StoreState::Tombstone
        );
        let off = metapb::StoreState::Offline as i32;
        assert_eq!(
            StoreState::of(off, Some(t0), t0, t0, down),
            StoreState::Offline
        );
    }

    #[test]
    fn a_learner_never_takes_leadership() {
        let cfg = ScheduleConfig::default();
        let s = stores(&[(1, 5), (1, 3), (1, 0)]);
        let mut r = region(&[(11, 1), (12, 2)]);
        r.region.peers.push(learner(13, 3));
        // Store 3 has the fewest leaders, but its peer is a learner.
        assert_eq!(r.leader_target(&s, &cfg, 0).map(|(p, _)| p.id), Some(12));
        assert_eq!(r.voters().count(), 2);
        assert_eq!(r.learners().map(|p| p.id).collect::<Vec<_>>(), vec![13]);
    }

    #[test]
    fn down_peers_come_from_store_state_or_long_reports() {
        let cfg = ScheduleConfig::default();
        let mut s = stores(&[(1, 1), (1, 0), (1, 0), (0, 0)]);
        s.0.get_mut(&2).unwrap().state = StoreState::Down;
        let mut r = region(&[(11, 1), (12, 2), (13, 3), (14, 9)]);
        // Reported down, but not for long enough yet.
        r.down_peers = vec![(13, cfg.max_store_down_time.as_secs() - 1)];
        assert_eq!(r.down(&s, &cfg), vec![peer(12, 2), peer(14, 9)]);
        r.down_peers = vec![(13, cfg.max_store_down_time.as_secs())];
        assert_eq!(r.down(&s, &cfg).len(), 3);
    }
}
