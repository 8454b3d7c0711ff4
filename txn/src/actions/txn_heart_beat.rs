//! `txn_heart_beat`: a long transaction keeps its primary lock alive (TiKV's
//! `commands/txn_heart_beat.rs`).
//!
//! Rules: the primary lock of the transaction must be there (`TxnNotFound` otherwise: it was
//! committed or rolled back, and the client must stop); its TTL becomes
//! `max(ttl, advise_ttl)` — a heart beat never shortens a lock. The answer is the lock as it
//! is now (its TTL).

use mvcc::{Key, Lock, MvccReader, MvccTxn, Snapshot, TimeStamp};

use crate::error::Result;
use crate::key_error::KeyError;

/// Extends the TTL of `primary_key`'s lock of transaction `start_ts` to `advise_ttl`.
///
/// # Errors
/// `TxnNotFound` (as data); engine or corruption errors.
pub fn txn_heart_beat<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    primary_key: Key,
    start_ts: TimeStamp,
    advise_ttl: u64,
) -> Result<Lock> {
    match reader.load_lock(&primary_key)? {
        Some(mut lock) if lock.ts == start_ts => {
            if lock.ttl < advise_ttl {
                lock.ttl = advise_ttl;
                txn.put_lock(primary_key, &lock);
            }
            Ok(lock)
        }
        _ => Err(KeyError::TxnNotFound {
            start_ts,
            key: primary_key.to_raw()?,
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    #[test]
    fn heart_beat_never_shortens_and_needs_the_lock() {
        let s = TestStore::memory();
        must_prewrite_put(&s, b"k", b"v", b"k", 5);
        assert_eq!(must_txn_heart_beat(&s, b"k", 5, 100), 100);
        assert_eq!(must_txn_heart_beat(&s, b"k", 5, 90), 100);
        assert_eq!(must_locked(&s, b"k", 5).ttl, 100);
        must_commit(&s, b"k", 5, 6);
        let e = s
            .run(5, |txn, r| {
                txn_heart_beat(txn, r, Key::from_raw(b"k"), 5.into(), 200)
            })
            .unwrap_err();
        assert_eq!(
            key_err(e),
            KeyError::TxnNotFound {
                start_ts: 5.into(),
                key: b"k".to_vec()
            }
        );
    }
}
