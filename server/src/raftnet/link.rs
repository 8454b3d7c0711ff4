//! One sending store's link to one receiving store: a task that drains the destination's
//! bounded queue into a long-lived `Raft` stream, in batches.
//!
//! Batching: each batch takes everything queued (up to `max_batch_msgs` messages and about
//! `max_batch_bytes` bytes). While HTTP/2 flow control holds a batch back, messages pile up
//! in the queue and leave together in the next one: the busier the link, the larger the
//! batches.
//!
//! Failure: a dial that fails or a stream that breaks drops what is queued (Raft resends)
//! and reports each peer it was for unreachable once; the address is re-resolved and the
//! store re-dialled after a backoff that doubles up to `backoff_max` and resets once a
//! stream carried a batch. Connection loss and recovery are logged once each.
//!
//! The task ends when the transport is dropped (every sender of the queue is gone).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use prost::Message as _;
use replication::transport::RaftMessage;
use replication::StoreMsg;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use super::addrs::StoreAddrs;
use super::convert::to_pb;
use super::transport::{Report, TransportConfig};
use crate::error::{Error, Result};
use crate::proto::raftnet::{self as pb, raft_net_client::RaftNetClient};

/// Batches in flight on one stream beyond the one HTTP/2 is sending: small, so messages
/// wait (and batch) in the queue rather than behind a full pipe.
const IN_FLIGHT_BATCHES: usize = 2;

/// What one link needs.
pub(crate) struct Link {
    /// The sending store (for logs).
    pub(crate) from_store: u64,
    /// The receiving store.
    pub(crate) to_store: u64,
    pub(crate) queue: mpsc::Receiver<RaftMessage>,
    pub(crate) addrs: Arc<dyn StoreAddrs>,
    pub(crate) cfg: TransportConfig,
    pub(crate) report: Report,
}

/// How a stream ended.
enum Ended {
    /// The transport is gone: stop.
    Closed,
    /// The connection failed; `sent` says whether it carried anything first.
    Broken { error: Error, sent: bool },
}

impl Link {
    /// Runs the link until the transport is dropped.
    pub(crate) async fn run(mut self) {
        let mut backoff = self.cfg.backoff_min;
        let mut connected_once = false;
        let mut down = false;
        loop {
            // Dial only when there is something to send: idle stores cost no connection.
            let Some(first) = self.queue.recv().await else {
                return;
            };
            let mut pending = vec![first];
            let error = match dial(&*self.addrs, self.to_store, &self.cfg).await {
                Ok(client) => {
                    if down || !connected_once {
                        tracing::info!(
                            from_store = self.from_store,
                            to_store = self.to_store,
                            "raft link up"
                        );
                    }
                    connected_once = true;
                    down = false;
                    match self.stream(client, &mut pending).await {
                        Ended::Closed => return,
                        Ended::Broken { error, sent } => {
                            if sent {
                                backoff = self.cfg.backoff_min;
                            }
                            error
                        }
                    }
                }
                Err(e) => e,
            };
            self.addrs.invalidate(self.to_store);
            if !down {
                tracing::warn!(from_store = self.from_store, to_store = self.to_store, error = %error, "raft link down; re-dialling with backoff");
                down = true;
            } else {
                tracing::debug!(from_store = self.from_store, to_store = self.to_store, error = %error, "raft link still down");
            }
            self.drop_queued(pending);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(self.cfg.backoff_max);
        }
    }

    /// Streams batches until the connection fails or the transport is dropped.
    async fn stream(
        &mut self,
        mut client: RaftNetClient<Channel>,
        buf: &mut Vec<RaftMessage>,
    ) -> Ended {
        let (tx, rx) = mpsc::channel::<pb::RaftBatch>(IN_FLIGHT_BATCHES);
        let call = client.raft(ReceiverStream::new(rx));
        tokio::pin!(call);
        let mut sent = false;
        loop {
            if buf.is_empty() {
                tokio::select! {
                    r = &mut call => return broken(self.to_store, r.err(), sent),
                    n = self.queue.recv_many(buf, self.cfg.max_batch_msgs) => {
                        if n == 0 {
                            return Ended::Closed;
                        }
                    }
                }
            }
            while buf.len() < self.cfg.max_batch_msgs {
                match self.queue.try_recv() {
                    Ok(m) => buf.push(m),
                    Err(_) => break,
                }
            }
            let batch = take_batch(buf, self.cfg.max_batch_bytes);
            tokio::select! {
                r = &mut call => return broken(self.to_store, r.err(), sent),
                r = tx.send(batch) => {
                    if r.is_err() {
                        return broken(self.to_store, None, sent);
                    }
                    sent = true;
                }
            }
        }
    }

    /// Drops `pending` and everything queued; reports each (region, peer) unreachable once.
    fn drop_queued(&mut self, pending: Vec<RaftMessage>) {
        let mut peers = HashSet::new();
        let mut dropped = 0usize;
        let mut note = |m: &RaftMessage| {
            dropped += 1;
            peers.insert((m.region_id, m.to.id));
        };
        pending.iter().for_each(&mut note);
        while let Ok(m) = self.queue.try_recv() {
            note(&m);
        }
        if dropped > 0 {
            tracing::debug!(
                from_store = self.from_store,
                to_store = self.to_store,
                dropped,
                "raft messages dropped"
            );
        }
        for (region_id, to_peer_id) in peers {
            (self.report)(StoreMsg::Unreachable {
                region_id,
                to_peer_id,
            });
        }
    }
}

fn broken(store_id: u64, status: Option<tonic::Status>, sent: bool) -> Ended {
    let error = Error::Unreachable {
        store_id,
        reason: match status {
            Some(s) => format!("stream failed: {s}"),
            None => "stream ended by the receiver".into(),
        },
    };
    Ended::Broken { error, sent }
}

/// Encodes messages from the front of `buf` into one batch: at least one, then while the
/// batch stays under `max_bytes`. A message that does not encode is dropped (logged).
fn take_batch(buf: &mut Vec<RaftMessage>, max_bytes: usize) -> pb::RaftBatch {
    let mut msgs = Vec::new();
    let mut bytes = 0;
    let mut taken = 0;
    for m in buf.iter() {
        match to_pb(m) {
            Ok(pb) => {
                let len = pb.encoded_len();
                if !msgs.is_empty() && bytes + len > max_bytes {
                    break;
                }
                bytes += len;
                msgs.push(pb);
            }
            Err(e) => tracing::warn!(region_id = m.region_id, error = %e, "raft message dropped"),
        }
        taken += 1;
    }
    buf.drain(..taken);
    pb::RaftBatch { msgs }
}

/// Resolves and connects to `store_id`.
///
/// # Errors
/// `Unreachable` (or the resolver's error) if the store has no address or does not answer.
pub(crate) async fn dial(
    addrs: &dyn StoreAddrs,
    store_id: u64,
    cfg: &TransportConfig,
) -> Result<RaftNetClient<Channel>> {
    let unreachable = |reason: String| Error::Unreachable { store_id, reason };
    // A resolver asking PD must not hold the link (or a snapshot) forever either.
    let addr = tokio::time::timeout(cfg.connect_timeout, addrs.resolve(store_id))
        .await
        .map_err(|_| unreachable("resolving its address timed out".into()))??;
    let url = if addr.contains("://") {
        addr.clone()
    } else {
        format!("http://{addr}")
    };
    let channel = tonic::transport::Endpoint::from_shared(url)
        .map_err(|e| unreachable(format!("bad address {addr:?}: {e}")))?
        .connect_timeout(cfg.connect_timeout)
        .tcp_nodelay(true)
        // A peer that vanished without closing is noticed by missing pings.
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(5))
        .keep_alive_while_idle(true)
        .connect()
        .await
        .map_err(|e| unreachable(format!("dialling {addr}: {e}")))?;
    Ok(RaftNetClient::new(channel)
        .max_encoding_message_size(cfg.max_message_size)
        .max_decoding_message_size(cfg.max_message_size))
}
