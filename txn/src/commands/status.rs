//! Asking after a transaction: check_txn_status (on its primary), check_secondary_locks
//! (async commit) and txn_heart_beat — TiKV's commands of the same names. Each is a write
//! command on its keys: checking may roll back, push min_commit_ts or extend a TTL.

use mvcc::{Key, TimeStamp};

use super::{keys_from_raw, TxnStorage};
use crate::actions::check_secondary_locks::{check_secondary_locks, SecondaryLocksStatus};
use crate::actions::check_txn_status::{check_txn_status, CheckTxnStatusArgs, TxnStatus};
use crate::actions::txn_heart_beat::txn_heart_beat;
use crate::engine::Engine;
use crate::error::Result;

impl<E: Engine> TxnStorage<E> {
    /// The status of transaction `args.lock_ts` from its primary key (see
    /// [`check_txn_status`] for every rule; `max_ts` rises to the caller's ts).
    ///
    /// # Errors
    /// `TxnNotFound`, `PrimaryMismatch` (as data); engine errors.
    pub async fn check_txn_status(
        &self,
        primary_key: &[u8],
        args: CheckTxnStatusArgs,
    ) -> Result<TxnStatus> {
        let key = Key::from_raw(primary_key);
        self.write_command(std::slice::from_ref(&key), args.lock_ts, |txn, reader| {
            check_txn_status(txn, reader, &self.cm, key.clone(), &args)
        })
        .await
    }

    /// The status of async-commit transaction `start_ts` from its secondaries `keys`.
    ///
    /// # Errors
    /// Engine errors.
    pub async fn check_secondary_locks(
        &self,
        keys: &[Vec<u8>],
        start_ts: TimeStamp,
    ) -> Result<SecondaryLocksStatus> {
        let keys = keys_from_raw(keys);
        self.write_command(&keys, start_ts, |txn, reader| {
            check_secondary_locks(txn, reader, &self.cm, keys.clone(), start_ts)
        })
        .await
    }

    /// Extends the TTL of `primary_key`'s lock of `start_ts` to at least `advise_ttl`;
    /// returns the lock's TTL now.
    ///
    /// # Errors
    /// `TxnNotFound` (as data); engine errors.
    pub async fn txn_heart_beat(
        &self,
        primary_key: &[u8],
        start_ts: TimeStamp,
        advise_ttl: u64,
    ) -> Result<u64> {
        let key = Key::from_raw(primary_key);
        let lock = self
            .write_command(std::slice::from_ref(&key), start_ts, |txn, reader| {
                txn_heart_beat(txn, reader, key.clone(), start_ts, advise_ttl)
            })
            .await?;
        Ok(lock.ttl)
    }
}
