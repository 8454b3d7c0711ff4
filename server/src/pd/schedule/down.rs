//! Down peers: a peer whose store is Down (or Tombstone), or that its leader has reported
//! down for at least `max-store-down-time`, counts as missing. It is replaced: one operator
//! adds a peer on the least loaded target store, then removes the down peer (moving
//! leadership away first in the odd case that the leader itself is the down peer).
//!
//! With no store to add on, a down peer stays while the region has at most `max-replicas`
//! peers (its store may come back; removing it would not add safety), and is removed alone
//! when the region has more (a smaller group needs fewer live votes).

use super::operator::{removal_steps, Kind, Plan, Step};
use super::view::{RegionView, Stores};
use super::ScheduleConfig;
use crate::proto::metapb;

pub(crate) fn check(r: &RegionView, stores: &Stores, cfg: &ScheduleConfig) -> Option<Plan> {
    let down = r.down(stores, cfg);
    let lost = *down.first()?;
    let peers = r.region.peers.len();
    let healthy = peers - down.len();
    let mut steps = Vec::new();
    if healthy < cfg.max_replicas() {
        match r.add_target(stores) {
            Some(store_id) => steps.push(Step::AddPeer(metapb::Peer {
                store_id,
                ..Default::default()
            })),
            None if peers <= cfg.max_replicas() => return None,
            None => {}
        }
    }
    steps.extend(removal_steps(r, stores, cfg, lost)?);
    Some(Plan {
        rule: "replace-down-peer",
        kind: Kind::Replica,
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::super::view::tests::{peer, region, stores};
    use super::super::view::StoreState;
    use super::*;

    fn down(s: &mut Stores, id: u64) {
        s.0.get_mut(&id).unwrap().state = StoreState::Down;
    }

    #[test]
    fn replaces_a_down_peer_add_first() {
        let cfg = ScheduleConfig::default();
        let mut s = stores(&[(3, 1), (3, 0), (3, 0), (1, 0), (0, 0)]);
        down(&mut s, 3);
        let plan = check(&region(&[(11, 1), (12, 2), (13, 3)]), &s, &cfg).unwrap();
        assert_eq!(
            plan.steps,
            vec![Step::AddPeer(peer(0, 5)), Step::RemovePeer(peer(13, 3))]
        );
    }

    #[test]
    fn a_long_reported_down_peer_is_replaced_too() {
        let cfg = ScheduleConfig::default();
        let s = stores(&[(3, 1), (3, 0), (3, 0), (0, 0)]);
        let mut r = region(&[(11, 1), (12, 2), (13, 3)]);
        r.down_peers = vec![(12, cfg.max_store_down_time.as_secs() - 1)];
        assert_eq!(check(&r, &s, &cfg), None, "not down for long enough");
        r.down_peers = vec![(12, cfg.max_store_down_time.as_secs())];
        let plan = check(&r, &s, &cfg).unwrap();
        assert_eq!(
            plan.steps,
            vec![Step::AddPeer(peer(0, 4)), Step::RemovePeer(peer(12, 2))]
        );
    }

    #[test]
    fn with_enough_healthy_peers_only_removes() {
        let cfg = ScheduleConfig::default();
        let mut s = stores(&[(4, 1), (4, 0), (4, 0), (4, 0)]);
        down(&mut s, 2);
        let plan = check(&region(&[(11, 1), (12, 2), (13, 3), (14, 4)]), &s, &cfg).unwrap();
        assert_eq!(plan.steps, vec![Step::RemovePeer(peer(12, 2))]);
    }

    #[test]
    fn without_a_store_to_add_on_keeps_the_peer_unless_in_excess() {
        let cfg = ScheduleConfig::default();
        let mut s = stores(&[(3, 1), (3, 0), (3, 0)]);
        down(&mut s, 3);
        assert_eq!(check(&region(&[(11, 1), (12, 2), (13, 3)]), &s, &cfg), None);
        // Four peers, two of them down, nowhere to add: drop one down peer (lowest id).
        let mut s = stores(&[(3, 1), (3, 0), (3, 0), (3, 0)]);
        down(&mut s, 3);
        down(&mut s, 4);
        let plan = check(&region(&[(11, 1), (12, 2), (14, 4), (13, 3)]), &s, &cfg).unwrap();
        assert_eq!(plan.steps, vec![Step::RemovePeer(peer(13, 3))]);
    }

    #[test]
    fn a_down_leader_hands_over_before_it_is_removed() {
        let cfg = ScheduleConfig::default();
        let mut s = stores(&[(3, 1), (3, 2), (3, 0), (0, 0)]);
        down(&mut s, 1);
        let plan = check(&region(&[(11, 1), (12, 2), (13, 3)]), &s, &cfg).unwrap();
        assert_eq!(
            plan.steps,
            vec![
                Step::AddPeer(peer(0, 4)),
                Step::TransferLeader {
                    from: 1,
                    to: peer(13, 3)
                },
                Step::RemovePeer(peer(11, 1)),
            ]
        );
    }
}
