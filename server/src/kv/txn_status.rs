//! Transaction status and maintenance: KvCheckTxnStatus, KvCheckSecondaryLocks,
//! KvTxnHeartBeat, KvResolveLock, KvGC, KvDeleteRange, UnsafeDestroyRange.

use std::collections::HashMap;

use mvcc::TimeStamp;
use txn::actions::check_secondary_locks::SecondaryLocksStatus;
use txn::actions::check_txn_status::{CheckTxnStatusArgs, TxnStatus};

use super::context::{Family, Refusal};
use super::convert::lock_info;
use super::{answer, refuse, Inner};
use crate::proto::kvrpcpb;

impl Inner {
    pub(super) async fn kv_check_txn_status(
        &self,
        req: kvrpcpb::CheckTxnStatusRequest,
    ) -> kvrpcpb::CheckTxnStatusResponse {
        let key = req.primary_key.clone();
        let region = match self.check(req.context.as_ref(), Family::Txn, [&key[..]]) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let args = CheckTxnStatusArgs {
            lock_ts: TimeStamp::new(req.lock_ts),
            caller_start_ts: TimeStamp::new(req.caller_start_ts),
            current_ts: TimeStamp::new(req.current_ts),
            rollback_if_not_exist: req.rollback_if_not_exist,
            force_sync_commit: req.force_sync_commit,
            resolving_pessimistic_lock: req.resolving_pessimistic_lock,
            verify_is_primary: req.verify_is_primary,
        };
        answer(
            self.timed(
                "check_txn_status",
                self.txn(&region).check_txn_status(&key, args),
            )
            .await
            .map(|status| {
                use kvrpcpb::Action;
                let mut resp = kvrpcpb::CheckTxnStatusResponse::default();
                let action = match status {
                    TxnStatus::RolledBack => Action::NoAction,
                    TxnStatus::TtlExpire => Action::TtlExpireRollback,
                    TxnStatus::LockNotExist => Action::LockNotExistRollback,
                    TxnStatus::PessimisticRollBack => Action::TtlExpirePessimisticRollback,
                    TxnStatus::LockNotExistDoNothing => Action::LockNotExistDoNothing,
                    TxnStatus::Committed { commit_ts } => {
                        resp.commit_version = commit_ts.into_inner();
                        Action::NoAction
                    }
                    TxnStatus::Uncommitted {
                        lock,
                        min_commit_ts_pushed,
                    } => {
                        resp.lock_ttl = lock.ttl;
                        resp.lock_info = Some(lock_info(&lock.into_lock_info(key)));
                        if min_commit_ts_pushed {
                            Action::MinCommitTsPushed
                        } else {
                            Action::NoAction
                        }
                    }
                };
                resp.action = action as i32;
                resp
            }),
        )
    }

    pub(super) async fn kv_check_secondary_locks(
        &self,
        req: kvrpcpb::CheckSecondaryLocksRequest,
    ) -> kvrpcpb::CheckSecondaryLocksResponse {
        let keys = req.keys.iter().map(Vec::as_slice);
        let region = match self.check(req.context.as_ref(), Family::Txn, keys) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let start = TimeStamp::new(req.start_version);
        answer(
            self.timed(
                "check_secondary_locks",
                self.txn(&region).check_secondary_locks(&req.keys, start),
            )
            .await
            .map(|status| match status {
                SecondaryLocksStatus::Locked(locks) => kvrpcpb::CheckSecondaryLocksResponse {
                    locks: locks.iter().map(lock_info).collect(),
                    ..Default::default()
                },
                SecondaryLocksStatus::Committed(ts) => kvrpcpb::CheckSecondaryLocksResponse {
                    commit_ts: ts.into_inner(),
                    ..Default::default()
                },
                SecondaryLocksStatus::RolledBack => Default::default(),
            }),
        )
    }

    pub(super) async fn kv_txn_heart_beat(
        &self,
        req: kvrpcpb::TxnHeartBeatRequest,
    ) -> kvrpcpb::TxnHeartBeatResponse {
        let key = &req.primary_lock;
        let region = match self.check(req.context.as_ref(), Family::Txn, [&key[..]]) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let start = TimeStamp::new(req.start_version);
        answer(
            self.timed(
                "txn_heart_beat",
                self.txn(&region)
                    .txn_heart_beat(key, start, req.advise_lock_ttl),
            )
            .await
            .map(|ttl| kvrpcpb::TxnHeartBeatResponse {
                lock_ttl: ttl,
                ..Default::default()
            }),
        )
    }

    /// Three forms, as TiKV: `txn_infos` resolves many transactions over the region; `keys`
    /// resolves one transaction's named keys (lite); otherwise one transaction over the
    /// region.
    pub(super) async fn kv_resolve_lock(
        &self,
        req: kvrpcpb::ResolveLockRequest,
    ) -> kvrpcpb::ResolveLockResponse {
        let keys = req.keys.iter().map(Vec::as_slice);
        let region = match self.check(req.context.as_ref(), Family::Txn, keys) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let done = |r: txn::Result<()>| answer(r.map(|()| kvrpcpb::ResolveLockResponse::default()));
        if !req.keys.is_empty() && req.txn_infos.is_empty() {
            let (start, commit) = (
                TimeStamp::new(req.start_version),
                TimeStamp::new(req.commit_version),
            );
            return done(
                self.timed(
                    "resolve_lock_lite",
                    self.txn(&region)
                        .resolve_lock_lite(start, commit, &req.keys),
                )
                .await,
            );
        }
        let status: HashMap<TimeStamp, TimeStamp> = if req.txn_infos.is_empty() {
            HashMap::from([(
                TimeStamp::new(req.start_version),
                TimeStamp::new(req.commit_version),
            )])
        } else {
            req.txn_infos
                .iter()
                .map(|t| (TimeStamp::new(t.txn), TimeStamp::new(t.status)))
                .collect()
        };
        let (lower, upper) = match self.check.region_bounds(&region, Family::Txn) {
            Ok(b) => b,
            Err(r) => return refuse(r),
        };
        let lower = (!lower.is_empty()).then_some(lower.as_slice());
        done(
            self.timed(
                "resolve_lock",
                self.txn(&region)
                    .resolve_lock(status, lower, upper.as_deref()),
            )
            .await
            .map(|_| ()),
        )
    }

    pub(super) async fn kv_gc(&self, req: kvrpcpb::GcRequest) -> kvrpcpb::GcResponse {
        let region = match self.check(req.context.as_ref(), Family::Txn, []) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let (lower, upper) = match self.check.region_bounds(&region, Family::Txn) {
            Ok(b) => b,
            Err(r) => return refuse(r),
        };
        let lower = (!lower.is_empty()).then_some(lower.as_slice());
        answer(
            self.timed(
                "gc",
                self.txn(&region)
                    .gc(TimeStamp::new(req.safe_point), lower, upper.as_deref()),
            )
            .await
            .map(|_| kvrpcpb::GcResponse::default()),
        )
    }

    pub(super) async fn kv_delete_range(
        &self,
        req: kvrpcpb::DeleteRangeRequest,
    ) -> kvrpcpb::DeleteRangeResponse {
        let region = match self.check(req.context.as_ref(), Family::Txn, [&req.start_key[..]]) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        if req.start_key >= req.end_key && !req.end_key.is_empty() {
            return refuse(Refusal::Invalid(format!(
                "delete_range needs start_key < end_key, got {:02x?} .. {:02x?}",
                req.start_key, req.end_key
            )));
        }
        // Never past the region: what lies beyond belongs to another region's request.
        let (lower, upper) =
            match self
                .check
                .clip_scan(&region, Family::Txn, &req.start_key, &req.end_key, false)
            {
                Ok(b) => b,
                Err(r) => return refuse(r),
            };
        if req.notify_only {
            return kvrpcpb::DeleteRangeResponse::default();
        }
        // No end: the range reaches past the last region's (unbounded) end.
        let delete = async {
            match upper {
                Some(upper) => self.txn(&region).delete_range(&lower, &upper).await,
                None => self.txn(&region).delete_from(&lower).await,
            }
        };
        answer(
            self.timed("delete_range", delete)
                .await
                .map(|()| kvrpcpb::DeleteRangeResponse::default()),
        )
    }

    /// Drops every transactional record in the range, on this store, regardless of regions
    /// (TiDB's GC worker calls it on each store after dropping a table).
    pub(super) async fn unsafe_destroy_range(
        &self,
        req: kvrpcpb::UnsafeDestroyRangeRequest,
    ) -> kvrpcpb::UnsafeDestroyRangeResponse {
        if let Err(r) = self
            .check
            .check_bounds(&req.start_key, &req.end_key, Family::Txn)
        {
            return refuse(r);
        }
        answer(
            self.timed(
                "unsafe_destroy_range",
                // Outside Raft, as TiKV: on the local engine of every store it is sent to.
                self.txn.delete_range(&req.start_key, &req.end_key),
            )
            .await
            .map(|()| kvrpcpb::UnsafeDestroyRangeResponse::default()),
        )
    }
}
