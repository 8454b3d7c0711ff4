//! Cursors over internal keys, and how they compose.
//!
//! Every source of entries — memtables, tables, levels — is an [`InternalIterator`]; the
//! [`MergingIterator`] combines them into one sorted stream of internal keys (newest version
//! of each user key first). Turning that stream into what a user sees (one entry per user key,
//! tombstones and snapshots applied) is the job of the database iterator built on top.

mod db_iter;
mod level;
mod merge;

pub use db_iter::{DbIterator, IterOptions};
pub use level::LevelIterator;
pub use merge::MergingIterator;

use std::cmp::Ordering;

use crate::error::Result;

/// A cursor over entries sorted by internal key (see `key::InternalKeyComparator`).
///
/// Contract (as LevelDB's `Iterator`): invalid until positioned; `key`/`value` may be called
/// only while `valid()` and borrow until the next movement; after an error the cursor is
/// invalid until the next seek.
pub trait InternalIterator: Send {
    /// True if positioned at an entry.
    fn valid(&self) -> bool;
    /// The current internal key. REQUIRES: `valid()`.
    fn key(&self) -> &[u8];
    /// The current value. REQUIRES: `valid()`.
    fn value(&self) -> &[u8];
    /// Positions at the first entry with key >= `target`.
    fn seek(&mut self, target: &[u8]) -> Result<()>;
    /// Positions at the last entry with key <= `target`.
    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()>;
    /// Positions at the first entry.
    fn seek_to_first(&mut self) -> Result<()>;
    /// Positions at the last entry.
    fn seek_to_last(&mut self) -> Result<()>;
    /// Moves forward. REQUIRES: `valid()`.
    fn next(&mut self) -> Result<()>;
    /// Moves backward. REQUIRES: `valid()`.
    fn prev(&mut self) -> Result<()>;
}

/// Three-way comparison of internal keys (the engine's order).
pub fn cmp_internal(a: &[u8], b: &[u8]) -> Ordering {
    sstable::Comparator::compare(&crate::key::InternalKeyComparator, a, b)
}

/// A table read as an internal iterator.
impl InternalIterator for sstable::TableIter {
    fn valid(&self) -> bool {
        sstable::TableIter::valid(self)
    }
    fn key(&self) -> &[u8] {
        sstable::TableIter::key(self)
    }
    fn value(&self) -> &[u8] {
        sstable::TableIter::value(self)
    }
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        Ok(sstable::TableIter::seek(self, target)?)
    }
    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        Ok(sstable::TableIter::seek_for_prev(self, target)?)
    }
    fn seek_to_first(&mut self) -> Result<()> {
        Ok(sstable::TableIter::seek_to_first(self)?)
    }
    fn seek_to_last(&mut self) -> Result<()> {
        Ok(sstable::TableIter::seek_to_last(self)?)
    }
    fn next(&mut self) -> Result<()> {
        Ok(sstable::TableIter::next(self)?)
    }
    fn prev(&mut self) -> Result<()> {
        Ok(sstable::TableIter::prev(self)?)
    }
}

/// Sorted entries held in memory: for tests, and for small in-memory sources.
#[derive(Debug, Clone, Default)]
pub struct VecIterator {
    entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// Position; `entries.len()` when invalid.
    pos: usize,
}

impl VecIterator {
    /// A cursor over `entries`, which are sorted here by internal key.
    pub fn new(mut entries: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
        entries.sort_by(|a, b| cmp_internal(&a.0, &b.0));
        let pos = entries.len();
        VecIterator { entries, pos }
    }
}

impl InternalIterator for VecIterator {
    fn valid(&self) -> bool {
        self.pos < self.entries.len()
    }
    fn key(&self) -> &[u8] {
        self.entries.get(self.pos).map_or(&[], |e| &e.0)
    }
    fn value(&self) -> &[u8] {
        self.entries.get(self.pos).map_or(&[], |e| &e.1)
    }
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.pos = self
            .entries
            .partition_point(|e| cmp_internal(&e.0, target) == Ordering::Less);
        Ok(())
    }
    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        let after = self
            .entries
            .partition_point(|e| cmp_internal(&e.0, target) != Ordering::Greater);
        self.pos = after.checked_sub(1).unwrap_or(self.entries.len());
        Ok(())
    }
    fn seek_to_first(&mut self) -> Result<()> {
        self.pos = 0;
        Ok(())
    }
    fn seek_to_last(&mut self) -> Result<()> {
        // For an empty list this is 0 == len: invalid, as it should be.
        self.pos = self.entries.len().saturating_sub(1);
        Ok(())
    }
    fn next(&mut self) -> Result<()> {
        self.pos = (self.pos + 1).min(self.entries.len());
        Ok(())
    }
    fn prev(&mut self) -> Result<()> {
        self.pos = self.pos.checked_sub(1).unwrap_or(self.entries.len());
        Ok(())
    }
}

/// A memtable read as an internal iterator (its movements cannot fail).
impl InternalIterator for crate::MemTableIter {
    fn valid(&self) -> bool {
        crate::MemTableIter::valid(self)
    }
    fn key(&self) -> &[u8] {
        crate::MemTableIter::key(self)
    }
    fn value(&self) -> &[u8] {
        crate::MemTableIter::value(self)
    }
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        crate::MemTableIter::seek(self, target);
        Ok(())
    }
    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        crate::MemTableIter::seek_for_prev(self, target);
        Ok(())
    }
    fn seek_to_first(&mut self) -> Result<()> {
        crate::MemTableIter::seek_to_first(self);
        Ok(())
    }
    fn seek_to_last(&mut self) -> Result<()> {
        crate::MemTableIter::seek_to_last(self);
        Ok(())
    }
    fn next(&mut self) -> Result<()> {
        crate::MemTableIter::next(self);
        Ok(())
    }
    fn prev(&mut self) -> Result<()> {
        crate::MemTableIter::prev(self);
        Ok(())
    }
}
