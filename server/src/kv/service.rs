//! The generated `tikvpb.Tikv` trait, one line per method: time it, run the handler, count
//! failures under TiKV's metric label (the method's snake-case name, as TiKV's).

use std::time::Instant;

use tonic::{Request, Response, Status};

use super::respond::Respond;
use super::KvService;
use crate::proto::kvrpcpb;
use crate::proto::tikvpb::tikv_server::Tikv;

macro_rules! tikv_service {
    ($($method:ident($req:ident) -> $resp:ident;)*) => {
        #[tonic::async_trait]
        impl Tikv for KvService {
            $(
                async fn $method(
                    &self,
                    request: Request<kvrpcpb::$req>,
                ) -> Result<Response<kvrpcpb::$resp>, Status> {
                    let start = Instant::now();
                    let resp = self.inner.$method(request.into_inner()).await;
                    self.inner.metrics.observe_grpc(
                        stringify!($method),
                        start.elapsed(),
                        resp.is_error(),
                    );
                    Ok(Response::new(resp))
                }
            )*
        }
    };
}

/// Calls `$callback! { method(Request) -> Response; … }` with every `tikvpb.Tikv` method
/// Strata serves (the generated trait's methods, its `kvrpcpb` types): the one list of them,
/// for every implementation of the trait (this service, the benchmark's empty service).
#[macro_export]
macro_rules! with_tikv_methods {
    ($callback:ident) => {
        $callback! {
            kv_get(GetRequest) -> GetResponse;
            kv_scan(ScanRequest) -> ScanResponse;
            kv_batch_get(BatchGetRequest) -> BatchGetResponse;
            kv_prewrite(PrewriteRequest) -> PrewriteResponse;
            kv_commit(CommitRequest) -> CommitResponse;
            kv_cleanup(CleanupRequest) -> CleanupResponse;
            kv_batch_rollback(BatchRollbackRequest) -> BatchRollbackResponse;
            kv_pessimistic_lock(PessimisticLockRequest) -> PessimisticLockResponse;
            kv_pessimistic_rollback(PessimisticRollbackRequest) -> PessimisticRollbackResponse;
            kv_check_txn_status(CheckTxnStatusRequest) -> CheckTxnStatusResponse;
            kv_check_secondary_locks(CheckSecondaryLocksRequest) -> CheckSecondaryLocksResponse;
            kv_txn_heart_beat(TxnHeartBeatRequest) -> TxnHeartBeatResponse;
            kv_resolve_lock(ResolveLockRequest) -> ResolveLockResponse;
            kv_scan_lock(ScanLockRequest) -> ScanLockResponse;
            kv_gc(GcRequest) -> GcResponse;
            kv_delete_range(DeleteRangeRequest) -> DeleteRangeResponse;
            unsafe_destroy_range(UnsafeDestroyRangeRequest) -> UnsafeDestroyRangeResponse;
            raw_get(RawGetRequest) -> RawGetResponse;
            raw_batch_get(RawBatchGetRequest) -> RawBatchGetResponse;
            raw_put(RawPutRequest) -> RawPutResponse;
            raw_batch_put(RawBatchPutRequest) -> RawBatchPutResponse;
            raw_delete(RawDeleteRequest) -> RawDeleteResponse;
            raw_batch_delete(RawBatchDeleteRequest) -> RawBatchDeleteResponse;
            raw_delete_range(RawDeleteRangeRequest) -> RawDeleteRangeResponse;
            raw_scan(RawScanRequest) -> RawScanResponse;
            raw_batch_scan(RawBatchScanRequest) -> RawBatchScanResponse;
            raw_get_key_ttl(RawGetKeyTtlRequest) -> RawGetKeyTtlResponse;
            raw_compare_and_swap(RawCasRequest) -> RawCasResponse;
            raw_checksum(RawChecksumRequest) -> RawChecksumResponse;
        }
    };
}

crate::with_tikv_methods!(tikv_service);
