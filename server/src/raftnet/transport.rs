//! [`GrpcTransport`]: `replication`'s `Transport` over the `strata.raftnet.RaftNet` service.
//!
//! `send` runs on the store's Raft thread (no tokio context there): it never waits. A
//! message goes into its destination store's bounded queue, drained by that store's link
//! task (`link.rs`); a full queue refuses the message (backpressure: the store reports the
//! peer unreachable and raft-rs sends again later). A snapshot message instead gets a task
//! of its own (`snap_send.rs`) that streams its files with the `Snapshot` RPC, from hard
//! links taken here on the Raft thread (`SnapManager::hold_for_send`), so a regeneration or a
//! removed peer cannot pull files from under the stream; the task reports the outcome to
//! the local store (`StoreMsg::SnapshotStatus`).
//!
//! Lifetime: the transport is owned by its store; dropping it closes every queue, which ends
//! the link tasks. Reports go through a callback that must not keep the store alive (use
//! [`report_to`] with a `WeakStoreHandle`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use raft::eraftpb::MessageType;
use replication::transport::{RaftMessage, Transport};
use replication::{SnapKey, SnapManager, SnapshotData, StoreMsg, WeakStoreHandle};
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::addrs::StoreAddrs;
use super::link::Link;
use super::snap_send::SnapshotSend;

/// Where the transport reports to its own store (snapshot outcomes, unreachable peers).
pub type Report = Arc<dyn Fn(StoreMsg) + Send + Sync>;

/// Reports to the store behind `handle` (dropped silently once it stopped).
pub fn report_to(handle: WeakStoreHandle) -> Report {
    Arc::new(move |msg| {
        let _ = handle.send(msg);
    })
}

/// The transport's settings.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Messages queued per destination store before `send` refuses.
    pub queue_capacity: usize,
    /// Most messages in one batch.
    pub max_batch_msgs: usize,
    /// A batch stops growing past this many bytes (a single larger message goes alone).
    pub max_batch_bytes: usize,
    /// Bytes of snapshot file per chunk.
    pub snapshot_chunk: usize,
    /// Largest gRPC message either way (a batch, a chunk, an answer).
    pub max_message_size: usize,
    /// How long a dial may take.
    pub connect_timeout: Duration,
    /// First wait before re-dialling a store that failed.
    pub backoff_min: Duration,
    /// Longest wait between dials.
    pub backoff_max: Duration,
}

impl Default for TransportConfig {
    fn default() -> TransportConfig {
        TransportConfig {
            queue_capacity: 4096,
            max_batch_msgs: 256,
            max_batch_bytes: 4 << 20,
            snapshot_chunk: 1 << 20,
            max_message_size: 64 << 20,
            connect_timeout: Duration::from_secs(3),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
        }
    }
}

/// Raft messages to other stores over gRPC (module docs).
pub struct GrpcTransport {
    store_id: u64,
    addrs: Arc<dyn StoreAddrs>,
    snaps: SnapManager,
    report: Report,
    runtime: Handle,
    cfg: TransportConfig,
    /// Per destination store, its link's queue.
    queues: Mutex<HashMap<u64, mpsc::Sender<RaftMessage>>>,
}

impl std::fmt::Debug for GrpcTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcTransport")
            .field("store_id", &self.store_id)
            .field("links", &self.queues.lock().len())
            .finish_non_exhaustive()
    }
}

impl GrpcTransport {
    /// The transport of store `store_id`: addresses from `addrs`, snapshot files from
    /// `snaps`, reports to `report`, tasks on `runtime`. Removes what an earlier process
    /// left of snapshot sends, so build it before the store starts sending.
    ///
    /// # Errors
    /// I/O clearing the snapshot directory's `send/`.
    pub fn new(
        store_id: u64,
        addrs: Arc<dyn StoreAddrs>,
        snaps: SnapManager,
        report: Report,
        runtime: Handle,
        cfg: TransportConfig,
    ) -> crate::Result<GrpcTransport> {
        snaps.clear_sending()?;
        Ok(GrpcTransport {
            store_id,
            addrs,
            snaps,
            report,
            runtime,
            cfg,
            queues: Mutex::new(HashMap::new()),
        })
    }

    fn queue(&self, to_store: u64) -> mpsc::Sender<RaftMessage> {
        let mut queues = self.queues.lock();
        if let Some(q) = queues.get(&to_store) {
            if !q.is_closed() {
                return q.clone();
            }
        }
        let (tx, rx) = mpsc::channel(self.cfg.queue_capacity);
        let link = Link {
            from_store: self.store_id,
            to_store,
            queue: rx,
            addrs: self.addrs.clone(),
            cfg: self.cfg.clone(),
            report: self.report.clone(),
        };
        self.runtime.spawn(link.run());
        queues.insert(to_store, tx.clone());
        tx
    }

    fn send_snapshot(&self, msg: RaftMessage) -> replication::Result<()> {
        let snap = msg.message.get_snapshot();
        let data = SnapshotData::decode(&snap.data)?;
        let key = SnapKey::of(msg.region_id, snap);
        let held = self.snaps.hold_for_send(key, &data)?;
        let send = SnapshotSend {
            msg,
            data,
            held,
            addrs: self.addrs.clone(),
            cfg: self.cfg.clone(),
            report: self.report.clone(),
        };
        self.runtime.spawn(send.run());
        Ok(())
    }
}

impl Transport for GrpcTransport {
    fn send(&self, msg: RaftMessage) -> replication::Result<()> {
        if msg.message.get_msg_type() == MessageType::MsgSnapshot {
            return self.send_snapshot(msg);
        }
        let to_store = msg.to.store_id;
        self.queue(to_store).try_send(msg).map_err(|e| {
            let why = match e {
                mpsc::error::TrySendError::Full(_) => "queue full",
                mpsc::error::TrySendError::Closed(_) => "link stopped",
            };
            replication::Error::Unreachable {
                store_id: to_store,
                reason: why.into(),
            }
        })
    }

    fn reports_snapshot_status(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use replication::Peer;

    use super::*;
    use crate::raftnet::addrs::StaticAddrs;
    use crate::raftnet::convert::tests::append;
    use crate::raftnet::service::RaftService;
    use crate::raftnet::testing::{
        capture, eventually, fake_snapshot, serve, snapshot_message, Recorder,
    };

    fn transport(
        dir: &std::path::Path,
        addrs: StaticAddrs,
        cfg: TransportConfig,
    ) -> (GrpcTransport, Arc<Mutex<Vec<StoreMsg>>>) {
        let (report, seen) = capture();
        let t = GrpcTransport::new(
            1,
            Arc::new(addrs),
            SnapManager::new(dir.join("snap")),
            report,
            Handle::current(),
            cfg,
        )
        .unwrap();
        (t, seen)
    }

    // The test's runtime runs nothing while the test sends (current thread, no await), so
    // every message is queued before the link wakes: the batches are deterministic.
    #[tokio::test]
    async fn queued_messages_leave_in_few_batches() {
        let recorder = Recorder::default();
        let addrs = StaticAddrs::new();
        addrs.set(2, serve(recorder.clone()).await.to_string());
        let tmp = tempfile::tempdir().unwrap();
        let (t, _) = transport(tmp.path(), addrs, TransportConfig::default());
        for i in 0..1000 {
            t.send(append(2, 102, i)).unwrap();
        }
        let total = || recorder.batches.lock().iter().sum::<usize>();
        eventually("every message", || total() == 1000).await;
        assert_eq!(*recorder.batches.lock(), vec![256, 256, 256, 232]);
    }

    #[tokio::test]
    async fn a_full_queue_refuses() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = TransportConfig {
            queue_capacity: 8,
            ..TransportConfig::default()
        };
        let (t, _) = transport(tmp.path(), StaticAddrs::new(), cfg);
        for i in 0..8 {
            t.send(append(2, 102, i)).unwrap();
        }
        let e = t.send(append(2, 102, 8)).unwrap_err();
        assert!(
            matches!(&e, replication::Error::Unreachable { store_id: 2, reason } if reason == "queue full"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn messages_to_an_unreachable_store_are_dropped_and_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let (t, seen) = transport(tmp.path(), StaticAddrs::new(), TransportConfig::default());
        for i in 0..5 {
            t.send(append(3, 103, i)).unwrap();
        }
        let mut other = append(3, 203, 0);
        other.region_id = 2;
        t.send(other).unwrap();
        let reported = || {
            let mut v: Vec<(u64, u64)> = seen
                .lock()
                .iter()
                .filter_map(|m| match m {
                    StoreMsg::Unreachable {
                        region_id,
                        to_peer_id,
                    } => Some((*region_id, *to_peer_id)),
                    _ => None,
                })
                .collect();
            v.sort_unstable();
            v
        };
        eventually("unreachable reports", || reported().len() >= 2).await;
        assert_eq!(reported(), vec![(1, 103), (2, 203)], "once per peer");
    }

    #[tokio::test]
    async fn a_snapshot_streams_from_its_held_files_and_reports() {
        let tmp = tempfile::tempdir().unwrap();
        let (handle, _inbox) = replication::inbox();
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        let recv_snaps = SnapManager::new(tmp.path().join("receiver"));
        let svc = RaftService::new(handle, recv_snaps.clone(), stopped).unwrap();
        let addrs = StaticAddrs::new();
        addrs.set(2, serve(svc).await.to_string());
        let cfg = TransportConfig {
            snapshot_chunk: 7,
            ..TransportConfig::default()
        };
        let (t, seen) = transport(tmp.path(), addrs, cfg);
        let key = SnapKey {
            region_id: 1,
            term: 6,
            index: 50,
        };
        let snaps = SnapManager::new(tmp.path().join("snap"));
        let big = (0..100u8).collect::<Vec<_>>();
        let data = fake_snapshot(
            &snaps,
            key,
            &[("default-0001.sst", &big), ("lock-0001.sst", b"")],
        );
        let to = Peer::new(102, 2);
        t.send(snapshot_message(key, &data, to)).unwrap();
        // Regenerated and removed before the stream even starts: the send has its own links.
        snaps.remove_generated(1).unwrap();
        fake_snapshot(&snaps, key, &[("default-0001.sst", b"other")]);
        snaps.remove_generated(1).unwrap();

        let status = || {
            seen.lock().iter().find_map(|m| match m {
                StoreMsg::SnapshotStatus { to_peer_id, ok, .. } => Some((*to_peer_id, *ok)),
                _ => None,
            })
        };
        eventually("the snapshot's outcome", || status().is_some()).await;
        assert_eq!(status(), Some((102, true)));
        let dir = recv_snaps.recv_dir(key);
        assert_eq!(std::fs::read(dir.join("default-0001.sst")).unwrap(), big);
        assert_eq!(std::fs::read(dir.join("lock-0001.sst")).unwrap(), b"");
        eventually("the held links go", || {
            std::fs::read_dir(tmp.path().join("snap/send"))
                .unwrap()
                .count()
                == 0
        })
        .await;
    }
}
