//! Commands: what a Raft log entry of a region carries (FORMAT.md, "Command"). A write is
//! the transaction layer's batch of modifications; admin commands change the region itself
//! (split) or its log (compact). Membership changes ride raft's own conf-change entries.
//!
//! Every command names the region epoch it was made under; the apply step refuses it if the
//! region changed since in a way that matters to it ([`Request::checks_version`]).

use mvcc::{Cf, Modify};

use crate::codec::{put_bytes, put_u32, put_u64, Reader};
use crate::error::Result;
use crate::region::Epoch;

/// Encoding version of a command. On disk (in the log): never reuse a value.
const COMMAND_V1: u8 = 1;

/// Request tags. On disk: never renumber.
const TAG_WRITE: u8 = 1;
const TAG_SPLIT: u8 = 2;
const TAG_COMPACT_LOG: u8 = 3;
const TAG_BATCH_SPLIT: u8 = 4;

/// Modification tags. On disk: never renumber.
const MOD_PUT: u8 = 1;
const MOD_DELETE: u8 = 2;
const MOD_DELETE_RANGE: u8 = 3;

/// A command for region `region_id` made under `epoch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The region it is for.
    pub region_id: u64,
    /// The region's epoch when it was proposed.
    pub epoch: Epoch,
    /// What to do.
    pub request: Request,
}

/// What a command does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Apply one atomic batch to the KV column families.
    Write(Vec<Modify>),
    /// Cut the region at `split_key`: it keeps `[start, split_key)`; a new region
    /// `new_region_id` takes `[split_key, end)` with one new peer per existing peer, on the
    /// same stores, in the same order (`new_peer_ids`).
    Split {
        /// First key of the new region.
        split_key: Vec<u8>,
        /// The new region's id (from PD).
        new_region_id: u64,
        /// Its peers' ids, one per peer of the region, in the region's peer order.
        new_peer_ids: Vec<u64>,
    },
    /// Cut the region at every split key at once (ascending): it keeps `[start, first
    /// key)`; each new region takes from its key to the next one (the last to the old end).
    /// The version grows by the number of new regions, which all start at that version.
    BatchSplit {
        /// The cuts, ascending by key.
        splits: Vec<SplitRequest>,
    },
    /// Drop log entries up to `index` (whose term is `term`): they are applied everywhere
    /// the leader knows of, or a lagging peer catches up by snapshot.
    CompactLog {
        /// Last entry dropped.
        index: u64,
        /// Its term.
        term: u64,
    },
}

/// One cut of a [`Request::BatchSplit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitRequest {
    /// First key of the new region.
    pub split_key: Vec<u8>,
    /// The new region's id (from PD).
    pub new_region_id: u64,
    /// Its peers' ids, one per peer of the region, in the region's peer order.
    pub new_peer_ids: Vec<u64>,
}

impl Request {
    /// True if a change of the region's range (its `version`) since proposal makes this
    /// command invalid: writes (their keys may have left the region) and splits.
    pub fn checks_version(&self) -> bool {
        !matches!(self, Request::CompactLog { .. })
    }
}

impl Command {
    /// The encoding of FORMAT.md.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(COMMAND_V1);
        put_u64(&mut out, self.region_id);
        put_u64(&mut out, self.epoch.conf_ver);
        put_u64(&mut out, self.epoch.version);
        match &self.request {
            Request::Write(modifies) => {
                out.push(TAG_WRITE);
                put_u32(&mut out, modifies.len() as u32);
                for m in modifies {
                    encode_modify(&mut out, m);
                }
            }
            Request::Split {
                split_key,
                new_region_id,
                new_peer_ids,
            } => {
                out.push(TAG_SPLIT);
                encode_split(&mut out, split_key, *new_region_id, new_peer_ids);
            }
            Request::BatchSplit { splits } => {
                out.push(TAG_BATCH_SPLIT);
                put_u32(&mut out, splits.len() as u32);
                for s in splits {
                    encode_split(&mut out, &s.split_key, s.new_region_id, &s.new_peer_ids);
                }
            }
            Request::CompactLog { index, term } => {
                out.push(TAG_COMPACT_LOG);
                put_u64(&mut out, *index);
                put_u64(&mut out, *term);
            }
        }
        out
    }

    /// Decodes [`encode`](Self::encode)'s output.
    ///
    /// # Errors
    /// `Corruption` if `buf` is not exactly one command.
    pub fn decode(buf: &[u8]) -> Result<Command> {
        let mut r = Reader::new(buf, "command");
        let v = r.u8()?;
        if v != COMMAND_V1 {
            return Err(r.error(format!("unknown command version {v}")));
        }
        let region_id = r.u64()?;
        let epoch = Epoch {
            conf_ver: r.u64()?,
            version: r.u64()?,
        };
        let request = match r.u8()? {
            TAG_WRITE => {
                let n = r.u32()?;
                // Each modification takes at least 10 bytes: bound the allocation by the input.
                let mut modifies = Vec::with_capacity((n as usize).min(buf.len() / 10));
                for _ in 0..n {
                    modifies.push(decode_modify(&mut r)?);
                }
                Request::Write(modifies)
            }
            TAG_SPLIT => {
                let s = decode_split(&mut r, buf.len())?;
                Request::Split {
                    split_key: s.split_key,
                    new_region_id: s.new_region_id,
                    new_peer_ids: s.new_peer_ids,
                }
            }
            TAG_BATCH_SPLIT => {
                let n = r.u32()?;
                // Each cut takes at least 16 bytes: bound the allocation by the input.
                let mut splits = Vec::with_capacity((n as usize).min(buf.len() / 16));
                for _ in 0..n {
                    splits.push(decode_split(&mut r, buf.len())?);
                }
                Request::BatchSplit { splits }
            }
            TAG_COMPACT_LOG => Request::CompactLog {
                index: r.u64()?,
                term: r.u64()?,
            },
            t => return Err(r.error(format!("unknown request tag {t}"))),
        };
        r.finish()?;
        Ok(Command {
            region_id,
            epoch,
            request,
        })
    }
}

fn encode_split(out: &mut Vec<u8>, split_key: &[u8], new_region_id: u64, new_peer_ids: &[u64]) {
    put_bytes(out, split_key);
    put_u64(out, new_region_id);
    put_u32(out, new_peer_ids.len() as u32);
    for id in new_peer_ids {
        put_u64(out, *id);
    }
}

fn decode_split(r: &mut Reader<'_>, input_len: usize) -> Result<SplitRequest> {
    let split_key = r.bytes()?.to_vec();
    let new_region_id = r.u64()?;
    let n = r.u32()?;
    let mut new_peer_ids = Vec::with_capacity((n as usize).min(input_len / 8));
    for _ in 0..n {
        new_peer_ids.push(r.u64()?);
    }
    Ok(SplitRequest {
        split_key,
        new_region_id,
        new_peer_ids,
    })
}

fn encode_modify(out: &mut Vec<u8>, m: &Modify) {
    match m {
        Modify::Put { cf, key, value } => {
            out.push(MOD_PUT);
            out.push(cf.index() as u8);
            put_bytes(out, key);
            put_bytes(out, value);
        }
        Modify::Delete { cf, key } => {
            out.push(MOD_DELETE);
            out.push(cf.index() as u8);
            put_bytes(out, key);
        }
        Modify::DeleteRange { cf, start, end } => {
            out.push(MOD_DELETE_RANGE);
            out.push(cf.index() as u8);
            put_bytes(out, start);
            put_bytes(out, end);
        }
    }
}

fn decode_modify(r: &mut Reader<'_>) -> Result<Modify> {
    let tag = r.u8()?;
    let cf_index = r.u8()?;
    let cf = Cf::from_index(cf_index as usize)
        .ok_or_else(|| r.error(format!("unknown column family {cf_index}")))?;
    let key = r.bytes()?.to_vec();
    Ok(match tag {
        MOD_PUT => Modify::Put {
            cf,
            key,
            value: r.bytes()?.to_vec(),
        },
        MOD_DELETE => Modify::Delete { cf, key },
        MOD_DELETE_RANGE => Modify::DeleteRange {
            cf,
            start: key,
            end: r.bytes()?.to_vec(),
        },
        t => return Err(r.error(format!("unknown modification tag {t}"))),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    fn modify() -> impl Strategy<Value = Modify> {
        let cf = (0..Cf::COUNT).prop_map(|i| Cf::from_index(i).unwrap());
        let bytes = || proptest::collection::vec(any::<u8>(), 0..12);
        prop_oneof![
            (cf.clone(), bytes(), bytes()).prop_map(|(cf, key, value)| Modify::Put {
                cf,
                key,
                value
            }),
            (cf.clone(), bytes()).prop_map(|(cf, key)| Modify::Delete { cf, key }),
            (cf, bytes(), bytes()).prop_map(|(cf, start, end)| Modify::DeleteRange {
                cf,
                start,
                end
            }),
        ]
    }

    fn request() -> impl Strategy<Value = Request> {
        prop_oneof![
            proptest::collection::vec(modify(), 0..5).prop_map(Request::Write),
            (
                proptest::collection::vec(any::<u8>(), 0..8),
                any::<u64>(),
                proptest::collection::vec(any::<u64>(), 0..4)
            )
                .prop_map(|(split_key, new_region_id, new_peer_ids)| Request::Split {
                    split_key,
                    new_region_id,
                    new_peer_ids
                }),
            (any::<u64>(), any::<u64>())
                .prop_map(|(index, term)| Request::CompactLog { index, term }),
            proptest::collection::vec(
                (
                    proptest::collection::vec(any::<u8>(), 0..8),
                    any::<u64>(),
                    proptest::collection::vec(any::<u64>(), 0..4)
                ),
                0..4
            )
            .prop_map(|splits| Request::BatchSplit {
                splits: splits
                    .into_iter()
                    .map(|(split_key, new_region_id, new_peer_ids)| SplitRequest {
                        split_key,
                        new_region_id,
                        new_peer_ids
                    })
                    .collect()
            }),
        ]
    }

    proptest! {
        #[test]
        fn commands_round_trip_and_truncations_are_corruption(
            region_id: u64, conf_ver: u64, version: u64, request in request()
        ) {
            let c = Command { region_id, epoch: Epoch { conf_ver, version }, request };
            let enc = c.encode();
            prop_assert_eq!(Command::decode(&enc).unwrap(), c);
            for cut in 0..enc.len() {
                prop_assert!(Command::decode(&enc[..cut]).is_err());
            }
        }
    }

    #[test]
    fn unknown_tags_are_corruption() {
        let c = Command {
            region_id: 1,
            epoch: Epoch::default(),
            request: Request::CompactLog { index: 1, term: 1 },
        };
        let mut enc = c.encode();
        enc[0] = 9;
        assert!(Command::decode(&enc).is_err());
        let mut enc = c.encode();
        enc[25] = 9;
        assert!(Command::decode(&enc).is_err());
    }
}
