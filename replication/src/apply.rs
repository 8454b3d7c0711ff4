//! Applying a peer's committed entries to the KV column families, in log order, in the
//! round's apply batch — with the apply state, so data and "applied through" move together
//! (`state.rs`, invariant 2).
//!
//! Every replica applies the same entries to the same state, so every decision here is a
//! function of the entry and the region as applied so far: a command made under an older
//! epoch is refused by all replicas alike.

use lsm::WriteBatch;
use mvcc::Modify;
use raft::eraftpb::{ConfChangeType, Entry, EntryType};

use crate::callback::WriteCallback;
use crate::command::{Command, Request, SplitRequest};
use crate::engines::Engines;
use crate::error::{Error, Result};
use crate::peer::Peer;
use crate::region::{PeerRole, Region};
use crate::state::{PeerState, RegionState};

/// What applying a round of entries leaves the store to do once the batch is written.
#[derive(Default)]
pub(crate) struct Applied {
    /// Proposals to answer.
    pub(crate) answers: Vec<(WriteCallback, Result<()>)>,
    /// Regions split off this one: their peers on this store are to be created.
    pub(crate) split_born: Vec<Region>,
    /// This peer was removed from the region: destroy it.
    pub(crate) destroy: bool,
    /// Log entries `from..=to` may be deleted (compacted).
    pub(crate) gc: Option<(u64, u64)>,
    /// The region's descriptor changed (publish it).
    pub(crate) region_changed: bool,
}

/// Puts `modifies` into `wb`.
pub(crate) fn write_modifies(
    engines: &Engines,
    modifies: &[Modify],
    wb: &mut WriteBatch,
) -> Result<()> {
    for m in modifies {
        match m {
            Modify::Put { cf, key, value } => wb.put(engines.kv.cf_id(*cf), key, value),
            Modify::Delete { cf, key } => wb.delete(engines.kv.cf_id(*cf), key),
            Modify::DeleteRange { cf, start, end } => {
                wb.delete_range(engines.kv.cf_id(*cf), start, end)?
            }
        }
    }
    Ok(())
}

/// Bytes a write adds to its region, as the split checker's hint counts them.
fn written_bytes(modifies: &[Modify]) -> u64 {
    modifies
        .iter()
        .map(|m| match m {
            Modify::Put { key, value, .. } => key.len() + value.len(),
            Modify::Delete { key, .. } => key.len(),
            Modify::DeleteRange { start, end, .. } => start.len() + end.len(),
        } as u64)
        .sum()
}

/// Puts `region`'s state into `wb`.
pub(crate) fn write_region_state(
    engines: &Engines,
    region: &Region,
    state: PeerState,
    wb: &mut WriteBatch,
) {
    let rs = RegionState {
        state,
        region: region.clone(),
    };
    wb.put(
        engines.raft_cf,
        &crate::state::region_state_key(region.id),
        &rs.encode(),
    );
}

impl Peer {
    /// Applies committed `entries` into `wb`.
    ///
    /// # Errors
    /// Only what makes the peer unusable: a corrupt entry, an engine error. A refused
    /// command is an answer, not an error.
    pub(crate) fn apply_entries(
        &mut self,
        entries: &[Entry],
        wb: &mut WriteBatch,
        out: &mut Applied,
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let region_id = self.region_id();
        let mut apply = self.raw.store().apply;
        for e in entries {
            if e.index <= apply.applied_index {
                continue;
            }
            let cb = self.pending.take_for_entry(region_id, e.index, e.term);
            let result = match e.get_entry_type() {
                EntryType::EntryNormal if e.data.is_empty() => match cb {
                    // Raft put an empty entry in our proposal's place (a conf change while
                    // another was pending).
                    Some(_) => Err(Error::StaleCommand {
                        region_id,
                        reason: "raft dropped the proposal (a conf change is pending)",
                    }),
                    None => Ok(()),
                },
                EntryType::EntryNormal => {
                    let cmd = Command::decode(&e.data).map_err(|err| {
                        Error::corrupt(
                            format!("entry {} of region {region_id}", e.index),
                            err.to_string(),
                        )
                    })?;
                    self.exec(cmd, e.index, &mut apply, wb, out)?
                }
                EntryType::EntryConfChange => self.exec_conf_change(&e.data, wb, out)?,
                EntryType::EntryConfChangeV2 => {
                    return Err(Error::corrupt(
                        format!("entry {} of region {region_id}", e.index),
                        "joint conf changes are never proposed",
                    ))
                }
            };
            apply.applied_index = e.index;
            if let Some(cb) = cb {
                out.answers.push((cb, result));
            }
        }
        self.raw.mut_store().set_apply_state(apply, wb);
        Ok(())
    }

    /// One command: `Ok(answer)`, or an error that stops the peer.
    fn exec(
        &mut self,
        cmd: Command,
        index: u64,
        apply: &mut crate::state::ApplyState,
        wb: &mut WriteBatch,
        out: &mut Applied,
    ) -> Result<Result<()>> {
        if cmd.region_id != self.region_id() {
            return Ok(Err(Error::EpochNotMatch {
                reason: format!("entry {index} holds a command for region {}", cmd.region_id),
                current: vec![self.region().clone()],
            }));
        }
        if cmd.request.checks_version() {
            if let Err(e) = self.check_epoch(cmd.epoch, false) {
                return Ok(Err(e));
            }
        }
        match cmd.request {
            Request::Write(modifies) => {
                write_modifies(self.raw.store().engines(), &modifies, wb)?;
                self.size_diff_hint = self.size_diff_hint.saturating_add(written_bytes(&modifies));
                Ok(Ok(()))
            }
            Request::Split {
                split_key,
                new_region_id,
                new_peer_ids,
            } => {
                let cut = SplitRequest {
                    split_key,
                    new_region_id,
                    new_peer_ids,
                };
                Ok(self.exec_split(&[cut], wb, out))
            }
            Request::BatchSplit { splits } => Ok(self.exec_split(&splits, wb, out)),
            Request::CompactLog { index: to, term } => {
                if to <= apply.truncated_index {
                    return Ok(Ok(()));
                }
                if to > apply.applied_index {
                    return Ok(Err(Error::InvalidArgument(format!(
                        "compact to {to} beyond applied {}",
                        apply.applied_index
                    ))));
                }
                out.gc = Some((apply.truncated_index + 1, to));
                apply.truncated_index = to;
                apply.truncated_term = term;
                Ok(Ok(()))
            }
        }
    }

    /// Cuts the region (see [`Region::split`]); a refused split changes nothing.
    fn exec_split(
        &mut self,
        splits: &[SplitRequest],
        wb: &mut WriteBatch,
        out: &mut Applied,
    ) -> Result<()> {
        let mut regions = self.region().split(splits)?.into_iter();
        let Some(left) = regions.next() else {
            return Ok(());
        };
        write_region_state(self.raw.store().engines(), &left, PeerState::Normal, wb);
        self.set_region(left);
        out.split_born.extend(regions);
        out.region_changed = true;
        // What is left may still be too big (a split takes at most `batch_split_limit`
        // cuts): check it again at the next chance.
        self.size_diff_hint = crate::split_checker::CHECK_NOW;
        Ok(())
    }

    fn exec_conf_change(
        &mut self,
        data: &[u8],
        wb: &mut WriteBatch,
        out: &mut Applied,
    ) -> Result<Result<()>> {
        let (cc, peer) = self.decode_conf_change(data)?;
        let mut region = self.region().clone();
        let present = region.peers.iter_mut().find(|p| p.id == peer.id);
        match (cc.get_change_type(), present) {
            (ConfChangeType::AddNode | ConfChangeType::AddLearnerNode, None) => {
                region.peers.push(peer)
            }
            // Promotion: raft-rs turns the learner into a voter.
            (ConfChangeType::AddNode, Some(p)) if p.is_learner() => p.role = PeerRole::Voter,
            // raft-rs would demote the voter, which is never asked for (`propose_conf_change`
            // refuses it); refused alike on every replica, raft is not told.
            (ConfChangeType::AddLearnerNode, Some(p)) if !p.is_learner() => {
                return Ok(Err(Error::InvalidArgument(format!(
                    "region {}: peer {} is a voter; learners are not demoted",
                    region.id, p.id
                ))));
            }
            (ConfChangeType::RemoveNode, Some(_)) => region.peers.retain(|p| p.id != peer.id),
            // Already as asked (a retried change): raft is still told, nothing changes.
            (ConfChangeType::AddNode | ConfChangeType::AddLearnerNode, Some(_))
            | (ConfChangeType::RemoveNode, None) => {}
        }
        if let Err(e) = self.raw.apply_conf_change(&cc) {
            return Ok(Err(e.into()));
        }
        if region.peers != self.region().peers {
            region.epoch.conf_ver += 1;
            write_region_state(self.raw.store().engines(), &region, PeerState::Normal, wb);
            self.set_region(region);
            out.region_changed = true;
        }
        if cc.get_change_type() == ConfChangeType::RemoveNode && peer.id == self.me.id {
            out.destroy = true;
        }
        Ok(Ok(()))
    }
}
