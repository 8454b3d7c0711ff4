//! Raft messages on the wire (`strata.raftnet.RaftMessage`) and back. The raft-rs message
//! inside travels as rust-protobuf bytes, so the two protobuf libraries never share a type.
//! Nothing from the wire is trusted: a field a store needs to route is required, and bytes
//! that do not decode are an error, never a panic.

use replication::transport::RaftMessage;
use replication::{Epoch, Peer};

use crate::error::{Error, Result};
use crate::proto::raftnet as pb;

/// The wire form of `m`.
///
/// # Errors
/// `BadRaftMessage` if rust-protobuf cannot encode the raft-rs message.
pub(crate) fn to_pb(m: &RaftMessage) -> Result<pb::RaftMessage> {
    let message = protobuf::Message::write_to_bytes(&m.message)
        .map_err(|e| Error::BadRaftMessage(format!("encoding: {e}")))?;
    Ok(pb::RaftMessage {
        region_id: m.region_id,
        from: Some(peer_to_pb(m.from)),
        to: Some(peer_to_pb(m.to)),
        epoch: Some(pb::Epoch {
            conf_ver: m.epoch.conf_ver,
            version: m.epoch.version,
        }),
        start_key: m.start_key.clone(),
        end_key: m.end_key.clone(),
        message,
    })
}

/// The message `m` carries.
///
/// # Errors
/// `BadRaftMessage` if a peer or the epoch is missing or the raft-rs bytes do not decode.
pub(crate) fn from_pb(m: pb::RaftMessage) -> Result<RaftMessage> {
    let missing = |what: &str| Error::BadRaftMessage(format!("region {}: no {what}", m.region_id));
    let from = m.from.ok_or_else(|| missing("sender"))?;
    let to = m.to.ok_or_else(|| missing("receiver"))?;
    let epoch = m.epoch.ok_or_else(|| missing("epoch"))?;
    let message: raft::eraftpb::Message = protobuf::Message::parse_from_bytes(&m.message)
        .map_err(|e| Error::BadRaftMessage(format!("region {}: {e}", m.region_id)))?;
    Ok(RaftMessage {
        region_id: m.region_id,
        from: peer_from_pb(&from),
        to: peer_from_pb(&to),
        epoch: Epoch {
            conf_ver: epoch.conf_ver,
            version: epoch.version,
        },
        start_key: m.start_key,
        end_key: m.end_key,
        message,
    })
}

/// Roles do not travel: a message only routes to a peer, and a store takes each peer's role
/// from its region record (`replication` compares peers of messages by id).
fn peer_to_pb(p: Peer) -> pb::Peer {
    pb::Peer {
        id: p.id,
        store_id: p.store_id,
    }
}

fn peer_from_pb(p: &pb::Peer) -> Peer {
    Peer::new(p.id, p.store_id)
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use raft::eraftpb::{Entry, MessageType};

    use super::*;

    /// An append from peer 101 (store 1) to peer `to` on store `store` of region 1.
    pub(crate) fn append(store: u64, to: u64, index: u64) -> RaftMessage {
        let mut message = raft::eraftpb::Message::default();
        message.set_msg_type(MessageType::MsgAppend);
        message.from = 101;
        message.to = to;
        message.term = 6;
        message.index = index;
        message.entries = vec![Entry {
            index: index + 1,
            term: 6,
            data: b"payload".to_vec().into(),
            ..Default::default()
        }]
        .into();
        RaftMessage {
            region_id: 1,
            from: Peer::new(101, 1),
            to: Peer::new(to, store),
            epoch: Epoch {
                conf_ver: 2,
                version: 3,
            },
            start_key: b"a".to_vec(),
            end_key: Vec::new(),
            message,
        }
    }

    #[test]
    fn round_trips() {
        let m = append(2, 102, 7);
        let back = from_pb(to_pb(&m).unwrap()).unwrap();
        assert_eq!(back.region_id, 1);
        assert_eq!((back.from, back.to), (m.from, m.to));
        assert_eq!(back.epoch, m.epoch);
        assert_eq!((back.start_key, back.end_key), (m.start_key, m.end_key));
        assert_eq!(back.message, m.message);
    }

    #[test]
    fn refuses_garbage_and_missing_fields() {
        let mut pb = to_pb(&append(2, 102, 7)).unwrap();
        pb.message = vec![0xff, 0xff, 0xff];
        assert!(matches!(from_pb(pb), Err(Error::BadRaftMessage(_))));
        let mut pb = to_pb(&append(2, 102, 7)).unwrap();
        pb.to = None;
        assert!(matches!(from_pb(pb), Err(Error::BadRaftMessage(_))));
    }
}
