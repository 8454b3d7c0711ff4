//! Where each response type carries its errors: TiKV's responses all have `region_error`,
//! and then either one `KeyError` (`error`), a list of them (`errors`), or — raw API and a
//! few maintenance calls — an `error` string.

use super::context::Refusal;
use super::errors::{engine_region_error, key_error};
use crate::proto::{errorpb, kvrpcpb};

/// A response that can carry a region error and a failure.
pub trait Respond: Default {
    /// Sets the region error.
    fn set_region_error(&mut self, e: errorpb::Error);
    /// Records a failure of the request (not a region error).
    fn set_failure(&mut self, e: &txn::Error);
    /// Records a refusal given as a message.
    fn set_message(&mut self, m: String);

    /// The response to a refused request.
    fn refused(r: Refusal) -> Self {
        let mut resp = Self::default();
        match r {
            Refusal::Region(e) => resp.set_region_error(*e),
            Refusal::Invalid(m) => resp.set_message(m),
        }
        resp
    }

    /// The response to a request that failed in storage: a Raft engine's refusal as the
    /// region error it stands for, anything else as the request's failure.
    fn failed(e: &txn::Error) -> Self {
        let mut resp = Self::default();
        match engine_region_error(e) {
            Some(region_error) => resp.set_region_error(region_error),
            None => resp.set_failure(e),
        }
        resp
    }

    /// True if the response carries any error (for metrics).
    fn is_error(&self) -> bool;
}

fn abort(m: String) -> kvrpcpb::KeyError {
    kvrpcpb::KeyError {
        abort: m,
        ..Default::default()
    }
}

/// Responses with one `KeyError` in `error`.
macro_rules! key_error_response {
    ($($t:ty),* $(,)?) => {$(
        impl Respond for $t {
            fn set_region_error(&mut self, e: errorpb::Error) {
                self.region_error = Some(e);
            }
            fn set_failure(&mut self, e: &txn::Error) {
                self.error = Some(key_error(e));
            }
            fn set_message(&mut self, m: String) {
                self.error = Some(abort(m));
            }
            fn is_error(&self) -> bool {
                self.region_error.is_some() || self.error.is_some()
            }
        }
    )*};
}

/// Responses with a list of `KeyError`s in `errors`.
macro_rules! key_errors_response {
    ($($t:ty),* $(,)?) => {$(
        impl Respond for $t {
            fn set_region_error(&mut self, e: errorpb::Error) {
                self.region_error = Some(e);
            }
            fn set_failure(&mut self, e: &txn::Error) {
                self.errors = vec![key_error(e)];
            }
            fn set_message(&mut self, m: String) {
                self.errors = vec![abort(m)];
            }
            fn is_error(&self) -> bool {
                self.region_error.is_some() || !self.errors.is_empty()
            }
        }
    )*};
}

/// Responses with an `error` string.
macro_rules! string_error_response {
    ($($t:ty),* $(,)?) => {$(
        impl Respond for $t {
            fn set_region_error(&mut self, e: errorpb::Error) {
                self.region_error = Some(e);
            }
            fn set_failure(&mut self, e: &txn::Error) {
                self.error = e.to_string();
            }
            fn set_message(&mut self, m: String) {
                self.error = m;
            }
            fn is_error(&self) -> bool {
                self.region_error.is_some() || !self.error.is_empty()
            }
        }
    )*};
}

/// Raw reads without an error field: as TiKV, a failure is one `KvPair` whose `error` says
/// what went wrong.
macro_rules! pair_error_response {
    ($($t:ty => $field:ident),* $(,)?) => {$(
        impl Respond for $t {
            fn set_region_error(&mut self, e: errorpb::Error) {
                self.region_error = Some(e);
            }
            fn set_failure(&mut self, e: &txn::Error) {
                self.$field = vec![kvrpcpb::KvPair { error: Some(key_error(e)), ..Default::default() }];
            }
            fn set_message(&mut self, m: String) {
                self.$field = vec![kvrpcpb::KvPair { error: Some(abort(m)), ..Default::default() }];
            }
            fn is_error(&self) -> bool {
                self.region_error.is_some() || self.$field.iter().any(|p| p.error.is_some())
            }
        }
    )*};
}

pair_error_response!(
    kvrpcpb::RawBatchGetResponse => pairs,
    kvrpcpb::RawScanResponse => kvs,
    kvrpcpb::RawBatchScanResponse => kvs,
);

key_error_response!(
    kvrpcpb::GetResponse,
    kvrpcpb::ScanResponse,
    kvrpcpb::BatchGetResponse,
    kvrpcpb::CommitResponse,
    kvrpcpb::CleanupResponse,
    kvrpcpb::BatchRollbackResponse,
    kvrpcpb::CheckTxnStatusResponse,
    kvrpcpb::CheckSecondaryLocksResponse,
    kvrpcpb::TxnHeartBeatResponse,
    kvrpcpb::ResolveLockResponse,
    kvrpcpb::ScanLockResponse,
    kvrpcpb::GcResponse,
);

key_errors_response!(
    kvrpcpb::PrewriteResponse,
    kvrpcpb::PessimisticLockResponse,
    kvrpcpb::PessimisticRollbackResponse,
);

string_error_response!(
    kvrpcpb::DeleteRangeResponse,
    kvrpcpb::RawGetResponse,
    kvrpcpb::RawPutResponse,
    kvrpcpb::RawBatchPutResponse,
    kvrpcpb::RawDeleteResponse,
    kvrpcpb::RawBatchDeleteResponse,
    kvrpcpb::RawDeleteRangeResponse,
    kvrpcpb::RawGetKeyTtlResponse,
    kvrpcpb::RawCasResponse,
    kvrpcpb::RawChecksumResponse,
    kvrpcpb::UnsafeDestroyRangeResponse,
);
