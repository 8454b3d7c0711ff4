//! The raw API: RawGet, RawBatchGet, RawPut, RawBatchPut, RawDelete, RawBatchDelete,
//! RawDeleteRange, RawScan, RawBatchScan, RawGetKeyTTL, RawCompareAndSwap, RawChecksum.
//!
//! Raw data has one column family; a request naming another than `default` is refused.

use txn::{KeyRange, KvPair};

use super::context::{tikv_order, Family, Refusal};
use super::{answer, refuse, Inner};
use crate::proto::kvrpcpb;
use crate::region::Region;

/// TiKV clients send `""` or `"default"`; other families hold transactional data.
fn check_cf(cf: &str) -> Result<(), Refusal> {
    match cf {
        "" | "default" => Ok(()),
        other => Err(Refusal::Invalid(format!(
            "raw requests use the default column family, not {other:?}"
        ))),
    }
}

fn pairs_to_pb(pairs: Vec<KvPair>) -> Vec<kvrpcpb::KvPair> {
    pairs
        .into_iter()
        .map(|p| kvrpcpb::KvPair {
            key: p.key,
            value: p.value,
            ..Default::default()
        })
        .collect()
}

impl Inner {
    /// Checks context, column family and keys of a raw request.
    fn check_raw<'k, R: super::Respond>(
        &self,
        ctx: Option<&kvrpcpb::Context>,
        cf: &str,
        keys: impl IntoIterator<Item = &'k [u8]>,
    ) -> Result<Region, R> {
        check_cf(cf).map_err(R::refused)?;
        self.check(ctx, Family::Raw, keys)
    }

    pub(super) async fn raw_get(&self, req: kvrpcpb::RawGetRequest) -> kvrpcpb::RawGetResponse {
        let region = match self.check_raw(req.context.as_ref(), &req.cf, [&req.key[..]]) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        answer(
            self.timed("raw_get", self.raw(&region).get(&req.key))
                .await
                .map(|v| kvrpcpb::RawGetResponse {
                    not_found: v.is_none(),
                    value: v.unwrap_or_default(),
                    ..Default::default()
                }),
        )
    }

    pub(super) async fn raw_batch_get(
        &self,
        req: kvrpcpb::RawBatchGetRequest,
    ) -> kvrpcpb::RawBatchGetResponse {
        let keys = req.keys.iter().map(Vec::as_slice);
        let region = match self.check_raw(req.context.as_ref(), &req.cf, keys) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        answer(
            self.timed("raw_batch_get", self.raw(&region).batch_get(&req.keys))
                .await
                .map(|pairs| kvrpcpb::RawBatchGetResponse {
                    pairs: pairs_to_pb(pairs),
                    ..Default::default()
                }),
        )
    }

    pub(super) async fn raw_get_key_ttl(
        &self,
        req: kvrpcpb::RawGetKeyTtlRequest,
    ) -> kvrpcpb::RawGetKeyTtlResponse {
        let region = match self.check_raw(req.context.as_ref(), &req.cf, [&req.key[..]]) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        answer(
            self.timed("raw_get_key_ttl", self.raw(&region).get_key_ttl(&req.key))
                .await
                .map(|ttl| kvrpcpb::RawGetKeyTtlResponse {
                    not_found: ttl.is_none(),
                    ttl: ttl.unwrap_or(0),
                    ..Default::default()
                }),
        )
    }

    pub(super) async fn raw_put(&self, req: kvrpcpb::RawPutRequest) -> kvrpcpb::RawPutResponse {
        let region = match self.check_raw(req.context.as_ref(), &req.cf, [&req.key[..]]) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        answer(
            self.timed(
                "raw_put",
                self.raw(&region).put(req.key, req.value, req.ttl),
            )
            .await
            .map(|()| kvrpcpb::RawPutResponse::default()),
        )
    }

    pub(super) async fn raw_batch_put(
        &self,
        req: kvrpcpb::RawBatchPutRequest,
    ) -> kvrpcpb::RawBatchPutResponse {
        let keys = req.pairs.iter().map(|p| p.key.as_slice());
        let region = match self.check_raw(req.context.as_ref(), &req.cf, keys) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        // Per-key `ttls` when given; else the older single `ttl` for every pair.
        let ttls = if !req.ttls.is_empty() {
            req.ttls
        } else if req.ttl != 0 {
            vec![req.ttl]
        } else {
            Vec::new()
        };
        let pairs = req
            .pairs
            .into_iter()
            .map(|p| KvPair {
                key: p.key,
                value: p.value,
            })
            .collect();
        answer(
            self.timed("raw_batch_put", self.raw(&region).batch_put(pairs, &ttls))
                .await
                .map(|()| kvrpcpb::RawBatchPutResponse::default()),
        )
    }

    pub(super) async fn raw_delete(
        &self,
        req: kvrpcpb::RawDeleteRequest,
    ) -> kvrpcpb::RawDeleteResponse {
        let region = match self.check_raw(req.context.as_ref(), &req.cf, [&req.key[..]]) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        answer(
            self.timed("raw_delete", self.raw(&region).delete(req.key))
                .await
                .map(|()| kvrpcpb::RawDeleteResponse::default()),
        )
    }

    pub(super) async fn raw_batch_delete(
        &self,
        req: kvrpcpb::RawBatchDeleteRequest,
    ) -> kvrpcpb::RawBatchDeleteResponse {
        let keys = req.keys.iter().map(Vec::as_slice);
        let region = match self.check_raw(req.context.as_ref(), &req.cf, keys) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        answer(
            self.timed("raw_batch_delete", self.raw(&region).batch_delete(req.keys))
                .await
                .map(|()| kvrpcpb::RawBatchDeleteResponse::default()),
        )
    }

    pub(super) async fn raw_delete_range(
        &self,
        req: kvrpcpb::RawDeleteRangeRequest,
    ) -> kvrpcpb::RawDeleteRangeResponse {
        let region = match self.check_raw(req.context.as_ref(), &req.cf, []) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let clipped =
            self.check
                .scan_range(&region, Family::Raw, &req.start_key, &req.end_key, false);
        let (lower, upper) = match clipped {
            Ok(b) => b,
            Err(r) => return refuse(r),
        };
        // No end: the range reaches past the last region's (unbounded) end.
        let delete = async {
            match upper {
                Some(upper) => self.raw(&region).delete_range(lower, upper).await,
                None => self.raw(&region).delete_from(lower).await,
            }
        };
        answer(
            self.timed("raw_delete_range", delete)
                .await
                .map(|()| kvrpcpb::RawDeleteRangeResponse::default()),
        )
    }

    pub(super) async fn raw_scan(&self, req: kvrpcpb::RawScanRequest) -> kvrpcpb::RawScanResponse {
        let region = match self.check_raw(req.context.as_ref(), &req.cf, []) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let prepared = self
            .check
            .scan_range(
                &region,
                Family::Raw,
                &req.start_key,
                &req.end_key,
                req.reverse,
            )
            .and_then(|b| Ok((b, self.check.scan_limit(req.limit)?)));
        let ((lower, upper), limit) = match prepared {
            Ok(x) => x,
            Err(r) => return refuse(r),
        };
        let (start, end) = tikv_order(lower, upper, req.reverse);
        answer(
            self.timed(
                "raw_scan",
                self.raw(&region)
                    .scan(&start, end.as_deref(), limit, req.key_only, req.reverse),
            )
            .await
            .map(|pairs| kvrpcpb::RawScanResponse {
                kvs: pairs_to_pb(pairs),
                ..Default::default()
            }),
        )
    }

    pub(super) async fn raw_batch_scan(
        &self,
        req: kvrpcpb::RawBatchScanRequest,
    ) -> kvrpcpb::RawBatchScanResponse {
        let region = match self.check_raw(req.context.as_ref(), &req.cf, []) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        if req.ranges.len() > self.check.limits.max_batch_keys {
            return refuse(Refusal::Invalid(format!(
                "too many ranges in one request (limit {})",
                self.check.limits.max_batch_keys
            )));
        }
        let mut ranges = Vec::with_capacity(req.ranges.len());
        for (i, r) in req.ranges.iter().enumerate() {
            // TiKV: an empty end is the next range's start (unbounded for the last); resolve
            // that before clipping to the region, so clipping does not change its meaning.
            let end = match (r.end_key.is_empty(), req.ranges.get(i + 1)) {
                (true, Some(next)) => next.start_key.clone(),
                _ => r.end_key.clone(),
            };
            let clipped =
                self.check
                    .scan_range(&region, Family::Raw, &r.start_key, &end, req.reverse);
            let (lower, upper) = match clipped {
                Ok(b) => b,
                Err(e) => return refuse(e),
            };
            let (start_key, end_key) = tikv_order(lower, upper, req.reverse);
            let end_key = end_key.unwrap_or_default();
            ranges.push(KeyRange { start_key, end_key });
        }
        let each_limit = match self.check.scan_limit(req.each_limit) {
            Ok(l) => l,
            Err(r) => return refuse(r),
        };
        answer(
            self.timed(
                "raw_batch_scan",
                self.raw(&region)
                    .batch_scan(&ranges, each_limit, req.key_only, req.reverse),
            )
            .await
            .map(|pairs| kvrpcpb::RawBatchScanResponse {
                kvs: pairs_to_pb(pairs),
                ..Default::default()
            }),
        )
    }

    pub(super) async fn raw_compare_and_swap(
        &self,
        req: kvrpcpb::RawCasRequest,
    ) -> kvrpcpb::RawCasResponse {
        let region = match self.check_raw(req.context.as_ref(), &req.cf, [&req.key[..]]) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        let expected = (!req.previous_not_exist).then_some(req.previous_value);
        answer(
            self.timed(
                "raw_compare_and_swap",
                self.raw(&region)
                    .compare_and_swap(req.key, expected, req.value, req.ttl),
            )
            .await
            .map(|r| kvrpcpb::RawCasResponse {
                succeed: r.succeed,
                previous_not_exist: r.previous_value.is_none(),
                previous_value: r.previous_value.unwrap_or_default(),
                ..Default::default()
            }),
        )
    }

    pub(super) async fn raw_checksum(
        &self,
        req: kvrpcpb::RawChecksumRequest,
    ) -> kvrpcpb::RawChecksumResponse {
        let region = match self.check_raw(req.context.as_ref(), "", []) {
            Ok(r) => r,
            Err(resp) => return resp,
        };
        if req.algorithm != kvrpcpb::ChecksumAlgorithm::Crc64Xor as i32 {
            return refuse(Refusal::Invalid(format!(
                "unknown checksum algorithm {}",
                req.algorithm
            )));
        }
        let mut ranges = Vec::with_capacity(req.ranges.len());
        for r in &req.ranges {
            let clipped =
                self.check
                    .scan_range(&region, Family::Raw, &r.start_key, &r.end_key, false);
            match clipped {
                Ok((lower, upper)) => ranges.push(KeyRange {
                    start_key: lower,
                    end_key: upper.unwrap_or_default(),
                }),
                Err(e) => return refuse(e),
            }
        }
        answer(
            self.timed("raw_checksum", self.raw(&region).checksum(&ranges))
                .await
                .map(|c| kvrpcpb::RawChecksumResponse {
                    checksum: c.crc64_xor,
                    total_kvs: c.total_kvs,
                    total_bytes: c.total_bytes,
                    ..Default::default()
                }),
        )
    }
}
