//! Sending one snapshot: a task that dials the receiving store and streams the `Snapshot`
//! RPC — first the MsgSnapshot, then each file of the descriptor in chunks — and reports
//! the outcome to the local store (`StoreMsg::SnapshotStatus`), which tells raft-rs to go
//! on replicating (success) or to send a new snapshot later (failure).
//!
//! The files are read from the send's own hard links ([`SendingSnapshot`]), on a blocking
//! thread that feeds the stream through a small channel (HTTP/2 flow control paces the
//! reads); the links are removed when the task ends, whatever the outcome.

use std::fs::File;
use std::io::Read;
use std::sync::Arc;

use replication::transport::RaftMessage;
use replication::{SendingSnapshot, SnapshotData, StoreMsg};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::addrs::StoreAddrs;
use super::convert::to_pb;
use super::link::dial;
use super::transport::{Report, TransportConfig};
use crate::error::{Error, Result};
use crate::proto::raftnet as pb;

/// Chunks read ahead of the network.
const READ_AHEAD: usize = 2;

/// One snapshot on its way.
pub(crate) struct SnapshotSend {
    pub(crate) msg: RaftMessage,
    pub(crate) data: SnapshotData,
    pub(crate) held: SendingSnapshot,
    pub(crate) addrs: Arc<dyn StoreAddrs>,
    pub(crate) cfg: TransportConfig,
    pub(crate) report: Report,
}

impl SnapshotSend {
    /// Streams the snapshot and reports how it went.
    pub(crate) async fn run(self) {
        let (region_id, to) = (self.msg.region_id, self.msg.to);
        let key = self.held.key();
        let result = self.stream().await;
        match &result {
            Ok(bytes) => tracing::info!(%key, to_store = to.store_id, bytes, "snapshot sent"),
            Err(e) => {
                tracing::warn!(%key, to_store = to.store_id, error = %e, "snapshot not sent");
            }
        }
        (self.report)(StoreMsg::SnapshotStatus {
            region_id,
            to_peer_id: to.id,
            ok: result.is_ok(),
        });
    }

    async fn stream(&self) -> Result<u64> {
        let first = pb::SnapshotChunk {
            message: Some(to_pb(&self.msg)?),
            ..Default::default()
        };
        let mut client = dial(&*self.addrs, self.msg.to.store_id, &self.cfg).await?;
        let (tx, rx) = mpsc::channel(READ_AHEAD);
        let files: Vec<_> = self
            .data
            .files
            .iter()
            .map(|f| (f.name.clone(), self.held.path(&f.name), f.size))
            .collect();
        let chunk = self.cfg.snapshot_chunk.max(1);
        let reader = tokio::task::spawn_blocking(move || read_chunks(first, &files, chunk, &tx));
        let call = client.snapshot(ReceiverStream::new(rx)).await;
        let read = reader
            .await
            .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
        call.map_err(|s| Error::Unreachable {
            store_id: self.msg.to.store_id,
            reason: format!("snapshot stream: {s}"),
        })?;
        read
    }
}

/// Feeds the stream: `first`, then every file in `chunk`-byte pieces (one empty chunk for
/// an empty file). Stops early if the stream is gone; refuses a file whose length is not
/// the descriptor's (never send what the receiver must refuse). The bytes sent.
fn read_chunks(
    first: pb::SnapshotChunk,
    files: &[(String, std::path::PathBuf, u64)],
    chunk: usize,
    tx: &mpsc::Sender<pb::SnapshotChunk>,
) -> Result<u64> {
    let gone = || Error::Io(std::io::Error::other("snapshot stream closed"));
    tx.blocking_send(first).map_err(|_| gone())?;
    let mut total = 0;
    for (name, path, size) in files {
        let mut file = File::open(path)?;
        let mut sent = 0u64;
        loop {
            let mut buf = vec![0; chunk];
            let n = read_full(&mut file, &mut buf)?;
            buf.truncate(n);
            if n == 0 && sent > 0 {
                break;
            }
            sent += n as u64;
            if sent > *size {
                break;
            }
            let piece = pb::SnapshotChunk {
                message: None,
                file: name.clone(),
                data: buf,
            };
            tx.blocking_send(piece).map_err(|_| gone())?;
            if n < chunk {
                break;
            }
        }
        if sent != *size {
            return Err(Error::Io(std::io::Error::other(format!(
                "snapshot file {name} has {sent} bytes, its descriptor {size}"
            ))));
        }
        total += sent;
    }
    Ok(total)
}

/// Reads until `buf` is full or the file ends.
fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}
