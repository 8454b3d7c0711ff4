//! The wait-for graph of pessimistic lock waits, and deadlock detection on it (TiKV's
//! `DetectTable` in `src/server/lock_manager/deadlock.rs`). Pure data: no clocks, no locks,
//! no async — the lock-wait manager owns one behind a mutex.
//!
//! Vertices are transactions (start ts); an edge `txn → wait_for` says `txn` waits for a
//! lock `wait_for` holds on one key (its hash and raw key are kept for the answer).
//!
//! Invariants:
//! 1. The graph is acyclic: [`WaitForGraph::detect`] adds an edge only after checking that
//!    no path leads from `wait_for` back to `txn`; if one does, the edge is refused and the
//!    cycle is reported instead.
//! 2. An edge lives exactly as long as the wait it stands for: the caller removes it when
//!    the waiter is woken, times out or gives up. There is no expiry here (TiKV also
//!    expires entries after a TTL because its detector is a separate, possibly remote,
//!    service that can miss clean-ups; ours is in-process).

use std::collections::HashMap;

use mvcc::TimeStamp;

use crate::key_error::WaitForEntry;

/// One wait: the waiter waits for `wait_for` on the key `key` (hash `key_hash`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edge {
    wait_for: TimeStamp,
    key_hash: u64,
    key: Vec<u8>,
}

/// A cycle found by [`WaitForGraph::detect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlockCycle {
    /// Hash of the key that closes the cycle: the one the requesting transaction holds and
    /// the last transaction of the chain waits for.
    pub deadlock_key_hash: u64,
    /// The cycle, starting with the refused edge (requester → lock holder) and following
    /// waits until the edge that returns to the requester.
    pub wait_chain: Vec<WaitForEntry>,
}

/// Waiting transactions and whom they wait for (module docs).
#[derive(Debug, Default)]
pub struct WaitForGraph {
    edges: HashMap<TimeStamp, Vec<Edge>>,
}

impl WaitForGraph {
    /// An empty graph.
    pub fn new() -> WaitForGraph {
        WaitForGraph::default()
    }

    /// Asks to add `txn → wait_for` on `key`. Returns the cycle it would close (and adds
    /// nothing), or adds the edge and returns `None`. Re-adding an existing edge is a no-op.
    pub fn detect(
        &mut self,
        txn: TimeStamp,
        wait_for: TimeStamp,
        key_hash: u64,
        key: &[u8],
    ) -> Option<DeadlockCycle> {
        if let Some(edges) = self.edges.get(&txn) {
            if edges
                .iter()
                .any(|e| e.wait_for == wait_for && e.key_hash == key_hash)
            {
                return None;
            }
        }
        if let Some(mut path) = self.path(wait_for, txn) {
            let deadlock_key_hash = path.last().map_or(key_hash, |e| e.key_hash);
            path.insert(
                0,
                WaitForEntry {
                    txn,
                    wait_for_txn: wait_for,
                    key_hash,
                    key: key.to_vec(),
                },
            );
            return Some(DeadlockCycle {
                deadlock_key_hash,
                wait_chain: path,
            });
        }
        self.edges.entry(txn).or_default().push(Edge {
            wait_for,
            key_hash,
            key: key.to_vec(),
        });
        None
    }

    /// A path of edges from `from` to `to`, if any (depth-first; each vertex visited once:
    /// if a vertex reaches `to`, the first visit finds it).
    fn path(&self, from: TimeStamp, to: TimeStamp) -> Option<Vec<WaitForEntry>> {
        // Predecessor of each pushed vertex, with the edge that reached it.
        let mut pred: HashMap<TimeStamp, (TimeStamp, Edge)> = HashMap::new();
        let mut stack = vec![from];
        let mut seen = std::collections::HashSet::from([from]);
        while let Some(cur) = stack.pop() {
            for e in self.edges.get(&cur).into_iter().flatten() {
                if e.wait_for == to {
                    // Walk back from `cur` to `from`, then reverse.
                    let mut chain = vec![entry(cur, e)];
                    let mut v = cur;
                    while v != from {
                        let (p, pe) = pred.get(&v)?;
                        chain.push(entry(*p, pe));
                        v = *p;
                    }
                    chain.reverse();
                    return Some(chain);
                }
                if seen.insert(e.wait_for) {
                    pred.insert(e.wait_for, (cur, e.clone()));
                    stack.push(e.wait_for);
                }
            }
        }
        None
    }

    /// Removes the edge `txn → wait_for` on `key_hash` (the wait ended).
    pub fn remove(&mut self, txn: TimeStamp, wait_for: TimeStamp, key_hash: u64) {
        if let Some(edges) = self.edges.get_mut(&txn) {
            edges.retain(|e| !(e.wait_for == wait_for && e.key_hash == key_hash));
            if edges.is_empty() {
                self.edges.remove(&txn);
            }
        }
    }

    /// Removes every edge out of `txn` (it stopped waiting altogether).
    pub fn remove_txn(&mut self, txn: TimeStamp) {
        self.edges.remove(&txn);
    }

    /// The number of edges.
    pub fn len(&self) -> usize {
        self.edges.values().map(Vec::len).sum()
    }

    /// True if no one waits.
    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }
}

fn entry(txn: TimeStamp, e: &Edge) -> WaitForEntry {
    WaitForEntry {
        txn,
        wait_for_txn: e.wait_for,
        key_hash: e.key_hash,
        key: e.key.clone(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ts(t: u64) -> TimeStamp {
        TimeStamp::new(t)
    }

    fn edges(c: &DeadlockCycle) -> Vec<(u64, u64, u64)> {
        c.wait_chain
            .iter()
            .map(|e| (e.txn.into_inner(), e.wait_for_txn.into_inner(), e.key_hash))
            .collect()
    }

    #[test]
    fn cycle_of_two() {
        let mut g = WaitForGraph::new();
        assert!(g.detect(ts(1), ts(2), 20, b"k2").is_none());
        let c = g.detect(ts(2), ts(1), 10, b"k1").unwrap();
        assert_eq!(edges(&c), vec![(2, 1, 10), (1, 2, 20)]);
        assert_eq!(c.deadlock_key_hash, 20);
        assert_eq!(c.wait_chain[1].key, b"k2");
        assert_eq!(g.len(), 1, "the refused edge is not added");
    }

    #[test]
    fn cycle_of_three() {
        let mut g = WaitForGraph::new();
        assert!(g.detect(ts(1), ts(2), 12, b"b").is_none());
        assert!(g.detect(ts(2), ts(3), 23, b"c").is_none());
        let c = g.detect(ts(3), ts(1), 31, b"a").unwrap();
        assert_eq!(edges(&c), vec![(3, 1, 31), (1, 2, 12), (2, 3, 23)]);
        assert_eq!(c.deadlock_key_hash, 23);
    }

    #[test]
    fn no_false_positives() {
        let mut g = WaitForGraph::new();
        // A diamond and a chain: many paths, no cycle.
        assert!(g.detect(ts(1), ts(2), 1, b"x").is_none());
        assert!(g.detect(ts(1), ts(3), 2, b"y").is_none());
        assert!(g.detect(ts(2), ts(4), 3, b"z").is_none());
        assert!(g.detect(ts(3), ts(4), 3, b"z").is_none());
        assert!(g.detect(ts(4), ts(5), 4, b"w").is_none());
        assert!(g.detect(ts(6), ts(1), 5, b"v").is_none());
        // Re-registering an existing edge is not a cycle either.
        assert!(g.detect(ts(1), ts(2), 1, b"x").is_none());
        assert_eq!(g.len(), 6);
        // Closing it through 5 → 6 is.
        let c = g.detect(ts(5), ts(6), 9, b"u").unwrap();
        assert_eq!(c.wait_chain.first().unwrap().txn, ts(5));
        assert_eq!(c.wait_chain.last().unwrap().wait_for_txn, ts(5));
        // Every edge of the chain follows from the previous one.
        for w in c.wait_chain.windows(2) {
            assert_eq!(w[0].wait_for_txn, w[1].txn);
        }
    }

    #[test]
    fn removal_breaks_cycles() {
        let mut g = WaitForGraph::new();
        assert!(g.detect(ts(1), ts(2), 1, b"a").is_none());
        assert!(g.detect(ts(2), ts(3), 2, b"b").is_none());
        g.remove(ts(2), ts(3), 2);
        assert!(g.detect(ts(3), ts(1), 3, b"c").is_none());
        g.remove_txn(ts(3));
        g.remove(ts(1), ts(2), 1);
        assert!(g.is_empty());
        // Removing what is not there is harmless.
        g.remove(ts(7), ts(8), 0);
        assert!(g.detect(ts(2), ts(1), 4, b"d").is_none());
    }
}
