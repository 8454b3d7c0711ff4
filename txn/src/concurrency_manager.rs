//! The concurrency manager: `max_ts` and the in-memory lock table (TiKV's
//! `components/concurrency_manager`).
//!
//! Async commit and 1PC let a transaction's commit ts be decided at prewrite, from
//! `max(max_ts, start_ts, for_update_ts) + 1`. That is only sound if every reader that could
//! have read the key at a ts at or above the chosen commit ts is accounted for:
//! 1. every read raises `max_ts` to its read ts *before* it checks locks, so a prewrite
//!    that comes after picks a commit ts above every earlier read;
//! 2. a prewrite publishes its lock in the in-memory table *before* it reads `max_ts`, and
//!    keeps it there until the lock is written to the engine, so a read that comes after
//!    (and so did not raise `max_ts` in time) sees the lock in memory
//!    ([`read_key_check`](ConcurrencyManager::read_key_check)) even though its snapshot
//!    does not have it yet.
//!
//! Concurrency: all methods take `&self` and may be called from any thread. Holding a
//! [`KeyGuard`] makes its holder the only one working on the key in memory; a second
//! `lock_key` on the same key waits until the guard is dropped (latches in the command layer
//! normally make that wait empty).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use mvcc::{Key, Lock, TimeStamp};

use crate::key_error::KeyError;

/// Shared by every command of one store; cheap to clone.
#[derive(Debug, Clone)]
pub struct ConcurrencyManager {
    /// The largest ts any read (or a caller acting as one) has used.
    max_ts: Arc<AtomicU64>,
    table: Arc<LockTable>,
}

/// Keys currently locked in memory. An entry lives while some guard (or waiter) holds it.
#[derive(Debug, Default)]
struct LockTable {
    map: Mutex<BTreeMap<Key, Arc<KeyHandle>>>,
}

#[derive(Debug)]
struct KeyHandle {
    state: Mutex<HandleState>,
    released: Condvar,
}

#[derive(Debug, Default)]
struct HandleState {
    /// A guard owns the key.
    held: bool,
    /// The lock the owner published for readers (`None` until it decides one).
    lock: Option<Lock>,
}

/// Exclusive ownership of one key in the lock table; dropping it removes the in-memory lock.
///
/// Drop it only after the engine write carrying the lock has been applied (invariant 2 of
/// the module docs).
#[derive(Debug)]
pub struct KeyGuard {
    key: Key,
    handle: Arc<KeyHandle>,
    table: Arc<LockTable>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these short critical sections leaves plain data behind,
    // still consistent: keep going rather than poison every later command.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ConcurrencyManager {
    /// A manager whose `max_ts` starts at `latest_ts` (e.g. a fresh ts from the oracle, so a
    /// restarted node never picks commit ts below reads served before the restart).
    pub fn new(latest_ts: TimeStamp) -> ConcurrencyManager {
        ConcurrencyManager {
            max_ts: Arc::new(AtomicU64::new(latest_ts.into_inner())),
            table: Arc::new(LockTable::default()),
        }
    }

    /// The current `max_ts`.
    pub fn max_ts(&self) -> TimeStamp {
        TimeStamp::new(self.max_ts.load(Ordering::SeqCst))
    }

    /// Raises `max_ts` to `ts` if it is below. `u64::MAX` ("read the latest") is ignored: it
    /// would make every later async commit fail.
    pub fn update_max_ts(&self, ts: TimeStamp) {
        if !ts.is_max() {
            self.max_ts.fetch_max(ts.into_inner(), Ordering::SeqCst);
        }
    }

    /// Takes exclusive ownership of `key` in the lock table, waiting while another guard
    /// holds it.
    pub fn lock_key(&self, key: &Key) -> KeyGuard {
        let handle = {
            let mut map = locked(&self.table.map);
            map.entry(key.clone())
                .or_insert_with(|| {
                    Arc::new(KeyHandle {
                        state: Mutex::new(HandleState::default()),
                        released: Condvar::new(),
                    })
                })
                .clone()
        };
        let mut state = locked(&handle.state);
        while state.held {
            state = handle
                .released
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.held = true;
        drop(state);
        KeyGuard {
            key: key.clone(),
            handle,
            table: self.table.clone(),
        }
    }

    /// Checks `check` against the in-memory lock on `key`, if any.
    ///
    /// # Errors
    /// Whatever `check` returns for the lock.
    pub fn read_key_check<E>(
        &self,
        key: &Key,
        check: impl FnOnce(&Lock) -> Result<(), E>,
    ) -> Result<(), E> {
        let handle = locked(&self.table.map).get(key).cloned();
        if let Some(h) = handle {
            if let Some(lock) = &locked(&h.state).lock {
                return check(lock);
            }
        }
        Ok(())
    }

    /// Checks `check` against every in-memory lock on a key in `[start, end)` (`None`:
    /// unbounded), in key order, stopping at the first error.
    ///
    /// # Errors
    /// The first error `check` returns.
    pub fn read_range_check<E>(
        &self,
        start: Option<&Key>,
        end: Option<&Key>,
        mut check: impl FnMut(&Key, &Lock) -> Result<(), E>,
    ) -> Result<(), E> {
        // Copy out first: `check` must not run under the table mutex.
        let handles: Vec<(Key, Arc<KeyHandle>)> = locked(&self.table.map)
            .iter()
            .filter(|(k, _)| start.is_none_or(|s| *k >= s) && end.is_none_or(|e| *k < e))
            .map(|(k, h)| (k.clone(), h.clone()))
            .collect();
        for (key, h) in handles {
            let lock = locked(&h.state).lock.clone();
            if let Some(lock) = lock {
                check(&key, &lock)?;
            }
        }
        Ok(())
    }

    /// The smallest start ts of the locks in memory (resolved-ts and GC safe point checks
    /// must not pass a transaction still committing).
    pub fn global_min_lock_ts(&self) -> Option<TimeStamp> {
        let handles: Vec<Arc<KeyHandle>> = locked(&self.table.map).values().cloned().collect();
        handles
            .iter()
            .filter_map(|h| locked(&h.state).lock.as_ref().map(|l| l.ts))
            .min()
    }
}

impl KeyGuard {
    /// The key owned.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Runs `f` on the key's in-memory lock slot (set it to publish a lock to readers).
    pub fn with_lock<T>(&self, f: impl FnOnce(&mut Option<Lock>) -> T) -> T {
        f(&mut locked(&self.handle.state).lock)
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        {
            let mut state = locked(&self.handle.state);
            state.held = false;
            state.lock = None;
        }
        self.handle.released.notify_one();
        // Remove the entry when no one else refers to it: references are only taken under
        // the map mutex, so the count cannot grow while we hold it.
        let mut map = locked(&self.table.map);
        if Arc::strong_count(&self.handle) == 2 {
            map.remove(&self.key);
        }
    }
}

/// The commit ts an async-commit or 1PC prewrite of `lock` promises, published in memory:
/// `max(max_ts, start_ts, for_update_ts) + 1`, and at least `lock.min_commit_ts`. Sets it as
/// the lock's `min_commit_ts` and stores the lock in `guard`'s slot.
///
/// # Errors
/// `CommitTsTooLarge` if that ts exceeds a non-zero `max_commit_ts`; nothing is published.
pub fn async_commit_timestamps(
    cm: &ConcurrencyManager,
    guard: &KeyGuard,
    lock: &mut Lock,
    for_update_ts: TimeStamp,
    max_commit_ts: TimeStamp,
) -> Result<TimeStamp, KeyError> {
    guard.with_lock(|slot| {
        // Read max_ts while owning the slot: a reader that raised max_ts after this read
        // finds the lock in memory once we publish it below (module docs).
        let max_ts = cm.max_ts();
        let min_commit_ts = max_ts.max(lock.ts).max(for_update_ts).next();
        let min_commit_ts = min_commit_ts.max(lock.min_commit_ts);
        if !max_commit_ts.is_zero() && min_commit_ts > max_commit_ts {
            return Err(KeyError::CommitTsTooLarge {
                start_ts: lock.ts,
                min_commit_ts,
                max_commit_ts,
            });
        }
        lock.min_commit_ts = min_commit_ts;
        *slot = Some(lock.clone());
        Ok(min_commit_ts)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use mvcc::LockType;

    use super::*;

    fn lock(ts: u64) -> Lock {
        Lock::new(LockType::Put, b"pk".to_vec(), ts.into(), 100)
    }

    #[test]
    fn max_ts_only_rises_and_ignores_max() {
        let cm = ConcurrencyManager::new(10.into());
        cm.update_max_ts(5.into());
        assert_eq!(cm.max_ts(), 10.into());
        cm.update_max_ts(20.into());
        cm.update_max_ts(TimeStamp::max());
        assert_eq!(cm.max_ts(), 20.into());
    }

    #[test]
    fn memory_locks_are_seen_until_the_guard_drops() {
        let cm = ConcurrencyManager::new(1.into());
        let (a, b, c) = (
            Key::from_raw(b"a"),
            Key::from_raw(b"b"),
            Key::from_raw(b"c"),
        );
        let guard = cm.lock_key(&b);
        // Owned but nothing published yet: readers pass.
        assert_eq!(cm.read_key_check(&b, |_| Err(())), Ok(()));
        guard.with_lock(|l| *l = Some(lock(7)));
        assert_eq!(cm.read_key_check(&b, |l| Err(l.ts)), Err(7.into()));
        assert_eq!(cm.read_key_check(&a, |l| Err(l.ts)), Ok(()));
        let mut seen = Vec::new();
        let r: Result<(), ()> = cm.read_range_check(Some(&a), Some(&c), |k, _| {
            seen.push(k.clone());
            Ok(())
        });
        assert_eq!((r, seen), (Ok(()), vec![b.clone()]));
        assert_eq!(cm.read_range_check(Some(&c), None, |_, _| Err(())), Ok(()));
        assert_eq!(cm.global_min_lock_ts(), Some(7.into()));
        drop(guard);
        assert_eq!(cm.read_key_check(&b, |_| Err(())), Ok(()));
        assert_eq!(cm.global_min_lock_ts(), None);
        assert!(locked(&cm.table.map).is_empty());
    }

    #[test]
    fn a_second_guard_waits_for_the_first() {
        let cm = ConcurrencyManager::new(1.into());
        let k = Key::from_raw(b"k");
        let first = cm.lock_key(&k);
        let (cm2, k2) = (cm.clone(), k.clone());
        let waiter = std::thread::spawn(move || {
            let g = cm2.lock_key(&k2);
            g.with_lock(|l| l.is_none())
        });
        std::thread::sleep(Duration::from_millis(50));
        assert!(!waiter.is_finished());
        first.with_lock(|l| *l = Some(lock(3)));
        drop(first);
        assert!(waiter.join().unwrap(), "the lock leaves with its guard");
        assert!(locked(&cm.table.map).is_empty());
    }

    #[test]
    fn async_commit_ts_is_above_every_bound_and_checks_max_commit_ts() {
        let cm = ConcurrencyManager::new(42.into());
        let k = Key::from_raw(b"k");
        let guard = cm.lock_key(&k);
        let mut l = lock(10);
        let ts = async_commit_timestamps(&cm, &guard, &mut l, 0.into(), 50.into()).unwrap();
        assert_eq!((ts, l.min_commit_ts), (43.into(), 43.into()));
        assert_eq!(
            cm.read_key_check(&k, |l| Err(l.min_commit_ts)),
            Err(43.into())
        );
        // for_update_ts above max_ts wins.
        let mut l = lock(10);
        let ts = async_commit_timestamps(&cm, &guard, &mut l, 60.into(), 0.into()).unwrap();
        assert_eq!(ts, 61.into());
        cm.update_max_ts(60.into());
        let mut l = lock(10);
        let err = async_commit_timestamps(&cm, &guard, &mut l, 0.into(), 50.into()).unwrap_err();
        assert_eq!(
            err,
            KeyError::CommitTsTooLarge {
                start_ts: 10.into(),
                min_commit_ts: 61.into(),
                max_commit_ts: 50.into()
            }
        );
        assert!(l.min_commit_ts.is_zero(), "nothing set on failure");
    }
}
