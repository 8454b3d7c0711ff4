//! Resolving the locks a client meets (tikv-client's `LockResolver`, client-go's
//! `txnlock/lock_resolver.go`).
//!
//! For a lock of transaction T met on key k:
//! 1. Ask T's primary (`check_txn_status`, with the caller's start ts so a 2PC lock's
//!    min_commit_ts is pushed past a reader; rolling back a missing primary only once k's
//!    lock has expired, because T's primary may be prewritten after k in other clients).
//! 2. Committed: commit k at T's commit ts. Rolled back (or expired, or never written):
//!    roll k back. A pessimistic primary removed without a record: remove k's pessimistic
//!    lock.
//! 3. Still locked, 2PC: a reader whose ts the primary's min_commit_ts now exceeds reads
//!    past T's locks (bypass); anyone else waits.
//! 4. Still locked, async commit: the primary never decides. While its TTL lives, wait;
//!    after, ask every secondary (`check_secondary_locks`): any committed → committed; any
//!    rolled back or missing (a rollback is written there) → rolled back; all locked → T is
//!    committed at the largest min_commit_ts of its locks, the ts its client computes too.
//!    The decision is applied to the primary and every secondary.
//!
//! Resolving a key is `resolve_lock` on the one-key range `[k, k\0)`.

use std::collections::HashMap;
use std::time::Duration;

use mvcc::{Lock, LockInfo, LockType, TimeStamp};

use super::client::{Client, ClientError, ClientStats};
use crate::actions::check_secondary_locks::SecondaryLocksStatus;
use crate::actions::check_txn_status::{CheckTxnStatusArgs, TxnStatus};
use crate::{Engine, Error, KeyError};

/// What a reader or writer does after one resolution round.
enum Resolution {
    /// The lock is gone: retry.
    Done,
    /// The reader may pass locks of this ts.
    Bypass(TimeStamp),
    /// T is alive: back off, then retry.
    Wait,
}

impl<E: Engine> Client<E> {
    /// One round for a reader at `caller_start_ts` (module docs); answers a ts the reader
    /// may now bypass. Backs off before returning when the lock is alive.
    ///
    /// # Errors
    /// Storage errors.
    pub(super) async fn resolve_for_read(
        &self,
        lock: &LockInfo,
        caller_start_ts: TimeStamp,
    ) -> Result<Option<TimeStamp>, ClientError> {
        match self.resolve(lock, caller_start_ts).await? {
            Resolution::Done => Ok(None),
            Resolution::Bypass(ts) => {
                ClientStats::bump(&self.stats.bypassed);
                Ok(Some(ts))
            }
            Resolution::Wait => {
                self.back_off().await;
                Ok(None)
            }
        }
    }

    /// One round for a writer (prewrite or pessimistic lock): nothing to bypass.
    ///
    /// # Errors
    /// Storage errors.
    pub(super) async fn resolve_for_write(&self, lock: &LockInfo) -> Result<(), ClientError> {
        if !matches!(
            self.resolve(lock, TimeStamp::zero()).await?,
            Resolution::Done
        ) {
            self.back_off().await;
        }
        Ok(())
    }

    /// What became of transaction `start_ts` with primary `primary`, deciding it if it is
    /// still open (a client that abandoned it after prewrite): its commit ts, or `None` if
    /// rolled back.
    ///
    /// # Errors
    /// `Stuck`, storage errors.
    pub async fn settle(
        &self,
        primary: &[u8],
        start_ts: TimeStamp,
    ) -> Result<Option<TimeStamp>, ClientError> {
        let deadline = self.deadline();
        loop {
            let status = self
                .check_status(primary, start_ts, TimeStamp::zero(), true, false)
                .await?;
            match status {
                Some(TxnStatus::Committed { commit_ts }) => return Ok(Some(commit_ts)),
                Some(TxnStatus::Uncommitted { lock, .. }) => {
                    if lock.use_async_commit && self.expired(lock.ts, lock.ttl) {
                        self.resolve_async_commit(primary, &lock).await?;
                    } else {
                        self.back_off().await;
                    }
                }
                Some(_) => return Ok(None),
                None => self.back_off().await,
            }
            self.check_deadline(deadline, "settling a transaction")?;
        }
    }

    async fn resolve(
        &self,
        lock: &LockInfo,
        caller_start_ts: TimeStamp,
    ) -> Result<Resolution, ClientError> {
        let lock_ts = lock.lock_version;
        let pessimistic = lock.lock_type == LockType::Pessimistic;
        let expired = self.expired(lock_ts, lock.lock_ttl);
        let status = self
            .check_status(
                &lock.primary_lock,
                lock_ts,
                caller_start_ts,
                expired,
                pessimistic,
            )
            .await?;
        let Some(status) = status else {
            return Ok(Resolution::Wait);
        };
        match status {
            TxnStatus::Committed { commit_ts } => {
                self.resolve_keys(std::slice::from_ref(&lock.key), lock_ts, commit_ts)
                    .await?;
            }
            TxnStatus::RolledBack | TxnStatus::TtlExpire | TxnStatus::LockNotExist => {
                self.resolve_keys(std::slice::from_ref(&lock.key), lock_ts, TimeStamp::zero())
                    .await?;
            }
            TxnStatus::PessimisticRollBack | TxnStatus::LockNotExistDoNothing => {
                self.storage
                    .pessimistic_rollback(
                        std::slice::from_ref(&lock.key),
                        lock_ts,
                        TimeStamp::max(),
                    )
                    .await?;
            }
            TxnStatus::Uncommitted {
                lock: primary,
                min_commit_ts_pushed,
            } => {
                if primary.use_async_commit {
                    if !self.expired(primary.ts, primary.ttl) {
                        return Ok(Resolution::Wait);
                    }
                    self.resolve_async_commit(&lock.primary_lock, &primary)
                        .await?;
                } else if min_commit_ts_pushed && !caller_start_ts.is_zero() && !pessimistic {
                    return Ok(Resolution::Bypass(lock_ts));
                } else {
                    return Ok(Resolution::Wait);
                }
            }
        }
        Ok(Resolution::Done)
    }

    /// `check_txn_status` on `primary`; `None` for `TxnNotFound` (the primary's prewrite
    /// may still come).
    async fn check_status(
        &self,
        primary: &[u8],
        lock_ts: TimeStamp,
        caller_start_ts: TimeStamp,
        rollback_if_not_exist: bool,
        resolving_pessimistic_lock: bool,
    ) -> Result<Option<TxnStatus>, ClientError> {
        let args = CheckTxnStatusArgs {
            lock_ts,
            caller_start_ts,
            current_ts: self.oracle.now(),
            rollback_if_not_exist,
            force_sync_commit: false,
            resolving_pessimistic_lock,
            verify_is_primary: true,
        };
        match self.storage.check_txn_status(primary, args).await {
            Ok(status) => Ok(Some(status)),
            Err(Error::Key(e)) if matches!(*e, KeyError::TxnNotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Rule 4 for an expired async-commit primary `lock` on `primary`.
    async fn resolve_async_commit(&self, primary: &[u8], lock: &Lock) -> Result<(), ClientError> {
        ClientStats::bump(&self.stats.async_commit_checks);
        let status = self
            .storage
            .check_secondary_locks(&lock.secondaries, lock.ts)
            .await?;
        let commit_ts = match status {
            SecondaryLocksStatus::Committed(ts) => ts,
            SecondaryLocksStatus::RolledBack => TimeStamp::zero(),
            SecondaryLocksStatus::Locked(locks) => locks
                .iter()
                .map(|l| l.min_commit_ts)
                .fold(lock.min_commit_ts, Ord::max),
        };
        let mut keys = lock.secondaries.clone();
        keys.push(primary.to_vec());
        self.resolve_keys(&keys, lock.ts, commit_ts).await
    }

    /// Commits (`commit_ts` > 0) or rolls back `keys` of `lock_ts` through `resolve_lock`.
    async fn resolve_keys(
        &self,
        keys: &[Vec<u8>],
        lock_ts: TimeStamp,
        commit_ts: TimeStamp,
    ) -> Result<(), ClientError> {
        let counter = if commit_ts.is_zero() {
            &self.stats.resolved_rolled_back
        } else {
            &self.stats.resolved_committed
        };
        for key in keys {
            let mut end = key.clone();
            end.push(0);
            let status = HashMap::from([(lock_ts, commit_ts)]);
            let n = self
                .storage
                .resolve_lock(status, Some(key), Some(&end))
                .await?;
            counter.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }

    /// True if a lock of `lock_ts` with `ttl` has expired by now (the storage's rule).
    fn expired(&self, lock_ts: TimeStamp, ttl: u64) -> bool {
        lock_ts.physical() + ttl < self.oracle.now().physical()
    }

    async fn back_off(&self) {
        ClientStats::bump(&self.stats.waits);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }

    /// `Stuck` once `deadline` passed.
    pub(super) fn check_deadline(
        &self,
        deadline: tokio::time::Instant,
        what: &str,
    ) -> Result<(), ClientError> {
        if tokio::time::Instant::now() > deadline {
            return Err(ClientError::Stuck(format!(
                "{what} for longer than {:?}",
                self.config.give_up_after
            )));
        }
        Ok(())
    }
}
