//! Whole-range maintenance: gc (TiKV's GC worker driving `actions/gc.rs` key by key) and
//! delete_range (TiKV's `KvDeleteRange`).
//!
//! Neither takes latches, as in TiKV: gc only deletes versions at or below the safe point,
//! which no running transaction reads or writes any more; delete_range is used on ranges
//! the client has stopped using (dropped tables and indexes).

use mvcc::{Cf, IterBounds, Key, Modify, MvccReader, MvccTxn, Snapshot, TimeStamp};

use super::types::GcStats;
use super::{TxnStorage, GC_BATCH_SIZE};
use crate::actions::gc::gc;
use crate::engine::Engine;
use crate::error::{Error, Result};

impl<E: Engine> TxnStorage<E> {
    /// Garbage-collects every key in `[start, end)` (`None`: unbounded) at `safe_point`, in
    /// batches of [`GC_BATCH_SIZE`] keys, one engine batch each.
    ///
    /// # Errors
    /// Engine or corruption errors; batches written before stay written.
    pub async fn gc(
        &self,
        safe_point: TimeStamp,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
    ) -> Result<GcStats> {
        let bounds = IterBounds {
            lower: start.map(|k| Key::from_raw(k).into_encoded()),
            upper: end.map(|k| Key::from_raw(k).into_encoded()),
        };
        let mut stats = GcStats::default();
        // The last user key done: the next batch starts after all its versions.
        let mut after: Option<Key> = None;
        loop {
            let txn = {
                let snap = self.engine.snapshot().await?;
                let keys = next_user_keys(&snap, &bounds, after.as_ref(), GC_BATCH_SIZE)?;
                let Some(last) = keys.last() else {
                    break;
                };
                after = Some(last.clone());
                let mut txn = MvccTxn::new(TimeStamp::zero());
                let mut reader = MvccReader::new(&snap);
                for key in keys {
                    stats.keys += 1;
                    stats.deleted_versions +=
                        gc(&mut txn, &mut reader, key, safe_point)?.deleted_versions;
                }
                txn
            };
            if !txn.is_empty() {
                stats.batches += 1;
                self.write_txn(txn).await?;
            }
        }
        Ok(stats)
    }

    /// Deletes everything in `[start, end)` from the default, lock and write CFs, as one
    /// batch, without latches or MVCC (TiKV's `KvDeleteRange`).
    ///
    /// # Errors
    /// `InvalidArgument` unless `start < end`; engine errors.
    pub async fn delete_range(&self, start: &[u8], end: &[u8]) -> Result<()> {
        if start >= end {
            return Err(Error::InvalidArgument(format!(
                "delete_range needs start < end, got {start:02x?} .. {end:02x?}"
            )));
        }
        // Encoded user keys are memcomparable and versions follow their key, so
        // `[enc(start), enc(end))` holds exactly the records of keys in `[start, end)`.
        let (s, e) = (
            Key::from_raw(start).into_encoded(),
            Key::from_raw(end).into_encoded(),
        );
        let modifies = [Cf::Default, Cf::Lock, Cf::Write]
            .into_iter()
            .map(|cf| Modify::DeleteRange {
                cf,
                start: s.clone(),
                end: e.clone(),
            })
            .collect();
        self.engine.write(modifies, self.sync).await
    }

    /// Deletes every transactional record of keys at or after `start`: a
    /// [`delete_range`](Self::delete_range) with no end, for a range reaching past the last
    /// region. What exists when it is asked for is removed (see [`mvcc::end_past_last`]).
    ///
    /// # Errors
    /// Engine errors.
    pub async fn delete_from(&self, start: &[u8]) -> Result<()> {
        let s = Key::from_raw(start).into_encoded();
        let snap = self.engine.snapshot().await?;
        let mut modifies = Vec::new();
        for cf in [Cf::Default, Cf::Lock, Cf::Write] {
            if let Some(end) = mvcc::end_past_last(&snap, cf, &s)? {
                modifies.push(Modify::DeleteRange {
                    cf,
                    start: s.clone(),
                    end,
                });
            }
        }
        self.engine.write(modifies, self.sync).await
    }
}

/// Up to `limit` distinct user keys of the write CF within `bounds`, after `after`.
fn next_user_keys<S: Snapshot + ?Sized>(
    snap: &S,
    bounds: &IterBounds,
    after: Option<&Key>,
    limit: usize,
) -> Result<Vec<Key>> {
    let mut cursor = snap.iter_cf(Cf::Write, bounds.clone())?;
    let mut valid = match after {
        // The oldest possible version of `after` is the last of its records.
        Some(k) => cursor.seek(k.clone().append_ts(TimeStamp::zero()).as_encoded())?,
        None => cursor.seek_to_first()?,
    };
    let mut keys: Vec<Key> = Vec::new();
    while valid && keys.len() < limit {
        let user = Key::truncate_ts_for(cursor.key())?;
        let is_new = keys.last().is_none_or(|k| k.as_encoded() != user)
            && after.is_none_or(|a| a.as_encoded() != user);
        if is_new {
            keys.push(Key::from_encoded_slice(user));
        }
        valid = cursor.next()?;
    }
    Ok(keys)
}
