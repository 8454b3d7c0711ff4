//! The receiving side: the `strata.raftnet.RaftNet` service, served on the node's gRPC port
//! beside the KV service.
//!
//! - `Raft`: each message of each batch is decoded and handed to the local store in order. A
//!   message that does not decode is logged and skipped (the sender's raft resends); a
//!   MsgSnapshot here is refused (its files come only with `Snapshot`).
//! - `Snapshot`: the files are written by a [`SnapshotReceiver`] on a blocking thread; the
//!   MsgSnapshot reaches the store only after every file is in place. One receive per
//!   snapshot at a time (a second is refused; the sender retries later).
//!
//! Shutdown: the node's gRPC server drains streams before it stops, and these streams
//! never end on their own, so each handler also ends when `stopped` turns true, or when the
//! store is gone.

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::Mutex;
use raft::eraftpb::MessageType;
use replication::{SnapKey, SnapManager, SnapshotData, StoreHandle, StoreMsg};
use tokio::sync::{mpsc, watch};
use tonic::{Request, Response, Status, Streaming};

use super::convert::from_pb;
use super::snap_recv::{clear_partial, SnapshotReceiver};
use crate::error::Error;
use crate::proto::raftnet::{self as pb, raft_net_server::RaftNet};

/// Chunks buffered between the stream and the file writer.
const WRITE_AHEAD: usize = 4;

/// The `RaftNet` service of one store.
#[derive(Debug, Clone)]
pub struct RaftService {
    store: StoreHandle,
    snaps: SnapManager,
    stopped: watch::Receiver<bool>,
    /// Snapshots being received now.
    receiving: Arc<Mutex<HashSet<SnapKey>>>,
}

impl RaftService {
    /// The service handing messages to `store`, snapshot files to `snaps`; its streams end
    /// once `stopped` is true or its sender is dropped. Removes what an earlier process left of partial receives.
    ///
    /// # Errors
    /// I/O clearing them.
    pub fn new(
        store: StoreHandle,
        snaps: SnapManager,
        stopped: watch::Receiver<bool>,
    ) -> crate::Result<RaftService> {
        clear_partial(&snaps)?;
        Ok(RaftService {
            store,
            snaps,
            stopped,
            receiving: Arc::default(),
        })
    }

    fn deliver(&self, m: replication::transport::RaftMessage) -> Result<(), Status> {
        self.store
            .send(StoreMsg::Raft(Box::new(m)))
            .map_err(|_| Status::unavailable("raft store stopped"))
    }
}

/// Resolves once `stopped` turns true (or its sender is gone).
async fn wait_stopped(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

/// Forgets a snapshot key when the receive ends, however it ends.
struct Receiving {
    set: Arc<Mutex<HashSet<SnapKey>>>,
    key: SnapKey,
}

impl Drop for Receiving {
    fn drop(&mut self) {
        self.set.lock().remove(&self.key);
    }
}

fn refused(e: Error) -> Status {
    match e {
        Error::SnapshotRefused { .. } | Error::BadRaftMessage(_) => {
            Status::invalid_argument(e.to_string())
        }
        other => Status::internal(other.to_string()),
    }
}

#[tonic::async_trait]
impl RaftNet for RaftService {
    async fn raft(
        &self,
        req: Request<Streaming<pb::RaftBatch>>,
    ) -> Result<Response<pb::Done>, Status> {
        let mut stream = req.into_inner();
        let stop = wait_stopped(self.stopped.clone());
        tokio::pin!(stop);
        loop {
            let batch = tokio::select! {
                () = &mut stop => return Err(Status::unavailable("store shutting down")),
                b = stream.message() => b?,
            };
            let Some(batch) = batch else {
                return Ok(Response::new(pb::Done {}));
            };
            for m in batch.msgs {
                match from_pb(m) {
                    Ok(m) if m.message.get_msg_type() == MessageType::MsgSnapshot => {
                        tracing::warn!(
                            region_id = m.region_id,
                            "snapshot message outside a snapshot stream dropped"
                        );
                    }
                    Ok(m) => self.deliver(m)?,
                    Err(e) => tracing::warn!(error = %e, "raft message dropped"),
                }
            }
        }
    }

    async fn snapshot(
        &self,
        req: Request<Streaming<pb::SnapshotChunk>>,
    ) -> Result<Response<pb::Done>, Status> {
        let mut stream = req.into_inner();
        let first = stream
            .message()
            .await?
            .and_then(|c| c.message)
            .ok_or_else(|| Status::invalid_argument("snapshot stream without its message"))?;
        let msg = from_pb(first).map_err(refused)?;
        if msg.message.get_msg_type() != MessageType::MsgSnapshot {
            return Err(Status::invalid_argument(
                "snapshot stream for a non-snapshot message",
            ));
        }
        let snap = msg.message.get_snapshot();
        let data = SnapshotData::decode(&snap.data)
            .map_err(|e| Status::invalid_argument(format!("snapshot descriptor: {e}")))?;
        let key = SnapKey::of(msg.region_id, snap);
        if !self.receiving.lock().insert(key) {
            return Err(Status::already_exists(format!(
                "snapshot {key} is being received"
            )));
        }
        let _receiving = Receiving {
            set: self.receiving.clone(),
            key,
        };
        let receiver = SnapshotReceiver::new(&self.snaps, key, &data).map_err(refused)?;
        let (tx, mut rx) = mpsc::channel::<Option<pb::SnapshotChunk>>(WRITE_AHEAD);
        // The writer sees `None` at a clean end; a closed channel without it is a stream
        // that broke off (the receiver is dropped: its files go).
        let writer = tokio::task::spawn_blocking(move || {
            let mut receiver = receiver;
            while let Some(item) = rx.blocking_recv() {
                match item {
                    Some(c) => receiver.chunk(&c.file, &c.data)?,
                    None => return receiver.finish(),
                }
            }
            Err(Error::SnapshotRefused {
                key: key.to_string(),
                reason: "stream broke off".into(),
            })
        });
        let stop = wait_stopped(self.stopped.clone());
        tokio::pin!(stop);
        let fed = loop {
            let chunk = tokio::select! {
                () = &mut stop => break Err(Status::unavailable("store shutting down")),
                c = stream.message() => c,
            };
            let item = match chunk {
                Ok(Some(c)) => Some(c),
                Ok(None) => None,
                Err(s) => break Err(s),
            };
            let end = item.is_none();
            if tx.send(item).await.is_err() || end {
                break Ok(());
            }
        };
        drop(tx);
        let written = writer
            .await
            .map_err(|e| Status::internal(format!("snapshot writer: {e}")))?;
        fed?;
        written.map_err(refused)?;
        tracing::info!(%key, from_store = msg.from.store_id, "snapshot received");
        self.deliver(msg)?;
        Ok(Response::new(pb::Done {}))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use replication::Peer;

    use super::*;
    use crate::proto::raftnet::raft_net_client::RaftNetClient;
    use crate::raftnet::convert::to_pb;
    use crate::raftnet::testing::{fake_snapshot, serve, snapshot_message};

    const KEY: SnapKey = SnapKey {
        region_id: 9,
        term: 7,
        index: 77,
    };

    /// File chunks: (file name, bytes).
    type Chunks = Vec<(&'static str, &'static [u8])>;

    /// Streams `chunks` after the snapshot's first chunk to a fresh service; its answer and
    /// what stays under the receiver's `recv/`.
    async fn receive(chunks: Chunks) -> (Result<(), Status>, usize) {
        let tmp = tempfile::tempdir().unwrap();
        let (handle, _inbox) = replication::inbox();
        let (_stop, stopped) = watch::channel(false);
        let snaps = SnapManager::new(tmp.path().join("receiver"));
        let addr = serve(RaftService::new(handle, snaps.clone(), stopped).unwrap()).await;
        let sender = SnapManager::new(tmp.path().join("sender"));
        let data = fake_snapshot(&sender, KEY, &[("a.sst", b"0123456789")]);
        let to = Peer::new(102, 2);
        let mut stream = vec![pb::SnapshotChunk {
            message: Some(to_pb(&snapshot_message(KEY, &data, to)).unwrap()),
            ..Default::default()
        }];
        stream.extend(chunks.into_iter().map(|(file, data)| pb::SnapshotChunk {
            message: None,
            file: file.into(),
            data: data.to_vec(),
        }));
        let mut client = RaftNetClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
        let answer = client
            .snapshot(tokio_stream::iter(stream))
            .await
            .map(|_| ());
        let left = std::fs::read_dir(snaps.recv_root()).map_or(0, |d| d.count());
        (answer, left)
    }

    #[tokio::test]
    async fn a_whole_snapshot_is_accepted() {
        let (answer, left) = receive(vec![("a.sst", b"01234"), ("a.sst", b"56789")]).await;
        answer.unwrap();
        assert_eq!(left, 1);
    }

    #[tokio::test]
    async fn bad_streams_are_refused_and_leave_nothing() {
        let cases: Vec<(Chunks, &str)> = vec![
            (vec![("../a.sst", b"0123456789")], "not in the descriptor"),
            (vec![("a.sst", b"0123456789!")], "exceeds its size"),
            (vec![("a.sst", b"01234")], "has 5 bytes, expected 10"),
            (vec![], "stream ended without"),
        ];
        for (chunks, why) in cases {
            let (answer, left) = receive(chunks).await;
            let status = answer.unwrap_err();
            assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
            assert!(status.message().contains(why), "{why}: {status:?}");
            assert_eq!(left, 0, "{why}: partial files removed");
        }
    }
}
