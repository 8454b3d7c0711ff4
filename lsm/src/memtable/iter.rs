//! [`MemTableIter`]: a cursor over the memtable's point entries (puts and deletes, not range
//! tombstones) in internal-key order, for the engine's merging iterator and for flush.
//!
//! A crossbeam-skiplist `Entry` borrows its map, so a cursor that owns an `Arc<MemTable>`
//! cannot hold one. Instead the cursor keeps clones of entries' keys (a prefix and a pointer
//! into the memtable's arena, valid because the cursor holds the memtable): a movement searches the skiplist once and reads a run of the following entries in
//! the direction of travel into `ahead`. Runs start at [`MIN_RUN`] after each seek and double
//! up to [`MAX_RUN`], so a scan pays one O(log n) search per `MAX_RUN` steps and a seek that
//! reads one entry pays little for the read-ahead.
//!
//! Concurrency: the cursor sees every entry inserted before it was positioned (the read-ahead
//! is taken at that time); entries inserted later may or may not appear. That is enough under
//! the memtable's contract: a reader at a published sequence number never needs them.

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;

use super::entry::{KeyLike, MemKey, SeekKey};
use super::MemTable;

/// Entries read per skiplist search right after a seek.
const MIN_RUN: usize = 4;
/// Largest run; bounds the memory a cursor holds.
const MAX_RUN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Backward,
}

/// A cursor over a memtable's point entries, forward and backward. Holds the memtable alive.
/// `key` and `value` are valid until the next movement.
#[derive(Debug)]
pub struct MemTableIter {
    mem: Arc<MemTable>,
    /// The entry the cursor is at; `None` when not valid.
    current: Option<MemKey>,
    /// The entries after `current` in `dir`, nearest first.
    ahead: VecDeque<MemKey>,
    dir: Direction,
    /// Size of the next read-ahead run.
    run: usize,
}

impl MemTableIter {
    /// A cursor over `mem`, not yet positioned (not valid).
    pub fn new(mem: Arc<MemTable>) -> Self {
        MemTableIter {
            mem,
            current: None,
            ahead: VecDeque::new(),
            dir: Direction::Forward,
            run: MIN_RUN,
        }
    }

    /// True if positioned at an entry.
    pub fn valid(&self) -> bool {
        self.current.is_some()
    }

    /// The current internal key (empty when not valid).
    pub fn key(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], MemKey::internal_key)
    }

    /// The current value (empty when not valid, and for a delete).
    pub fn value(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], MemKey::value)
    }

    /// A copy of the current value (empty when not valid).
    pub fn value_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self.value())
    }

    /// Positions at the first entry.
    pub fn seek_to_first(&mut self) {
        self.run = MIN_RUN;
        self.fill(Bound::Unbounded, Direction::Forward);
    }

    /// Positions at the last entry.
    pub fn seek_to_last(&mut self) {
        self.run = MIN_RUN;
        self.fill(Bound::Unbounded, Direction::Backward);
    }

    /// Positions at the first entry with internal key >= `target`.
    pub fn seek(&mut self, target: &[u8]) {
        self.run = MIN_RUN;
        let target = SeekKey::new(target);
        self.fill(Bound::Included(&target), Direction::Forward);
    }

    /// Positions at the last entry with internal key <= `target`.
    pub fn seek_for_prev(&mut self, target: &[u8]) {
        self.run = MIN_RUN;
        let target = SeekKey::new(target);
        self.fill(Bound::Included(&target), Direction::Backward);
    }

    /// Moves to the next entry; past the last, the cursor becomes invalid. No-op when invalid.
    pub fn next(&mut self) {
        self.step(Direction::Forward);
    }

    /// Moves to the previous entry; before the first, the cursor becomes invalid. No-op when
    /// invalid.
    pub fn prev(&mut self) {
        self.step(Direction::Backward);
    }

    fn step(&mut self, dir: Direction) {
        let Some(current) = self.current.take() else {
            return;
        };
        if self.dir == dir {
            if let Some(next) = self.ahead.pop_front() {
                self.current = Some(next);
                return;
            }
        }
        self.fill(Bound::Excluded(&current), dir);
    }

    /// Positions at the first entry past `from` in `dir` and reads ahead behind it.
    fn fill(&mut self, from: Bound<&dyn KeyLike>, dir: Direction) {
        let run = self.run;
        self.run = (run * 2).min(MAX_RUN);
        self.dir = dir;
        self.ahead.clear();
        let map = &self.mem.points;
        let (current, ahead) = (&mut self.current, &mut self.ahead);
        match dir {
            Direction::Forward => {
                let found = map
                    .range::<dyn KeyLike, _>((from, Bound::Unbounded))
                    .take(run);
                load(found.map(|e| e.key().clone()), current, ahead);
            }
            Direction::Backward => {
                let found = map
                    .range::<dyn KeyLike, _>((Bound::Unbounded, from))
                    .rev()
                    .take(run);
                load(found.map(|e| e.key().clone()), current, ahead);
            }
        }
    }
}

fn load(
    mut found: impl Iterator<Item = MemKey>,
    current: &mut Option<MemKey>,
    ahead: &mut VecDeque<MemKey>,
) {
    *current = found.next();
    ahead.extend(found);
}

impl MemTable {
    /// A cursor over this memtable's point entries; see [`MemTableIter`].
    pub fn iter(self: &Arc<Self>) -> MemTableIter {
        MemTableIter::new(Arc::clone(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{internal_key, ParsedKey, ValueKind};

    /// A memtable holding `n` keys `k000..`, each with versions at seqs 1 and 2.
    fn table(n: usize) -> (Arc<MemTable>, Vec<Vec<u8>>) {
        let m = MemTable::new();
        let mut keys = Vec::new();
        for i in 0..n {
            let user = format!("k{i:03}");
            for seq in [1, 2] {
                m.insert(0, user.as_bytes(), seq, ValueKind::Put, user.as_bytes())
                    .unwrap();
            }
            keys.push(internal_key(0, user.as_bytes(), 2, ValueKind::Put));
            keys.push(internal_key(0, user.as_bytes(), 1, ValueKind::Put));
        }
        (Arc::new(m), keys)
    }

    fn forward(it: &mut MemTableIter) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while it.valid() {
            out.push(it.key().to_vec());
            it.next();
        }
        out
    }

    #[test]
    fn walks_both_ways_across_many_runs() {
        let (m, keys) = table(150);
        let mut it = m.iter();
        assert!(!it.valid());
        assert_eq!((it.key(), it.value()), (&[][..], &[][..]));
        it.seek_to_first();
        assert_eq!(forward(&mut it), keys);
        it.next(); // no-op when invalid
        assert!(!it.valid());
        it.seek_to_last();
        let mut back = Vec::new();
        while it.valid() {
            back.push(it.key().to_vec());
            it.prev();
        }
        back.reverse();
        assert_eq!(back, keys);
    }

    #[test]
    fn seeks_and_direction_changes() {
        let (m, keys) = table(20);
        let mut it = m.iter();
        let target = internal_key(0, b"k005", 1, ValueKind::Put);
        it.seek(&target);
        assert_eq!(it.key(), &target[..]);
        assert_eq!(it.value(), b"k005");
        let p = ParsedKey::parse(it.key()).unwrap();
        assert_eq!((p.user_key, p.seq), (&b"k005"[..], 1));
        // Between versions: the newest version at or below seq 5 is seq 2.
        it.seek(&internal_key(0, b"k005", 5, ValueKind::SEEK));
        assert_eq!(it.key(), &keys[10][..]);
        it.next();
        it.next();
        it.prev();
        assert_eq!(it.key(), &keys[11][..]);
        it.prev();
        it.prev();
        assert_eq!(it.key(), &keys[9][..]);
        it.next();
        assert_eq!(it.key(), &keys[10][..]);
        // seek_for_prev: last entry <= target.
        it.seek_for_prev(&internal_key(0, b"k005", 5, ValueKind::SEEK));
        assert_eq!(it.key(), &keys[9][..]);
        it.seek_for_prev(&keys[9]);
        assert_eq!(it.key(), &keys[9][..]);
        it.seek_for_prev(b"");
        assert!(!it.valid());
        it.seek(&internal_key(1, b"", 0, ValueKind::Delete));
        assert!(!it.valid());
        it.seek_for_prev(&internal_key(9, b"", 0, ValueKind::Delete));
        assert_eq!(it.key(), keys.last().unwrap().as_slice());
        it.seek(b"\x00");
        assert_eq!(it.key(), &keys[0][..]);
        it.prev();
        assert!(!it.valid());
    }

    #[test]
    fn sees_entries_inserted_before_it_moves_and_holds_the_table() {
        let (m, _) = table(0);
        let mut it = m.iter();
        it.seek_to_first();
        assert!(!it.valid());
        m.insert(0, b"late", 7, ValueKind::Delete, b"ignored")
            .unwrap();
        drop(m);
        it.seek_to_first();
        assert_eq!(ParsedKey::parse(it.key()).unwrap().seq, 7);
        assert_eq!(it.value(), b"");
        assert!(it.value_bytes().is_empty());
    }
}
