//! Lock waiting for pessimistic locks: a request that meets another transaction's lock
//! waits in the key's queue until the lock is released or its timeout passes, unless
//! waiting would close a cycle of waits (a deadlock), which is answered at once.
//!
//! - [`wait_for_graph`]: the pure wait-for graph and cycle detection.
//! - [`waiter_queue`]: per-key FIFO waiter queues with deadlines.
//! - [`LockWaitManager`] (here): the two together, as the command layer uses them.
//!
//! Concurrency: `LockWaitManager` is shared (`Arc`) by every command of one store; all
//! methods take `&self`. The graph sits behind a mutex held for one detection at a time.

pub mod wait_for_graph;
pub mod waiter_queue;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, PoisonError};

use mvcc::TimeStamp;
use tokio::time::Instant;

use crate::key_error::KeyError;
use wait_for_graph::WaitForGraph;
use waiter_queue::{Ticket, WaitOutcome, WaiterQueues};

/// The hash of a raw key reported in deadlock answers (TiKV reports farmhash fingerprints;
/// clients only compare hashes they received from the same store, so any stable hash will
/// do — SipHash with the fixed keys of `DefaultHasher::new`).
pub fn key_hash(raw_key: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    raw_key.hash(&mut h);
    h.finish()
}

/// Waiter queues and the wait-for graph of one store.
#[derive(Debug, Default)]
pub struct LockWaitManager {
    graph: Mutex<WaitForGraph>,
    queues: WaiterQueues,
}

/// A registered wait: the graph edge and the queue ticket, released by
/// [`LockWaitManager::wait`].
#[derive(Debug)]
pub struct PendingWait {
    start_ts: TimeStamp,
    lock_ts: TimeStamp,
    key_hash: u64,
    ticket: Ticket,
}

impl LockWaitManager {
    /// No waiters.
    pub fn new() -> LockWaitManager {
        LockWaitManager::default()
    }

    /// Registers `start_ts` as waiting for `lock_ts`'s lock on `raw_key` (encoded as
    /// `encoded_key`): adds the graph edge, then enqueues. `front`: see
    /// [`WaiterQueues::enqueue`]. REQUIRES: the caller holds the key's latch (see
    /// `waiter_queue`'s contract).
    ///
    /// # Errors
    /// `Deadlock` if the wait would close a cycle; nothing is registered then.
    pub fn register(
        &self,
        start_ts: TimeStamp,
        lock_ts: TimeStamp,
        raw_key: &[u8],
        encoded_key: &[u8],
        front: bool,
    ) -> Result<PendingWait, KeyError> {
        let hash = key_hash(raw_key);
        let cycle = self
            .graph
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .detect(start_ts, lock_ts, hash, raw_key);
        if let Some(c) = cycle {
            return Err(KeyError::Deadlock {
                start_ts,
                lock_ts,
                lock_key: raw_key.to_vec(),
                deadlock_key_hash: c.deadlock_key_hash,
                wait_chain: c.wait_chain,
            });
        }
        Ok(PendingWait {
            start_ts,
            lock_ts,
            key_hash: hash,
            ticket: self.queues.enqueue(encoded_key, start_ts, front),
        })
    }

    /// Waits until woken or `deadline`; the graph edge is removed either way.
    pub async fn wait(&self, pending: PendingWait, deadline: Instant) -> WaitOutcome {
        let PendingWait {
            start_ts,
            lock_ts,
            key_hash,
            ticket,
        } = pending;
        // If this future is dropped mid-wait the edge would stay: remove it on drop.
        let edge = EdgeGuard {
            graph: &self.graph,
            start_ts,
            lock_ts,
            key_hash,
        };
        let outcome = self.queues.wait(ticket, deadline).await;
        drop(edge);
        outcome
    }

    /// The lock on `encoded_key` was released (its removal is applied): wakes the first
    /// waiter. Returns its start ts.
    pub fn wake(&self, encoded_key: &[u8]) -> Option<TimeStamp> {
        self.queues.wake_first(encoded_key)
    }

    /// Waiters queued on `encoded_key`.
    pub fn waiters(&self, encoded_key: &[u8]) -> usize {
        self.queues.len(encoded_key)
    }

    /// Edges in the wait-for graph (waits in progress).
    pub fn wait_edges(&self) -> usize {
        self.graph
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

struct EdgeGuard<'a> {
    graph: &'a Mutex<WaitForGraph>,
    start_ts: TimeStamp,
    lock_ts: TimeStamp,
    key_hash: u64,
}

impl Drop for EdgeGuard<'_> {
    fn drop(&mut self) {
        self.graph
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(self.start_ts, self.lock_ts, self.key_hash);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn deadlock_is_refused_and_edges_end_with_the_wait() {
        let m = LockWaitManager::new();
        let (t1, t2) = (TimeStamp::new(1), TimeStamp::new(2));
        let w = m.register(t1, t2, b"k2", b"K2", false).unwrap();
        assert_eq!(m.wait_edges(), 1);
        let e = m.register(t2, t1, b"k1", b"K1", false).unwrap_err();
        match e {
            KeyError::Deadlock {
                lock_ts,
                lock_key,
                deadlock_key_hash,
                wait_chain,
                ..
            } => {
                assert_eq!((lock_ts, lock_key), (t1, b"k1".to_vec()));
                assert_eq!(deadlock_key_hash, key_hash(b"k2"));
                assert_eq!(wait_chain.len(), 2);
            }
            e => panic!("{e:?}"),
        }
        assert_eq!(m.waiters(b"K1"), 0, "a refused wait is not queued");
        let deadline = Instant::now() + Duration::from_millis(20);
        assert_eq!(m.wait(w, deadline).await, WaitOutcome::TimedOut);
        assert_eq!(m.wait_edges(), 0);
        // Now t2 may wait for t1.
        let w2 = m.register(t2, t1, b"k1", b"K1", false).unwrap();
        assert_eq!(m.wake(b"K1"), Some(t2));
        assert_eq!(m.wait(w2, Instant::now()).await, WaitOutcome::Woken);
        assert_eq!(m.wait_edges(), 0);
    }
}
