//! The operator table: the operators in flight (one per region at most) and the highest
//! leader term seen per region, driven by region heartbeats.
//!
//! Invariant: an operator is in the table only while it can still make progress — finished,
//! stale and timed-out operators are removed when their region heartbeats, and any operator
//! whose current step has not finished for `operator-timeout` is swept on every heartbeat
//! (its region may never report again, e.g. after a merge), so the limits count only live
//! operators.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use super::operator::{Kind, Operator, Progress, Step};
use super::view::{RegionView, Stores};
use super::{check_region, ScheduleConfig};

/// Operators in flight, by region id.
#[derive(Debug, Default)]
pub(crate) struct Operators {
    ops: BTreeMap<u64, Operator>,
    /// The highest `term` a heartbeat reported per region: a heartbeat with a lower one comes
    /// from a deposed leader. Kept in memory, as leaders are.
    terms: HashMap<u64, u64>,
}

impl Operators {
    /// False when a higher term than `term` was reported for `region_id` before: the sender
    /// is no longer the leader. Term 0 means "not reported" and is always accepted.
    pub fn is_current_term(&self, region_id: u64, term: u64) -> bool {
        term == 0 || self.terms.get(&region_id).is_none_or(|seen| term >= *seen)
    }

    /// The step to send in answer to the leader's heartbeat `r` (reporting `term`), if any:
    /// the current step of the region's operator, else the first step of a new operator from
    /// the rules, with peer ids from `alloc`. `stores` is the load without in-flight
    /// operators. A heartbeat with a term lower than one seen gets nothing.
    ///
    /// # Errors
    /// What `alloc` returns (no operator is started then).
    pub fn on_heartbeat<E>(
        &mut self,
        r: &RegionView,
        term: u64,
        mut stores: Stores,
        cfg: &ScheduleConfig,
        now: SystemTime,
        alloc: impl FnMut() -> Result<u64, E>,
    ) -> Result<Option<Step>, E> {
        let id = r.region.id;
        if !self.is_current_term(id, term) {
            return Ok(None);
        }
        if term > 0 {
            self.terms.insert(id, term);
        }
        if let Some(op) = self.ops.get_mut(&id) {
            match op.progress(r, now, cfg.operator_timeout) {
                Progress::Send(step) => return Ok(Some(step)),
                Progress::Wait => return Ok(None),
                Progress::Finished => {
                    tracing::debug!(region = id, rule = op.rule, "operator finished");
                }
                outcome @ (Progress::Stale | Progress::TimedOut) => {
                    tracing::info!(region = id, rule = op.rule, ?outcome, "operator dropped");
                }
            }
            self.ops.remove(&id);
        }
        self.sweep(now, cfg);
        let (mut replica, mut leader) = (0, 0);
        for op in self.ops.values() {
            op.add_pending_load(&mut stores);
            match op.kind {
                Kind::Replica => replica += 1,
                Kind::Leader => leader += 1,
            }
        }
        let Some(plan) = check_region(
            r,
            &stores,
            cfg,
            replica < cfg.replica_schedule_limit,
            leader < cfg.leader_schedule_limit,
        ) else {
            return Ok(None);
        };
        let mut op = Operator::start(plan, r, now, alloc)?;
        let step = match op.progress(r, now, cfg.operator_timeout) {
            Progress::Send(step) => Some(step),
            // An orphan learner's promotion waits for it to catch up: kept, nothing sent.
            Progress::Wait => None,
            Progress::Finished | Progress::Stale | Progress::TimedOut => return Ok(None),
        };
        tracing::info!(region = id, rule = op.rule, ?step, "operator created");
        self.ops.insert(id, op);
        Ok(step)
    }

    /// Drops every operator whose current step is older than the timeout.
    fn sweep(&mut self, now: SystemTime, cfg: &ScheduleConfig) {
        self.ops
            .retain(|_, op| !op.is_expired(now, cfg.operator_timeout));
    }

    /// Operators in flight.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.ops.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::view::tests::{learner, peer, region, stores};
    use super::*;

    /// A heartbeat; a new operator's peer ids are `id`, `id + 1`, ….
    fn heartbeat(
        ops: &mut Operators,
        r: &RegionView,
        s: &Stores,
        now: SystemTime,
        id: u64,
    ) -> Option<Step> {
        let mut ids = id..;
        let cfg = ScheduleConfig::default();
        ops.on_heartbeat(r, 0, s.clone(), &cfg, now, || {
            Ok::<_, ()>(ids.next().unwrap_or(0))
        })
        .unwrap()
    }

    #[test]
    fn one_operator_per_region_resent_until_done() {
        let t0 = SystemTime::UNIX_EPOCH;
        let mut ops = Operators::default();
        let s = stores(&[(1, 1), (0, 0), (0, 0)]);
        let mut r = region(&[(11, 1)]);
        let add = Some(Step::AddLearner(learner(100, 2)));
        assert_eq!(heartbeat(&mut ops, &r, &s, t0, 100), add);
        // The same step again, with the same peer id, until a heartbeat shows the peer.
        assert_eq!(heartbeat(&mut ops, &r, &s, t0, 900), add);
        assert_eq!(ops.len(), 1);
        // Listed but pending: the promotion waits; nothing is sent, no new operator.
        r.region.peers.push(learner(100, 2));
        r.pending_peers = vec![100];
        assert_eq!(heartbeat(&mut ops, &r, &s, t0, 900), None);
        assert_eq!(ops.len(), 1);
        r.pending_peers.clear();
        let promote = Some(Step::PromoteLearner(peer(100, 2)));
        assert_eq!(heartbeat(&mut ops, &r, &s, t0, 900), promote);
        r.region.peers[1] = peer(100, 2);
        // Done: the next operator starts at once (store 3 is the only one left).
        assert_eq!(
            heartbeat(&mut ops, &r, &s, t0, 101),
            Some(Step::AddLearner(learner(101, 3)))
        );
        r.region.peers.push(peer(101, 3));
        assert_eq!(heartbeat(&mut ops, &r, &s, t0, 102), None);
        assert_eq!(ops.len(), 0);
    }

    #[test]
    fn an_orphan_learner_gets_an_operator_that_waits_for_it() {
        let t0 = SystemTime::UNIX_EPOCH;
        let mut ops = Operators::default();
        let s = stores(&[(1, 1), (1, 0), (1, 0)]);
        let mut r = region(&[(11, 1), (12, 2)]);
        r.region.peers.push(learner(13, 3));
        r.pending_peers = vec![13];
        assert_eq!(heartbeat(&mut ops, &r, &s, t0, 100), None);
        assert_eq!(ops.len(), 1, "kept while the learner catches up");
        r.pending_peers.clear();
        assert_eq!(
            heartbeat(&mut ops, &r, &s, t0, 100),
            Some(Step::PromoteLearner(learner(13, 3)))
        );
    }

    #[test]
    fn in_flight_operators_count_as_load_and_expire() {
        let t0 = SystemTime::UNIX_EPOCH;
        let mut ops = Operators::default();
        let s = stores(&[(2, 2), (0, 0), (0, 0)]);
        let a = region(&[(11, 1)]);
        let mut b = region(&[(21, 1)]);
        b.region.id = 2;
        // Region 1's new peer on store 2 makes store 3 the emptier one for region 2.
        assert_eq!(
            heartbeat(&mut ops, &a, &s, t0, 100),
            Some(Step::AddLearner(learner(100, 2)))
        );
        assert_eq!(
            heartbeat(&mut ops, &b, &s, t0, 101),
            Some(Step::AddLearner(learner(101, 3)))
        );
        // Region 1 never reports again; past the timeout its operator no longer counts.
        let later = t0 + ScheduleConfig::default().operator_timeout + Duration::from_secs(1);
        assert_eq!(
            heartbeat(&mut ops, &b, &s, later, 102),
            Some(Step::AddLearner(learner(102, 2)))
        );
        assert_eq!(ops.len(), 1);
    }

    #[test]
    fn a_lower_term_than_seen_gets_nothing() {
        let t0 = SystemTime::UNIX_EPOCH;
        let cfg = ScheduleConfig::default();
        let mut ops = Operators::default();
        let s = stores(&[(1, 1), (0, 0), (0, 0)]);
        let r = region(&[(11, 1)]);
        let mut hb = |term| {
            ops.on_heartbeat(&r, term, s.clone(), &cfg, t0, || Ok::<_, ()>(100))
                .unwrap()
        };
        assert!(hb(5).is_some());
        assert!(hb(4).is_none(), "a deposed leader");
        assert!(hb(5).is_some());
        assert!(hb(0).is_some(), "no term reported");
        assert!(ops.is_current_term(1, 6) && !ops.is_current_term(1, 4));
        assert!(ops.is_current_term(2, 1), "per region");
    }
}
