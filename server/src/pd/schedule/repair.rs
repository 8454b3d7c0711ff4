//! Replica repair: a region with fewer than `max-replicas` peers and none of them down gets
//! a new peer on the target store with the fewest regions (ties: lowest id). With fewer
//! target stores than `max-replicas`, it repairs as far as the stores allow and then waits.
//!
//! Regions with down peers are left to the down-peer rule, which pairs the new peer with the
//! removal of the lost one.

use super::operator::{Kind, Plan, Step};
use super::view::{RegionView, Stores};
use super::ScheduleConfig;
use crate::proto::metapb;

pub(crate) fn check(r: &RegionView, stores: &Stores, cfg: &ScheduleConfig) -> Option<Plan> {
    if r.region.peers.len() >= cfg.max_replicas() || !r.down(stores, cfg).is_empty() {
        return None;
    }
    let store_id = r.add_target(stores)?;
    Some(Plan {
        rule: "replica-repair",
        kind: Kind::Replica,
        steps: vec![Step::AddPeer(metapb::Peer {
            store_id,
            ..Default::default()
        })],
    })
}

#[cfg(test)]
mod tests {
    use super::super::view::tests::{region, stores};
    use super::super::view::StoreState;
    use super::*;

    fn added_on(plan: Option<Plan>) -> Option<u64> {
        match plan?.steps.as_slice() {
            [Step::AddPeer(p)] => Some(p.store_id),
            other => panic!("unexpected steps {other:?}"),
        }
    }

    #[test]
    fn adds_on_the_least_loaded_store_without_a_peer() {
        let cfg = ScheduleConfig::default();
        let s = stores(&[(5, 5), (3, 0), (2, 0), (2, 0)]);
        // Stores 3 and 4 tie on load: the lowest id wins.
        assert_eq!(added_on(check(&region(&[(11, 1)]), &s, &cfg)), Some(3));
        assert_eq!(
            added_on(check(&region(&[(11, 1), (13, 3)]), &s, &cfg)),
            Some(4)
        );
        assert_eq!(check(&region(&[(11, 1), (12, 2), (13, 3)]), &s, &cfg), None);
    }

    #[test]
    fn only_up_stores_that_heartbeated_receive_peers() {
        let cfg = ScheduleConfig::default();
        let mut s = stores(&[(1, 1), (0, 0), (0, 0), (9, 0)]);
        s.0.get_mut(&2).unwrap().heartbeated = false;
        s.0.get_mut(&3).unwrap().state = StoreState::Offline;
        assert_eq!(added_on(check(&region(&[(11, 1)]), &s, &cfg)), Some(4));
        s.0.get_mut(&4).unwrap().state = StoreState::Tombstone;
        assert_eq!(
            check(&region(&[(11, 1)]), &s, &cfg),
            None,
            "no store to repair onto"
        );
    }

    #[test]
    fn leaves_regions_with_down_peers_to_the_down_rule() {
        let cfg = ScheduleConfig::default();
        let mut s = stores(&[(1, 1), (1, 0), (0, 0)]);
        s.0.get_mut(&2).unwrap().state = StoreState::Down;
        assert_eq!(check(&region(&[(11, 1), (12, 2)]), &s, &cfg), None);
    }
}
