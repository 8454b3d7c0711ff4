//! Region descriptors: a contiguous key range `[start_key, end_key)` of the store's data, its
//! epoch, and the peers (one per store) that replicate it. The unit Raft replicates and PD
//! places. Encoding (persisted in the `raft` column family and carried in split commands and
//! snapshots) in FORMAT.md, "Region".
//!
//! Keys here are the keys regions are cut at: the engine keys of the data the region holds
//! (memcomparable-encoded user keys for transactional data, raw keys for raw data), compared
//! bytewise. `end_key` empty means unbounded.

use crate::codec::{put_bytes, put_u64, Reader};
use crate::command::SplitRequest;
use crate::error::{Error, Result};

/// A peer's part in the region's Raft group. On disk (FORMAT.md, "Region" v2): never
/// renumber; the values are `metapb::PeerRole`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PeerRole {
    /// Votes and counts toward the quorum; may lead.
    #[default]
    Voter = 0,
    /// Replicates only: never votes, campaigns or leads.
    Learner = 1,
}

/// One replica of a region, on one store. `id` is unique across the cluster (PD allocates
/// it); it is the Raft node id in the region's group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Peer {
    /// Raft id of the peer.
    pub id: u64,
    /// The store (node) holding it.
    pub store_id: u64,
    /// Voter or learner. Two peers with the same id and store are the same replica; the
    /// role is what a conf change alters (compare ids where only identity matters).
    pub role: PeerRole,
}

impl Peer {
    /// A voter.
    pub const fn new(id: u64, store_id: u64) -> Peer {
        Peer {
            id,
            store_id,
            role: PeerRole::Voter,
        }
    }

    /// A learner.
    pub const fn learner(id: u64, store_id: u64) -> Peer {
        Peer {
            id,
            store_id,
            role: PeerRole::Learner,
        }
    }

    /// True for a learner.
    pub fn is_learner(&self) -> bool {
        self.role == PeerRole::Learner
    }
}

/// Which layout of FORMAT.md's "Region" a record holds. Containers say which: the region
/// state record by its first byte, the snapshot descriptor by its version; a conf change's
/// context is always v1 (its change type gives the role).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Peers as (id, store id): every peer a voter.
    V1,
    /// Peers as (id, store id, role).
    V2,
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

    /// Its voters.
    pub fn voters(&self) -> impl Iterator<Item = Peer> + '_ {
        self.peers.iter().copied().filter(|p| !p.is_learner())
    }

    /// Its learners.
    pub fn learners(&self) -> impl Iterator<Item = Peer> + '_ {
        self.peers.iter().copied().filter(Peer::is_learner)
    }

    /// True if the two ranges share a key.
    pub fn overlaps(&self, other: &Region) -> bool {
        let starts_before_other_ends =
            other.end_key.is_empty() || self.start_key.as_slice() < other.end_key.as_slice();
        let other_starts_before_end =
            self.end_key.is_empty() || other.start_key.as_slice() < self.end_key.as_slice();
        starts_before_other_ends && other_starts_before_end
    }

    /// The regions `splits` (ascending cuts) make of this one: this region keeps its id and
    /// `[start, first key)`, each new region runs from its key to the next (the last to the
    /// old end) with one new peer per peer, on the same stores and in the same roles. The version grows by one per
    /// new region and every result carries it (TiKV's rule).
    ///
    /// # Errors
    /// `InvalidArgument` if there is no cut, a key is not strictly inside the region or not
    /// after the previous one, a new region id repeats (or is this one), or a cut's peer ids
    /// are not one per peer.
    pub fn split(&self, splits: &[SplitRequest]) -> Result<Vec<Region>> {
        let invalid = |why: String| {
            Err(Error::InvalidArgument(format!(
                "split of region {} ({:02x?}..{:02x?}): {why}",
                self.id, self.start_key, self.end_key
            )))
        };
        if splits.is_empty() {
            return invalid("no split key".into());
        }
        let mut prev = &self.start_key;
        let mut ids = vec![self.id];
        for s in splits {
            if s.split_key <= *prev || !self.contains(&s.split_key) {
                return invalid(format!(
                    "key {:02x?} is not inside, after {prev:02x?}",
                    s.split_key
                ));
            }
            if s.new_peer_ids.len() != self.peers.len() {
                return invalid(format!("{} new peer ids", s.new_peer_ids.len()));
            }
            if ids.contains(&s.new_region_id) {
                return invalid(format!("region id {} twice", s.new_region_id));
            }
            ids.push(s.new_region_id);
            prev = &s.split_key;
        }
        let epoch = Epoch {
            conf_ver: self.epoch.conf_ver,
            version: self.epoch.version + splits.len() as u64,
        };
        let mut out = Vec::with_capacity(splits.len() + 1);
        out.push(Region {
            end_key: splits[0].split_key.clone(),
            epoch,
            ..self.clone()
        });
        for (i, s) in splits.iter().enumerate() {
            out.push(Region {
                id: s.new_region_id,
                start_key: s.split_key.clone(),
                end_key: splits
                    .get(i + 1)
                    .map_or_else(|| self.end_key.clone(), |next| next.split_key.clone()),
                epoch,
                peers: self
                    .peers
                    .iter()
                    .zip(&s.new_peer_ids)
                    .map(|(p, &id)| Peer { id, ..*p })
                    .collect(),
            });
        }
        Ok(out)
    }

    /// The encoding of FORMAT.md, "Region", current layout (v2).
    pub fn encode(&self) -> Vec<u8> {
        self.encode_as(Layout::V2)
    }

    pub(crate) fn encode_as(&self, layout: Layout) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + self.start_key.len() + self.end_key.len());
        self.encode_into(&mut out, layout);
        out
    }

    /// Appends the encoding in `layout`. v1 has no roles: only for records whose reader
    /// knows the role otherwise (a conf change's context).
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>, layout: Layout) {
        put_u64(out, self.id);
        put_bytes(out, &self.start_key);
        put_bytes(out, &self.end_key);
        put_u64(out, self.epoch.conf_ver);
        put_u64(out, self.epoch.version);
        put_u64(out, self.peers.len() as u64);
        for p in &self.peers {
            put_u64(out, p.id);
            put_u64(out, p.store_id);
            if layout == Layout::V2 {
                out.push(p.role as u8);
            }
        }
    }

    /// Decodes [`encode`](Self::encode)'s output.
    ///
    /// # Errors
    /// `Corruption` if `buf` is not exactly one region.
    pub fn decode(buf: &[u8]) -> Result<Region> {
        Region::decode_as(buf, Layout::V2)
    }

    pub(crate) fn decode_as(buf: &[u8], layout: Layout) -> Result<Region> {
        let mut r = Reader::new(buf, "region");
        let region = Region::decode_from(&mut r, layout)?;
        r.finish()?;
        Ok(region)
    }

    /// Reads one region in `layout`; v1 peers are voters.
    pub(crate) fn decode_from(r: &mut Reader<'_>, layout: Layout) -> Result<Region> {
        let id = r.u64()?;
        let start_key = r.bytes()?.to_vec();
        let end_key = r.bytes()?.to_vec();
        let epoch = Epoch {
            conf_ver: r.u64()?,
            version: r.u64()?,
        };
        let n = r.u64()?;
        // Each peer takes 16 or 17 bytes: a count beyond that is garbage, not an allocation.
        if n > 1024 {
            return Err(r.error(format!("{n} peers")));
        }
        let mut peers = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let (id, store_id) = (r.u64()?, r.u64()?);
            let role = match layout {
                Layout::V1 => PeerRole::Voter,
                Layout::V2 => match r.u8()? {
                    0 => PeerRole::Voter,
                    1 => PeerRole::Learner,
                    b => return Err(r.error(format!("unknown peer role {b}"))),
                },
            };
            peers.push(Peer { id, store_id, role });
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
            peers: vec![Peer::new(8, 1), Peer::learner(9, 2)],
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
        let mut bad_role = r.encode();
        *bad_role.last_mut().unwrap() = 2;
        assert!(Region::decode(&bad_role).is_err());
    }

    #[test]
    fn a_v1_region_decodes_with_every_peer_a_voter() {
        // FORMAT.md "Region" v1, written out by hand: id 7, start "a", end "", conf_ver 2,
        // version 3, peers (8, store 1) and (9, store 2).
        let mut v1 = Vec::new();
        v1.extend_from_slice(&7u64.to_le_bytes());
        v1.extend_from_slice(&1u32.to_le_bytes());
        v1.push(b'a');
        v1.extend_from_slice(&0u32.to_le_bytes());
        for n in [2u64, 3, 2, 8, 1, 9, 2] {
            v1.extend_from_slice(&n.to_le_bytes());
        }
        let r = Region::decode_as(&v1, Layout::V1).unwrap();
        assert_eq!(r.peers, vec![Peer::new(8, 1), Peer::new(9, 2)]);
        assert_eq!(
            (r.id, r.start_key.as_slice(), r.epoch.version),
            (7, &b"a"[..], 3)
        );
        assert_eq!(r.encode_as(Layout::V1), v1);
        // The v1 bytes are not a v2 region (too short for the roles).
        assert!(Region::decode(&v1).is_err());
    }

    fn cut(key: &[u8], id: u64) -> SplitRequest {
        SplitRequest {
            split_key: key.to_vec(),
            new_region_id: id,
            new_peer_ids: vec![id * 10, id * 10 + 1],
        }
    }

    #[test]
    fn a_batch_split_tiles_the_range_and_bumps_the_version_once_per_new_region() {
        let r = region(b"b", b"y");
        let parts = r
            .split(&[cut(b"f", 20), cut(b"m", 21), cut(b"q", 22)])
            .unwrap();
        let ranges: Vec<(&[u8], &[u8])> = parts
            .iter()
            .map(|p| (p.start_key.as_slice(), p.end_key.as_slice()))
            .collect();
        assert_eq!(
            ranges,
            vec![
                (&b"b"[..], &b"f"[..]),
                (b"f", b"m"),
                (b"m", b"q"),
                (b"q", b"y")
            ]
        );
        assert_eq!(
            parts.iter().map(|p| p.id).collect::<Vec<_>>(),
            vec![7, 20, 21, 22]
        );
        for p in &parts {
            assert_eq!(
                p.epoch,
                Epoch {
                    conf_ver: 2,
                    version: 6
                }
            );
        }
        // Roles are copied: the peer on store 2 stays a learner.
        assert_eq!(
            parts[2].peers,
            vec![Peer::new(210, 1), Peer::learner(211, 2)]
        );
        assert_eq!(parts[0].peers, r.peers);
        let open = region(b"", b"").split(&[cut(b"k", 20)]).unwrap();
        assert_eq!(open[1].end_key, b"");
    }

    #[test]
    fn invalid_batch_splits_are_refused() {
        let r = region(b"b", b"y");
        let refused = |splits: &[SplitRequest]| r.split(splits).is_err();
        assert!(refused(&[]));
        assert!(refused(&[cut(b"b", 20)]), "at the start");
        assert!(refused(&[cut(b"a", 20)]), "before the start");
        assert!(refused(&[cut(b"y", 20)]), "at the end");
        assert!(refused(&[cut(b"m", 20), cut(b"f", 21)]), "descending");
        assert!(refused(&[cut(b"f", 20), cut(b"f", 21)]), "repeated key");
        assert!(refused(&[cut(b"f", 20), cut(b"m", 20)]), "repeated id");
        assert!(refused(&[cut(b"f", 7)]), "the region's own id");
        let mut short = cut(b"f", 20);
        short.new_peer_ids.pop();
        assert!(refused(&[short]));
        assert!(!refused(&[cut(b"f", 20), cut(b"m", 21)]));
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
        assert_eq!(r.peer_on(2), Some(Peer::learner(9, 2)));
        assert_eq!(r.voters().map(|p| p.id).collect::<Vec<_>>(), vec![8]);
        assert_eq!(r.learners().map(|p| p.id).collect::<Vec<_>>(), vec![9]);
        assert_eq!(r.peer(8).map(|p| p.store_id), Some(1));
    }
}
