//! Test helpers for the transport's unit tests: fake snapshots on disk, a message to carry
//! one, a recording `RaftNet` server, a capturing report.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use raft::eraftpb::{MessageType, Snapshot};
use replication::transport::RaftMessage;
use replication::{Epoch, Peer, Region, SnapFile, SnapKey, SnapManager, SnapshotData, StoreMsg};
use tonic::{Request, Response, Status, Streaming};

use super::transport::Report;
use crate::proto::raftnet::raft_net_server::{RaftNet, RaftNetServer};
use crate::proto::raftnet::{self as pb};

/// Writes `files` (name, bytes) as snapshot `key`'s generated files; its descriptor.
pub(crate) fn fake_snapshot(
    snaps: &SnapManager,
    key: SnapKey,
    files: &[(&str, &[u8])],
) -> SnapshotData {
    let dir = snaps.gen_dir(key);
    std::fs::create_dir_all(&dir).unwrap();
    let files = files
        .iter()
        .map(|(name, bytes)| {
            std::fs::write(dir.join(name), bytes).unwrap();
            SnapFile {
                cf: mvcc::Cf::Default,
                cf_id: 0,
                name: (*name).to_owned(),
                size: bytes.len() as u64,
                crc32: crc32fast::hash(bytes),
            }
        })
        .collect();
    SnapshotData {
        region: Region {
            id: key.region_id,
            ..Default::default()
        },
        files,
    }
}

/// The MsgSnapshot of `key` with descriptor `data`, from peer 101 on store 1 to `to`.
pub(crate) fn snapshot_message(key: SnapKey, data: &SnapshotData, to: Peer) -> RaftMessage {
    let mut snap = Snapshot {
        data: data.encode().into(),
        ..Default::default()
    };
    snap.mut_metadata().index = key.index;
    snap.mut_metadata().term = key.term;
    let mut message = raft::eraftpb::Message::default();
    message.set_msg_type(MessageType::MsgSnapshot);
    message.from = 101;
    message.to = to.id;
    message.term = key.term;
    message.set_snapshot(snap);
    RaftMessage {
        region_id: key.region_id,
        from: Peer::new(101, 1),
        to,
        epoch: Epoch::default(),
        start_key: Vec::new(),
        end_key: Vec::new(),
        message,
    }
}

/// Records the size of every batch it receives.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorder {
    pub(crate) batches: Arc<Mutex<Vec<usize>>>,
}

#[tonic::async_trait]
impl RaftNet for Recorder {
    async fn raft(
        &self,
        req: Request<Streaming<pb::RaftBatch>>,
    ) -> Result<Response<pb::Done>, Status> {
        let mut stream = req.into_inner();
        while let Some(b) = stream.message().await? {
            self.batches.lock().push(b.msgs.len());
        }
        Ok(Response::new(pb::Done {}))
    }

    async fn snapshot(
        &self,
        _req: Request<Streaming<pb::SnapshotChunk>>,
    ) -> Result<Response<pb::Done>, Status> {
        Err(Status::unimplemented("recorder"))
    }
}

/// Serves `svc` on a free loopback port until the test's runtime ends.
pub(crate) async fn serve<S: RaftNet>(svc: S) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(RaftNetServer::new(svc))
            .serve_with_incoming(incoming),
    );
    addr
}

/// A report that keeps what it is given.
pub(crate) fn capture() -> (Report, Arc<Mutex<Vec<StoreMsg>>>) {
    let seen: Arc<Mutex<Vec<StoreMsg>>> = Arc::default();
    let s = seen.clone();
    (Arc::new(move |m| s.lock().push(m)), seen)
}

/// Waits (a hang guard, not a speed bound) until `done` holds.
pub(crate) async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..3000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}
