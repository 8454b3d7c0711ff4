//! Reads: get, batch_get, scan and scan_lock (TiKV's `Storage::get`, `batch_get`, `scan`,
//! and the `ScanLock` command).
//!
//! Every read, in this order (the reader's half of the concurrency manager's contract):
//! 1. raises `max_ts` to its read ts, so an async-commit / 1PC prewrite that reads `max_ts`
//!    afterwards promises a commit ts above this read;
//! 2. checks the in-memory lock table over its keys, which catches a prewrite that read
//!    `max_ts` before step 1 and has not written its lock yet (its guard lives until then);
//! 3. takes a snapshot and reads. A prewrite past step 2 either wrote its lock before the
//!    snapshot (the reader sees it) or picks a commit ts above the read.
//!
//! Reads take no latches: they never wait on write commands.

use mvcc::{Error as MvccError, IsolationLevel, Key, LockInfo, PointGetter, ScanOptions};
use mvcc::{MvccReader, Scanner, TimeStamp};

use super::types::{ReadOptions, ScanRequest, TxnKvPair};
use super::TxnStorage;
use crate::actions::scan_lock::scan_lock;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::key_error::KeyError;

impl<E: Engine> TxnStorage<E> {
    /// The value of `key` at `ts` (`None`: no value).
    ///
    /// # Errors
    /// `KeyIsLocked` (as data) for a lock that blocks the read; engine or corruption errors.
    pub async fn get(
        &self,
        key: &[u8],
        ts: TimeStamp,
        options: ReadOptions,
    ) -> Result<Option<Vec<u8>>> {
        let key = Key::from_raw(key);
        self.check_memory_locks(std::slice::from_ref(&key), ts, &options)?;
        let snap = self.engine.snapshot().await?;
        let mut getter = PointGetter::new(&snap, ts, options.to_mvcc(false));
        Ok(getter.get(&key)?)
    }

    /// The values of `keys` at `ts`, in request order: found keys with their value, locked
    /// keys with their lock; keys without a value are left out (as TiKV).
    ///
    /// # Errors
    /// `KeyIsLocked` (as data) for a lock still in memory (an async-commit prewrite in
    /// flight) — the whole request, as TiKV; engine or corruption errors.
    pub async fn batch_get(
        &self,
        keys: &[Vec<u8>],
        ts: TimeStamp,
        options: ReadOptions,
    ) -> Result<Vec<TxnKvPair>> {
        let keys: Vec<Key> = keys.iter().map(|k| Key::from_raw(k)).collect();
        self.check_memory_locks(&keys, ts, &options)?;
        let snap = self.engine.snapshot().await?;
        let mut getter = PointGetter::new(&snap, ts, options.to_mvcc(false));
        let mut out = Vec::new();
        for key in keys {
            let value = match getter.get(&key) {
                Ok(Some(v)) => Ok(v),
                Ok(None) => continue,
                Err(MvccError::KeyIsLocked(info)) => Err(*info),
                Err(e) => return Err(e.into()),
            };
            out.push(TxnKvPair {
                key: key.to_raw()?,
                value,
            });
        }
        Ok(out)
    }

    /// The keys of a range with their values at `req.ts` (see [`ScanRequest`] for the
    /// bounds of a reverse scan); blocking locks come back as entries and count toward the
    /// limit.
    ///
    /// # Errors
    /// `KeyIsLocked` (as data) for a blocking lock still in memory; engine or corruption
    /// errors.
    pub async fn scan(&self, req: ScanRequest) -> Result<Vec<TxnKvPair>> {
        // As TiKV (`from_raw_maybe_unbounded`): an empty start key is unbounded — for a
        // reverse scan, the upper bound.
        let start = (!req.start_key.is_empty()).then(|| Key::from_raw(&req.start_key));
        let end = req.end_key.as_deref().map(Key::from_raw);
        // TiKV swaps the keys of a reverse scan: the start key is then the upper bound.
        let (lower, upper) = if req.reverse {
            (end, start)
        } else {
            (start, end)
        };
        self.cm.update_max_ts(req.ts);
        if req.read.isolation == IsolationLevel::Si {
            self.cm
                .read_range_check(lower.as_ref(), upper.as_ref(), |key, lock| {
                    lock.check_ts_conflict(key, req.ts, &req.read.bypass_locks, req.read.isolation)
                })
                .map_err(Error::from)?;
        }
        let snap = self.engine.snapshot().await?;
        let options = ScanOptions {
            read: req.read.to_mvcc(req.key_only),
            lower,
            upper,
            desc: req.reverse,
        };
        let mut scanner = Scanner::new(&snap, req.ts, options)?;
        let entries = scanner.scan(req.limit)?;
        entries
            .into_iter()
            .map(|(key, value)| {
                Ok(TxnKvPair {
                    key: key.to_raw()?,
                    value,
                })
            })
            .collect()
    }

    /// Locks on keys in `[start, end)` (`None`: unbounded) with ts at most `max_ts`, at most
    /// `limit` (0: all). Raises `max_ts` to `max_ts` first: a lock with a smaller ts that is
    /// not yet written would otherwise be missed by GC (TiKV does the same).
    ///
    /// # Errors
    /// `KeyIsLocked` (as data) if such a lock is still in memory (its prewrite is in
    /// flight; the caller retries); engine or corruption errors.
    pub async fn scan_lock(
        &self,
        max_ts: TimeStamp,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<LockInfo>> {
        let start = start.map(Key::from_raw);
        let end = end.map(Key::from_raw);
        self.cm.update_max_ts(max_ts);
        self.cm
            .read_range_check(start.as_ref(), end.as_ref(), |key, lock| {
                // Unlike a read, every lock type counts here.
                if lock.ts <= max_ts {
                    let raw = key.to_raw()?;
                    Err(Error::from(KeyError::KeyIsLocked(
                        lock.clone().into_lock_info(raw),
                    )))
                } else {
                    Ok(())
                }
            })?;
        let snap = self.engine.snapshot().await?;
        let mut reader = MvccReader::new(&snap);
        scan_lock(&mut reader, start.as_ref(), end.as_ref(), max_ts, limit)
    }

    /// Steps 1 and 2 of the module docs for point reads.
    fn check_memory_locks(&self, keys: &[Key], ts: TimeStamp, options: &ReadOptions) -> Result<()> {
        self.cm.update_max_ts(ts);
        if options.isolation == IsolationLevel::Rc {
            return Ok(());
        }
        for key in keys {
            self.cm.read_key_check(key, |lock| {
                lock.check_ts_conflict(key, ts, &options.bypass_locks, options.isolation)
            })?;
        }
        Ok(())
    }
}
