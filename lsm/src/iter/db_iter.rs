//! `DbIterator`: what a reader sees — one entry per user key of one column family, as of a
//! sequence number, with point and range tombstones applied and bounds enforced.
//!
//! Built over any [`InternalIterator`] (in the engine, a merge of memtables and levels) whose
//! entries are ordered by internal key, i.e. per user key the newest version first.
//!
//! Forward, the inner cursor rests on the version being shown, so `key()` and `value()` read
//! it in place: a forward step copies only the key it leaves (to skip that key's older
//! versions). Backward, it rests *before* all versions of the key being shown (LevelDB's
//! scheme): going back, a key's versions arrive oldest first, so the key can only be decided
//! once the cursor has moved past all of them, and the key and value are copied into
//! buffers.

use std::cmp::Ordering;

use super::InternalIterator;
use crate::error::{Error, Result};
use crate::key::{cf_user_key, internal_key, CfId, ParsedKey, SeqNo, ValueKind, MAX_SEQ};
use crate::memtable::RangeTombstone;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Forward,
    Backward,
}

/// Bounds and snapshot of a [`DbIterator`].
#[derive(Debug, Clone, Default)]
pub struct IterOptions {
    /// Smallest user key shown (inclusive).
    pub lower_bound: Option<Vec<u8>>,
    /// User keys at or above this are not shown (exclusive).
    pub upper_bound: Option<Vec<u8>>,
}

/// A user-level cursor over one column family at one sequence number.
pub struct DbIterator {
    inner: Box<dyn InternalIterator>,
    cf: CfId,
    read_seq: SeqNo,
    options: IterOptions,
    /// Range tombstones of this column family visible at `read_seq`.
    tombstones: Vec<RangeTombstone>,
    direction: Direction,
    valid: bool,
    /// Backward only: the key and value shown.
    key: Vec<u8>,
    value: Vec<u8>,
    /// Forward: the user key whose remaining (older) versions are being skipped.
    skip: Vec<u8>,
}

impl std::fmt::Debug for DbIterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbIterator")
            .field("cf", &self.cf)
            .field("read_seq", &self.read_seq)
            .field("valid", &self.valid)
            .finish_non_exhaustive()
    }
}

impl DbIterator {
    /// A cursor over `cf` as of `read_seq`; `tombstones` may include other column families'
    /// and invisible ones (they are filtered here).
    pub fn new(
        inner: Box<dyn InternalIterator>,
        cf: CfId,
        read_seq: SeqNo,
        options: IterOptions,
        tombstones: Vec<RangeTombstone>,
    ) -> Self {
        let tombstones = tombstones
            .into_iter()
            .filter(|t| t.cf == cf && t.seq <= read_seq)
            .collect();
        DbIterator {
            inner,
            cf,
            read_seq,
            options,
            tombstones,
            direction: Direction::Forward,
            valid: false,
            key: Vec::new(),
            value: Vec::new(),
            skip: Vec::new(),
        }
    }

    /// True if positioned at an entry.
    pub fn valid(&self) -> bool {
        self.valid
    }

    /// The current user key (empty when not valid).
    pub fn key(&self) -> &[u8] {
        match (self.valid, self.direction) {
            (false, _) => &[],
            (true, Direction::Forward) => user_key_of(self.inner.key()),
            (true, Direction::Backward) => &self.key,
        }
    }

    /// The current value (empty when not valid).
    pub fn value(&self) -> &[u8] {
        match (self.valid, self.direction) {
            (false, _) => &[],
            (true, Direction::Forward) => self.inner.value(),
            (true, Direction::Backward) => &self.value,
        }
    }

    /// Positions at the first visible key >= `target` (and >= the lower bound).
    ///
    /// # Errors
    /// `Io` or `Corruption` from the sources.
    pub fn seek(&mut self, target: &[u8]) -> Result<()> {
        let target = match &self.options.lower_bound {
            Some(lb) if lb.as_slice() > target => lb.clone(),
            _ => target.to_vec(),
        };
        self.direction = Direction::Forward;
        let r = self
            .inner
            .seek(&internal_key(
                self.cf,
                &target,
                self.read_seq,
                ValueKind::SEEK,
            ))
            .and_then(|()| self.find_next(false));
        self.on_error(r)
    }

    /// Positions at the first visible key.
    ///
    /// # Errors
    /// As [`seek`](Self::seek).
    pub fn seek_to_first(&mut self) -> Result<()> {
        self.seek(&[])
    }

    /// Positions at the last visible key <= `target` (and below the upper bound).
    ///
    /// # Errors
    /// As [`seek`](Self::seek).
    pub fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        self.direction = Direction::Backward;
        let r = match &self.options.upper_bound {
            Some(ub) if ub.as_slice() <= target => {
                let before_upper = internal_key(self.cf, ub, MAX_SEQ, ValueKind::SEEK);
                self.inner.seek_for_prev(&before_upper)
            }
            // The oldest possible version of `target` sorts after all of its versions.
            _ => self
                .inner
                .seek_for_prev(&internal_key(self.cf, target, 0, ValueKind::Delete)),
        }
        .and_then(|()| self.find_prev());
        self.on_error(r)
    }

    /// Positions at the last visible key.
    ///
    /// # Errors
    /// As [`seek`](Self::seek).
    pub fn seek_to_last(&mut self) -> Result<()> {
        if self.options.upper_bound.is_some() {
            let ub = self.options.upper_bound.clone().unwrap_or_default();
            return self.seek_for_prev(&ub);
        }
        self.direction = Direction::Backward;
        let r = match self.cf.checked_add(1) {
            // Just before the next column family's first possible key.
            Some(next_cf) => {
                self.inner
                    .seek_for_prev(&internal_key(next_cf, &[], MAX_SEQ, ValueKind::SEEK))
            }
            None => self.inner.seek_to_last(),
        }
        .and_then(|()| self.find_prev());
        self.on_error(r)
    }

    /// Moves to the next visible key. REQUIRES: `valid()`.
    ///
    /// # Errors
    /// As [`seek`](Self::seek).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<()> {
        if !self.valid {
            return Ok(());
        }
        let r = if self.direction == Direction::Backward {
            // The cursor is before the current key's versions: jump back onto them.
            self.direction = Direction::Forward;
            std::mem::swap(&mut self.skip, &mut self.key);
            self.inner
                .seek(&internal_key(self.cf, &self.skip, MAX_SEQ, ValueKind::SEEK))
        } else {
            self.skip.clear();
            self.skip.extend_from_slice(user_key_of(self.inner.key()));
            self.inner.next()
        }
        .and_then(|()| self.find_next(true));
        self.on_error(r)
    }

    /// Moves to the previous visible key. REQUIRES: `valid()`.
    ///
    /// # Errors
    /// As [`seek`](Self::seek).
    pub fn prev(&mut self) -> Result<()> {
        if !self.valid {
            return Ok(());
        }
        let r = if self.direction == Direction::Forward {
            // Step back past every version of the current key (the newer, invisible ones).
            self.direction = Direction::Backward;
            let current = user_key_of(self.inner.key()).to_vec();
            self.back_past(&current)
        } else {
            Ok(())
        }
        .and_then(|()| self.find_prev());
        self.on_error(r)
    }

    fn on_error(&mut self, r: Result<()>) -> Result<()> {
        if r.is_err() {
            self.valid = false;
        }
        r
    }

    fn covered(&self, user_key: &[u8], seq: SeqNo) -> bool {
        self.tombstones
            .iter()
            .any(|t| t.seq > seq && t.start.as_ref() <= user_key && user_key < t.end.as_ref())
    }

    fn past_upper(&self, user_key: &[u8]) -> bool {
        self.options
            .upper_bound
            .as_deref()
            .is_some_and(|ub| user_key >= ub)
    }

    fn before_lower(&self, user_key: &[u8]) -> bool {
        self.options
            .lower_bound
            .as_deref()
            .is_some_and(|lb| user_key < lb)
    }

    /// From the inner cursor's position forward, finds the next key to show, skipping
    /// versions of `self.skip` (a key already shown or hidden) if `skipping`.
    fn find_next(&mut self, mut skipping: bool) -> Result<()> {
        self.valid = false;
        while self.inner.valid() {
            let k = parse(self.inner.key())?;
            match k.cf.cmp(&self.cf) {
                Ordering::Greater => return Ok(()),
                Ordering::Less => {
                    self.inner.next()?;
                    continue;
                }
                Ordering::Equal => {}
            }
            if self.past_upper(k.user_key) {
                return Ok(());
            }
            let hidden = k.seq > self.read_seq
                || (skipping && self.skip.as_slice() == k.user_key)
                || k.kind == ValueKind::RangeDelete;
            if !hidden {
                if k.kind == ValueKind::Put && !self.covered(k.user_key, k.seq) {
                    self.valid = true;
                    return Ok(());
                }
                // The newest visible version is a tombstone: hide every older version too.
                self.skip.clear();
                self.skip.extend_from_slice(k.user_key);
                skipping = true;
            }
            self.inner.next()?;
        }
        Ok(())
    }

    /// Moves the inner cursor back until it is before every version of `user_key`.
    fn back_past(&mut self, user_key: &[u8]) -> Result<()> {
        while self.inner.valid() {
            let k = parse(self.inner.key())?;
            if k.cf != self.cf || k.user_key != user_key {
                return Ok(());
            }
            self.inner.prev()?;
        }
        Ok(())
    }

    /// From the inner cursor's position backward, finds the previous key to show. Leaves the
    /// inner cursor before all versions of that key.
    fn find_prev(&mut self) -> Result<()> {
        self.valid = false;
        // The newest visible version seen so far of the key being assembled (going back,
        // versions arrive oldest first, so each visible one replaces the last).
        let mut have: Option<ValueKind> = None;
        while self.inner.valid() {
            let k = parse(self.inner.key())?;
            match k.cf.cmp(&self.cf) {
                Ordering::Less => break,
                Ordering::Greater => {
                    self.inner.prev()?;
                    continue;
                }
                Ordering::Equal => {}
            }
            if self.before_lower(k.user_key) {
                break;
            }
            if self.past_upper(k.user_key)
                || k.seq > self.read_seq
                || k.kind == ValueKind::RangeDelete
            {
                self.inner.prev()?;
                continue;
            }
            if have == Some(ValueKind::Put) && k.user_key != self.key.as_slice() {
                // A complete, visible key is assembled, and the cursor is now before it.
                break;
            }
            let kind = if k.kind == ValueKind::Put && self.covered(k.user_key, k.seq) {
                ValueKind::Delete
            } else {
                k.kind
            };
            let is_put = kind == ValueKind::Put;
            self.key.clear();
            self.key.extend_from_slice(k.user_key);
            if is_put {
                self.value.clear();
                self.value.extend_from_slice(self.inner.value());
            }
            have = Some(kind);
            self.inner.prev()?;
        }
        self.valid = have == Some(ValueKind::Put);
        Ok(())
    }
}

/// The user key of an internal key (`cf`, user key, trailer) already parsed once.
fn user_key_of(internal_key: &[u8]) -> &[u8] {
    cf_user_key(internal_key).get(1..).unwrap_or_default()
}

/// Splits the inner cursor's key; a key that is no internal key means a damaged source.
fn parse(key: &[u8]) -> Result<ParsedKey<'_>> {
    ParsedKey::parse(key).ok_or_else(|| Error::Corruption {
        file: String::new(),
        offset: 0,
        reason: "malformed internal key".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iter::VecIterator;
    use bytes::Bytes;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// (cf, user key, seq, is_put)
    type Entry = (u8, Vec<u8>, u64, bool);

    fn entries() -> impl Strategy<Value = Vec<Entry>> {
        proptest::collection::vec(
            (
                0u8..3,
                proptest::collection::vec(0u8..3, 0..3),
                any::<bool>(),
            ),
            0..40,
        )
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (cf, k, put))| (cf, k, i as u64 + 1, put))
                .collect()
        })
    }

    fn visible(
        es: &[Entry],
        tombs: &[RangeTombstone],
        cf: u8,
        seq: u64,
        lb: &Option<Vec<u8>>,
        ub: &Option<Vec<u8>>,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut newest: BTreeMap<Vec<u8>, (u64, bool)> = BTreeMap::new();
        for (c, k, s, put) in es {
            if *c == cf && *s <= seq && newest.get(k).is_none_or(|(old, _)| s > old) {
                newest.insert(k.clone(), (*s, *put));
            }
        }
        newest
            .into_iter()
            .filter(|(k, (s, put))| {
                *put && !tombs.iter().any(|t| {
                    t.cf == cf
                        && t.seq <= seq
                        && t.seq > *s
                        && t.start.as_ref() <= k.as_slice()
                        && k.as_slice() < t.end.as_ref()
                })
            })
            .filter(|(k, _)| {
                lb.as_ref().is_none_or(|l| k >= l) && ub.as_ref().is_none_or(|u| k < u)
            })
            .map(|(k, (s, _))| (k, s.to_be_bytes().to_vec()))
            .collect()
    }

    proptest! {
        #[test]
        fn matches_the_visible_model_in_both_directions(
            es in entries(),
            raw_tombs in proptest::collection::vec((0u8..3, 0u8..3, 1u8..3, 1u64..45), 0..3),
            cf in 0u8..3,
            seq in 0u64..45,
            lb in proptest::option::of(proptest::collection::vec(0u8..3, 0..2)),
            ub in proptest::option::of(proptest::collection::vec(0u8..3, 0..3)),
            moves in proptest::collection::vec((0u8..6, proptest::collection::vec(0u8..3, 0..3)), 1..30),
        ) {
            let tombs: Vec<RangeTombstone> = raw_tombs.iter().map(|&(c, a, len, s)| RangeTombstone {
                cf: c,
                start: Bytes::from(vec![a]),
                end: Bytes::from(vec![a + len]),
                seq: s,
            }).collect();
            let inner: Vec<(Vec<u8>, Vec<u8>)> = es.iter().map(|(c, k, s, put)| {
                let kind = if *put { ValueKind::Put } else { ValueKind::Delete };
                (internal_key(*c, k, *s, kind), s.to_be_bytes().to_vec())
            }).collect();
            let model = visible(&es, &tombs, cf, seq, &lb, &ub);
            let opts = IterOptions { lower_bound: lb.clone(), upper_bound: ub.clone() };
            let mut it = DbIterator::new(Box::new(VecIterator::new(inner)), cf, seq, opts, tombs.clone());

            it.seek_to_first().unwrap();
            let mut fwd = Vec::new();
            while it.valid() { fwd.push((it.key().to_vec(), it.value().to_vec())); it.next().unwrap(); }
            prop_assert_eq!(&fwd, &model);
            it.seek_to_last().unwrap();
            let mut back = Vec::new();
            while it.valid() { back.push((it.key().to_vec(), it.value().to_vec())); it.prev().unwrap(); }
            back.reverse();
            prop_assert_eq!(&back, &model);

            let mut pos: Option<usize> = None;
            for (m, t) in moves {
                match m {
                    0 => { it.seek(&t).unwrap(); pos = model.iter().position(|(k, _)| *k >= t); }
                    1 => { it.seek_for_prev(&t).unwrap(); pos = model.iter().rposition(|(k, _)| *k <= t); }
                    2 => { it.seek_to_first().unwrap(); pos = (!model.is_empty()).then_some(0); }
                    3 => { it.seek_to_last().unwrap(); pos = model.len().checked_sub(1); }
                    4 => if let Some(p) = pos { it.next().unwrap(); pos = (p + 1 < model.len()).then_some(p + 1); },
                    _ => if let Some(p) = pos { it.prev().unwrap(); pos = p.checked_sub(1); },
                }
                prop_assert_eq!(it.valid(), pos.is_some());
                if let Some(p) = pos {
                    prop_assert_eq!(it.key(), model[p].0.as_slice());
                    prop_assert_eq!(it.value(), model[p].1.as_slice());
                }
            }
        }
    }
}
