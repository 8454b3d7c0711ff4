//! A peer's proposals waiting for their entries to apply, and its linearizable reads
//! waiting for ReadIndex confirmation and then for apply to catch up.
//!
//! Invariants:
//! 1. Proposals are queued in index order (each is the log's last entry when proposed).
//! 2. An entry applied at `(index, term)` answers the proposal queued at `index` only if
//!    the terms match; a proposal whose index was passed without a match lost its place
//!    (leadership changed, the entry was overwritten): it is answered `StaleCommand`.
//! 3. Every callback is called exactly once: on apply, on being passed over, or when the
//!    peer is destroyed or the store stops.

use std::collections::VecDeque;

use crate::callback::{ReadCallback, WriteCallback};
use crate::error::Error;

/// One proposal awaiting its entry.
pub(crate) struct Proposal {
    pub(crate) index: u64,
    pub(crate) term: u64,
    pub(crate) cb: WriteCallback,
}

/// The queues of one peer.
#[derive(Default)]
pub(crate) struct Pending {
    proposals: VecDeque<Proposal>,
    /// Reads handed to raft's ReadIndex, keyed by the context id they were given.
    reads_asked: VecDeque<(u64, ReadCallback)>,
    /// Reads confirmed at a commit index, waiting for apply to reach it (index order is
    /// not guaranteed, so the queue is scanned).
    reads_confirmed: Vec<(u64, ReadCallback)>,
    /// Reads that arrived before the leader committed an entry of its term (raft-rs drops
    /// a ReadIndex then): asked once it has.
    reads_deferred: Vec<ReadCallback>,
    next_read_id: u64,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("proposals", &self.proposals.len())
            .field("reads_asked", &self.reads_asked.len())
            .field("reads_confirmed", &self.reads_confirmed.len())
            .field("reads_deferred", &self.reads_deferred.len())
            .finish()
    }
}

impl Pending {
    pub(crate) fn push_proposal(&mut self, p: Proposal) {
        debug_assert!(self.proposals.back().is_none_or(|b| b.index < p.index));
        self.proposals.push_back(p);
    }

    /// The proposal an entry at `(index, term)` answers, if any; proposals passed over are
    /// answered stale (invariant 2).
    pub(crate) fn take_for_entry(
        &mut self,
        region_id: u64,
        index: u64,
        term: u64,
    ) -> Option<WriteCallback> {
        while let Some(front) = self.proposals.front() {
            if front.index > index {
                return None;
            }
            let p = self.proposals.pop_front()?;
            if p.index == index && p.term == term {
                return Some(p.cb);
            }
            (p.cb)(Err(Error::StaleCommand {
                region_id,
                reason: "its log entry was replaced (leadership changed)",
            }));
        }
        None
    }

    /// A new read-context id for raft's ReadIndex.
    pub(crate) fn ask_read(&mut self, cb: ReadCallback) -> u64 {
        self.next_read_id += 1;
        self.reads_asked.push_back((self.next_read_id, cb));
        self.next_read_id
    }

    pub(crate) fn defer_read(&mut self, cb: ReadCallback) {
        self.reads_deferred.push(cb);
    }

    pub(crate) fn take_deferred_reads(&mut self) -> Vec<ReadCallback> {
        std::mem::take(&mut self.reads_deferred)
    }

    /// Raft confirmed read `id` at commit index `index`.
    pub(crate) fn confirm_read(&mut self, id: u64, index: u64) {
        if let Some(pos) = self.reads_asked.iter().position(|(i, _)| *i == id) {
            if let Some((_, cb)) = self.reads_asked.remove(pos) {
                self.reads_confirmed.push((index, cb));
            }
        }
    }

    /// Confirmed reads whose index has been applied.
    pub(crate) fn reads_ready(&mut self, applied: u64) -> Vec<ReadCallback> {
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.reads_confirmed)
            .into_iter()
            .partition(|(i, _)| *i <= applied);
        self.reads_confirmed = waiting;
        ready.into_iter().map(|(_, cb)| cb).collect()
    }

    /// Fails every read not yet confirmed (leadership was lost: they may never be).
    pub(crate) fn fail_unconfirmed_reads(&mut self, err: impl Fn() -> Error) {
        for (_, cb) in self.reads_asked.drain(..) {
            cb(Err(err()));
        }
        for cb in self.reads_deferred.drain(..) {
            cb(Err(err()));
        }
    }

    /// Fails everything (the peer is going away).
    pub(crate) fn fail_all(&mut self, err: impl Fn() -> Error) {
        self.fail_unconfirmed_reads(&err);
        for (_, cb) in self.reads_confirmed.drain(..) {
            cb(Err(err()));
        }
        for p in self.proposals.drain(..) {
            (p.cb)(Err(err()));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::{Arc, Mutex};

    use super::*;

    type Log = Arc<Mutex<Vec<(u64, bool)>>>;

    fn proposal(log: &Log, index: u64, term: u64) -> Proposal {
        let log = log.clone();
        Proposal {
            index,
            term,
            cb: Box::new(move |r| log.lock().unwrap().push((index, r.is_ok()))),
        }
    }

    #[test]
    fn entries_answer_their_proposal_and_pass_over_stale_ones() {
        let log = Log::default();
        let mut p = Pending::default();
        p.push_proposal(proposal(&log, 3, 1));
        p.push_proposal(proposal(&log, 4, 1));
        p.push_proposal(proposal(&log, 6, 2));
        assert!(p.take_for_entry(1, 2, 1).is_none());
        // Entry 4 of term 2 replaced ours: 3 was passed over, 4 is stale.
        assert!(p.take_for_entry(1, 4, 2).is_none());
        assert_eq!(*log.lock().unwrap(), vec![(3, false), (4, false)]);
        let cb = p.take_for_entry(1, 6, 2).unwrap();
        cb(Ok(()));
        assert_eq!(log.lock().unwrap().last(), Some(&(6, true)));
    }

    #[test]
    fn reads_wait_for_confirmation_then_apply() {
        let done = Arc::new(Mutex::new(0));
        let mut p = Pending::default();
        let d = done.clone();
        let id = p.ask_read(Box::new(move |_| *d.lock().unwrap() += 1));
        assert!(p.reads_ready(100).is_empty(), "not confirmed yet");
        p.confirm_read(id, 7);
        assert!(p.reads_ready(6).is_empty());
        assert_eq!(p.reads_ready(7).len(), 1);
    }
}
