//! Leader balance: a healthy region (no down or pending peer) whose leader is on a store
//! with the most leaders moves leadership to its follower on the target store with the
//! fewest leaders (ties: lowest store id), when the two differ by at least
//! `leader-balance-tolerance` (at least 1, so a transfer never just swaps two equal stores).
//!
//! Each transfer moves one leader from a fullest store to an emptier one by at least the
//! tolerance, so the spread shrinks and transfers stop; with in-flight transfers counted
//! into the load (the controller does), concurrent heartbeats do not overshoot.

use super::operator::{Kind, Plan, Step};
use super::view::{RegionView, StoreState, Stores};
use super::ScheduleConfig;

pub(crate) fn check(r: &RegionView, stores: &Stores, cfg: &ScheduleConfig) -> Option<Plan> {
    if !r.pending_peers.is_empty() || !r.down(stores, cfg).is_empty() {
        return None;
    }
    let source = stores.get(r.leader.store_id)?;
    let most = (stores.0.values())
        .filter(|s| s.state == StoreState::Up)
        .map(|s| s.leaders)
        .max()?;
    if source.leaders < most {
        return None;
    }
    let (to, target) = r.leader_target(stores, cfg, 0)?;
    if source.leaders - target.leaders < cfg.leader_balance_tolerance.max(1) {
        return None;
    }
    Some(Plan {
        rule: "balance-leader",
        kind: Kind::Leader,
        steps: vec![Step::TransferLeader {
            from: source.id,
            to,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::super::view::tests::{peer, region, stores};
    use super::*;

    fn target(r: &RegionView, s: &Stores) -> Option<u64> {
        let plan = check(r, s, &ScheduleConfig::default())?;
        match plan.steps.as_slice() {
            [Step::TransferLeader { to, .. }] => Some(to.store_id),
            other => panic!("unexpected steps {other:?}"),
        }
    }

    #[test]
    fn moves_a_leader_from_the_fullest_store_to_the_emptiest_follower() {
        let r = region(&[(11, 1), (12, 2), (13, 3)]);
        assert_eq!(target(&r, &stores(&[(6, 6), (6, 0), (6, 0)])), Some(2));
        assert_eq!(target(&r, &stores(&[(6, 4), (6, 1), (6, 0)])), Some(3));
        // Within the tolerance of 2: nothing.
        assert_eq!(target(&r, &stores(&[(6, 3), (6, 2), (6, 2)])), None);
        // Not a fullest store: nothing (another store's regions move first).
        assert_eq!(target(&r, &stores(&[(6, 3), (6, 4), (6, 0)])), None);
    }

    #[test]
    fn converges_without_overshooting() {
        // Six regions on stores 1-3, all led by store 1; apply each decision as the
        // controller would count it.
        let mut s = stores(&[(6, 6), (6, 0), (6, 0)]);
        let mut leaders = [1u64; 6];
        let mut moves = 0;
        for _round in 0..3 {
            for leader in &mut leaders {
                let mut r = region(&[(11, 1), (12, 2), (13, 3)]);
                r.leader = peer(10 + *leader, *leader);
                if let Some(to) = target(&r, &s) {
                    s.add_load(*leader, 0, -1);
                    s.add_load(to, 0, 1);
                    *leader = to;
                    moves += 1;
                }
            }
        }
        let counts: Vec<i64> = s.0.values().map(|v| v.leaders).collect();
        assert_eq!(counts, vec![2, 2, 2]);
        assert_eq!(moves, 4);
    }

    #[test]
    fn skips_unhealthy_regions_and_pending_followers() {
        let s = stores(&[(6, 6), (6, 0), (6, 0)]);
        let mut r = region(&[(11, 1), (12, 2), (13, 3)]);
        r.pending_peers = vec![12];
        assert_eq!(target(&r, &s), None);
        r.pending_peers.clear();
        r.down_peers = vec![(13, 3600)];
        assert_eq!(target(&r, &s), None);
    }
}
