//! `MergingIterator`: one sorted stream over several sorted children.
//!
//! Children are given newest source first (memtable, immutable memtables, L0 newest first,
//! then L1..). When two children are positioned at equal internal keys, the earlier child is
//! current; such duplicates (the same version reachable twice) are harmless to the layers
//! above, which keep the first entry of each user key and version.
//!
//! The current child is found by a linear scan: an engine has a handful of children (two
//! memtables, a few L0 files, one per deeper level), where a scan's predictable branches beat
//! a heap's bookkeeping; revisit with the benchmark if L0 grows deep.
//!
//! Direction changes follow LevelDB: when turning from forward to backward at key `k`, every
//! other child is repositioned at its last entry `< k` (and symmetrically), so that all
//! children again sit on the same side of the current key.

use std::cmp::Ordering;

use super::{cmp_internal, InternalIterator};
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Backward,
}

/// Merges sorted children into one sorted cursor.
pub struct MergingIterator {
    children: Vec<Box<dyn InternalIterator>>,
    current: Option<usize>,
    direction: Direction,
}

impl std::fmt::Debug for MergingIterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergingIterator")
            .field("children", &self.children.len())
            .field("current", &self.current)
            .field("direction", &self.direction)
            .finish()
    }
}

impl MergingIterator {
    /// A cursor over the union of `children` (newest source first).
    pub fn new(children: Vec<Box<dyn InternalIterator>>) -> Self {
        MergingIterator {
            children,
            current: None,
            direction: Direction::Forward,
        }
    }

    fn find_smallest(&mut self) {
        let mut best: Option<usize> = None;
        for (i, child) in self.children.iter().enumerate() {
            if !child.valid() {
                continue;
            }
            let better = match best {
                None => true,
                Some(b) => cmp_internal(child.key(), self.children[b].key()) == Ordering::Less,
            };
            if better {
                best = Some(i);
            }
        }
        self.current = best;
    }

    fn find_largest(&mut self) {
        let mut best: Option<usize> = None;
        // Scanning from the oldest child keeps the newest child current among equal keys.
        for (i, child) in self.children.iter().enumerate().rev() {
            if !child.valid() {
                continue;
            }
            let better = match best {
                None => true,
                Some(b) => cmp_internal(child.key(), self.children[b].key()) == Ordering::Greater,
            };
            if better {
                best = Some(i);
            }
        }
        self.current = best;
    }

    fn each(&mut self, mut f: impl FnMut(&mut dyn InternalIterator) -> Result<()>) -> Result<()> {
        let mut result = Ok(());
        for child in &mut self.children {
            if let Err(e) = f(child.as_mut()) {
                result = Err(e);
                break;
            }
        }
        if result.is_err() {
            self.current = None;
        }
        result
    }
}

impl InternalIterator for MergingIterator {
    fn valid(&self) -> bool {
        self.current.is_some()
    }

    fn key(&self) -> &[u8] {
        self.current.map_or(&[], |c| self.children[c].key())
    }

    fn value(&self) -> &[u8] {
        self.current.map_or(&[], |c| self.children[c].value())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.each(|c| c.seek(target))?;
        self.direction = Direction::Forward;
        self.find_smallest();
        Ok(())
    }

    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        self.each(|c| c.seek_for_prev(target))?;
        self.direction = Direction::Backward;
        self.find_largest();
        Ok(())
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.each(|c| c.seek_to_first())?;
        self.direction = Direction::Forward;
        self.find_smallest();
        Ok(())
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.each(|c| c.seek_to_last())?;
        self.direction = Direction::Backward;
        self.find_largest();
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        let Some(current) = self.current else {
            return Ok(());
        };
        if self.direction == Direction::Backward {
            // Put every other child at its first entry > key: seek, then step past an equal key.
            let key = self.children[current].key().to_vec();
            for (i, child) in self.children.iter_mut().enumerate() {
                if i == current {
                    continue;
                }
                let step = child.seek(&key).and_then(|()| {
                    if child.valid() && cmp_internal(child.key(), &key) == Ordering::Equal {
                        child.next()
                    } else {
                        Ok(())
                    }
                });
                if let Err(e) = step {
                    self.current = None;
                    return Err(e);
                }
            }
            self.direction = Direction::Forward;
        }
        if let Err(e) = self.children[current].next() {
            self.current = None;
            return Err(e);
        }
        self.find_smallest();
        Ok(())
    }

    fn prev(&mut self) -> Result<()> {
        let Some(current) = self.current else {
            return Ok(());
        };
        if self.direction == Direction::Forward {
            // Put every other child at its last entry < key.
            let key = self.children[current].key().to_vec();
            for (i, child) in self.children.iter_mut().enumerate() {
                if i == current {
                    continue;
                }
                let step = child.seek_for_prev(&key).and_then(|()| {
                    if child.valid() && cmp_internal(child.key(), &key) == Ordering::Equal {
                        child.prev()
                    } else {
                        Ok(())
                    }
                });
                if let Err(e) = step {
                    self.current = None;
                    return Err(e);
                }
            }
            self.direction = Direction::Backward;
        }
        if let Err(e) = self.children[current].prev() {
            self.current = None;
            return Err(e);
        }
        self.find_largest();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iter::VecIterator;
    use crate::key::{internal_key, ValueKind};
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Move {
        First,
        Last,
        Seek(u8, u64),
        SeekForPrev(u8, u64),
        Next,
        Prev,
    }

    fn moves() -> impl Strategy<Value = Vec<Move>> {
        proptest::collection::vec(
            prop_oneof![
                Just(Move::First),
                Just(Move::Last),
                (0u8..6, 0u64..8).prop_map(|(k, s)| Move::Seek(k, s)),
                (0u8..6, 0u64..8).prop_map(|(k, s)| Move::SeekForPrev(k, s)),
                Just(Move::Next),
                Just(Move::Next),
                Just(Move::Prev),
                Just(Move::Prev),
            ],
            1..40,
        )
    }

    fn ikey(k: u8, seq: u64) -> Vec<u8> {
        internal_key(0, &[k], seq, ValueKind::Put)
    }

    proptest! {
        /// The merge of children behaves exactly as one sorted list of all their entries.
        #[test]
        fn merge_matches_one_sorted_list(
            parts in proptest::collection::vec(
                proptest::collection::btree_set((0u8..6, 0u64..8), 0..8), 0..5),
            moves in moves(),
        ) {
            // Make internal keys unique across children, as sequence numbers are in an engine.
            let mut seen = std::collections::HashSet::new();
            let children: Vec<Vec<(Vec<u8>, Vec<u8>)>> = parts.iter().enumerate().map(|(i, p)| {
                p.iter().filter(|e| seen.insert(**e))
                    .map(|&(k, s)| (ikey(k, s), vec![i as u8])).collect()
            }).collect();
            let mut all: Vec<(Vec<u8>, Vec<u8>)> = children.iter().flatten().cloned().collect();
            all.sort_by(|a, b| cmp_internal(&a.0, &b.0));
            let mut model = VecIterator::new(all);
            let mut merged = MergingIterator::new(
                children.into_iter().map(|c| Box::new(VecIterator::new(c)) as Box<dyn InternalIterator>).collect());
            for m in moves {
                match m {
                    Move::First => { merged.seek_to_first().unwrap(); model.seek_to_first().unwrap(); }
                    Move::Last => { merged.seek_to_last().unwrap(); model.seek_to_last().unwrap(); }
                    Move::Seek(k, s) => { merged.seek(&ikey(k, s)).unwrap(); model.seek(&ikey(k, s)).unwrap(); }
                    Move::SeekForPrev(k, s) => {
                        merged.seek_for_prev(&ikey(k, s)).unwrap();
                        model.seek_for_prev(&ikey(k, s)).unwrap();
                    }
                    Move::Next => if model.valid() { merged.next().unwrap(); model.next().unwrap(); },
                    Move::Prev => if model.valid() { merged.prev().unwrap(); model.prev().unwrap(); },
                }
                prop_assert_eq!(merged.valid(), model.valid());
                if model.valid() {
                    prop_assert_eq!(merged.key(), model.key());
                    prop_assert_eq!(merged.value(), model.value());
                }
            }
        }
    }
}
