//! A transport that streams snapshots in the background reports their outcome later
//! (`StoreMsg::SnapshotStatus`): until it does, the leader waits (no second snapshot, no
//! early "delivered"); a reported failure makes it send a new one, and the peer catches up.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use parking_lot::Mutex;
use raft::eraftpb::MessageType;
use replication::transport::{RaftMessage, Transport};
use replication::{ConfChangeType, Peer, StoreMsg};

/// Loses the first snapshot message it is given (as a stream that broke would), records
/// every snapshot send, and claims to report outcomes itself.
struct LateReports {
    inner: Arc<dyn Transport>,
    snapshots: Arc<Mutex<Vec<(u64, u64)>>>,
}

impl Transport for LateReports {
    fn send(&self, msg: RaftMessage) -> replication::Result<()> {
        if msg.message.get_msg_type() == MessageType::MsgSnapshot {
            let mut sent = self.snapshots.lock();
            sent.push((msg.region_id, msg.to.id));
            if sent.len() == 1 {
                return Ok(());
            }
        }
        self.inner.send(msg)
    }

    fn reports_snapshot_status(&self) -> bool {
        true
    }
}

#[test]
fn leader_waits_for_the_reported_snapshot_outcome() {
    let snapshots: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let s = snapshots.clone();
    let wrap: common::WrapTransport = Arc::new(move |_, inner| {
        Arc::new(LateReports {
            inner,
            snapshots: s.clone(),
        })
    });
    let mut c = common::Cluster::with_transport(2, 1, 3, wrap);
    assert_eq!(c.wait_leader(1), 1);
    for i in 0..10u32 {
        c.put(1, 1, format!("k{i}").as_bytes(), b"v").unwrap();
    }
    let new_peer = Peer::new(102, 2);
    c.change_peer(1, 1, ConfChangeType::AddNode, new_peer)
        .unwrap();
    c.run(30);
    assert_eq!(
        *snapshots.lock(),
        vec![(1, 102)],
        "one snapshot, lost, and nothing more until its outcome is reported"
    );
    assert_eq!(c.local(2, b"k9"), None);

    c.store(1).handle(StoreMsg::SnapshotStatus {
        region_id: 1,
        to_peer_id: 102,
        ok: false,
    });
    c.run(30);
    assert_eq!(
        snapshots.lock().len(),
        2,
        "a failure makes the leader send again"
    );
    assert_eq!(c.local(2, b"k9"), Some(b"v".to_vec()));
}
