//! The read path: point lookups, snapshots and iterators.
//!
//! A read captures, without taking the state lock, the published view — the memtable, the
//! immutable memtables and the current version — and the sequence number it reads at.
//! Sources are consulted newest first; the newest version of the key at or below the read
//! sequence wins, unless a range tombstone from the same or a newer source covers it.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use smallvec::SmallVec;

use super::{DbInner, State};
use crate::error::{Error, Result};
use crate::iter::{DbIterator, InternalIterator, IterOptions, LevelIterator, MergingIterator};
use crate::key::{lookup_key, CfId, ParsedKey, SeqNo, ValueKind, TRAILER_LEN};
use crate::memtable::{MemTable, MemValue};
use crate::version::{Version, NUM_LEVELS};

/// A consistent, read-only view of the database as of one sequence number. Versions it can
/// see are kept by compactions until it is dropped.
pub struct Snapshot {
    seq: SeqNo,
    inner: Arc<DbInner>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").field("seq", &self.seq).finish()
    }
}

impl Snapshot {
    /// The sequence number the snapshot reads at.
    pub fn sequence(&self) -> SeqNo {
        self.seq
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let mut state = self.inner.state.lock();
        if let Some(n) = state.snapshots.get_mut(&self.seq) {
            *n -= 1;
            if *n == 0 {
                state.snapshots.remove(&self.seq);
            }
        }
    }
}

pub(super) fn snapshot(inner: &Arc<DbInner>) -> Snapshot {
    let mut state = inner.state.lock();
    // Read under the lock so a compaction never misses a snapshot being taken.
    let seq = inner.visible_seq.load(Ordering::Acquire);
    *state.snapshots.entry(seq).or_insert(0) += 1;
    Snapshot {
        seq,
        inner: inner.clone(),
    }
}

/// The sources a read consults: the memtables, newest first, and the current version (an
/// `Arc`, which keeps its files from being deleted). Published as one unit by
/// `DbInner::publish_view`.
#[derive(Debug)]
pub(super) struct ReadView {
    pub(super) mems: Vec<Arc<MemTable>>,
    pub(super) version: Arc<Version>,
}

impl ReadView {
    pub(super) fn of(state: &State) -> ReadView {
        let mut mems = Vec::with_capacity(1 + state.imm.len());
        mems.push(state.mem.clone());
        mems.extend(state.imm.iter().rev().map(|i| i.mem.clone()));
        ReadView {
            mems,
            version: state.versions.current(),
        }
    }
}

/// A read's view and the sequence number it reads at. The guard is arc-swap's: it holds the
/// view without touching its reference count (a shared cache line every reader would
/// otherwise write twice per read); it is meant for the length of one read.
struct View {
    sources: arc_swap::Guard<Arc<ReadView>>,
    seq: SeqNo,
}

/// Captures a view without the state lock.
///
/// Without a snapshot, the view is loaded before the sequence number:
/// - No flush or compaction the view shows has dropped a version the sequence number reads:
///   they drop only versions shadowed by writes already visible when they ran. (Loaded the
///   other way round, a flush newer than the sequence number could hide a key's only version
///   at that number.)
/// - The view may lack a memtable switched in after it was loaded; the read then sees a
///   prefix of the history that ends no earlier than the view's load, so it still holds
///   every write acknowledged before the read began (a write's memtable is published before
///   the write is inserted).
///
/// A registered snapshot's versions are kept by every flush and compaction, so any view serves
/// its sequence number.
fn capture(inner: &DbInner, snapshot: Option<&super::Snapshot>) -> View {
    let sources = inner.view.load();
    let seq = snapshot.map_or_else(|| inner.visible_seq.load(Ordering::Acquire), |s| s.seq);
    View { sources, seq }
}

pub(super) fn get(
    inner: &DbInner,
    cf: CfId,
    key: &[u8],
    snapshot: Option<&super::Snapshot>,
) -> Result<Option<Bytes>> {
    let view = capture(inner, snapshot);
    let seq = view.seq;
    // The newest range tombstone covering the key, from the sources consulted so far.
    let mut tomb: SeqNo = 0;
    let visible = |found_seq: SeqNo, value: Option<Bytes>, tomb: SeqNo| {
        if found_seq < tomb {
            None
        } else {
            value
        }
    };
    for mem in &view.sources.mems {
        tomb = tomb.max(mem.max_covering_tombstone_seq(cf, key, seq).unwrap_or(0));
        match mem.get(cf, key, seq) {
            Some(MemValue::Put { seq: s, value }) => return Ok(visible(s, Some(value), tomb)),
            Some(MemValue::Deleted { .. }) => return Ok(None),
            None => {}
        }
    }
    // The lookup key and the candidate tables live on the stack for ordinary keys and depths,
    // so a lookup that finds nothing allocates nothing.
    let lookup = lookup_key(cf, key, seq, ValueKind::SEEK);
    let user = &lookup[..lookup.len() - TRAILER_LEN];
    // Every table that may hold the key is opened first and all their filters probed in one
    // tight loop: a probe is usually a cache and TLB miss on a random line of a filter
    // megabytes large, and with nothing else between them the CPU has all those misses in
    // flight at once, where probing each table just before reading it waited for them one
    // after the other (readmissing spent most of its time there; BENCHMARKS.md).
    let mut tables = view
        .sources
        .version
        .files_for_key(user)
        .map(|(_, file)| Ok((inner.tables.open(file.number)?, false)))
        .collect::<Result<SmallVec<[_; 8]>>>()?;
    let hash = sstable::filter_key_hash(user);
    for (open, may_contain) in &mut tables {
        *may_contain = open.table.may_contain_filter_hash(hash);
    }
    for (open, may_contain) in &tables {
        for t in &open.tombstones {
            if t.cf == cf && t.seq <= seq && t.start.as_ref() <= key && key < t.end.as_ref() {
                tomb = tomb.max(t.seq);
            }
        }
        if !may_contain {
            continue;
        }
        if let Some((k, v)) = open.table.lower_bound(&lookup)? {
            let parsed = ParsedKey::parse(&k).ok_or_else(|| Error::Corruption {
                file: open.table.name().to_owned(),
                offset: 0,
                reason: "malformed internal key".into(),
            })?;
            if parsed.cf == cf && parsed.user_key == key {
                return Ok(match parsed.kind {
                    ValueKind::Put => visible(parsed.seq, Some(v), tomb),
                    _ => None,
                });
            }
        }
    }
    Ok(None)
}

/// A database iterator; keeps the files of the version it reads alive.
pub struct DbIter {
    iter: DbIterator,
    _version: Arc<Version>,
}

impl std::fmt::Debug for DbIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.iter.fmt(f)
    }
}

impl std::ops::Deref for DbIter {
    type Target = DbIterator;
    fn deref(&self) -> &DbIterator {
        &self.iter
    }
}

impl std::ops::DerefMut for DbIter {
    fn deref_mut(&mut self) -> &mut DbIterator {
        &mut self.iter
    }
}

pub(super) fn iter(
    inner: &DbInner,
    cf: CfId,
    options: IterOptions,
    snapshot: Option<&super::Snapshot>,
) -> Result<DbIter> {
    let view = capture(inner, snapshot);
    let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
    let mut tombstones = Vec::new();
    for mem in &view.sources.mems {
        tombstones.extend(mem.range_tombstones());
        children.push(Box::new(mem.iter()));
    }
    for level in 0..NUM_LEVELS {
        let files = view.sources.version.files(level);
        for f in files {
            let open = inner.tables.open(f.number)?;
            tombstones.extend(open.tombstones.iter().cloned());
            if level == 0 {
                children.push(Box::new(open.table.iter()));
            }
        }
        if level > 0 && !files.is_empty() {
            children.push(Box::new(LevelIterator::new(
                inner.tables.clone(),
                files.to_vec(),
            )));
        }
    }
    let iter = DbIterator::new(
        Box::new(MergingIterator::new(children)),
        cf,
        view.seq,
        options,
        tombstones,
    );
    Ok(DbIter {
        iter,
        _version: view.sources.version.clone(),
    })
}
