//! `pessimistic_rollback`: a pessimistic transaction releases locks it acquired but will not
//! prewrite (a statement failed or was retried) — TiKV's `commands/pessimistic_rollback.rs`.
//!
//! Rules: only a *pessimistic* lock of this transaction whose for_update_ts is at or below
//! the request's is removed. A newer for_update_ts means a later acquire of the same
//! transaction re-locked the key after this request was sent (the network reorders): that
//! lock must stay. Prewritten locks stay too. No rollback record is written — the
//! transaction itself goes on.

use mvcc::{Key, MvccReader, MvccTxn, Snapshot, TimeStamp};

use crate::error::Result;

/// Removes the pessimistic locks of `start_ts` on `keys` acquired at or below
/// `for_update_ts`; returns how many were removed.
///
/// # Errors
/// Engine or corruption errors.
pub fn pessimistic_rollback<S: Snapshot + ?Sized>(
    txn: &mut MvccTxn,
    reader: &mut MvccReader<'_, S>,
    keys: Vec<Key>,
    start_ts: TimeStamp,
    for_update_ts: TimeStamp,
) -> Result<usize> {
    let mut removed = 0;
    for key in keys {
        if let Some(lock) = reader.load_lock(&key)? {
            if lock.is_pessimistic_lock()
                && lock.ts == start_ts
                && lock.for_update_ts <= for_update_ts
            {
                txn.unlock_key(key);
                removed += 1;
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use crate::actions::mutation::PessimisticAction;
    use crate::testing::*;

    #[test]
    fn only_older_pessimistic_locks_of_the_transaction_go() {
        let s = TestStore::memory();
        must_acquire_pessimistic_lock(&s, b"k", b"k", 10, 12);
        // Another transaction, or an older request: the lock stays.
        assert_eq!(must_pessimistic_rollback(&s, b"k", 11, 20), 0);
        assert_eq!(must_pessimistic_rollback(&s, b"k", 10, 11), 0);
        must_pessimistic_locked(&s, b"k", 10, 12);
        assert_eq!(must_pessimistic_rollback(&s, b"k", 10, 12), 1);
        must_unlocked(&s, b"k");
        must_not_have_write(&s, b"k", 10);
        // Prewritten locks stay.
        must_acquire_pessimistic_lock(&s, b"k", b"k", 10, 13);
        must_pessimistic_prewrite_put(
            &s,
            b"k",
            b"v",
            b"k",
            10,
            13,
            PessimisticAction::DoPessimisticCheck,
        );
        assert_eq!(must_pessimistic_rollback(&s, b"k", 10, 20), 0);
        must_locked(&s, b"k", 10);
    }
}
