//! Transactional writes: KvPrewrite, KvCommit, KvCleanup, KvBatchRollback,
//! KvPessimisticLock, KVPessimisticRollback.

use mvcc::{Key, TimeStamp};
use txn::actions::acquire_pessimistic_lock::{
    AcquirePessimisticLockRequest, PessimisticLockKeyResult,
};
use txn::PrewriteRequest;

use super::context::{Family, Refusal};
use super::convert::{mutation, pessimistic_action, txn_props};
use super::errors::{committed_ts, key_error, key_error_of};
use super::{answer, refuse, Inner};
use crate::proto::kvrpcpb;

impl Inner {
    pub(super) async fn kv_prewrite(
        &self,
        req: kvrpcpb::PrewriteRequest,
    ) -> kvrpcpb::PrewriteResponse {
        let keys = req.mutations.iter().map(|m| m.key.as_slice());
        let region = match self.check(req.context.as_ref(), Family::Txn, keys) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let mut mutations = Vec::with_capacity(req.mutations.len());
        for (i, m) in req.mutations.iter().enumerate() {
            match mutation(m) {
                Ok(m) => mutations.push((m, pessimistic_action(&req, i))),
                Err(msg) => return refuse(Refusal::Invalid(msg)),
            }
        }
        let request = PrewriteRequest {
            props: txn_props(&req),
            mutations,
            // Only an async-commit primary lock records the other keys (1PC needs none).
            secondary_keys: (req.use_async_commit && !req.try_one_pc)
                .then(|| req.secondaries.clone()),
        };
        answer(
            self.timed("prewrite", self.txn(&region).prewrite(request))
                .await
                .map(|r| kvrpcpb::PrewriteResponse {
                    errors: r.errors.iter().map(key_error_of).collect(),
                    min_commit_ts: r.min_commit_ts.into_inner(),
                    one_pc_commit_ts: r.one_pc_commit_ts.into_inner(),
                    ..Default::default()
                }),
        )
    }

    pub(super) async fn kv_commit(&self, req: kvrpcpb::CommitRequest) -> kvrpcpb::CommitResponse {
        let keys = req.keys.iter().map(Vec::as_slice);
        let region = match self.check(req.context.as_ref(), Family::Txn, keys) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let (start, commit) = (
            TimeStamp::new(req.start_version),
            TimeStamp::new(req.commit_version),
        );
        answer(
            self.timed("commit", self.txn(&region).commit(&req.keys, start, commit))
                .await
                .map(|()| kvrpcpb::CommitResponse {
                    commit_version: req.commit_version,
                    ..Default::default()
                }),
        )
    }

    pub(super) async fn kv_cleanup(
        &self,
        req: kvrpcpb::CleanupRequest,
    ) -> kvrpcpb::CleanupResponse {
        let region = match self.check(req.context.as_ref(), Family::Txn, [&req.key[..]]) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let result = self
            .timed(
                "cleanup",
                self.txn(&region).cleanup(
                    &req.key,
                    TimeStamp::new(req.start_version),
                    TimeStamp::new(req.current_ts),
                ),
            )
            .await;
        match result {
            Ok(()) => kvrpcpb::CleanupResponse::default(),
            // As TiKV: a committed transaction is answered with its commit ts, not an error.
            Err(e) => match committed_ts(&e) {
                Some(ts) => kvrpcpb::CleanupResponse {
                    commit_version: ts,
                    ..Default::default()
                },
                None => kvrpcpb::CleanupResponse {
                    error: Some(key_error(&e)),
                    ..Default::default()
                },
            },
        }
    }

    pub(super) async fn kv_batch_rollback(
        &self,
        req: kvrpcpb::BatchRollbackRequest,
    ) -> kvrpcpb::BatchRollbackResponse {
        let keys = req.keys.iter().map(Vec::as_slice);
        let region = match self.check(req.context.as_ref(), Family::Txn, keys) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        answer(
            self.timed(
                "rollback",
                self.txn(&region)
                    .batch_rollback(&req.keys, TimeStamp::new(req.start_version)),
            )
            .await
            .map(|()| kvrpcpb::BatchRollbackResponse::default()),
        )
    }

    pub(super) async fn kv_pessimistic_lock(
        &self,
        req: kvrpcpb::PessimisticLockRequest,
    ) -> kvrpcpb::PessimisticLockResponse {
        let keys = req.mutations.iter().map(|m| m.key.as_slice());
        let region = match self.check(req.context.as_ref(), Family::Txn, keys) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let mut keys = Vec::with_capacity(req.mutations.len());
        for m in &req.mutations {
            if m.op != kvrpcpb::Op::PessimisticLock as i32 {
                return refuse(Refusal::Invalid(format!(
                    "a pessimistic lock request carries op {}, not PessimisticLock",
                    m.op
                )));
            }
            let should_not_exist = m.assertion == kvrpcpb::Assertion::NotExist as i32;
            keys.push((Key::from_raw(&m.key), should_not_exist));
        }
        let request = AcquirePessimisticLockRequest {
            keys,
            primary: req.primary_lock.clone(),
            start_ts: TimeStamp::new(req.start_version),
            for_update_ts: TimeStamp::new(req.for_update_ts),
            lock_ttl: req.lock_ttl,
            min_commit_ts: TimeStamp::new(req.min_commit_ts),
            need_value: req.return_values,
            need_check_existence: req.check_existence,
            lock_only_if_exists: req.lock_only_if_exists,
        };
        answer(
            self.timed(
                "acquire_pessimistic_lock",
                self.txn(&region)
                    .acquire_pessimistic_lock(request, req.wait_timeout),
            )
            .await
            .map(|results| {
                let mut resp = kvrpcpb::PessimisticLockResponse::default();
                // TiKV's legacy wake-up mode answers in `values` / `not_founds`.
                for r in results {
                    match r {
                        PessimisticLockKeyResult::Empty => {}
                        PessimisticLockKeyResult::Value(v) => {
                            resp.not_founds.push(v.is_none());
                            resp.values.push(v.unwrap_or_default());
                        }
                        PessimisticLockKeyResult::Existence(e) => resp.not_founds.push(!e),
                    }
                }
                resp
            }),
        )
    }

    pub(super) async fn kv_pessimistic_rollback(
        &self,
        req: kvrpcpb::PessimisticRollbackRequest,
    ) -> kvrpcpb::PessimisticRollbackResponse {
        let keys = req.keys.iter().map(Vec::as_slice);
        let region = match self.check(req.context.as_ref(), Family::Txn, keys) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        answer(
            self.timed(
                "pessimistic_rollback",
                self.txn(&region).pessimistic_rollback(
                    &req.keys,
                    TimeStamp::new(req.start_version),
                    TimeStamp::new(req.for_update_ts),
                ),
            )
            .await
            .map(|_| kvrpcpb::PessimisticRollbackResponse::default()),
        )
    }
}
