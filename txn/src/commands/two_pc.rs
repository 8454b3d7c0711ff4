//! The two phases: prewrite (optimistic, pessimistic, async commit, 1PC), commit, and the
//! rollbacks of an unfinished transaction (cleanup, batch_rollback) — TiKV's
//! `commands/{prewrite, commit, cleanup, rollback}.rs`.

use mvcc::{Key, MvccReader, MvccTxn, TimeStamp};

use super::types::{PrewriteRequest, PrewriteResponse};
use super::{keys_from_raw, TxnStorage};
use crate::actions::cleanup::{cleanup, rollback};
use crate::actions::commit::commit;
use crate::actions::mutation::CommitKind;
use crate::actions::prewrite_request::prewrite_request;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::key_error::KeyError;

impl<E: Engine> TxnStorage<E> {
    /// Prewrites every mutation of `req` as one command.
    ///
    /// Locks of other transactions come back as `KeyIsLocked` entries of
    /// [`PrewriteResponse::errors`] (nothing is written then). Async commit and 1PC: the
    /// in-memory locks are published before `max_ts` is read and held until the batch is
    /// applied; a commit ts above `max_commit_ts` falls back to 2PC (min_commit_ts 0), as
    /// TiKV does. A retry of a transaction that already committed answers its commit ts.
    ///
    /// # Errors
    /// Other per-key outcomes (`WriteConflict`, `AlreadyExist`, `AssertionFailed`,
    /// `PessimisticLockNotFound`, …) fail the request (as data); engine errors.
    pub async fn prewrite(&self, req: PrewriteRequest) -> Result<PrewriteResponse> {
        let PrewriteRequest {
            props,
            mutations,
            secondary_keys,
        } = req;
        let keys: Vec<Key> = mutations.iter().map(|(m, _)| m.key.clone()).collect();
        let _latch = self.latches.acquire(keys.iter().map(Key::as_encoded)).await;
        let snap = self.engine.snapshot().await?;
        let mut txn = MvccTxn::new(props.start_ts);
        let result = prewrite_request(
            &mut txn,
            &mut MvccReader::new(&snap),
            &self.cm,
            &props,
            mutations,
            secondary_keys.as_deref(),
        )?;
        drop(snap);
        self.write_txn(txn).await?;
        // Invariant 4: the in-memory locks go only now that the batch is applied.
        drop(result.guards);
        let one_pc = matches!(props.commit_kind, CommitKind::OnePc { .. });
        if let Some(commit_ts) = result.already_committed {
            return Ok(PrewriteResponse {
                errors: Vec::new(),
                min_commit_ts: commit_ts,
                one_pc_commit_ts: if one_pc { commit_ts } else { TimeStamp::zero() },
            });
        }
        Ok(PrewriteResponse {
            errors: result
                .locks
                .into_iter()
                .map(KeyError::KeyIsLocked)
                .collect(),
            min_commit_ts: result.min_commit_ts,
            one_pc_commit_ts: result.one_pc_commit_ts,
        })
    }

    /// Commits `keys` of `start_ts` at `commit_ts`.
    ///
    /// # Errors
    /// `InvalidArgument` if `commit_ts <= start_ts` (TiKV's `InvalidTxnTso`);
    /// `CommitTsExpired`, `TxnLockNotFound` (as data); engine errors.
    pub async fn commit(
        &self,
        keys: &[Vec<u8>],
        start_ts: TimeStamp,
        commit_ts: TimeStamp,
    ) -> Result<()> {
        if commit_ts <= start_ts {
            return Err(Error::InvalidArgument(format!(
                "commit ts {commit_ts} is not above start ts {start_ts}"
            )));
        }
        let keys = keys_from_raw(keys);
        self.write_command(&keys, start_ts, |txn, reader| {
            for key in keys.iter().cloned() {
                commit(txn, reader, key, start_ts, commit_ts)?;
            }
            Ok(())
        })
        .await
    }

    /// Rolls back `key` of `start_ts` if its lock expired per `current_ts` (0: regardless);
    /// the rollback is protected and `max_ts` rises to `start_ts` (TiKV's `Cleanup`
    /// command).
    ///
    /// # Errors
    /// `KeyIsLocked` (TTL not expired), `Committed` (as data); engine errors.
    pub async fn cleanup(
        &self,
        key: &[u8],
        start_ts: TimeStamp,
        current_ts: TimeStamp,
    ) -> Result<()> {
        let key = Key::from_raw(key);
        // As TiKV: a commit must not overwrite the protected rollback written here, so an
        // async commit may no longer pick a commit ts at or below start ts.
        self.cm.update_max_ts(start_ts);
        self.write_command(std::slice::from_ref(&key), start_ts, |txn, reader| {
            cleanup(txn, reader, key.clone(), start_ts, current_ts, true)
        })
        .await
    }

    /// Rolls back `keys` of `start_ts` (TiKV's `BatchRollback`).
    ///
    /// # Errors
    /// `Committed` (as data) if a key committed; engine errors.
    pub async fn batch_rollback(&self, keys: &[Vec<u8>], start_ts: TimeStamp) -> Result<()> {
        let keys = keys_from_raw(keys);
        self.write_command(&keys, start_ts, |txn, reader| {
            rollback(txn, reader, keys.clone(), start_ts)
        })
        .await
    }
}
