//! Per-key FIFO queues of requests waiting for a pessimistic lock to be released (the
//! waiting half of TiKV's `WaiterManager`, `src/server/lock_manager/waiter_manager.rs`).
//!
//! Contract with the command layer (what makes wake-ups impossible to lose):
//! 1. A waiter is enqueued while its command still holds the key's latch, after it saw the
//!    lock in a snapshot.
//! 2. A command that removes a lock wakes the key's first waiter only after its write is
//!    applied. So either the waiter's snapshot already lacked the lock (it never waits), or
//!    it was enqueued before the release was written and the wake finds it.
//! 3. A woken waiter retries. If its retry leaves the key without its lock (a conflict, an
//!    error, another lock), it wakes the next waiter itself ([`WaiterQueues::wake_first`]
//!    again), so a release is never swallowed by a waiter that gave up.
//!
//! Concurrency: all methods take `&self`; the queue map is behind a mutex held only for
//! short, non-blocking sections.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use mvcc::TimeStamp;
use tokio::sync::oneshot;
use tokio::time::Instant;

#[derive(Debug)]
struct Waiter {
    id: u64,
    start_ts: TimeStamp,
    wake: oneshot::Sender<()>,
}

#[derive(Debug, Default)]
struct Queues {
    by_key: HashMap<Vec<u8>, VecDeque<Waiter>>,
    next_id: u64,
}

/// The waiter queues of all keys (module docs). Keys are encoded keys (no ts).
#[derive(Debug, Default)]
pub struct WaiterQueues {
    inner: Mutex<Queues>,
}

/// A place in one key's queue; [`WaiterQueues::wait`] redeems it.
#[derive(Debug)]
pub struct Ticket {
    key: Vec<u8>,
    id: u64,
    woken: oneshot::Receiver<()>,
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// The lock was released: retry.
    Woken,
    /// The deadline passed first; the waiter has left the queue.
    TimedOut,
}

impl WaiterQueues {
    /// Empty queues.
    pub fn new() -> WaiterQueues {
        WaiterQueues::default()
    }

    fn locked(&self) -> MutexGuard<'_, Queues> {
        // Short sections over plain data: a panic elsewhere leaves it consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Enqueues `start_ts` on `key`: at the back, or at the front for a waiter that was
    /// woken and met a new lock (it keeps its turn).
    pub fn enqueue(&self, key: &[u8], start_ts: TimeStamp, front: bool) -> Ticket {
        let (tx, rx) = oneshot::channel();
        let mut q = self.locked();
        q.next_id += 1;
        let id = q.next_id;
        let waiter = Waiter {
            id,
            start_ts,
            wake: tx,
        };
        let queue = q.by_key.entry(key.to_vec()).or_default();
        if front {
            queue.push_front(waiter);
        } else {
            queue.push_back(waiter);
        }
        Ticket {
            key: key.to_vec(),
            id,
            woken: rx,
        }
    }

    /// Wakes the first live waiter on `key` and returns its start ts (`None`: no one waits).
    pub fn wake_first(&self, key: &[u8]) -> Option<TimeStamp> {
        let mut q = self.locked();
        let queue = q.by_key.get_mut(key)?;
        let mut woken = None;
        while let Some(w) = queue.pop_front() {
            // A send fails only if the waiting future was dropped: try the next one.
            if w.wake.send(()).is_ok() {
                woken = Some(w.start_ts);
                break;
            }
        }
        if queue.is_empty() {
            q.by_key.remove(key);
        }
        woken
    }

    /// Waits until the ticket's waiter is woken or `deadline` passes.
    pub async fn wait(&self, ticket: Ticket, deadline: Instant) -> WaitOutcome {
        let Ticket { key, id, mut woken } = ticket;
        if tokio::time::timeout_at(deadline, &mut woken).await.is_ok() {
            return WaitOutcome::Woken;
        }
        // Timed out: leave the queue. If we are no longer in it, a wake raced the deadline
        // and was delivered (or is about to be): count it, so the wake is not lost.
        if self.remove(&key, id) {
            WaitOutcome::TimedOut
        } else {
            WaitOutcome::Woken
        }
    }

    /// Removes waiter `id` from `key`'s queue; false if it is not there.
    fn remove(&self, key: &[u8], id: u64) -> bool {
        let mut q = self.locked();
        let Some(queue) = q.by_key.get_mut(key) else {
            return false;
        };
        let before = queue.len();
        queue.retain(|w| w.id != id);
        let removed = queue.len() < before;
        if queue.is_empty() {
            q.by_key.remove(key);
        }
        removed
    }

    /// Waiters queued on `key`.
    pub fn len(&self, key: &[u8]) -> usize {
        self.locked().by_key.get(key).map_or(0, VecDeque::len)
    }

    /// True if no one waits on any key.
    pub fn is_empty(&self) -> bool {
        self.locked().by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    #[tokio::test]
    async fn wakes_in_fifo_order_one_at_a_time() {
        let q = Arc::new(WaiterQueues::new());
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 1..=3u64 {
            let ticket = q.enqueue(b"k", TimeStamp::new(i), false);
            let (q, order) = (q.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                assert_eq!(q.wait(ticket, far()).await, WaitOutcome::Woken);
                order.lock().unwrap().push(i);
            }));
        }
        let front = q.enqueue(b"k", TimeStamp::new(9), true);
        assert_eq!(q.len(b"k"), 4);
        assert_eq!(q.wake_first(b"k"), Some(TimeStamp::new(9)));
        assert_eq!(q.wait(front, far()).await, WaitOutcome::Woken);
        for i in 1..=3u64 {
            assert_eq!(q.wake_first(b"k"), Some(TimeStamp::new(i)));
            tokio::time::sleep(Duration::from_millis(10)).await;
            assert_eq!(
                order.lock().unwrap().len(),
                i as usize,
                "one wake, one waiter"
            );
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![1, 2, 3]);
        assert_eq!(q.wake_first(b"k"), None);
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn timeout_leaves_the_queue_and_other_keys_are_independent() {
        let q = WaiterQueues::new();
        let a = q.enqueue(b"a", TimeStamp::new(1), false);
        let b = q.enqueue(b"b", TimeStamp::new(2), false);
        let start = Instant::now();
        let deadline = start + Duration::from_millis(50);
        assert_eq!(q.wait(a, deadline).await, WaitOutcome::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(50));
        assert_eq!(q.len(b"a"), 0);
        // A wake on `a` now finds no one; `b` still waits and is woken by its own key.
        assert_eq!(q.wake_first(b"a"), None);
        assert_eq!(q.wake_first(b"b"), Some(TimeStamp::new(2)));
        assert_eq!(q.wait(b, Instant::now()).await, WaitOutcome::Woken);
    }

    #[tokio::test]
    async fn dropped_waiters_are_skipped() {
        let q = WaiterQueues::new();
        drop(q.enqueue(b"k", TimeStamp::new(1), false));
        let live = q.enqueue(b"k", TimeStamp::new(2), false);
        assert_eq!(q.wake_first(b"k"), Some(TimeStamp::new(2)));
        assert_eq!(q.wait(live, far()).await, WaitOutcome::Woken);
        assert!(q.is_empty());
    }
}
