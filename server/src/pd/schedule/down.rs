//! Down peers: a peer whose store is Down (or Tombstone), or that its leader has reported
//! down for at least `max-store-down-time`, counts as missing. A down voter is replaced: one
//! operator adds a replica on the least loaded target store (a learner, promoted once caught
//! up — the region keeps its quorum of live voters meanwhile), then removes the down peer
//! (moving leadership away first in the odd case that the leader itself is the down peer).
//! Voters go first; a down learner is only removed (it was no replica yet: the repair rule
//! adds one if voters are short). A healthy learner is the learner rule's, which runs
//! first: it promotes the learner when voters are short, so a region with a down voter and
//! a caught-up learner gets no second new peer.
//!
//! With no store to add on, a down voter stays while the region has at most `max-replicas`
//! voters (its store may come back; removing it would not add safety), and is removed alone
//! when the region has more (a smaller group needs fewer live votes).

use super::operator::{add_steps, removal_steps, Kind, Plan, Step};
use super::view::{is_learner, RegionView, Stores};
use super::ScheduleConfig;

pub(crate) fn check(r: &RegionView, stores: &Stores, cfg: &ScheduleConfig) -> Option<Plan> {
    let down = r.down(stores, cfg);
    let lost = *down.iter().find(|p| !is_learner(p)).or(down.first())?;
    if is_learner(&lost) {
        return Some(Plan {
            rule: "remove-down-learner",
            kind: Kind::Replica,
            steps: vec![Step::RemovePeer(lost)],
        });
    }
    let voters = r.voters().count();
    let healthy = voters - down.iter().filter(|p| !is_learner(p)).count();
    let mut steps = Vec::new();
    if healthy < cfg.max_replicas() {
        match r.add_target(stores) {
            Some(store_id) => steps.extend(add_steps(store_id)),
            None if voters <= cfg.max_replicas() => return None,
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
    use super::super::view::tests::{learner, peer, region, stores};
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
        let mut want = add_steps(5).to_vec();
        want.push(Step::RemovePeer(peer(13, 3)));
        assert_eq!(plan.steps, want);
    }

    #[test]
    fn a_down_learner_is_removed_and_does_not_count_as_a_replica() {
        let cfg = ScheduleConfig::default();
        let mut s = stores(&[(3, 1), (3, 0), (3, 0), (0, 0)]);
        down(&mut s, 3);
        let mut r = region(&[(11, 1), (12, 2)]);
        r.region.peers.push(learner(13, 3));
        let plan = check(&r, &s, &cfg).unwrap();
        assert_eq!(plan.steps, vec![Step::RemovePeer(learner(13, 3))]);
        // A down voter goes first, and a down learner is no replica: two healthy voters
        // are short of three, so a replacement is added (on store 4, the only one left).
        let mut s = stores(&[(3, 1), (3, 0), (3, 0), (0, 0), (0, 0)]);
        down(&mut s, 3);
        down(&mut s, 5);
        let mut r = region(&[(11, 1), (12, 2), (13, 3)]);
        r.region.peers.push(learner(15, 5));
        let plan = check(&r, &s, &cfg).unwrap();
        let mut want = add_steps(4).to_vec();
        want.push(Step::RemovePeer(peer(13, 3)));
        assert_eq!(plan.steps, want);
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
        let mut want = add_steps(4).to_vec();
        want.push(Step::RemovePeer(peer(12, 2)));
        assert_eq!(plan.steps, want);
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
        let mut want = add_steps(4).to_vec();
        want.push(Step::TransferLeader {
            from: 1,
            to: peer(13, 3),
        });
        want.push(Step::RemovePeer(peer(11, 1)));
        assert_eq!(plan.steps, want);
    }
}
