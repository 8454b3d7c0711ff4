//! PD's scheduling: deciding which changes a region needs (operators) and handing them to
//! its leader on the region heartbeat stream, as PD's checkers and schedulers do.
//!
//! # Rules (pure functions of a region, the stores and the config; one file each)
//! Run for a region when its leader's heartbeat arrives and no operator is in flight for
//! it, first match wins:
//! 1. `learner`: a healthy learner with no operator (its own timed out, or PD restarted) is
//!    promoted while healthy voters are short of `max-replicas`, else removed.
//! 2. `down`: a down voter (store Down/Tombstone, or reported down ≥ `max-store-down-time`)
//!    is replaced: a new replica on the least loaded store, then RemovePeer of the down
//!    peer; a down learner is removed.
//! 3. `repair`: fewer than `max-replicas` voters → a new replica on the target store (Up,
//!    has heartbeated, no peer of this region) with the fewest regions, ties lowest id.
//! 4. `excess`: more than `max-replicas` healthy voters → RemovePeer (pending peer first,
//!    else the most loaded store; a leader hands over first).
//! 5. `leader_balance`: a leader on a fullest store moves to the voter on the store with
//!    the fewest leaders when they differ by ≥ `leader-balance-tolerance`.
//!
//! A new replica is always two steps, as in PD: AddLearner (ChangePeer AddLearnerNode) and
//! PromoteLearner (ChangePeer AddNode of the same peer), the promotion sent only once the
//! leader no longer reports the learner pending. Only voters count toward `max-replicas`:
//! a learner holds no vote, so until promoted it adds no safety.
//!
//! A store is Down when silent for `max-store-down-time` (from PD's start if never heard
//! from). With fewer usable stores than `max-replicas`, regions are repaired as far as the
//! stores allow; no healthy voter is ever removed to make room.
//!
//! # Operators (`operator`, `controller`)
//! At most one per region; a few steps (AddLearner → PromoteLearner → TransferLeader →
//! RemovePeer), the current one re-sent on each heartbeat from the region's leader until a
//! heartbeat shows it done (a promotion waits, sending nothing, while the learner is pending).
//! Dropped when no step finishes for `operator-timeout`, or when the region splits or merges
//! (epoch version changes) or a step becomes impossible. The load the rules see includes
//! the pending steps of every operator in flight, so decisions do not pile onto one store.
//! At most `replica-schedule-limit` membership operators and `leader-schedule-limit`
//! leader transfers are in flight.
//!
//! # Departures from PD
//! No placement rules, labels or isolation levels, no region/hot-spot balancing by size,
//! no joint consensus (ChangePeer only, never ChangePeerV2: learners are added, promoted and
//! removed one conf change at a time, and no rule ever demotes a voter or asks for a
//! learner replica of its own, as PD's placement rules may), no Offline store draining, no
//! Disconnected state, and store load is counted in regions and leaders (PD scores by size).
//! Leader balance runs per heartbeat rather than on a timer. An orphan learner is promoted
//! or removed by a rule of its own (PD leaves it to its rule checker).
//!
//! Concurrency: everything here is plain data; the caller (`pd::heartbeat`) holds the
//! operator table under its own mutex.

mod controller;
mod down;
mod excess;
mod leader_balance;
mod learner;
mod operator;
mod repair;
mod view;

use std::time::Duration;

pub(crate) use controller::Operators;
pub(crate) use operator::Step;
pub use view::StoreState;
pub(crate) use view::{RegionView, StoreView, Stores};

use operator::Plan;

/// Scheduling settings (PD's `[schedule]` and `[replication]` keys of the same names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleConfig {
    /// Peers every region should have (PD's `max-replicas`; reported by GetClusterConfig as
    /// `max_peer_count`). Default 3.
    pub max_replicas: u32,
    /// A store silent this long is Down and its peers are replaced (PD's default 30 min).
    pub max_store_down_time: Duration,
    /// An operator none of whose steps finishes for this long is dropped. Default 10 min
    /// (PD's wait for a region operator).
    pub operator_timeout: Duration,
    /// Leader transfers happen while a fullest store leads at least this many more regions
    /// than the target. Default 2.
    pub leader_balance_tolerance: i64,
    /// Most leader transfers in flight at once (PD's default 4).
    pub leader_schedule_limit: usize,
    /// Most membership operators in flight at once (PD's default 64).
    pub replica_schedule_limit: usize,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            max_replicas: 3,
            max_store_down_time: Duration::from_secs(30 * 60),
            operator_timeout: Duration::from_secs(10 * 60),
            leader_balance_tolerance: 2,
            leader_schedule_limit: 4,
            replica_schedule_limit: 64,
        }
    }
}

impl ScheduleConfig {
    fn max_replicas(&self) -> usize {
        usize::try_from(self.max_replicas).unwrap_or(usize::MAX)
    }
}

/// The first rule that applies to `r` (module docs), within the limits: `replica` /
/// `leader` say whether another operator of that kind may start.
fn check_region(
    r: &RegionView,
    stores: &Stores,
    cfg: &ScheduleConfig,
    replica: bool,
    leader: bool,
) -> Option<Plan> {
    let repair = learner::check(r, stores, cfg)
        .or_else(|| down::check(r, stores, cfg))
        .or_else(|| repair::check(r, stores, cfg))
        .or_else(|| excess::check(r, stores, cfg));
    if repair.is_some() {
        // A region that needs repair is not balanced meanwhile.
        return repair.filter(|_| replica);
    }
    leader_balance::check(r, stores, cfg).filter(|_| leader)
}

#[cfg(test)]
mod tests {
    use super::view::tests::{learner, peer, region, stores};
    use super::*;
    use operator::add_steps;

    fn steps(r: &RegionView, s: &Stores) -> Option<Vec<Step>> {
        check_region(r, s, &ScheduleConfig::default(), true, true).map(|p| p.steps)
    }

    #[test]
    fn learners_are_not_replicas_for_max_replicas() {
        let s = stores(&[(1, 1), (1, 0), (1, 0), (1, 0)]);
        // Two voters and a learner: the learner is promoted, not a third replica.
        let mut r = region(&[(11, 1), (12, 2)]);
        r.region.peers.push(learner(13, 3));
        assert_eq!(
            steps(&r, &s),
            Some(vec![Step::PromoteLearner(learner(13, 3))])
        );
        // Three voters and a learner: not an excess of voters, the learner goes.
        r.region.peers.push(peer(14, 4));
        assert_eq!(steps(&r, &s), Some(vec![Step::RemovePeer(learner(13, 3))]));
        // One voter: a new replica starts as a learner.
        assert_eq!(steps(&region(&[(11, 1)]), &s), Some(add_steps(2).to_vec()));
    }
}
