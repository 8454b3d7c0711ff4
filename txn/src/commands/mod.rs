//! The command layer: [`TxnStorage`], one async method per transactional request the server
//! exposes (TiKV's `Storage` with its scheduler, `src/storage/mod.rs` and
//! `src/storage/txn/scheduler.rs`). Methods are grouped by file: `read` (get, batch_get,
//! scan, scan_lock), `two_pc` (prewrite, commit, cleanup, batch_rollback), `status`
//! (check_txn_status, check_secondary_locks, txn_heart_beat), `resolve` (resolve_lock,
//! resolve_lock_lite), `pessimistic` (acquire_pessimistic_lock with lock waiting,
//! pessimistic_rollback), `maintenance` (gc, delete_range).
//!
//! Contract of every write command (invariants):
//! 1. It takes the latches of its keys (sorted slots, [`Latches`]) before its snapshot and
//!    releases them only after its write resolved, so commands on the same keys run one at
//!    a time and see each other's effects; commands on disjoint keys never wait on each
//!    other (barring a latch-slot hash collision).
//! 2. It runs its action(s) into one `MvccTxn` and writes the result as ONE engine batch,
//!    or writes nothing if an action failed. Batched commands (resolve_lock over a range,
//!    gc) are a sequence of such commands, each with its own latches and batch.
//! 3. Every lock its batch removes wakes that key's first lock waiter, after the write
//!    (the `lock_wait` contract).
//! 4. Async commit and 1PC prewrites hold their concurrency-manager key guards (the
//!    in-memory locks) until the write resolved.
//!
//! Reads take no latches: they raise `max_ts` to their ts, check the in-memory lock table,
//! then read a snapshot (see `read`).
//!
//! Concurrency: `TxnStorage` is cheap to clone (everything shared is behind `Arc`); methods
//! take `&self` and their futures are `Send`.

mod maintenance;
mod pessimistic;
mod read;
mod resolve;
mod status;
mod two_pc;
pub mod types;

use std::sync::Arc;
use std::time::Duration;

use mvcc::{Cf, Key, Modify, MvccReader, MvccTxn, TimeStamp};

use crate::concurrency_manager::ConcurrencyManager;
use crate::engine::Engine;
use crate::error::Result;
use crate::latch::Latches;
use crate::lock_wait::LockWaitManager;

/// Keys resolved per engine batch by `resolve_lock` (TiKV's `RESOLVE_LOCK_BATCH_SIZE`).
pub const RESOLVE_LOCK_BATCH_SIZE: usize = 256;
/// User keys garbage-collected per engine batch by `gc`.
pub const GC_BATCH_SIZE: usize = 256;
/// What a `wait_timeout` of 0 means (TiKV's default `wait-for-lock-timeout`).
pub const DEFAULT_LOCK_WAIT_TIMEOUT: Duration = Duration::from_secs(1);

/// The transactional API over an engine (module docs).
#[derive(Clone)]
pub struct TxnStorage<E: Engine> {
    engine: E,
    /// max_ts and the in-memory lock table shared with everything that computes commit ts.
    cm: ConcurrencyManager,
    /// Serialise write commands on the same keys (invariant 1).
    latches: Arc<Latches>,
    /// Pessimistic lock waiters and the wait-for graph.
    lock_waits: Arc<LockWaitManager>,
    /// Whether writes wait for durability.
    sync: bool,
    /// The wait of a `wait_timeout` 0 request.
    default_wait: Duration,
}

impl<E: Engine> std::fmt::Debug for TxnStorage<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxnStorage")
            .field("max_ts", &self.cm.max_ts())
            .field("sync", &self.sync)
            .finish_non_exhaustive()
    }
}

impl<E: Engine> TxnStorage<E> {
    /// Transactional storage over `engine` with the store's concurrency manager; its own
    /// latches and lock waiters; synced writes.
    pub fn new(engine: E, cm: ConcurrencyManager) -> TxnStorage<E> {
        TxnStorage {
            engine,
            cm,
            latches: Arc::new(Latches::default()),
            lock_waits: Arc::new(LockWaitManager::new()),
            sync: true,
            default_wait: DEFAULT_LOCK_WAIT_TIMEOUT,
        }
    }

    /// Uses `latches` (e.g. shared with the raw API).
    #[must_use]
    pub fn with_latches(mut self, latches: Arc<Latches>) -> TxnStorage<E> {
        self.latches = latches;
        self
    }

    /// Whether writes wait until durable (default true).
    #[must_use]
    pub fn with_sync(mut self, sync: bool) -> TxnStorage<E> {
        self.sync = sync;
        self
    }

    /// What a `wait_timeout` of 0 waits (default [`DEFAULT_LOCK_WAIT_TIMEOUT`]).
    #[must_use]
    pub fn with_default_lock_wait(mut self, wait: Duration) -> TxnStorage<E> {
        self.default_wait = wait;
        self
    }

    /// The engine underneath.
    pub fn engine(&self) -> &E {
        &self.engine
    }

    /// The same storage over another engine: the concurrency manager, latches and lock
    /// waiters are shared, so commands on either serialise and wake each other. The Raft
    /// server makes one per request, over an engine bound to the request's region.
    pub fn with_engine<E2: Engine>(&self, engine: E2) -> TxnStorage<E2> {
        TxnStorage {
            engine,
            cm: self.cm.clone(),
            latches: self.latches.clone(),
            lock_waits: self.lock_waits.clone(),
            sync: self.sync,
            default_wait: self.default_wait,
        }
    }

    /// The concurrency manager.
    pub fn concurrency_manager(&self) -> &ConcurrencyManager {
        &self.cm
    }

    /// The latches write commands take.
    pub fn latches(&self) -> &Arc<Latches> {
        &self.latches
    }

    /// The lock-wait manager (for tests and diagnostics).
    pub fn lock_waits(&self) -> &Arc<LockWaitManager> {
        &self.lock_waits
    }

    /// Runs one write command (invariants 1–3): latches on `keys`, a snapshot, `action`
    /// into one buffer, one batch.
    ///
    /// # Errors
    /// The action's error (nothing written); engine errors.
    async fn write_command<T, F>(&self, keys: &[Key], start_ts: TimeStamp, action: F) -> Result<T>
    where
        F: FnOnce(&mut MvccTxn, &mut MvccReader<'_, E::Snap>) -> Result<T>,
    {
        let _latch = self.latches.acquire(keys.iter().map(Key::as_encoded)).await;
        let snap = self.engine.snapshot().await?;
        let mut txn = MvccTxn::new(start_ts);
        let out = action(&mut txn, &mut MvccReader::new(&snap))?;
        drop(snap);
        self.write_txn(txn).await?;
        Ok(out)
    }

    /// Writes `txn` as one batch, then wakes the first waiter of every lock it removed
    /// (invariant 3). An empty buffer writes nothing.
    ///
    /// # Errors
    /// Engine errors.
    async fn write_txn(&self, txn: MvccTxn) -> Result<()> {
        if txn.is_empty() {
            return Ok(());
        }
        let modifies = txn.into_modifies();
        let released: Vec<Vec<u8>> = modifies
            .iter()
            .filter_map(|m| match m {
                Modify::Delete { cf: Cf::Lock, key } => Some(key.clone()),
                _ => None,
            })
            .collect();
        self.engine.write(modifies, self.sync).await?;
        for key in released {
            self.lock_waits.wake(&key);
        }
        Ok(())
    }
}

/// Encoded keys from raw ones.
fn keys_from_raw<K: AsRef<[u8]>>(keys: &[K]) -> Vec<Key> {
    keys.iter().map(|k| Key::from_raw(k.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use mvcc::TimeStamp;

    use super::*;
    use crate::MemoryEngine;

    #[tokio::test]
    async fn with_engine_shares_timestamps_and_latches() {
        let a = TxnStorage::new(
            MemoryEngine::new(),
            ConcurrencyManager::new(TimeStamp::new(1)),
        );
        let b = a.with_engine(MemoryEngine::new());
        a.concurrency_manager().update_max_ts(TimeStamp::new(50));
        assert_eq!(b.concurrency_manager().max_ts(), TimeStamp::new(50));
        assert!(Arc::ptr_eq(&a.latches, &b.latches));
        assert!(Arc::ptr_eq(&a.lock_waits, &b.lock_waits));
    }
}
