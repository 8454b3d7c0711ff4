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

use std::sync::Arc;

use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, StorageError};

use crate::engines::Engines;
use crate::error::{Error, Result};
use crate::region::Region;
use crate::snap_gen::{GenSlot, GenState, GenTask};
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
    /// Snapshot generation for this peer (`snap_gen.rs`).
    gen: Arc<GenSlot>,
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
            gen: Arc::default(),
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

    /// Stops generating snapshots for this peer (it is being destroyed): an export in
    /// progress discards its files.
    pub(crate) fn cancel_snapshot_generation(&self) {
        self.gen.cancel();
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

    /// The region's snapshot, generated in the background (`snap_gen.rs`): a finished one
    /// whose index the log still continues from, taken under the region's current epoch, is
    /// handed out (to every follower that needs it); otherwise a generation at the applied index is started, and raft-rs is told to
    /// ask again (`SnapshotTemporarilyUnavailable`: it does, on the follower's next
    /// heartbeat response).
    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        let unavailable = || raft::Error::Store(StorageError::SnapshotTemporarilyUnavailable);
        let index = self.apply.applied_index;
        if index < request_index {
            return Err(unavailable());
        }
        let mut state = self.gen.state.lock();
        match &mut *state {
            GenState::Ready {
                epoch,
                snapshot,
                handed_out,
            } if snapshot.get_metadata().index >= request_index
                && snapshot.get_metadata().index >= self.apply.truncated_index
                && *epoch == self.region.epoch =>
            {
                if !*handed_out {
                    *handed_out = true;
                    // Older exports of the region are not handed out any more; their holds
                    // for sending were taken on this thread already (sending.rs).
                    let key = SnapKey::of(self.region.id, snapshot);
                    if let Err(e) = self.snaps.remove_generated_except(key.region_id, key) {
                        tracing::warn!(region = key.region_id, error = %e, "removing old snapshots");
                    }
                }
                return Ok(snapshot.clone());
            }
            GenState::Running | GenState::Canceled => return Err(unavailable()),
            GenState::Idle | GenState::Failed | GenState::Ready { .. } => {}
        }
        let key = SnapKey {
            region_id: self.region.id,
            term: self.term(index)?,
            index,
        };
        let task = GenTask {
            engines: self.engines.clone(),
            region: self.region.clone(),
            key,
            conf_state: self.conf_state(),
            // Taken here, between apply rounds: the data as of `index`.
            view: self.engines.db.snapshot(),
            slot: self.gen.clone(),
        };
        if self.snaps.submit(task) {
            *state = GenState::Running;
        }
        Err(unavailable())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use lsm::{WriteBatch, WriteOptions};
    use mvcc::Cf;
    use raft::Storage as _;

    use super::*;
    use crate::keyspace::KeySpace;
    use crate::region::{Epoch, Peer};
    use crate::snapshot::SnapshotData;

    fn engines(dir: &std::path::Path) -> Engines {
        let db = Arc::new(lsm::Db::open(dir, lsm::Options::default()).unwrap());
        Engines::new(db, KeySpace::default()).unwrap()
    }

    fn put_raw(e: &Engines, key: &[u8]) {
        let mut wb = WriteBatch::new();
        wb.put(e.kv.cf_id(Cf::Raw), key, b"v");
        e.db.write(WriteOptions::default(), wb).unwrap();
    }

    fn is_unavailable(r: &raft::Result<Snapshot>) -> bool {
        matches!(
            r,
            Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable
            ))
        )
    }

    fn gen_dirs(snaps: &SnapManager) -> usize {
        std::fs::read_dir(snaps.dir.join("gen")).map_or(0, |d| d.count())
    }

    /// The keys of the raw family a generated snapshot holds, read back by ingesting its
    /// files into a fresh database.
    fn raw_keys_in(snaps: &SnapManager, snap: &Snapshot, dir: &std::path::Path) -> Vec<Vec<u8>> {
        let data = SnapshotData::decode(snap.get_data()).unwrap();
        let key = SnapKey::of(data.region.id, snap);
        let files: Vec<_> = data
            .files
            .iter()
            .map(|f| snaps.gen_dir(key).join(&f.name))
            .collect();
        let fresh = engines(dir);
        fresh.db.ingest_sst(&files).unwrap();
        let raw = fresh.kv.cf_id(Cf::Raw);
        let mut it = fresh
            .db
            .iter(raw, lsm::iter::IterOptions::default(), None)
            .unwrap();
        it.seek_to_first().unwrap();
        let mut keys = Vec::new();
        while it.valid() {
            keys.push(it.key().to_vec());
            it.next().unwrap();
        }
        keys
    }

    #[test]
    fn snapshots_are_generated_in_the_background_as_of_the_request_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let e = engines(&dir.path().join("db"));
        let region = Region {
            id: 1,
            epoch: Epoch {
                conf_ver: 1,
                version: 1,
            },
            peers: vec![Peer::new(11, 1)],
            ..Default::default()
        };
        crate::store::Store::bootstrap_region(&e, &region).unwrap();
        let snaps = SnapManager::new(dir.path().join("snap"));
        let mut ps = PeerStorage::load(e.clone(), snaps.clone(), region).unwrap();
        put_raw(&e, b"before");

        // The first request only starts the export; a write right after it (the next
        // apply round) is not in the snapshot, however late the worker runs.
        assert!(is_unavailable(&ps.snapshot(0, 2)));
        put_raw(&e, b"after");
        snaps.wait_generations();
        let first = ps.snapshot(0, 2).unwrap();
        assert_eq!(first.get_metadata().index, ps.apply.applied_index);
        assert_eq!(
            raw_keys_in(&snaps, &first, &dir.path().join("check1")),
            vec![b"before".to_vec()]
        );
        // Handed out again (another follower) without a new export.
        assert_eq!(ps.snapshot(0, 3).unwrap(), first);
        assert_eq!(gen_dirs(&snaps), 1);

        // A snapshot from before a membership change is not handed out: a new one is
        // generated, with the later write, and the old files go once it is handed out.
        ps.region.epoch.conf_ver += 1;
        assert!(is_unavailable(&ps.snapshot(0, 2)));
        snaps.wait_generations();
        let second = ps.snapshot(0, 2).unwrap();
        assert_eq!(
            raw_keys_in(&snaps, &second, &dir.path().join("check2")),
            vec![b"after".to_vec(), b"before".to_vec()]
        );
        assert_eq!(gen_dirs(&snaps), 1);

        // A destroyed peer generates nothing more.
        ps.cancel_snapshot_generation();
        ps.region.epoch.conf_ver += 1;
        assert!(is_unavailable(&ps.snapshot(0, 2)));
        snaps.wait_generations();
        assert!(is_unavailable(&ps.snapshot(0, 2)));
    }
}
