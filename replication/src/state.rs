//! What each peer keeps in the `raft` column family, and its key layout (FORMAT.md, "The
//! raft column family"): log entries, the Raft hard state, the apply state and the region
//! state, all under the region's id so one region's records are contiguous.
//!
//! Invariants:
//! 1. `truncated_index <= applied_index <= commit` (hard state): the log is only cut below
//!    what was applied, and only committed entries are applied.
//! 2. The apply state and the data it describes are written in one atomic batch, so after
//!    a crash the data is exactly "applied through `applied_index`".

use crate::codec::{put_u64, Reader};
use crate::error::Result;
use crate::region::{Layout, Region};

/// First byte of every key of a region's records.
const REGION_PREFIX: u8 = 0x01;
/// Suffixes after the region id. On disk: never renumber.
const ENTRY_SUFFIX: u8 = 0x01;
const HARD_STATE_SUFFIX: u8 = 0x02;
const APPLY_STATE_SUFFIX: u8 = 0x03;
const REGION_STATE_SUFFIX: u8 = 0x04;

/// Index and term of the entries a new region starts with (as TiKV): a split-born or
/// bootstrapped peer begins with its log "truncated" at 5, so a peer created empty by a
/// message (index 0) can never be mistaken for one holding data.
pub const RAFT_INIT_INDEX: u64 = 5;
/// See [`RAFT_INIT_INDEX`].
pub const RAFT_INIT_TERM: u64 = 5;

fn region_key(region_id: u64, suffix: u8) -> Vec<u8> {
    let mut k = Vec::with_capacity(18);
    k.push(REGION_PREFIX);
    k.extend_from_slice(&region_id.to_be_bytes());
    k.push(suffix);
    k
}

/// Key of log entry `index` of `region_id` (big-endian, so entries sort by index).
pub fn entry_key(region_id: u64, index: u64) -> Vec<u8> {
    let mut k = region_key(region_id, ENTRY_SUFFIX);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// Key of the Raft hard state (term, vote, commit).
pub fn hard_state_key(region_id: u64) -> Vec<u8> {
    region_key(region_id, HARD_STATE_SUFFIX)
}

/// Key of the [`ApplyState`].
pub fn apply_state_key(region_id: u64) -> Vec<u8> {
    region_key(region_id, APPLY_STATE_SUFFIX)
}

/// Key of the [`RegionState`].
pub fn region_state_key(region_id: u64) -> Vec<u8> {
    region_key(region_id, REGION_STATE_SUFFIX)
}

/// The range holding every record of `region_id`: `[start, end)`.
pub fn region_records(region_id: u64) -> (Vec<u8>, Vec<u8>) {
    let mut start = vec![REGION_PREFIX];
    start.extend_from_slice(&region_id.to_be_bytes());
    let mut end = start.clone();
    end.push(0xff);
    (start, end)
}

/// The region id a region-state key names, if `key` is one.
pub fn region_of_state_key(key: &[u8]) -> Option<u64> {
    match key {
        [REGION_PREFIX, id @ .., REGION_STATE_SUFFIX] if id.len() == 8 => {
            let mut b = [0; 8];
            b.copy_from_slice(id);
            Some(u64::from_be_bytes(b))
        }
        _ => None,
    }
}

/// How far a peer has applied its log, and where the log now starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplyState {
    /// Last entry applied to the KV column families.
    pub applied_index: u64,
    /// Entries up to here are gone from the log (compacted, or covered by a snapshot).
    pub truncated_index: u64,
    /// Term of entry `truncated_index`.
    pub truncated_term: u64,
}

impl ApplyState {
    /// The state of a new region's peer (see [`RAFT_INIT_INDEX`]).
    pub fn initial() -> ApplyState {
        ApplyState {
            applied_index: RAFT_INIT_INDEX,
            truncated_index: RAFT_INIT_INDEX,
            truncated_term: RAFT_INIT_TERM,
        }
    }

    /// 24 bytes: applied, truncated index, truncated term, little-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24);
        put_u64(&mut out, self.applied_index);
        put_u64(&mut out, self.truncated_index);
        put_u64(&mut out, self.truncated_term);
        out
    }

    /// # Errors
    /// `Corruption` unless `buf` is one encoded state.
    pub fn decode(buf: &[u8]) -> Result<ApplyState> {
        let mut r = Reader::new(buf, "apply state");
        let s = ApplyState {
            applied_index: r.u64()?,
            truncated_index: r.u64()?,
            truncated_term: r.u64()?,
        };
        r.finish()?;
        Ok(s)
    }
}

/// Whether a peer's data is usable. On disk: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerState {
    /// Serving.
    Normal = 0,
    /// A snapshot is being applied: its files are being ingested. Found on restart, the
    /// ingest is redone from the kept files before the peer serves.
    Applying = 1,
    /// Removed from the region: its records stay only to refuse stale messages.
    Tombstone = 2,
}

/// A peer's region descriptor and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionState {
    /// Usable or not.
    pub state: PeerState,
    /// The region as this peer last applied it.
    pub region: Region,
}

/// First byte of a v2 region state record. A v1 record starts with its peer state, and
/// peer states stay below 0x80, so the first byte tells the layouts apart. On disk: never
/// reuse.
const REGION_STATE_V2: u8 = 0x82;

impl RegionState {
    /// The v2 marker, one byte of state, then the region in layout v2 (FORMAT.md).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![REGION_STATE_V2, self.state as u8];
        self.region.encode_into(&mut out, Layout::V2);
        out
    }

    /// Decodes either layout: a v1 record (no marker, no roles) gives all voters.
    ///
    /// # Errors
    /// `Corruption` unless `buf` is one encoded state.
    pub fn decode(buf: &[u8]) -> Result<RegionState> {
        let mut r = Reader::new(buf, "region state");
        let mut first = r.u8()?;
        let layout = if first == REGION_STATE_V2 {
            first = r.u8()?;
            Layout::V2
        } else {
            Layout::V1
        };
        let state = match first {
            0 => PeerState::Normal,
            1 => PeerState::Applying,
            2 => PeerState::Tombstone,
            b => return Err(r.error(format!("unknown peer state {b}"))),
        };
        let region = Region::decode_from(&mut r, layout)?;
        r.finish()?;
        Ok(RegionState { state, region })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::region::Peer;

    #[test]
    fn keys_sort_by_region_then_kind_then_index() {
        let (start, end) = region_records(2);
        let keys = [
            entry_key(2, 1),
            entry_key(2, 256),
            hard_state_key(2),
            apply_state_key(2),
            region_state_key(2),
        ];
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        assert!(keys.iter().all(|k| *k >= start && *k < end));
        assert!(region_state_key(1) < start && entry_key(3, 0) >= end);
        assert_eq!(region_of_state_key(&region_state_key(77)), Some(77));
        assert_eq!(region_of_state_key(&apply_state_key(77)), None);
    }

    #[test]
    fn states_round_trip() {
        let a = ApplyState {
            applied_index: 9,
            truncated_index: 7,
            truncated_term: 3,
        };
        assert_eq!(ApplyState::decode(&a.encode()).unwrap(), a);
        assert!(ApplyState::decode(&a.encode()[1..]).is_err());
        let r = RegionState {
            state: PeerState::Tombstone,
            region: Region {
                id: 3,
                ..Default::default()
            },
        };
        assert_eq!(RegionState::decode(&r.encode()).unwrap(), r);
        let mut bad = r.encode();
        bad[1] = 9;
        assert!(RegionState::decode(&bad).is_err());
        bad[0] = 9;
        assert!(RegionState::decode(&bad).is_err());
    }

    #[test]
    fn a_v1_region_state_decodes_as_all_voters_and_is_rewritten_as_v2() {
        // A record as v1 builds wrote it: peer state Applying, then region 5 ("", "",
        // conf_ver 3, version 4) with peers (11, store 1) and (12, store 2).
        let mut v1 = vec![1u8];
        v1.extend_from_slice(&5u64.to_le_bytes());
        v1.extend_from_slice(&0u32.to_le_bytes());
        v1.extend_from_slice(&0u32.to_le_bytes());
        for n in [3u64, 4, 2, 11, 1, 12, 2] {
            v1.extend_from_slice(&n.to_le_bytes());
        }
        let rs = RegionState::decode(&v1).unwrap();
        assert_eq!(rs.state, PeerState::Applying);
        assert_eq!(rs.region.id, 5);
        assert_eq!(
            rs.region.epoch,
            crate::region::Epoch {
                conf_ver: 3,
                version: 4
            }
        );
        assert_eq!(rs.region.peers, vec![Peer::new(11, 1), Peer::new(12, 2)]);
        let v2 = rs.encode();
        assert_eq!(v2[0], REGION_STATE_V2);
        assert_eq!(RegionState::decode(&v2).unwrap(), rs);
    }

    #[test]
    fn roles_survive_the_region_state() {
        let rs = RegionState {
            state: PeerState::Normal,
            region: Region {
                id: 4,
                peers: vec![Peer::new(1, 1), Peer::learner(2, 2)],
                ..Default::default()
            },
        };
        assert_eq!(RegionState::decode(&rs.encode()).unwrap(), rs);
    }
}
