//! acquire_pessimistic_lock with lock waiting, and pessimistic_rollback (TiKV's
//! `commands/acquire_pessimistic_lock.rs`, `pessimistic_rollback.rs` and the lock manager's
//! waiting, `src/server/lock_manager/`).
//!
//! Waiting, per request:
//! 1. `wait_timeout < 0`: never wait — another transaction's lock is `KeyIsLocked` at once.
//!    `0` means the store's default wait (1 s); otherwise that many milliseconds, measured
//!    from the request's arrival (one deadline across retries).
//! 2. On another transaction's lock, still under the latches: ask the wait-for graph; a
//!    cycle is answered `Deadlock` at once, otherwise the request joins the key's FIFO
//!    queue, then releases its latches and waits.
//! 3. Woken (the lock was released and the release applied), it runs again from the start
//!    with the same for_update_ts: if the holder committed a newer version the answer is a
//!    `WriteConflict`, if it rolled back the request gets the lock (TiKV's rules).
//! 4. At the deadline it runs once more without waiting, so the answer is the key's lock as
//!    it is then (`KeyIsLocked`), or success if it was released just then.
//! 5. A woken request that ends without the key's lock wakes the next waiter (the
//!    `waiter_queue` contract), so one release reaches every waiter in turn.

use mvcc::{Key, MvccReader, MvccTxn, TimeStamp};
use tokio::time::Instant;

use super::{keys_from_raw, TxnStorage};
use crate::actions::acquire_pessimistic_lock::{
    acquire_pessimistic_lock, AcquirePessimisticLockRequest, PessimisticLockKeyResult,
};
use crate::actions::pessimistic_rollback::pessimistic_rollback;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::key_error::KeyError;
use crate::lock_wait::waiter_queue::WaitOutcome;

impl<E: Engine> TxnStorage<E> {
    /// Locks every key of `req` (all or nothing), waiting for other transactions' locks per
    /// `wait_timeout_ms` (module docs). Results are aligned with `req.keys`.
    ///
    /// # Errors
    /// `KeyIsLocked` (no wait, or timed out), `Deadlock`, `WriteConflict`,
    /// `PessimisticLockRolledBack`, `AlreadyExist`, `LockTypeNotMatch` (as data); engine
    /// errors.
    pub async fn acquire_pessimistic_lock(
        &self,
        req: AcquirePessimisticLockRequest,
        wait_timeout_ms: i64,
    ) -> Result<Vec<PessimisticLockKeyResult>> {
        let mut deadline = match u64::try_from(wait_timeout_ms) {
            Err(_) => None,
            Ok(0) => Some(Instant::now() + self.default_wait),
            Ok(ms) => Some(Instant::now() + std::time::Duration::from_millis(ms)),
        };
        let keys: Vec<Key> = req.keys.iter().map(|(k, _)| k.clone()).collect();
        // The key this request was last woken on (rule 5).
        let mut woken_on: Option<Vec<u8>> = None;
        loop {
            let latch = self.latches.acquire(keys.iter().map(Key::as_encoded)).await;
            let snap = self.engine.snapshot().await?;
            let mut txn = MvccTxn::new(req.start_ts);
            let result =
                acquire_pessimistic_lock(&mut txn, &mut MvccReader::new(&snap), &self.cm, &req);
            drop(snap);
            let info = match result {
                Ok(values) => {
                    self.write_txn(txn).await?;
                    return Ok(values);
                }
                Err(Error::Key(e)) => match *e {
                    KeyError::KeyIsLocked(info)
                        if info.lock_version != req.start_ts && deadline.is_some() =>
                    {
                        info
                    }
                    e => {
                        drop(latch);
                        self.pass_on_wake(woken_on.take());
                        return Err(e.into());
                    }
                },
                Err(e) => {
                    drop(latch);
                    self.pass_on_wake(woken_on.take());
                    return Err(e);
                }
            };
            // Rule 2, under the latches.
            let encoded = Key::from_raw(&info.key).into_encoded();
            let same_key = woken_on.as_deref() == Some(&encoded[..]);
            if !same_key {
                self.pass_on_wake(woken_on.take());
            }
            let pending = match self.lock_waits.register(
                req.start_ts,
                info.lock_version,
                &info.key,
                &encoded,
                same_key,
            ) {
                Ok(p) => p,
                Err(deadlock) => {
                    drop(latch);
                    self.pass_on_wake(woken_on.take());
                    return Err(deadlock.into());
                }
            };
            drop(latch);
            let until = deadline.unwrap_or_else(Instant::now);
            match self.lock_waits.wait(pending, until).await {
                WaitOutcome::Woken => woken_on = Some(encoded),
                WaitOutcome::TimedOut => {
                    // Rule 4: one last try, without waiting.
                    woken_on = None;
                    deadline = None;
                }
            }
        }
    }

    /// Rule 5: a woken request that will not hold the key hands the wake-up on.
    fn pass_on_wake(&self, key: Option<Vec<u8>>) {
        if let Some(k) = key {
            self.lock_waits.wake(&k);
        }
    }

    /// Removes the pessimistic locks of `start_ts` on `keys` acquired at or below
    /// `for_update_ts`; returns how many were removed. Waiters on those keys are woken.
    ///
    /// # Errors
    /// Engine errors.
    pub async fn pessimistic_rollback(
        &self,
        keys: &[Vec<u8>],
        start_ts: TimeStamp,
        for_update_ts: TimeStamp,
    ) -> Result<usize> {
        let keys = keys_from_raw(keys);
        self.write_command(&keys, start_ts, |txn, reader| {
            pessimistic_rollback(txn, reader, keys.clone(), start_ts, for_update_ts)
        })
        .await
    }
}
