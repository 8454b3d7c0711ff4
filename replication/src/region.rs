//! Region descriptors: a contiguous key range `[start_key, end_key)` of the store's data, its
//! epoch, and the peers (one per store) that replicate it. The unit Raft replicates and PD
//! places. Encoding (persisted in the `raft` column family and carried in split commands and
//! snapshots) in FORMAT.md, "Region".
//!
//! Keys here are the keys regions are cut at: the engine keys of the data the region holds
//! (memcomparable-encoded user keys for transactional data, raw keys for raw data), compared
//! bytewise. `end_key` empty means unbounded.

use crate::codec::{put_bytes, put_u64, Reader};
use crate::error::Result;

/// One replica of a region, on one store. `id` is unique across the cluster (PD allocates
/// it); it is the Raft node id in the region's group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Peer {
    /// Raft id of the peer.
    pub id: u64,
    /// The store (node) holding it.
    pub store_id: u64,
}

/// A region's version counters. `conf_ver` grows with each membership change, `version` with
/// each change of the key range (split). A request or command made under an older epoch is
/// refused, so nothing acts on a range or a membership that no longer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Epoch {
    /// Membership changes.
    pub conf_ver: u64,
    /// Range changes.
    pub version: u64,
}

/// A region's descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Region {
    /// Cluster-unique region id (PD allocates it).
    pub id: u64,
    /// First key (inclusive).
    pub start_key: Vec<u8>,
    /// End key (exclusive); empty: unbounded.
    pub end_key: Vec<u8>,
    /// Versions of membership and range.
    pub epoch: Epoch,
    /// Its replicas, one per store.
    pub peers: Vec<Peer>,
}

impl Region {
    /// True if `key` lies in `[start_key, end_key)`.
    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start_key.as_slice()
            && (self.end_key.is_empty() || key < self.end_key.as_slice())
    }

    /// Its peer on `store_id`, if any.
    pub fn peer_on(&self, store_id: u64) -> Option<Peer> {
        self.peers.iter().copied().find(|p| p.store_id == store_id)
    }

    /// Its peer with Raft id `id`, if any.
    pub fn peer(&self, id: u64) -> Option<Peer> {
        self.peers.iter().copied().find(|p| p.id == id)
    }

    /// True if the two ranges share a key.
    pub fn overlaps(&self, other: &Region) -> bool {
        let starts_before_other_ends =
            other.end_key.is_empty() || self.start_key.as_slice() < other.end_key.as_slice();
        let other_starts_before_end =
            self.end_key.is_empty() || other.start_key.as_slice() < self.end_key.as_slice();
        starts_before_other_ends && other_starts_before_end
    }

    /// The encoding of FORMAT.md, "Region".
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + self.start_key.len() + self.end_key.len());
        self.encode_into(&mut out);
        out
    }

    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        put_u64(out, self.id);
        put_bytes(out, &self.start_key);
        put_bytes(out, &self.end_key);
        put_u64(out, self.epoch.conf_ver);
        put_u64(out, self.epoch.version);
        put_u64(out, self.peers.len() as u64);
        for p in &self.peers {
            put_u64(out, p.id);
            put_u64(out, p.store_id);
        }
    }

    /// Decodes [`encode`](Self::encode)'s output.
    ///
    /// # Errors
    /// `Corruption` if `buf` is not exactly one region.
    pub fn decode(buf: &[u8]) -> Result<Region> {
        let mut r = Reader::new(buf, "region");
        let region = Region::decode_from(&mut r)?;
        r.finish()?;
        Ok(region)
    }

    pub(crate) fn decode_from(r: &mut Reader<'_>) -> Result<Region> {
        let id = r.u64()?;
        let start_key = r.bytes()?.to_vec();
        let end_key = r.bytes()?.to_vec();
        let epoch = Epoch {
            conf_ver: r.u64()?,
            version: r.u64()?,
        };
        let n = r.u64()?;
        // Each peer takes 16 bytes: a count beyond that is garbage, not an allocation.
        if n > 1024 {
            return Err(r.error(format!("{n} peers")));
        }
        let mut peers = Vec::with_capacity(n as usize);
        for _ in 0..n {
            peers.push(Peer {
                id: r.u64()?,
                store_id: r.u64()?,
            });
        }
        Ok(Region {
            id,
            start_key,
            end_key,
            epoch,
            peers,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn region(start: &[u8], end: &[u8]) -> Region {
        Region {
            id: 7,
            start_key: start.to_vec(),
            end_key: end.to_vec(),
            epoch: Epoch {
                conf_ver: 2,
                version: 3,
            },
            peers: vec![Peer { id: 8, store_id: 1 }, Peer { id: 9, store_id: 2 }],
        }
    }

    #[test]
    fn encoding_round_trips_and_rejects_garbage() {
        let r = region(b"a", b"");
        assert_eq!(Region::decode(&r.encode()).unwrap(), r);
        let mut long = r.encode();
        long.push(0);
        assert!(Region::decode(&long).is_err());
        assert!(Region::decode(&r.encode()[..10]).is_err());
    }

    #[test]
    fn ranges() {
        let r = region(b"b", b"d");
        assert!(r.contains(b"b") && r.contains(b"c\xff") && !r.contains(b"d") && !r.contains(b"a"));
        assert!(region(b"", b"").contains(b""));
        assert!(r.overlaps(&region(b"c", b"")));
        assert!(!r.overlaps(&region(b"d", b"")));
        assert!(!r.overlaps(&region(b"", b"b")));
        assert!(region(b"", b"").overlaps(&r));
        assert_eq!(r.peer_on(2), Some(Peer { id: 9, store_id: 2 }));
        assert_eq!(r.peer(8).map(|p| p.store_id), Some(1));
    }
}
