//! Replica repair: a region with fewer than `max-replicas` voters, none of its peers down
//! and no learner, gets a new replica on the target store with the fewest regions (ties:
//! lowest id): a learner there, promoted once caught up. With fewer target stores than
//! `max-replicas`, it repairs as far as the stores allow and then waits.
//!
//! Regions with down peers are left to the down-peer rule, which pairs the new replica with
//! the removal of the lost one; regions with a learner to the learner rule.

use super::operator::{add_steps, Kind, Plan};
use super::view::{RegionView, Stores};
use super::ScheduleConfig;

pub(crate) fn check(r: &RegionView, stores: &Stores, cfg: &ScheduleConfig) -> Option<Plan> {
    if r.voters().count() >= cfg.max_replicas()
        || r.learners().next().is_some()
        || !r.down(stores, cfg).is_empty()
    {
        return None;
    }
    let store_id = r.add_target(stores)?;
    Some(Plan {
        rule: "replica-repair",
        kind: Kind::Replica,
        steps: add_steps(store_id).to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::operator::Step;
    use super::super::view::tests::{learner, region, stores};
    use super::super::view::StoreState;
    use super::*;

    fn added_on(plan: Option<Plan>) -> Option<u64> {
        match plan?.steps.as_slice() {
            [Step::AddLearner(p), Step::PromoteLearner(q)] if p.store_id == q.store_id => {
                Some(p.store_id)
            }
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
    fn a_learner_is_not_a_replica_but_leaves_the_region_to_the_learner_rule() {
        let cfg = ScheduleConfig::default();
        let s = stores(&[(5, 5), (3, 0), (2, 0), (2, 0)]);
        let mut r = region(&[(11, 1), (12, 2)]);
        r.region.peers.push(learner(13, 3));
        assert_eq!(check(&r, &s, &cfg), None);
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
