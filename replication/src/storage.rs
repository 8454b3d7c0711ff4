//! A peer's Raft storage over the LSM (`raft` column family): raft-rs reads its log, hard
//! state and membership through [`raft::Storage`]; the Ready loop writes through
//! [`PeerStorage::append`], [`PeerStorage::set_hard_state`] and the apply step.
//!
//! Writes go into the caller's `WriteBatch` (one batch for every region of a Ready round, one
//! fsync), and the in-memory positions (`last_index`, `last_term`) move at once: raft only
//! reads storage from the same thread, after the round's batch is written.
//!
//! Invariants (with `state.rs`'s):
//! 1. Entries `truncated_index + 1 ..= last_index` are in the column family; nothing above
//!    `last_index` is (a shorter append deletes the tail).
//! 2. `last_term` is the term of entry `last_index` (`truncated_term` when the log is empty).

use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, StorageError};

use crate::engines::Engines;
use crate::error::{Error, Result};
use crate::region::Region;
use crate::snapshot::{SnapKey, SnapManager};
use crate::state::{self, ApplyState};

/// One peer's Raft storage.
#[derive(Debug)]
pub struct PeerStorage {
    engines: Engines,
    snaps: SnapManager,
    /// The region as last applied (membership gives raft its ConfState).
    pub(crate) region: Region,
    /// As last written to the batch (see module docs).
    pub(crate) hard_state: HardState,
    /// As last written with applied data.
    pub(crate) apply: ApplyState,
    pub(crate) last_index: u64,
    pub(crate) last_term: u64,
}

impl PeerStorage {
    /// Loads the storage of `region_id` from the `raft` column family: hard state, apply
    /// state, and the last entry. A peer with no records starts empty (index 0), waiting
    /// for a snapshot.
    ///
    /// # Errors
    /// Engine errors; `Corruption` of a record.
    pub fn load(engines: Engines, snaps: SnapManager, region: Region) -> Result<PeerStorage> {
        let id = region.id;
        let raft_cf = engines.raft_cf;
        let hard_state = match engines.db.get(raft_cf, &state::hard_state_key(id), None)? {
            Some(b) => HardState::parse_from_bytes(&b)
                .map_err(|e| Error::corrupt(format!("hard state of region {id}"), e.to_string()))?,
            None => HardState::default(),
        };
        let apply = match engines.db.get(raft_cf, &state::apply_state_key(id), None)? {
            Some(b) => ApplyState::decode(&b)?,
            None => ApplyState::default(),
        };
        let mut s = PeerStorage {
            engines,
            snaps,
            region,
            hard_state,
            apply,
            last_index: apply.truncated_index,
            last_term: apply.truncated_term,
        };
        // The last entry: seek to the end of this region's entry keys.
        let mut it = s.engines.db.iter(
            raft_cf,
            lsm::iter::IterOptions {
                lower_bound: Some(state::entry_key(id, apply.truncated_index + 1)),
                upper_bound: Some(state::entry_key(id, u64::MAX)),
            },
            None,
        )?;
        it.seek_to_last()?;
        if it.valid() {
            let e = decode_entry(id, it.value())?;
            s.last_index = e.index;
            s.last_term = e.term;
        }
        Ok(s)
    }

    /// The membership raft starts from (and snapshots carry): the region's voters and
    /// learners, so a restarted or snapshot-initialised peer agrees with the region record.
    pub fn conf_state(&self) -> ConfState {
        ConfState {
            voters: self.region.voters().map(|p| p.id).collect(),
            learners: self.region.learners().map(|p| p.id).collect(),
            ..Default::default()
        }
    }

    /// True once the peer holds the region's data (bootstrapped, split-born or given a
    /// snapshot), i.e. knows its range and members.
    pub fn is_initialized(&self) -> bool {
        !self.region.peers.is_empty()
    }

    /// Writes `entries` (consecutive, from raft's Ready) into `wb`, deleting any old entries
    /// past the new last one.
    ///
    /// # Errors
    /// `Lsm` if a range delete is malformed (it is not: end > start).
    pub fn append(&mut self, entries: &[Entry], wb: &mut lsm::WriteBatch) -> Result<()> {
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
            return Ok(());
        };
        let id = self.region.id;
        for e in entries {
            let bytes = e.write_to_bytes().map_err(|err| {
                Error::corrupt(format!("entry {} of region {id}", e.index), err.to_string())
            })?;
            wb.put(self.engines.raft_cf, &state::entry_key(id, e.index), &bytes);
        }
        if last.index < self.last_index {
            wb.delete_range(
                self.engines.raft_cf,
                &state::entry_key(id, last.index + 1),
                &state::entry_key(id, self.last_index + 1),
            )?;
        }
        debug_assert!(first.index <= self.last_index + 1, "append leaves a gap");
        self.last_index = last.index;
        self.last_term = last.term;
        Ok(())
    }

    /// Writes the hard state into `wb`.
    pub fn set_hard_state(&mut self, hs: &HardState, wb: &mut lsm::WriteBatch) -> Result<()> {
        let bytes = hs
            .write_to_bytes()
            .map_err(|e| Error::corrupt("hard state", e.to_string()))?;
        wb.put(
            self.engines.raft_cf,
            &state::hard_state_key(self.region.id),
            &bytes,
        );
        self.hard_state = hs.clone();
        Ok(())
    }

    /// Writes the apply state into `wb` (with the data it describes).
    pub fn set_apply_state(&mut self, apply: ApplyState, wb: &mut lsm::WriteBatch) {
        wb.put(
            self.engines.raft_cf,
            &state::apply_state_key(self.region.id),
            &apply.encode(),
        );
        self.apply = apply;
    }

    /// After a snapshot at `index`/`term` is applied: the log restarts there.
    pub(crate) fn reset_log(
        &mut self,
        index: u64,
        term: u64,
        wb: &mut lsm::WriteBatch,
    ) -> Result<()> {
        let id = self.region.id;
        wb.delete_range(
            self.engines.raft_cf,
            &state::entry_key(id, 0),
            &state::entry_key(id, u64::MAX),
        )?;
        self.last_index = index;
        self.last_term = term;
        Ok(())
    }

    /// Deletes log entries up to `index` (already recorded as truncated in the apply state).
    pub(crate) fn gc_log(&self, from: u64, index: u64, wb: &mut lsm::WriteBatch) -> Result<()> {
        if from > index {
            return Ok(());
        }
        let id = self.region.id;
        wb.delete_range(
            self.engines.raft_cf,
            &state::entry_key(id, from),
            &state::entry_key(id, index + 1),
        )?;
        Ok(())
    }

    /// The engines the storage reads.
    pub fn engines(&self) -> &Engines {
        &self.engines
    }

    fn storage_error(e: Error) -> raft::Error {
        raft::Error::Store(StorageError::Other(Box::new(e)))
    }
}

fn decode_entry(region_id: u64, bytes: &[u8]) -> Result<Entry> {
    Entry::parse_from_bytes(bytes)
        .map_err(|e| Error::corrupt(format!("log entry of region {region_id}"), e.to_string()))
}

impl raft::Storage for PeerStorage {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(self.hard_state.clone(), self.conf_state()))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low <= self.apply.truncated_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > self.last_index + 1 {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let max_size = max_size.into().unwrap_or(u64::MAX);
        let id = self.region.id;
        let mut it = self
            .engines
            .db
            .iter(
                self.engines.raft_cf,
                lsm::iter::IterOptions {
                    lower_bound: Some(state::entry_key(id, low)),
                    upper_bound: Some(state::entry_key(id, high)),
                },
                None,
            )
            .map_err(|e| Self::storage_error(e.into()))?;
        it.seek_to_first()
            .map_err(|e| Self::storage_error(e.into()))?;
        let mut out = Vec::with_capacity((high - low) as usize);
        let mut size = 0u64;
        let mut expect = low;
        while it.valid() {
            let e = decode_entry(id, it.value()).map_err(Self::storage_error)?;
            if e.index != expect {
                return Err(Self::storage_error(Error::corrupt(
                    format!("log of region {id}"),
                    format!("entry {} where {expect} was expected", e.index),
                )));
            }
            size += u64::from(e.compute_size());
            // Always at least one entry, as raft requires.
            if !out.is_empty() && size > max_size {
                break;
            }
            out.push(e);
            expect += 1;
            it.next().map_err(|e| Self::storage_error(e.into()))?;
        }
        if out.is_empty() || (expect < high && size <= max_size) {
            return Err(Self::storage_error(Error::corrupt(
                format!("log of region {id}"),
                format!("entries {expect}..{high} missing"),
            )));
        }
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if idx == self.apply.truncated_index {
            return Ok(self.apply.truncated_term);
        }
        if idx < self.apply.truncated_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if idx > self.last_index {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        if idx == self.last_index {
            return Ok(self.last_term);
        }
        let id = self.region.id;
        match self
            .engines
            .db
            .get(self.engines.raft_cf, &state::entry_key(id, idx), None)
            .map_err(|e| Self::storage_error(e.into()))?
        {
            Some(b) => Ok(decode_entry(id, &b).map_err(Self::storage_error)?.term),
            None => Err(Self::storage_error(Error::corrupt(
                format!("log of region {id}"),
                format!("entry {idx} missing"),
            ))),
        }
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.apply.truncated_index + 1)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last_index)
    }

    /// Exports the region's data at the applied index (see `snapshot.rs` on why that is
    /// consistent here).
    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        let index = self.apply.applied_index;
        if index < request_index {
            return Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        let term = self.term(index)?;
        let key = SnapKey {
            region_id: self.region.id,
            term,
            index,
        };
        let data = self
            .snaps
            .generate(&self.engines, &self.region, key)
            .map_err(Self::storage_error)?;
        let mut snap = Snapshot {
            data: data.encode().into(),
            ..Default::default()
        };
        let meta = snap.mut_metadata();
        meta.index = index;
        meta.term = term;
        meta.set_conf_state(self.conf_state());
        Ok(snap)
    }
}
