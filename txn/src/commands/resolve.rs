//! resolve_lock and resolve_lock_lite: commit or roll back the locks of transactions whose
//! fate the client has decided (TiKV's `commands/resolve_lock.rs`,
//! `resolve_lock_readphase.rs` and `resolve_lock_lite.rs`).
//!
//! A range resolve can meet any number of locks, so, like TiKV, it alternates two phases
//! until the range is done: a read phase scans the lock CF (no latches) for at most
//! [`RESOLVE_LOCK_BATCH_SIZE`] locks of the listed transactions, then a write phase takes
//! the latches of exactly those keys, reads each lock again and resolves it, and writes one
//! batch. No batch is ever larger than one chunk of keys.

use std::collections::HashMap;

use mvcc::{Key, MvccReader, TimeStamp};

use super::{keys_from_raw, TxnStorage, RESOLVE_LOCK_BATCH_SIZE};
use crate::actions::resolve_lock::{resolve_key, resolve_lock_lite};
use crate::engine::Engine;
use crate::error::Result;

impl<E: Engine> TxnStorage<E> {
    /// Resolves every lock in `[start, end)` (`None`: unbounded) of the transactions in
    /// `txn_status` (start ts → commit ts, 0 for rolled back); returns how many.
    ///
    /// # Errors
    /// `InvalidArgument` for a commit ts at or below a lock's ts; the first other error of
    /// a key; engine errors. Chunks written before the error stay written (each is a
    /// complete, valid resolution of its keys).
    pub async fn resolve_lock(
        &self,
        txn_status: HashMap<TimeStamp, TimeStamp>,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
    ) -> Result<usize> {
        self.resolve_lock_in_batches(txn_status, start, end, RESOLVE_LOCK_BATCH_SIZE)
            .await
            .map(|(resolved, _)| resolved)
    }

    /// [`resolve_lock`](Self::resolve_lock) with a chosen chunk size; also returns how many
    /// batches it wrote.
    ///
    /// # Errors
    /// As [`resolve_lock`](Self::resolve_lock).
    pub async fn resolve_lock_in_batches(
        &self,
        txn_status: HashMap<TimeStamp, TimeStamp>,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
        batch_size: usize,
    ) -> Result<(usize, usize)> {
        if txn_status.is_empty() {
            return Ok((0, 0));
        }
        let batch_size = batch_size.max(1);
        let end = end.map(Key::from_raw);
        let mut next = start.map(Key::from_raw);
        let (mut resolved, mut batches) = (0, 0);
        loop {
            // Read phase.
            let (keys, has_more) = {
                let snap = self.engine.snapshot().await?;
                let (locks, has_more) = MvccReader::new(&snap).scan_locks(
                    next.as_ref(),
                    end.as_ref(),
                    |_, l| txn_status.contains_key(&l.ts),
                    batch_size,
                )?;
                let keys: Vec<Key> = locks.into_iter().map(|(k, _)| k).collect();
                (keys, has_more)
            };
            let Some(last) = keys.last() else {
                break;
            };
            // Resume just after the last key: `key + 0x00` is its successor.
            let mut after = last.as_encoded().to_vec();
            after.push(0);
            // Write phase.
            let n = self
                .write_command(&keys, TimeStamp::zero(), |txn, reader| {
                    let mut n = 0;
                    for key in keys.iter().cloned() {
                        n += usize::from(resolve_key(txn, reader, &txn_status, key)?);
                    }
                    Ok(n)
                })
                .await?;
            resolved += n;
            batches += 1;
            if !has_more {
                break;
            }
            next = Some(Key::from_encoded(after));
        }
        Ok((resolved, batches))
    }

    /// Commits (`commit_ts` > 0) or rolls back (`commit_ts` 0) `keys` of `start_ts`.
    ///
    /// # Errors
    /// `CommitTsExpired`, `TxnLockNotFound`, `Committed` (as data); engine errors.
    pub async fn resolve_lock_lite(
        &self,
        start_ts: TimeStamp,
        commit_ts: TimeStamp,
        keys: &[Vec<u8>],
    ) -> Result<()> {
        let keys = keys_from_raw(keys);
        self.write_command(&keys, start_ts, |txn, reader| {
            resolve_lock_lite(txn, reader, start_ts, commit_ts, keys.clone())
        })
        .await
    }
}
