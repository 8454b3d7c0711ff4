//! Pessimistic locking for a [`Txn`]: reads for update, the heart beat that keeps its
//! locks alive, and giving a transaction up before prewrite (contracts 2 and 4 of
//! `client`).

use std::time::{Duration, Instant};

use mvcc::Key;

use super::client::{ClientError, ClientStats, Txn};
use crate::actions::acquire_pessimistic_lock::{
    AcquirePessimisticLockRequest, PessimisticLockKeyResult,
};
use crate::{Engine, Error, KeyError};

impl<E: Engine> Txn<E> {
    /// Reads `keys` for update. Pessimistic: locks them at a fresh for_update_ts (newer on
    /// each write conflict) and answers their latest values (contract 2). Optimistic: a
    /// read at start ts; the prewrite will find any newer write.
    ///
    /// # Errors
    /// `Aborted` (deadlock, or the lock was lost; the transaction is rolled back), `Stuck`,
    /// `Storage`.
    pub async fn get_for_update(
        &mut self,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, ClientError> {
        if !self.flavour.pessimistic {
            return self.batch_get(keys).await;
        }
        let values = self.lock_keys(keys, true).await?;
        Ok(keys
            .iter()
            .zip(values)
            .map(|(k, v)| match self.writes.get(k) {
                Some(own) => own.clone(),
                None => v,
            })
            .collect())
    }

    /// Takes our pessimistic lock on `keys` (module docs of `get_for_update`); with
    /// `need_value`, answers their values at the for_update_ts that succeeded. Keys we
    /// already hold are not locked again (contract 4 of `client`): their value is the one
    /// read when they were locked. REQUIRES: with `need_value`, every key already held was
    /// locked with its value.
    pub(super) async fn lock_keys(
        &mut self,
        keys: &[Vec<u8>],
        need_value: bool,
    ) -> Result<Vec<Option<Vec<u8>>>, ClientError> {
        let fresh: Vec<Vec<u8>> = keys
            .iter()
            .filter(|k| !self.locked.contains(*k))
            .cloned()
            .collect();
        let values = self.lock_fresh_keys(&fresh, need_value).await?;
        if need_value {
            for (k, v) in fresh.into_iter().zip(values) {
                self.locked_values.insert(k, v);
            }
        }
        Ok(keys
            .iter()
            .map(|k| match self.locked_values.get(k) {
                Some(v) => v.clone(),
                None if need_value => panic!("{k:?} was locked without its value"),
                None => None,
            })
            .collect())
    }

    /// Locks `keys`, none of which we hold (see `lock_keys`).
    async fn lock_fresh_keys(
        &mut self,
        keys: &[Vec<u8>],
        need_value: bool,
    ) -> Result<Vec<Option<Vec<u8>>>, ClientError> {
        let Some(first) = keys.first() else {
            return Ok(Vec::new());
        };
        let primary = self.primary.get_or_insert_with(|| first.clone()).clone();
        // Each statement locks at a fresh ts, as TiDB does.
        self.for_update_ts = self.client.oracle.now();
        let deadline = self.client.deadline();
        let began = Instant::now();
        loop {
            let req = AcquirePessimisticLockRequest {
                keys: keys.iter().map(|k| (Key::from_raw(k), false)).collect(),
                primary: primary.clone(),
                start_ts: self.start_ts,
                for_update_ts: self.for_update_ts,
                lock_ttl: self.client.config.lock_ttl_ms,
                min_commit_ts: self.for_update_ts.next(),
                need_value,
                need_check_existence: false,
                lock_only_if_exists: false,
            };
            let wait = self.client.config.lock_wait_ms;
            let err = match self
                .client
                .storage
                .acquire_pessimistic_lock(req, wait)
                .await
            {
                Ok(results) => {
                    self.primary_locked |= keys.contains(&primary);
                    self.locked.extend(keys.iter().cloned());
                    return Ok(results
                        .into_iter()
                        .map(|r| match r {
                            PessimisticLockKeyResult::Value(v) => v,
                            _ => None,
                        })
                        .collect());
                }
                Err(Error::Key(e)) => *e,
                Err(e) => return Err(e.into()),
            };
            match err {
                KeyError::WriteConflict {
                    conflict_commit_ts, ..
                } => {
                    ClientStats::bump(&self.client.stats.for_update_retries);
                    self.for_update_ts = self.client.oracle.now().max(conflict_commit_ts);
                }
                KeyError::KeyIsLocked(lock)
                    if began.elapsed() < self.client.config.write_wait_budget =>
                {
                    self.client.resolve_for_write(&lock).await?;
                }
                e => {
                    self.rollback().await?;
                    return Err(ClientError::Aborted(Box::new(e)));
                }
            }
            self.keep_alive().await?;
            self.client.check_deadline(deadline, "locking for update")?;
        }
    }

    /// Contract 4: extends the primary's TTL to now + `lock_ttl_ms`, at most every quarter
    /// TTL.
    ///
    /// # Errors
    /// Storage errors (a missing lock is not one: the transaction will find out).
    pub(super) async fn keep_alive(&mut self) -> Result<(), ClientError> {
        let ttl = self.client.config.lock_ttl_ms;
        let (Some(primary), true) = (&self.primary, self.primary_locked) else {
            return Ok(());
        };
        if self.last_heart_beat.elapsed() < Duration::from_millis(ttl / 4) {
            return Ok(());
        }
        self.last_heart_beat = Instant::now();
        let now = self.client.oracle.now().physical();
        let advise = now.saturating_sub(self.start_ts.physical()) + ttl;
        match self
            .client
            .storage
            .txn_heart_beat(primary, self.start_ts, advise)
            .await
        {
            Ok(_) | Err(Error::Key(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives the transaction up: removes whatever it locked (nothing was prewritten).
    ///
    /// # Errors
    /// Storage errors.
    pub async fn rollback(&mut self) -> Result<(), ClientError> {
        if !self.locked.is_empty() {
            self.locked_values.clear();
            let keys: Vec<Vec<u8>> = std::mem::take(&mut self.locked).into_iter().collect();
            self.client
                .storage
                .pessimistic_rollback(&keys, self.start_ts, self.for_update_ts)
                .await?;
        }
        Ok(())
    }
}
