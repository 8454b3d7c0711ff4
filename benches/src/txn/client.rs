//! One client task's transactions: what a TiKV client does for each kind of workload,
//! against `TxnStorage` in this process (no wire, no region routing).
//!
//! - Optimistic: prewrite every key in one request (primary: the first key), then commit
//!   every key — primary and secondaries — in one `commit` call at a fresh commit ts. A
//!   client talking to many regions commits the primary first; with one store the single
//!   call is the same work in one batch.
//! - Pessimistic: lock every key in one `acquire_pessimistic_lock` at `for_update_ts =
//!   start_ts` (waiting up to [`LOCK_WAIT_MS`] for another transaction's lock), prewrite
//!   them pessimistically, commit as above.
//! - Reads: `get` / `batch_get` at a fresh ts.
//!
//! Conflicts are counted and retried, never hidden:
//! 1. An optimistic prewrite that meets another transaction's lock (`KeyIsLocked`) wrote
//!    nothing; the client backs off (1 ms more per try, at most 10) and prewrites again with
//!    the same start ts, as TiDB's client does while the lock's owner is alive. One that
//!    meets a commit newer than its start ts (`WriteConflict`) cannot succeed: the client
//!    rolls its keys back (as TiDB's committer does after a failed prewrite; the rollback
//!    records make older transactions conflict on those keys, as in TiKV) and starts over
//!    with a new start ts.
//! 2. A lock request that meets a newer commit (`WriteConflict`) or times out waiting
//!    (`KeyIsLocked`) locked nothing (the request is all or nothing); the client retries it
//!    with a new for_update_ts and the same start ts (TiDB's statement retry).
//! 3. After [`MAX_ATTEMPTS`] tries the transaction is counted as aborted.
//!
//! Any other error — a commit that fails, a read that meets a lock — means the storage or
//! the benchmark is wrong, and ends the run.

use std::sync::Arc;
use std::time::Duration;

use mvcc::{Key, TimeStamp};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use txn::actions::acquire_pessimistic_lock::AcquirePessimisticLockRequest;
use txn::actions::mutation::{Mutation, PessimisticAction, TxnKind, TxnProps};
use txn::{Engine, KeyError, PrewriteRequest, ReadOptions, TxnStorage};

use super::workload::TxnWorkload;
use crate::error::Result;
use crate::workload::{make_key, ValueSource};
use txn::Oracle;

/// Tries per transaction before it counts as aborted.
pub const MAX_ATTEMPTS: u32 = 64;
/// How long a lock request waits for another transaction's lock.
pub const LOCK_WAIT_MS: i64 = 1000;
/// Lock TTL (ms): nothing resolves locks during a run, so it only has to be plausible.
const LOCK_TTL_MS: u64 = 3000;
/// Values compress to about this ratio (as `strata-bench engine`'s default).
const COMPRESSION_RATIO: f64 = 0.5;

/// A committed transaction's writes, kept so a test can read them back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommittedTxn {
    /// The raw keys, primary first.
    pub keys: Vec<Vec<u8>>,
    /// The values, aligned with `keys`.
    pub values: Vec<Vec<u8>>,
    /// The start ts of the attempt that committed.
    pub start_ts: TimeStamp,
    /// Its commit ts.
    pub commit_ts: TimeStamp,
}

/// What one transaction did.
#[derive(Debug, Default)]
pub struct TxnOutcome {
    /// Conflicts met and retried (rule 1 and 2 of the module docs).
    pub retries: u64,
    /// Gave up after `MAX_ATTEMPTS` (rule 3).
    pub aborted: bool,
    /// Reads: keys that had a value.
    pub found: u64,
    /// Bytes of keys and values written or read.
    pub bytes: u64,
    /// Writes: what was committed.
    pub committed: Option<CommittedTxn>,
}

/// Where keys and values come from, shared by every task of a run.
#[derive(Debug, Clone, Copy)]
pub struct KeySpace {
    /// Keys `[0, keys)` exist after the preload.
    pub keys: u64,
    /// Bytes per key (db_bench's layout, `workload::make_key`).
    pub key_size: usize,
    /// Bytes per value; the first 8 hold the writing attempt's start ts (if it fits), so a
    /// value names the transaction that wrote it.
    pub value_size: usize,
}

/// One client task: its storage handle, random keys and values.
pub struct Client<E: Engine> {
    storage: TxnStorage<E>,
    oracle: Arc<Oracle>,
    space: KeySpace,
    rng: SmallRng,
    values: ValueSource,
}

impl<E: Engine> std::fmt::Debug for Client<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("space", &self.space)
            .finish_non_exhaustive()
    }
}

impl<E: Engine> Client<E> {
    /// A client drawing keys and values from `seed`.
    pub fn new(storage: TxnStorage<E>, oracle: Arc<Oracle>, space: KeySpace, seed: u64) -> Self {
        Client {
            storage,
            oracle,
            space,
            rng: SmallRng::seed_from_u64(seed),
            values: ValueSource::new(seed, space.value_size, COMPRESSION_RATIO),
        }
    }

    /// The keys and values it draws from.
    pub fn key_space(&self) -> KeySpace {
        self.space
    }

    /// Runs one transaction of `workload` on keys drawn uniformly from the key space.
    ///
    /// # Errors
    /// Storage errors other than the conflicts the module docs retry.
    pub async fn run(&mut self, workload: TxnWorkload) -> Result<TxnOutcome> {
        let keys = self.random_keys(workload.keys());
        match workload {
            TxnWorkload::Optimistic(_) => self.optimistic(keys).await,
            TxnWorkload::Pessimistic(_) => self.pessimistic(keys).await,
            TxnWorkload::PointGet => self.point_get(&keys).await,
            TxnWorkload::BatchGet(_) => self.batch_get(&keys).await,
        }
    }

    /// Writes keys `[first, first + n)` in one optimistic transaction (the preload).
    ///
    /// # Errors
    /// As [`Client::run`].
    pub async fn write_range(&mut self, first: u64, n: u64) -> Result<TxnOutcome> {
        let keys = (first..first + n).map(|i| self.key(i)).collect();
        self.optimistic(keys).await
    }

    async fn optimistic(&mut self, keys: Vec<Vec<u8>>) -> Result<TxnOutcome> {
        let mut out = TxnOutcome::default();
        let mut start_ts = self.oracle.now();
        let mut values = self.values_for(keys.len(), start_ts);
        for attempt in 1..=MAX_ATTEMPTS {
            let props = TxnProps::optimistic(&keys[0], start_ts, LOCK_TTL_MS);
            let req = prewrite_request(
                props,
                &keys,
                &values,
                PessimisticAction::SkipPessimisticCheck,
            );
            let conflict = match self.storage.prewrite(req).await {
                Ok(resp) if resp.errors.is_empty() => {
                    out.committed = Some(self.commit(keys, values, start_ts).await?);
                    out.bytes = written_bytes(out.committed.as_ref());
                    return Ok(out);
                }
                Ok(_) => false,
                Err(e) => match e.key_error() {
                    Some(KeyError::KeyIsLocked(_)) => false,
                    Some(KeyError::WriteConflict { .. }) => true,
                    _ => return Err(e.into()),
                },
            };
            out.retries += 1;
            if conflict {
                // Rule 1: roll back and start over.
                self.storage.batch_rollback(&keys, start_ts).await?;
                start_ts = self.oracle.now();
                values = self.values_for(keys.len(), start_ts);
            } else {
                // The holder is between its prewrite and its commit: give it time.
                let ms = u64::from(attempt.min(10));
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
        }
        out.aborted = true;
        Ok(out)
    }

    async fn pessimistic(&mut self, keys: Vec<Vec<u8>>) -> Result<TxnOutcome> {
        let mut out = TxnOutcome::default();
        let start_ts = self.oracle.now();
        let mut for_update_ts = start_ts;
        let mut locked = false;
        for _ in 1..=MAX_ATTEMPTS {
            let req = AcquirePessimisticLockRequest {
                keys: keys.iter().map(|k| (Key::from_raw(k), false)).collect(),
                primary: keys[0].clone(),
                start_ts,
                for_update_ts,
                lock_ttl: LOCK_TTL_MS,
                min_commit_ts: TimeStamp::zero(),
                need_value: false,
                need_check_existence: false,
                lock_only_if_exists: false,
            };
            match self
                .storage
                .acquire_pessimistic_lock(req, LOCK_WAIT_MS)
                .await
            {
                Ok(_) => {
                    locked = true;
                    break;
                }
                Err(e) => match e.key_error() {
                    Some(
                        KeyError::WriteConflict { .. }
                        | KeyError::KeyIsLocked(_)
                        | KeyError::Deadlock { .. },
                    ) => {
                        out.retries += 1;
                        for_update_ts = self.oracle.now();
                    }
                    _ => return Err(e.into()),
                },
            }
        }
        if !locked {
            // Every failed request locked nothing (all or nothing): nothing to roll back.
            out.aborted = true;
            return Ok(out);
        }
        let values = self.values_for(keys.len(), start_ts);
        let mut props = TxnProps::optimistic(&keys[0], start_ts, LOCK_TTL_MS);
        props.kind = TxnKind::Pessimistic { for_update_ts };
        let req = prewrite_request(props, &keys, &values, PessimisticAction::DoPessimisticCheck);
        let resp = self.storage.prewrite(req).await?;
        if let Some(e) = resp.errors.into_iter().next() {
            // Our pessimistic locks keep every other transaction out: this is a bug.
            return Err(txn::Error::from(e).into());
        }
        out.committed = Some(self.commit(keys, values, start_ts).await?);
        out.bytes = written_bytes(out.committed.as_ref());
        Ok(out)
    }

    async fn commit(
        &self,
        keys: Vec<Vec<u8>>,
        values: Vec<Vec<u8>>,
        start_ts: TimeStamp,
    ) -> Result<CommittedTxn> {
        let commit_ts = self.oracle.now();
        self.storage.commit(&keys, start_ts, commit_ts).await?;
        Ok(CommittedTxn {
            keys,
            values,
            start_ts,
            commit_ts,
        })
    }

    async fn point_get(&self, keys: &[Vec<u8>]) -> Result<TxnOutcome> {
        let mut out = TxnOutcome::default();
        for key in keys {
            let value = self
                .storage
                .get(key, self.oracle.now(), ReadOptions::default())
                .await?;
            out.found += u64::from(value.is_some());
            out.bytes += (key.len() + value.map_or(0, |v| v.len())) as u64;
        }
        Ok(out)
    }

    async fn batch_get(&self, keys: &[Vec<u8>]) -> Result<TxnOutcome> {
        let mut out = TxnOutcome::default();
        let pairs = self
            .storage
            .batch_get(keys, self.oracle.now(), ReadOptions::default())
            .await?;
        for pair in pairs {
            match pair.value {
                Ok(v) => {
                    out.found += 1;
                    out.bytes += (pair.key.len() + v.len()) as u64;
                }
                Err(lock) => {
                    let e = txn::Error::from(KeyError::KeyIsLocked(lock));
                    return Err(e.into());
                }
            }
        }
        Ok(out)
    }

    /// `n` distinct keys drawn uniformly (a transaction names each key once).
    fn random_keys(&mut self, n: usize) -> Vec<Vec<u8>> {
        let mut picked: Vec<u64> = Vec::with_capacity(n);
        while picked.len() < n {
            let k = self.rng.random_range(0..self.space.keys);
            if !picked.contains(&k) {
                picked.push(k);
            }
        }
        picked.into_iter().map(|k| self.key(k)).collect()
    }

    fn key(&self, n: u64) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.space.key_size);
        make_key(n, self.space.key_size, &mut key);
        key
    }

    /// `n` values stamped with `start_ts` (see [`KeySpace::value_size`]).
    fn values_for(&mut self, n: usize, start_ts: TimeStamp) -> Vec<Vec<u8>> {
        let size = self.space.value_size;
        let stamp = start_ts.into_inner().to_be_bytes();
        (0..n)
            .map(|_| {
                let mut v = self.values.next(size).to_vec();
                let len = stamp.len().min(size);
                v[..len].copy_from_slice(&stamp[stamp.len() - len..]);
                v
            })
            .collect()
    }
}

fn prewrite_request(
    mut props: TxnProps,
    keys: &[Vec<u8>],
    values: &[Vec<u8>],
    action: PessimisticAction,
) -> PrewriteRequest {
    props.txn_size = keys.len() as u64;
    PrewriteRequest {
        props,
        mutations: keys
            .iter()
            .zip(values)
            .map(|(k, v)| (Mutation::put(k, v), action))
            .collect(),
        secondary_keys: None,
    }
}

fn written_bytes(txn: Option<&CommittedTxn>) -> u64 {
    txn.map_or(0, |t| {
        t.keys
            .iter()
            .zip(&t.values)
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum()
    })
}
