//! Bad input over gRPC gets a clear error and the server keeps serving: unknown region,
//! stale epoch, wrong API version, oversized keys and messages, too many keys, a mutation op
//! a prewrite cannot carry, and bytes that are not a protobuf message at all.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bytes::{Buf, BufMut};
use server::proto::kvrpcpb::{self, ApiVersion as PbApi};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use txn::ApiVersion;

/// Sends raw bytes as a request body and returns raw bytes: a malformed message.
#[derive(Debug, Clone, Default)]
struct RawBytes;

impl Codec for RawBytes {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawBytes;
    type Decoder = RawBytes;
    fn encoder(&mut self) -> RawBytes {
        RawBytes
    }
    fn decoder(&mut self) -> RawBytes {
        RawBytes
    }
}

impl Encoder for RawBytes {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawBytes {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_get_clear_errors_and_the_server_keeps_serving() {
    let t = common::TestNode::start(ApiVersion::V1).await;
    let region = t.node.regions()[0].clone();
    let mut kv = common::grpc::kv_client(t.node.kv_addr()).await;
    let ctx = || common::grpc::ctx(&region, PbApi::V1);
    let put = |context, key: Vec<u8>, value: Vec<u8>| kvrpcpb::RawPutRequest {
        context,
        key,
        value,
        ..Default::default()
    };
    kv.raw_put(put(ctx(), b"k".to_vec(), b"v".to_vec()))
        .await
        .unwrap();

    // Unknown region.
    let mut unknown = ctx();
    unknown.as_mut().unwrap().region_id = 999_999;
    let r = kv
        .raw_put(put(unknown, b"k".to_vec(), b"x".to_vec()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        r.region_error.unwrap().region_not_found.unwrap().region_id,
        999_999
    );

    // Stale epoch: the current region comes back.
    let mut stale = ctx();
    stale
        .as_mut()
        .unwrap()
        .region_epoch
        .as_mut()
        .unwrap()
        .version += 7;
    let r = kv
        .raw_put(put(stale, b"k".to_vec(), b"x".to_vec()))
        .await
        .unwrap()
        .into_inner();
    let current = r
        .region_error
        .unwrap()
        .epoch_not_match
        .unwrap()
        .current_regions;
    assert_eq!(current[0].id, region.id);

    // Wrong API version.
    let v2 = common::grpc::ctx(&region, PbApi::V2);
    let r = kv
        .raw_put(put(v2, b"k".to_vec(), b"x".to_vec()))
        .await
        .unwrap()
        .into_inner();
    assert!(r.error.contains("ApiVersionNotMatched"), "{}", r.error);

    // Oversized key (default max-key-size 8 KiB).
    let r = kv
        .raw_put(put(ctx(), vec![b'k'; 9000], b"x".to_vec()))
        .await
        .unwrap()
        .into_inner();
    assert!(r.error.contains("KeyTooLarge"), "{}", r.error);

    // Too many keys in one batch.
    let keys: Vec<Vec<u8>> = (0..20_000u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let r = kv
        .raw_batch_get(kvrpcpb::RawBatchGetRequest {
            context: ctx(),
            keys,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let err = r.pairs[0].error.as_ref().unwrap();
    assert!(err.abort.contains("too many keys"), "{err:?}");

    // A prewrite op no prewrite carries.
    let r = kv
        .kv_prewrite(kvrpcpb::PrewriteRequest {
            context: ctx(),
            mutations: vec![kvrpcpb::Mutation {
                op: kvrpcpb::Op::Rollback as i32,
                key: b"t".to_vec(),
                ..Default::default()
            }],
            primary_lock: b"t".to_vec(),
            start_version: 10,
            lock_ttl: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(r.errors[0].abort.contains("Rollback"), "{:?}", r.errors);

    // A message above the limit (64 MiB) is refused by gRPC, as a status.
    let huge = put(ctx(), b"big".to_vec(), vec![0u8; 65 << 20]);
    let status = kv
        .clone()
        .max_encoding_message_size(usize::MAX)
        .raw_put(huge)
        .await
        .unwrap_err();
    assert!(
        matches!(
            status.code(),
            tonic::Code::OutOfRange | tonic::Code::ResourceExhausted
        ),
        "{status:?}"
    );

    // Bytes that are not a protobuf message: a status, not a crash.
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", t.node.kv_addr()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = http::uri::PathAndQuery::from_static("/tikvpb.Tikv/RawGet");
    let garbage = vec![0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a];
    let status = grpc
        .unary(tonic::Request::new(garbage), path, RawBytes)
        .await
        .unwrap_err();
    assert_ne!(status.code(), tonic::Code::Ok);

    // Still serving, and nothing was lost.
    assert_eq!(
        common::grpc::raw_get(&mut kv, &region, b"k").await,
        Some(b"v".to_vec())
    );
    t.node.shutdown().await.unwrap();
}
