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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn scans_locks_at_or_below_max_ts() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"a", b"v", b"a", 10);
        must_prewrite_put(&s, b"b", b"v", b"b", 20);
        must_prewrite_put(&s, b"c", b"v", b"c", 5);
        must_prewrite_put(&s, b"d", b"v", b"d", 5);
        let snap = s.snapshot();
        let mut r = MvccReader::new(&snap);
        let keys = |locks: Vec<LockInfo>| locks.into_iter().map(|l| l.key).collect::<Vec<_>>();
        let all = scan_lock(&mut r, None, None, 10.into(), 0).unwrap();
        assert_eq!(keys(all), vec![b"a".to_vec(), b"c".to_vec(), b"d".to_vec()]);
        let ranged = scan_lock(
            &mut r,
            Some(&Key::from_raw(b"b")),
            Some(&Key::from_raw(b"d")),
            10.into(),
            0,
        )
        .unwrap();
        assert_eq!(keys(ranged), vec![b"c".to_vec()]);
        let limited = scan_lock(&mut r, None, None, 100.into(), 2).unwrap();
        assert_eq!(keys(limited), vec![b"a".to_vec(), b"b".to_vec()]);
    }
}
