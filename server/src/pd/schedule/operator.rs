//! Operators: what the scheduler asks of one region, as a short sequence of steps sent one
//! at a time to the region's leader, each finished when a later heartbeat shows its effect.
//!
//! A new replica is two steps, as PD does it: `AddLearner` (the peer joins without a vote, so
//! the group's quorum never waits on a peer that has no data yet), then `PromoteLearner`,
//! sent only once the leader no longer reports the learner pending (it holds the data).
//!
//! Invariants:
//! 1. `current <= steps.len()`; steps before `current` were seen done, in order.
//! 2. Every `AddLearner` step carries a peer id from PD's allocator (the rules plan with id
//!    0; [`Operator::start`] fills it, and gives a `PromoteLearner` planned with id 0 the id
//!    of the same plan's `AddLearner` on its store) — so a re-sent step names the same peer.

use std::time::SystemTime;

use super::view::{is_learner, RegionView, Stores};
use crate::proto::metapb;

/// One change to a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Add `peer` as a learner on `peer.store_id`. Done once the region has the peer, in
    /// either role (a heartbeat may come only after the promotion).
    AddLearner(metapb::Peer),
    /// Make the learner `peer` a voter. Sent only while the leader does not report it
    /// pending (it has caught up); done once the region lists it as a voter.
    PromoteLearner(metapb::Peer),
    /// Remove `peer`. Done once the region no longer has it.
    RemovePeer(metapb::Peer),
    /// Move leadership from the store `from` to `to`. Done once the leader is on `to`'s store.
    TransferLeader { from: u64, to: metapb::Peer },
}

impl Step {
    pub fn is_done(&self, r: &RegionView) -> bool {
        match self {
            Step::AddLearner(p) => r.has_peer(p.id),
            Step::PromoteLearner(p) => r.peer(p.id).is_some_and(|q| !is_learner(q)),
            Step::RemovePeer(p) => !r.has_peer(p.id),
            Step::TransferLeader { to, .. } => r.leader.store_id == to.store_id,
        }
    }

    /// False when the region changed so that the step can no longer happen as planned.
    fn is_possible(&self, r: &RegionView) -> bool {
        match self {
            // Another peer of the region took the store.
            Step::AddLearner(p) => r.peer_on(p.store_id).is_none_or(|q| q.id == p.id),
            // The learner was removed.
            Step::PromoteLearner(p) => r.has_peer(p.id),
            // The leader cannot remove itself: leadership must move first.
            Step::RemovePeer(p) => p.id != r.leader.id,
            // A learner cannot lead.
            Step::TransferLeader { to, .. } => r.peer(to.id).is_some_and(|q| !is_learner(q)),
        }
    }

    /// Adds what the step will change to the stores' load (`sign` 1) or removes it (-1).
    fn add_load(&self, stores: &mut Stores, sign: i64) {
        match self {
            Step::AddLearner(p) => stores.add_load(p.store_id, sign, 0),
            Step::PromoteLearner(_) => {}
            Step::RemovePeer(p) => stores.add_load(p.store_id, -sign, 0),
            Step::TransferLeader { from, to } => {
                stores.add_load(*from, 0, -sign);
                stores.add_load(to.store_id, 0, sign);
            }
        }
    }
}

/// The steps that add a replica on `store_id`: a learner, then its promotion (ids 0 until
/// [`Operator::start`]).
pub(crate) fn add_steps(store_id: u64) -> [Step; 2] {
    let peer = metapb::Peer {
        store_id,
        ..Default::default()
    };
    [
        Step::AddLearner(metapb::Peer {
            role: metapb::PeerRole::Learner as i32,
            ..peer
        }),
        Step::PromoteLearner(peer),
    ]
}

/// The steps that remove `victim` from `r`: leadership moves to a follower first when the
/// victim leads (PD never removes a leader). `None` when no follower can take it.
pub(crate) fn removal_steps(
    r: &RegionView,
    stores: &Stores,
    cfg: &super::ScheduleConfig,
    victim: metapb::Peer,
) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    if victim.id == r.leader.id {
        let (to, _) = r.leader_target(stores, cfg, victim.id)?;
        steps.push(Step::TransferLeader {
            from: r.leader.store_id,
            to,
        });
    }
    steps.push(Step::RemovePeer(victim));
    Some(steps)
}

/// Which limit an operator counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Changes membership (`replica-schedule-limit`).
    Replica,
    /// Only moves leadership (`leader-schedule-limit`).
    Leader,
}

/// What a rule decided for a region: steps, new peers' ids still 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The rule's name, for logs.
    pub rule: &'static str,
    pub kind: Kind,
    pub steps: Vec<Step>,
}

/// Where an operator stands after a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// This step is to be sent (again) to the leader.
    Send(Step),
    /// The current step waits for the region (a learner still catching up): nothing to send.
    Wait,
    /// Every step is done.
    Finished,
    /// The region changed under it (split or merge, or a step became impossible).
    Stale,
    /// No step finished for `operator-timeout`.
    TimedOut,
}

/// An operator in flight for one region.
#[derive(Debug, Clone)]
pub(crate) struct Operator {
    pub rule: &'static str,
    pub kind: Kind,
    steps: Vec<Step>,
    current: usize,
    /// The region's epoch version when planned: a split or merge since makes it stale.
    version: u64,
    /// When the current step became current (the timeout measures from here).
    step_since: SystemTime,
}

fn version(r: &RegionView) -> u64 {
    r.region.region_epoch.map_or(0, |e| e.version)
}

impl Operator {
    /// Starts `plan` for `region`, taking a peer id from `alloc` for each `AddLearner`
    /// (invariant 2).
    ///
    /// # Errors
    /// What `alloc` returns.
    pub fn start<E>(
        plan: Plan,
        region: &RegionView,
        now: SystemTime,
        mut alloc: impl FnMut() -> Result<u64, E>,
    ) -> Result<Operator, E> {
        let mut steps = plan.steps;
        let mut added: Vec<metapb::Peer> = Vec::new();
        for s in &mut steps {
            match s {
                Step::AddLearner(p) if p.id == 0 => {
                    p.id = alloc()?;
                    added.push(*p);
                }
                Step::PromoteLearner(p) if p.id == 0 => {
                    if let Some(a) = added.iter().find(|a| a.store_id == p.store_id) {
                        p.id = a.id;
                    }
                }
                _ => {}
            }
        }
        Ok(Operator {
            rule: plan.rule,
            kind: plan.kind,
            steps,
            current: 0,
            version: version(region),
            step_since: now,
        })
    }

    /// Advances past every step the heartbeat `r` shows done and says what to do next.
    pub fn progress(
        &mut self,
        r: &RegionView,
        now: SystemTime,
        timeout: std::time::Duration,
    ) -> Progress {
        if version(r) != self.version {
            return Progress::Stale;
        }
        while let Some(step) = self.steps.get(self.current) {
            if !step.is_done(r) {
                break;
            }
            self.current += 1;
            self.step_since = now;
        }
        let Some(step) = self.steps.get(self.current) else {
            return Progress::Finished;
        };
        if !step.is_possible(r) {
            return Progress::Stale;
        }
        if self.is_expired(now, timeout) {
            return Progress::TimedOut;
        }
        // PD's rule: a learner is promoted only once it has caught up.
        if let Step::PromoteLearner(p) = step {
            if r.is_pending(p.id) {
                return Progress::Wait;
            }
        }
        Progress::Send(*step)
    }

    /// True when the current step has been current for `timeout` or longer.
    pub fn is_expired(&self, now: SystemTime, timeout: std::time::Duration) -> bool {
        now.duration_since(self.step_since).unwrap_or_default() >= timeout
    }

    /// Adds the effect of the steps still to come to the stores' load.
    pub fn add_pending_load(&self, stores: &mut Stores) {
        for s in self.steps.iter().skip(self.current) {
            s.add_load(stores, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::view::tests::{learner, peer, region, stores};
    use super::*;

    #[test]
    fn steps_finish_in_order_as_heartbeats_show_them() {
        let t0 = SystemTime::UNIX_EPOCH;
        let timeout = Duration::from_secs(60);
        let mut r = region(&[(11, 1), (12, 2)]);
        let mut steps = add_steps(3).to_vec();
        steps.push(Step::TransferLeader {
            from: 1,
            to: peer(12, 2),
        });
        steps.push(Step::RemovePeer(peer(11, 1)));
        let plan = Plan {
            rule: "test",
            kind: Kind::Replica,
            steps,
        };
        let mut op = Operator::start(plan, &r, t0, || Ok::<_, ()>(13)).unwrap();
        let add = Step::AddLearner(learner(13, 3));
        assert_eq!(op.progress(&r, t0, timeout), Progress::Send(add));
        // Present as a learner but pending: the promotion waits, nothing is sent.
        r.region.peers.push(learner(13, 3));
        r.pending_peers = vec![13];
        assert_eq!(op.progress(&r, t0, timeout), Progress::Wait);
        r.pending_peers.clear();
        let promote = Step::PromoteLearner(peer(13, 3));
        assert_eq!(op.progress(&r, t0, timeout), Progress::Send(promote));
        assert_eq!(op.progress(&r, t0, timeout), Progress::Send(promote));
        r.region.peers[2] = peer(13, 3);
        let transfer = Step::TransferLeader {
            from: 1,
            to: peer(12, 2),
        };
        assert_eq!(op.progress(&r, t0, timeout), Progress::Send(transfer));
        r.leader = peer(12, 2);
        assert_eq!(
            op.progress(&r, t0, timeout),
            Progress::Send(Step::RemovePeer(peer(11, 1)))
        );
        r.region.peers.remove(0);
        assert_eq!(op.progress(&r, t0, timeout), Progress::Finished);
    }

    #[test]
    fn a_removed_learner_makes_the_promotion_stale_and_learners_never_lead() {
        let t0 = SystemTime::UNIX_EPOCH;
        let timeout = Duration::from_secs(60);
        let mut r = region(&[(11, 1), (12, 2)]);
        r.region.peers.push(learner(13, 3));
        let plan = Plan {
            rule: "test",
            kind: Kind::Replica,
            steps: vec![Step::PromoteLearner(peer(13, 3))],
        };
        let mut op = Operator::start(plan, &r, t0, || Ok::<_, ()>(99)).unwrap();
        assert_eq!(
            op.progress(&r, t0, timeout),
            Progress::Send(Step::PromoteLearner(peer(13, 3)))
        );
        r.region.peers.pop();
        assert_eq!(op.progress(&r, t0, timeout), Progress::Stale);
        r.region.peers.push(learner(13, 3));
        let to_learner = Step::TransferLeader {
            from: 1,
            to: learner(13, 3),
        };
        assert!(!to_learner.is_possible(&r));
    }

    #[test]
    fn no_progress_times_out_and_a_split_makes_it_stale() {
        let t0 = SystemTime::UNIX_EPOCH;
        let timeout = Duration::from_secs(60);
        let mut r = region(&[(11, 1)]);
        let plan = Plan {
            rule: "test",
            kind: Kind::Replica,
            steps: vec![
                Step::AddLearner(learner(0, 2)),
                Step::AddLearner(learner(0, 3)),
            ],
        };
        let mut ids = 20..;
        let mut op = Operator::start(plan, &r, t0, || Ok::<_, ()>(ids.next().unwrap())).unwrap();
        let at = |s| t0 + Duration::from_secs(s);
        assert!(matches!(
            op.progress(&r, at(59), timeout),
            Progress::Send(_)
        ));
        // Progress restarts the clock.
        r.region.peers.push(learner(20, 2));
        assert!(matches!(
            op.progress(&r, at(59), timeout),
            Progress::Send(_)
        ));
        assert!(matches!(
            op.progress(&r, at(118), timeout),
            Progress::Send(_)
        ));
        assert_eq!(op.progress(&r, at(119), timeout), Progress::TimedOut);
        let mut load = stores(&[(1, 1), (0, 0), (0, 0)]);
        op.add_pending_load(&mut load);
        assert_eq!(load.get(3).unwrap().regions, 1);
        assert_eq!(
            load.get(2).unwrap().regions,
            0,
            "a finished step adds nothing"
        );
        r.region.region_epoch = Some(metapb::RegionEpoch {
            conf_ver: 2,
            version: 2,
        });
        assert_eq!(op.progress(&r, at(60), timeout), Progress::Stale);
    }
}
