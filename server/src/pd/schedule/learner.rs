//! Orphan learners: a learner with no operator to finish it — its operator timed out or was
//! dropped, or PD restarted and lost it (operators live in memory). A learner is never left
//! as it is: it holds no vote, so it adds nothing to the region's safety.
//!
//! - The region has fewer than `max-replicas` healthy (not down) voters: the learner is
//!   promoted (the step waits while the leader reports it pending, as every promotion
//!   does); the down-peer rule then removes the down voter it replaces.
//! - Otherwise it is not needed and is removed.
//!
//! One learner per plan (the lowest id); the next heartbeat after it finishes handles the
//! next. Runs before the down-peer rule; a down learner is that rule's (it removes it).

use super::operator::{Kind, Plan, Step};
use super::view::{RegionView, Stores};
use super::ScheduleConfig;

pub(crate) fn check(r: &RegionView, stores: &Stores, cfg: &ScheduleConfig) -> Option<Plan> {
    let learner = *r
        .learners()
        .filter(|p| !r.is_down(p, stores, cfg))
        .min_by_key(|p| p.id)?;
    let healthy_voters = r.voters().filter(|p| !r.is_down(p, stores, cfg)).count();
    let (rule, step) = if healthy_voters < cfg.max_replicas() {
        ("promote-learner", Step::PromoteLearner(learner))
    } else {
        ("remove-learner", Step::RemovePeer(learner))
    };
    Some(Plan {
        rule,
        kind: Kind::Replica,
        steps: vec![step],
    })
}

#[cfg(test)]
mod tests {
    use super::super::view::tests::{learner, region, stores};
    use super::super::view::StoreState;
    use super::*;

    fn with_learners(voters: &[(u64, u64)], learners: &[(u64, u64)]) -> RegionView {
        let mut r = region(voters);
        (r.region.peers).extend(learners.iter().map(|&(id, s)| learner(id, s)));
        r
    }

    #[test]
    fn promoted_while_voters_are_short_removed_otherwise() {
        let cfg = ScheduleConfig::default();
        let s = stores(&[(1, 1), (1, 0), (1, 0), (1, 0)]);
        // Three peers, but only two voters: the learner becomes the third.
        let r = with_learners(&[(11, 1), (12, 2)], &[(14, 4), (13, 3)]);
        let plan = check(&r, &s, &cfg).unwrap();
        assert_eq!(plan.steps, vec![Step::PromoteLearner(learner(13, 3))]);
        let r = with_learners(&[(11, 1), (12, 2), (13, 3)], &[(14, 4)]);
        let plan = check(&r, &s, &cfg).unwrap();
        assert_eq!(plan.steps, vec![Step::RemovePeer(learner(14, 4))]);
        assert_eq!(check(&region(&[(11, 1)]), &s, &cfg), None, "no learner");
    }

    #[test]
    fn a_learner_replaces_a_down_voter() {
        let cfg = ScheduleConfig::default();
        let mut s = stores(&[(1, 1), (1, 0), (1, 0), (1, 0)]);
        s.0.get_mut(&3).unwrap().state = StoreState::Down;
        let r = with_learners(&[(11, 1), (12, 2), (13, 3)], &[(14, 4)]);
        let plan = check(&r, &s, &cfg).unwrap();
        assert_eq!(plan.steps, vec![Step::PromoteLearner(learner(14, 4))]);
    }

    #[test]
    fn a_down_learner_is_left_to_the_down_rule() {
        let cfg = ScheduleConfig::default();
        let mut s = stores(&[(1, 1), (1, 0), (1, 0)]);
        s.0.get_mut(&3).unwrap().state = StoreState::Down;
        let r = with_learners(&[(11, 1), (12, 2)], &[(13, 3)]);
        assert_eq!(check(&r, &s, &cfg), None);
    }
}
