//! What a leader reports about its followers' health (to PD, through [`StoreMeta`]):
//! *pending* peers — those that cannot catch up from the log, either new (no entry
//! replicated yet) or behind the compacted log (they need a snapshot) — and *down* peers,
//! not heard from for `max_peer_down_duration`.
//!
//! PD finishes an add-peer step only once the new peer is listed and no longer pending, and
//! replaces peers that stay down; so "pending" must stay true until the peer really holds
//! the region's data. Pure functions: the Raft thread supplies the progress and the clock.
//!
//! [`StoreMeta`]: crate::StoreMeta

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::region::{Peer, Region};

/// A peer the leader has not heard from for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownPeer {
    /// The peer.
    pub peer: Peer,
    /// When the leader last heard from it (or became leader, if never).
    pub silent_since: Instant,
}

/// Followers of `region` (all but `me`, learners too) that cannot catch up from the log: `matched` (the
/// leader's Raft progress: highest index known replicated on each peer, absent if the
/// leader tracks none) is 0 or behind `truncated_index`.
pub fn pending_peers(
    region: &Region,
    me: Peer,
    matched: impl Fn(u64) -> Option<u64>,
    truncated_index: u64,
) -> Vec<Peer> {
    region
        .peers
        .iter()
        .copied()
        .filter(|p| p.id != me.id)
        .filter(|p| matched(p.id).is_none_or(|m| m == 0 || m < truncated_index))
        .collect()
}

/// Followers of `region` silent for at least `max_down` at `now`. `last_heard` holds, per
/// peer id, the last time a message came from it; a peer never heard from counts from
/// `leader_since` (a new leader gives everyone a full period).
pub fn down_peers(
    region: &Region,
    me: Peer,
    last_heard: &HashMap<u64, Instant>,
    leader_since: Instant,
    now: Instant,
    max_down: Duration,
) -> Vec<DownPeer> {
    region
        .peers
        .iter()
        .copied()
        .filter(|p| p.id != me.id)
        .filter_map(|p| {
            let heard = last_heard
                .get(&p.id)
                .copied()
                .map_or(leader_since, |t| t.max(leader_since));
            (now.saturating_duration_since(heard) >= max_down).then_some(DownPeer {
                peer: p,
                silent_since: heard,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region() -> (Region, Peer) {
        let me = Peer::new(1, 1);
        let r = Region {
            id: 9,
            // 4 is a learner: pending and down by the same rules as voters.
            peers: vec![me, Peer::new(2, 2), Peer::new(3, 3), Peer::learner(4, 4)],
            ..Default::default()
        };
        (r, me)
    }

    #[test]
    fn pending_means_cannot_catch_up_from_the_log() {
        let (r, me) = region();
        // 2 is caught up, 3 new (0), 4 behind the compacted log; the leader is never pending.
        let matched = |id: u64| match id {
            1 | 2 => Some(100),
            3 => Some(0),
            4 => Some(40),
            _ => None,
        };
        let ids: Vec<u64> = pending_peers(&r, me, matched, 50)
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(ids, vec![3, 4]);
        // Not tracked at all (just added, progress not created yet): pending.
        let ids: Vec<u64> = pending_peers(&r, me, |id| (id != 2).then_some(100), 50)
            .iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(ids, vec![2]);
    }

    #[test]
    fn down_counts_from_the_last_message_or_from_leadership() {
        let (r, me) = region();
        let t0 = Instant::now();
        let max = Duration::from_secs(60);
        let heard = HashMap::from([(2, t0 + Duration::from_secs(100)), (3, t0)]);
        let now = t0 + Duration::from_secs(130);
        // 3 silent 130 s; 2 heard 30 s ago; 4 never heard, leader since t0: 130 s.
        let down = down_peers(&r, me, &heard, t0, now, max);
        let ids: Vec<u64> = down.iter().map(|d| d.peer.id).collect();
        assert_eq!(ids, vec![3, 4]);
        assert_eq!(down[0].silent_since, t0);
        // A leader of 10 s gives everyone a full period, whatever came before.
        let since = now - Duration::from_secs(10);
        assert!(down_peers(&r, me, &heard, since, now, max).is_empty());
    }
}
