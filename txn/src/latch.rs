//! Key latches: the in-memory mutual exclusion that serialises commands touching the same keys
//! between their read of a snapshot and their write (TiKV's scheduler latches).
//!
//! There is a fixed number of *slots*. A command hashes each of its keys to a slot, sorts and
//! deduplicates the slot ids and takes the slots one by one in **ascending** order, waiting for
//! each; it holds them all until its [`LatchGuard`] is dropped.
//!
//! Invariants:
//! 1. Deadlock freedom: every command takes its slots in one global order (ascending id) and
//!    never releases one while waiting for a later one, so no cycle of waiters can form.
//! 2. No starvation: each slot is a FIFO queue (tokio's `Mutex` hands itself to waiters in
//!    the order they asked), so a waiter is passed over by no one who queued after it.
//! 3. Commands whose keys hash to disjoint slot sets never wait on each other. Distinct keys
//!    can share a slot (a hash collision): they are then serialised needlessly but safely.
//!    More slots make that rarer; the cost is one small mutex per slot.
//!
//! Concurrency: `Latches` is `Send + Sync` and shared by reference or `Arc`. Dropping an
//! `acquire` future before it resolves releases whatever slots it had already taken.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard};

/// Slots used by [`Latches::default`]: enough that unrelated commands rarely collide.
pub const DEFAULT_LATCH_SLOTS: usize = 2048;

/// A fixed table of latch slots (see the module docs).
#[derive(Debug)]
pub struct Latches {
    /// One FIFO mutex per slot; the length is a power of two so a slot is `hash & mask`.
    slots: Box<[Arc<Mutex<()>>]>,
    mask: u64,
}

impl Default for Latches {
    fn default() -> Self {
        Latches::new(DEFAULT_LATCH_SLOTS)
    }
}

impl Latches {
    /// A table of at least `slots` slots (rounded up to a power of two, at least one).
    pub fn new(slots: usize) -> Latches {
        let n = slots.max(1).next_power_of_two();
        Latches {
            slots: (0..n).map(|_| Arc::new(Mutex::new(()))).collect(),
            // `n` fits in u64 on every platform Rust supports.
            mask: n as u64 - 1,
        }
    }

    /// The number of slots.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The slot of one key. Deterministic within a process (the hasher has fixed keys).
    pub fn slot_of(&self, key: &[u8]) -> usize {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        // The mask keeps the value below the slot count, which is a usize.
        usize::try_from(h.finish() & self.mask).unwrap_or(0)
    }

    /// The slots `keys` need, sorted ascending and without duplicates: the acquisition order.
    pub fn slot_ids<K: AsRef<[u8]>>(&self, keys: impl IntoIterator<Item = K>) -> Vec<usize> {
        let mut ids: Vec<usize> = keys.into_iter().map(|k| self.slot_of(k.as_ref())).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Waits until every slot of `keys` is held by this caller, and returns the guard that
    /// holds them. An empty key set resolves at once with an empty guard.
    pub async fn acquire<K: AsRef<[u8]>>(&self, keys: impl IntoIterator<Item = K>) -> LatchGuard {
        let ids = self.slot_ids(keys);
        let mut held = Vec::with_capacity(ids.len());
        // Ascending order (invariant 1). Guards taken so far live in `held`; if this future is
        // dropped mid-way they are dropped with it and the slots are released.
        for id in &ids {
            held.push(self.slots[*id].clone().lock_owned().await);
        }
        LatchGuard { slots: ids, held }
    }

    /// Takes every slot of `keys` if all are free right now; `None` (holding nothing) if any
    /// is held or has waiters.
    pub fn try_acquire<K: AsRef<[u8]>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Option<LatchGuard> {
        let ids = self.slot_ids(keys);
        let mut held = Vec::with_capacity(ids.len());
        for id in &ids {
            held.push(self.slots[*id].clone().try_lock_owned().ok()?);
        }
        Some(LatchGuard { slots: ids, held })
    }
}

/// The slots a command holds; dropping it releases them and wakes each slot's next waiter.
#[derive(Debug)]
pub struct LatchGuard {
    /// The slot ids held, ascending (for diagnostics and tests).
    slots: Vec<usize>,
    held: Vec<OwnedMutexGuard<()>>,
}

impl LatchGuard {
    /// The slot ids held, ascending.
    pub fn slots(&self) -> &[usize] {
        &self.slots
    }

    /// True if the guard holds no slot (it was acquired for no keys).
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashSet;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    /// Two keys that land in different slots of `l`.
    fn disjoint_keys(l: &Latches) -> (Vec<u8>, Vec<u8>) {
        let a = b"k0".to_vec();
        for i in 1..1000u32 {
            let b = format!("k{i}").into_bytes();
            if l.slot_of(&b) != l.slot_of(&a) {
                return (a, b);
            }
        }
        unreachable!("1000 keys in one slot")
    }

    #[test]
    fn slot_ids_are_sorted_unique_and_bounded() {
        let l = Latches::new(5);
        assert_eq!(l.slot_count(), 8);
        let ids = l.slot_ids([b"a".as_slice(), b"b", b"a", b"c", b"zz"]);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert!(ids.iter().all(|i| *i < 8));
        assert_eq!(l.slot_ids([b"x"; 3]).len(), 1);
        assert_eq!(Latches::new(0).slot_count(), 1);
    }

    #[tokio::test]
    async fn overlapping_commands_wait_and_disjoint_ones_do_not() {
        let l = Latches::new(64);
        let (a, b) = disjoint_keys(&l);
        let g1 = l.acquire([&a]).await;
        // Disjoint: immediately available, both ways.
        let g2 = l.try_acquire([&b]).unwrap();
        // Overlapping: not available while g1 is held, and the failed attempt holds nothing.
        assert!(l.try_acquire([&a, &b]).is_none());
        drop(g2);
        assert!(l.try_acquire([&b]).is_some(), "the failed try released b");
        let waiter = l.acquire([&b, &a]);
        tokio::pin!(waiter);
        assert!(
            tokio::time::timeout(Duration::from_millis(20), &mut waiter)
                .await
                .is_err(),
            "must wait for g1"
        );
        drop(g1);
        let g3 = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap();
        assert_eq!(g3.slots().len(), 2);
        assert!(l.acquire(Vec::<Vec<u8>>::new()).await.is_empty());
    }

    #[tokio::test]
    async fn waiters_of_one_slot_are_served_in_arrival_order() {
        let l = Arc::new(Latches::new(16));
        let first = l.acquire([b"k"]).await;
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..5 {
            let (l, order) = (l.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _g = l.acquire([b"k"]).await;
                order.lock().unwrap().push(i);
            }));
            // Let task i queue before task i + 1 is spawned.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3, 4]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn random_overlapping_commands_are_exclusive_and_never_deadlock() {
        // Few slots and few keys: many collisions and overlaps, the hard case.
        const KEYS: usize = 12;
        let l = Arc::new(Latches::new(8));
        let in_use: Arc<Vec<AtomicBool>> =
            Arc::new((0..KEYS).map(|_| AtomicBool::new(false)).collect());
        let done = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for t in 0..16u64 {
            let (l, in_use, done) = (l.clone(), in_use.clone(), done.clone());
            tasks.push(tokio::spawn(async move {
                let mut seed = t.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                for _ in 0..200 {
                    // xorshift: a random set of 1..=4 keys, possibly with repeats.
                    let mut keys = Vec::new();
                    for _ in 0..=(seed % 4) {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        keys.push(usize::try_from(seed % KEYS as u64).unwrap());
                    }
                    let names: Vec<Vec<u8>> = keys.iter().map(|k| vec![*k as u8]).collect();
                    let _g = l.acquire(&names).await;
                    let unique: HashSet<usize> = keys.iter().copied().collect();
                    for k in &unique {
                        assert!(
                            !in_use[*k].swap(true, Ordering::SeqCst),
                            "key {k} held twice"
                        );
                    }
                    tokio::task::yield_now().await;
                    for k in &unique {
                        in_use[*k].store(false, Ordering::SeqCst);
                    }
                }
                done.fetch_add(1, Ordering::SeqCst);
            }));
        }
        let all = futures_join(tasks);
        tokio::time::timeout(Duration::from_secs(30), all)
            .await
            .expect("deadlock: commands did not finish");
        assert_eq!(done.load(Ordering::SeqCst), 16);
    }

    async fn futures_join(tasks: Vec<tokio::task::JoinHandle<()>>) {
        for t in tasks {
            t.await.unwrap();
        }
    }

    proptest! {
        #[test]
        fn slot_ids_cover_exactly_the_keys_slots(
            keys in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..6), 0..20),
            slots in 1usize..300,
        ) {
            let l = Latches::new(slots);
            let ids = l.slot_ids(&keys);
            prop_assert!(ids.windows(2).all(|w| w[0] < w[1]));
            let expected: HashSet<usize> = keys.iter().map(|k| l.slot_of(k)).collect();
            prop_assert_eq!(ids.iter().copied().collect::<HashSet<_>>(), expected);
            prop_assert!(ids.iter().all(|i| *i < l.slot_count()));
        }

        #[test]
        fn a_second_command_conflicts_iff_its_slots_intersect(
            a in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..4), 0..6),
            b in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..4), 0..6),
            slots in 1usize..64,
        ) {
            let l = Latches::new(slots);
            let held = l.try_acquire(&a).unwrap();
            let sa: HashSet<usize> = l.slot_ids(&a).into_iter().collect();
            let disjoint = l.slot_ids(&b).iter().all(|id| !sa.contains(id));
            prop_assert_eq!(l.try_acquire(&b).is_some(), disjoint);
            drop(held);
            prop_assert!(l.try_acquire(&b).is_some());
        }
    }
}
