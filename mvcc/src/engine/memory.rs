//! `MemEngine`: an in-memory engine of one sorted map per column family, for tests of this
//! crate and of the transaction layer.
//!
//! Concurrency: a snapshot is an `Arc` of the maps; a write replaces the maps copy-on-write
//! under a mutex (copying only when a snapshot still holds the old ones), so writes are atomic
//! and snapshots never change. Cheap enough for tests, not meant for large data.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

use super::{Cf, Cursor, IterBounds, Modify, Snapshot};
use crate::error::{Error, Result};

type Map = BTreeMap<Vec<u8>, Bytes>;

/// An in-memory engine (see the module docs). Clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct MemEngine {
    data: Arc<Mutex<Arc<[Map; Cf::COUNT]>>>,
}

impl MemEngine {
    /// An empty engine.
    pub fn new() -> MemEngine {
        MemEngine::default()
    }

    /// A snapshot of the current state.
    pub fn snapshot(&self) -> MemSnapshot {
        let data = self.data.lock().unwrap_or_else(PoisonError::into_inner);
        MemSnapshot { maps: data.clone() }
    }

    /// Applies `modifies` atomically, in order.
    ///
    /// # Errors
    /// `InvalidArgument` for a range delete with `start >= end` (as the LSM engine); nothing
    /// is applied then.
    pub fn write(&self, modifies: Vec<Modify>) -> Result<()> {
        if modifies
            .iter()
            .any(|m| matches!(m, Modify::DeleteRange { start, end, .. } if start >= end))
        {
            return Err(Error::InvalidArgument(
                "delete_range needs start < end".into(),
            ));
        }
        let mut data = self.data.lock().unwrap_or_else(PoisonError::into_inner);
        let maps = Arc::make_mut(&mut data);
        for m in modifies {
            match m {
                Modify::Put { cf, key, value } => {
                    maps[cf.index()].insert(key, Bytes::from(value));
                }
                Modify::Delete { cf, key } => {
                    maps[cf.index()].remove(&key);
                }
                Modify::DeleteRange { cf, start, end } => {
                    let map = &mut maps[cf.index()];
                    let doomed: Vec<Vec<u8>> =
                        map.range(start..end).map(|(k, _)| k.clone()).collect();
                    for k in doomed {
                        map.remove(&k);
                    }
                }
            }
        }
        Ok(())
    }
}

/// A frozen state of a [`MemEngine`].
#[derive(Debug, Clone)]
pub struct MemSnapshot {
    maps: Arc<[Map; Cf::COUNT]>,
}

impl Snapshot for MemSnapshot {
    fn get_cf(&self, cf: Cf, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(self.maps[cf.index()].get(key).cloned())
    }

    fn iter_cf(&self, cf: Cf, bounds: IterBounds) -> Result<Box<dyn Cursor + '_>> {
        Ok(Box::new(MemCursor {
            map: &self.maps[cf.index()],
            bounds,
            current: None,
        }))
    }
}

/// A cursor over one map; each step is a fresh range lookup from the current key.
#[derive(Debug)]
struct MemCursor<'a> {
    map: &'a Map,
    bounds: IterBounds,
    current: Option<(&'a [u8], &'a Bytes)>,
}

impl<'a> MemCursor<'a> {
    fn set(&mut self, entry: Option<(&'a Vec<u8>, &'a Bytes)>) -> bool {
        self.current = entry
            .map(|(k, v)| (k.as_slice(), v))
            .filter(|(k, _)| self.bounds.contains(k));
        self.current.is_some()
    }
}

impl Cursor for MemCursor<'_> {
    fn seek(&mut self, key: &[u8]) -> Result<bool> {
        let start = match &self.bounds.lower {
            Some(l) if l.as_slice() > key => l.clone(),
            _ => key.to_vec(),
        };
        let found = self
            .map
            .range::<[u8], _>((Bound::Included(start.as_slice()), Bound::Unbounded))
            .next();
        Ok(self.set(found))
    }

    fn seek_for_prev(&mut self, key: &[u8]) -> Result<bool> {
        let end = match &self.bounds.upper {
            Some(u) if u.as_slice() <= key => Bound::Excluded(u.as_slice()),
            _ => Bound::Included(key),
        };
        let found = self
            .map
            .range::<[u8], _>((Bound::Unbounded, end))
            .next_back();
        Ok(self.set(found))
    }

    fn seek_to_first(&mut self) -> Result<bool> {
        self.seek(&[])
    }

    fn seek_to_last(&mut self) -> Result<bool> {
        let found = match &self.bounds.upper {
            Some(u) => self
                .map
                .range::<[u8], _>((Bound::Unbounded, Bound::Excluded(u.as_slice())))
                .next_back(),
            None => self.map.iter().next_back(),
        };
        Ok(self.set(found))
    }

    fn next(&mut self) -> Result<bool> {
        let Some((k, _)) = self.current else {
            return Ok(false);
        };
        let found = self
            .map
            .range::<[u8], _>((Bound::Excluded(k), Bound::Unbounded))
            .next();
        Ok(self.set(found))
    }

    fn prev(&mut self) -> Result<bool> {
        let Some((k, _)) = self.current else {
            return Ok(false);
        };
        let found = self
            .map
            .range::<[u8], _>((Bound::Unbounded, Bound::Excluded(k)))
            .next_back();
        Ok(self.set(found))
    }

    fn valid(&self) -> bool {
        self.current.is_some()
    }

    fn key(&self) -> &[u8] {
        self.current.map_or(&[], |(k, _)| k)
    }

    fn value(&self) -> &[u8] {
        self.current.map_or(&[], |(_, v)| v.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(cf: Cf, k: &[u8], v: &[u8]) -> Modify {
        Modify::Put {
            cf,
            key: k.to_vec(),
            value: v.to_vec(),
        }
    }

    fn keys(c: &mut dyn Cursor, forward: bool) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut valid = if forward {
            c.seek_to_first().unwrap()
        } else {
            c.seek_to_last().unwrap()
        };
        while valid {
            out.push(c.key().to_vec());
            valid = if forward {
                c.next().unwrap()
            } else {
                c.prev().unwrap()
            };
        }
        out
    }

    #[test]
    fn snapshots_are_frozen_and_cfs_separate() {
        let e = MemEngine::new();
        e.write(vec![
            put(Cf::Default, b"a", b"1"),
            put(Cf::Lock, b"a", b"L"),
        ])
        .unwrap();
        let s1 = e.snapshot();
        e.write(vec![
            put(Cf::Default, b"a", b"2"),
            Modify::Delete {
                cf: Cf::Lock,
                key: b"a".to_vec(),
            },
        ])
        .unwrap();
        assert_eq!(s1.get_cf(Cf::Default, b"a").unwrap().unwrap(), &b"1"[..]);
        assert_eq!(s1.get_cf(Cf::Lock, b"a").unwrap().unwrap(), &b"L"[..]);
        let s2 = e.snapshot();
        assert_eq!(s2.get_cf(Cf::Default, b"a").unwrap().unwrap(), &b"2"[..]);
        assert!(s2.get_cf(Cf::Lock, b"a").unwrap().is_none());
        assert!(s2.get_cf(Cf::Write, b"a").unwrap().is_none());
        assert!(s2.get_cf(Cf::Raw, b"a").unwrap().is_none());
    }

    #[test]
    fn cursor_respects_bounds_both_ways_and_range_deletes() {
        let e = MemEngine::new();
        e.write((b'a'..=b'f').map(|c| put(Cf::Write, &[c], &[c])).collect())
            .unwrap();
        let s = e.snapshot();
        let bounds = IterBounds {
            lower: Some(b"b".to_vec()),
            upper: Some(b"e".to_vec()),
        };
        let mut c = s.iter_cf(Cf::Write, bounds).unwrap();
        assert_eq!(keys(&mut *c, true), [b"b", b"c", b"d"]);
        assert_eq!(keys(&mut *c, false), [b"d", b"c", b"b"]);
        assert!(c.seek(b"a").unwrap() && c.key() == b"b");
        assert!(!c.seek(b"e").unwrap());
        assert!(c.seek_for_prev(b"z").unwrap() && c.key() == b"d");
        assert!(!c.seek_for_prev(b"a").unwrap() && c.key().is_empty());
        e.write(vec![Modify::DeleteRange {
            cf: Cf::Write,
            start: b"b".to_vec(),
            end: b"e".to_vec(),
        }])
        .unwrap();
        let s = e.snapshot();
        let mut c = s.iter_cf(Cf::Write, IterBounds::default()).unwrap();
        assert_eq!(keys(&mut *c, true), [b"a", b"e", b"f"]);
        let bad = Modify::DeleteRange {
            cf: Cf::Write,
            start: b"x".to_vec(),
            end: b"x".to_vec(),
        };
        assert!(matches!(
            e.write(vec![put(Cf::Write, b"z", b""), bad]),
            Err(Error::InvalidArgument(_))
        ));
        assert!(
            e.snapshot().get_cf(Cf::Write, b"z").unwrap().is_none(),
            "nothing applied"
        );
    }
}
