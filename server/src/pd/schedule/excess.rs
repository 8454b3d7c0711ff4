//! Excess replicas: a region with more than `max-replicas` voters, all healthy, loses one —
//! a pending peer first (it has not caught up: least is lost), else the peer on the store
//! with the most regions (ties: highest store id). The leader is never removed while it
//! leads: leadership moves to a follower first, in the same operator. Learners are not
//! replicas here (the learner rule, which runs first, promotes or removes them).
//!
//! Down peers are the down-peer rule's; this rule never removes a healthy peer to make room
//! for anything, only to come back down to `max-replicas`.

use super::operator::{removal_steps, Kind, Plan};
use super::view::{RegionView, Stores};
use super::ScheduleConfig;

pub(crate) fn check(r: &RegionView, stores: &Stores, cfg: &ScheduleConfig) -> Option<Plan> {
    if r.voters().count() <= cfg.max_replicas() || !r.down(stores, cfg).is_empty() {
        return None;
    }
    let load = |store_id| stores.get(store_id).map_or(0, |s| s.regions);
    let victim = *r
        .voters()
        .max_by_key(|p| (r.is_pending(p.id), load(p.store_id), p.store_id))?;
    Some(Plan {
        rule: "remove-extra-replica",
        kind: Kind::Replica,
        steps: removal_steps(r, stores, cfg, victim)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::operator::Step;
    use super::super::view::tests::{peer, region, stores};
    use super::super::view::StoreState;
    use super::*;

    #[test]
    fn removes_from_the_most_loaded_store() {
        let cfg = ScheduleConfig::default();
        let s = stores(&[(1, 1), (5, 0), (9, 0), (9, 0)]);
        let r = region(&[(11, 1), (12, 2), (13, 3), (14, 4)]);
        // Stores 3 and 4 tie: the highest id goes.
        assert_eq!(
            check(&r, &s, &cfg).unwrap().steps,
            vec![Step::RemovePeer(peer(14, 4))]
        );
        assert_eq!(check(&region(&[(11, 1), (12, 2), (13, 3)]), &s, &cfg), None);
    }

    #[test]
    fn a_pending_peer_goes_first() {
        let cfg = ScheduleConfig::default();
        let s = stores(&[(1, 1), (5, 0), (9, 0), (9, 0)]);
        let mut r = region(&[(11, 1), (12, 2), (13, 3), (14, 4)]);
        r.pending_peers = vec![12];
        assert_eq!(
            check(&r, &s, &cfg).unwrap().steps,
            vec![Step::RemovePeer(peer(12, 2))]
        );
    }

    #[test]
    fn the_leader_hands_over_before_it_is_removed() {
        let cfg = ScheduleConfig::default();
        let s = stores(&[(9, 3), (5, 2), (5, 1), (5, 1)]);
        let r = region(&[(11, 1), (12, 2), (13, 3), (14, 4)]);
        assert_eq!(
            check(&r, &s, &cfg).unwrap().steps,
            vec![
                Step::TransferLeader {
                    from: 1,
                    to: peer(13, 3)
                },
                Step::RemovePeer(peer(11, 1)),
            ]
        );
    }

    #[test]
    fn leaves_down_peers_to_the_down_rule() {
        let cfg = ScheduleConfig::default();
        let mut s = stores(&[(1, 1), (5, 0), (9, 0), (9, 0)]);
        s.0.get_mut(&2).unwrap().state = StoreState::Down;
        let r = region(&[(11, 1), (12, 2), (13, 3), (14, 4)]);
        assert_eq!(check(&r, &s, &cfg), None);
    }
}
