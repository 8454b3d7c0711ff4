//! Transactional reads: KvGet, KvScan, KvBatchGet, KvScanLock.

use mvcc::TimeStamp;
use txn::{ScanRequest, TxnKvPair};

use super::context::{tikv_order, Family};
use super::convert::{lock_info, read_options};
use super::errors::key_error;
use super::{answer, refuse, Inner};
use crate::proto::kvrpcpb;

/// A read result as TiKV's `KvPair`: the value, or the lock that blocks it.
fn kv_pair(p: TxnKvPair) -> kvrpcpb::KvPair {
    match p.value {
        Ok(value) => kvrpcpb::KvPair {
            key: p.key,
            value,
            ..Default::default()
        },
        Err(lock) => kvrpcpb::KvPair {
            error: Some(kvrpcpb::KeyError {
                locked: Some(lock_info(&lock)),
                ..Default::default()
            }),
            key: p.key,
            ..Default::default()
        },
    }
}

impl Inner {
    pub(super) async fn kv_get(&self, req: kvrpcpb::GetRequest) -> kvrpcpb::GetResponse {
        let ctx = req.context.as_ref();
        let region = match self.check(ctx, Family::Txn, [&req.key[..]]) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let options = ctx.map(read_options).unwrap_or_default();
        answer(
            self.timed(
                "get",
                self.txn(&region)
                    .get(&req.key, TimeStamp::new(req.version), options),
            )
            .await
            .map(|v| kvrpcpb::GetResponse {
                not_found: v.is_none(),
                value: v.unwrap_or_default(),
                ..Default::default()
            }),
        )
    }

    pub(super) async fn kv_batch_get(
        &self,
        req: kvrpcpb::BatchGetRequest,
    ) -> kvrpcpb::BatchGetResponse {
        let ctx = req.context.as_ref();
        let region = match self.check(ctx, Family::Txn, req.keys.iter().map(Vec::as_slice)) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let options = ctx.map(read_options).unwrap_or_default();
        answer(
            self.timed(
                "batch_get",
                self.txn(&region)
                    .batch_get(&req.keys, TimeStamp::new(req.version), options),
            )
            .await
            .map(|pairs| kvrpcpb::BatchGetResponse {
                pairs: pairs.into_iter().map(kv_pair).collect(),
                ..Default::default()
            }),
        )
    }

    pub(super) async fn kv_scan(&self, req: kvrpcpb::ScanRequest) -> kvrpcpb::ScanResponse {
        let ctx = req.context.as_ref();
        let region = match self.check(ctx, Family::Txn, []) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let clipped = self
            .check
            .scan_range(
                &region,
                Family::Txn,
                &req.start_key,
                &req.end_key,
                req.reverse,
            )
            .and_then(|b| Ok((b, self.check.scan_limit(req.limit)?)));
        let ((lower, upper), limit) = match clipped {
            Ok(x) => x,
            Err(r) => return refuse(r),
        };
        let (start_key, end_key) = tikv_order(lower, upper, req.reverse);
        let scan = ScanRequest {
            start_key,
            end_key,
            limit,
            ts: TimeStamp::new(req.version),
            key_only: req.key_only,
            reverse: req.reverse,
            read: ctx.map(read_options).unwrap_or_default(),
        };
        match self.timed("scan", self.txn(&region).scan(scan)).await {
            Ok(pairs) => kvrpcpb::ScanResponse {
                pairs: pairs.into_iter().map(kv_pair).collect(),
                ..Default::default()
            },
            // As TiKV: a failure of the whole scan is in `error` (e.g. a lock still in memory).
            Err(e) => kvrpcpb::ScanResponse {
                error: Some(key_error(&e)),
                ..Default::default()
            },
        }
    }

    pub(super) async fn kv_scan_lock(
        &self,
        req: kvrpcpb::ScanLockRequest,
    ) -> kvrpcpb::ScanLockResponse {
        let ctx = req.context.as_ref();
        let region = match self.check(ctx, Family::Txn, []) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let (lower, upper) =
            match self
                .check
                .clip_scan(&region, Family::Txn, &req.start_key, &req.end_key, false)
            {
                Ok(b) => b,
                Err(r) => return refuse(r),
            };
        answer(
            self.timed(
                "scan_lock",
                self.txn(&region).scan_lock(
                    TimeStamp::new(req.max_version),
                    (!lower.is_empty()).then_some(lower.as_slice()),
                    upper.as_deref(),
                    req.limit as usize,
                ),
            )
            .await
            .map(|locks| kvrpcpb::ScanLockResponse {
                locks: locks.iter().map(lock_info).collect(),
                ..Default::default()
            }),
        )
    }
}
