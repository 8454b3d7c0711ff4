//! `scan_lock`: the locks in a key range with ts at or below `max_ts` (TiKV's
//! `commands/scan_lock.rs`), used by GC and by clients resolving old locks. Read-only.

use mvcc::{Key, LockInfo, MvccReader, Snapshot, TimeStamp};

use crate::error::Result;

/// Locks on keys in `[start, end)` (`None`: unbounded) whose ts is at most `max_ts`, in key
/// order, at most `limit` (0: no limit).
///
/// # Errors
/// Engine or corruption errors.
pub fn scan_lock<S: Snapshot + ?Sized>(
    reader: &mut MvccReader<'_, S>,
    start: Option<&Key>,
    end: Option<&Key>,
    max_ts: TimeStamp,
    limit: usize,
) -> Result<Vec<LockInfo>> {
    let (locks, _) = reader.scan_locks(start, end, |_, l| l.ts <= max_ts, limit)?;
    locks
        .into_iter()
        .map(|(key, lock)| Ok(lock.into_lock_info(key.to_raw()?)))
        .collect()
}
