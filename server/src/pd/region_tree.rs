//! PD's region tree: which region holds which key range.
//!
//! Pure data structure (no I/O, no locking: the cluster holds it under its mutex). Region
//! boundaries are compared as raw bytes, exactly as the node reports them; an empty end key
//! means "to the end of the key space".
//!
//! Invariants:
//! 1. The ranges of the regions in the tree are pairwise disjoint.
//! 2. `by_id` maps exactly the ids of the regions in `by_start` to their start keys.
//! 3. `peers_on[s]` / `leaders_on[s]` count the peers / reported leaders of the regions on
//!    store `s` (absent = 0): the scheduler reads them per heartbeat without a scan.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use crate::proto::metapb;

/// A region as PD knows it: its metadata and the leader last reported for it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RegionEntry {
    /// The region's metadata as last reported (persisted).
    pub region: metapb::Region,
    /// The leader from the last heartbeat; `None` until one arrives (kept in memory only).
    pub leader: Option<metapb::Peer>,
}

impl RegionEntry {
    /// The leader to tell clients: the reported one, else the first peer (clients need some
    /// peer to send to; a wrong guess is corrected by the node's `NotLeader` answer).
    pub fn leader_or_first_peer(&self) -> Option<metapb::Peer> {
        self.leader.or_else(|| self.region.peers.first().copied())
    }

    fn contains(&self, key: &[u8]) -> bool {
        let r = &self.region;
        r.start_key.as_slice() <= key && (r.end_key.is_empty() || key < r.end_key.as_slice())
    }
}

/// True if `[a_start, a_end)` and `[b_start, b_end)` share a key (empty end = unbounded).
fn ranges_overlap(a_start: &[u8], a_end: &[u8], b_start: &[u8], b_end: &[u8]) -> bool {
    (a_end.is_empty() || b_start < a_end) && (b_end.is_empty() || a_start < b_end)
}

/// Regions keyed by start key, with an index by id.
#[derive(Debug, Default, Clone)]
pub(crate) struct RegionTree {
    by_start: BTreeMap<Vec<u8>, RegionEntry>,
    by_id: HashMap<u64, Vec<u8>>,
    peers_on: HashMap<u64, u64>,
    leaders_on: HashMap<u64, u64>,
}

impl RegionTree {
    /// Number of regions.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_start.len()
    }

    /// All regions in key order.
    pub fn iter(&self) -> impl Iterator<Item = &RegionEntry> {
        self.by_start.values()
    }

    /// How many regions have a peer on store `store_id`.
    pub fn region_count(&self, store_id: u64) -> u64 {
        self.peers_on.get(&store_id).copied().unwrap_or(0)
    }

    /// How many regions have their reported leader on store `store_id`.
    pub fn leader_count(&self, store_id: u64) -> u64 {
        self.leaders_on.get(&store_id).copied().unwrap_or(0)
    }

    /// Counts `entry` in (`add`) or out of the per-store tallies (invariant 3).
    fn count(&mut self, entry: &RegionEntry, add: bool) {
        fn bump(m: &mut HashMap<u64, u64>, store: u64, add: bool) {
            let n = m.entry(store).or_default();
            *n = if add { *n + 1 } else { n.saturating_sub(1) };
            if *n == 0 {
                m.remove(&store);
            }
        }
        for p in &entry.region.peers {
            bump(&mut self.peers_on, p.store_id, add);
        }
        if let Some(l) = entry.leader {
            bump(&mut self.leaders_on, l.store_id, add);
        }
    }

    /// The region with id `id`.
    pub fn get(&self, id: u64) -> Option<&RegionEntry> {
        self.by_id
            .get(&id)
            .and_then(|start| self.by_start.get(start))
    }

    /// The region whose range contains `key`.
    pub fn get_by_key(&self, key: &[u8]) -> Option<&RegionEntry> {
        let (_, entry) = self
            .by_start
            .range::<[u8], _>((Bound::Unbounded, Bound::Included(key)))
            .next_back()?;
        entry.contains(key).then_some(entry)
    }

    /// The region holding the largest keys below `key`: the one with the greatest start key
    /// strictly less than `key` (PD's `GetPrevRegion`; for a region's start key, the region
    /// before it).
    pub fn get_prev(&self, key: &[u8]) -> Option<&RegionEntry> {
        self.by_start
            .range::<[u8], _>((Bound::Unbounded, Bound::Excluded(key)))
            .next_back()
            .map(|(_, e)| e)
    }

    /// Regions in key order from the one containing `start` (or the first after it) while
    /// their start key is below `end` (empty = no end), at most `limit` of them (0 = all).
    pub fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Vec<&RegionEntry> {
        let first = match self.get_by_key(start) {
            Some(e) => e.region.start_key.clone(),
            None => start.to_vec(),
        };
        self.by_start
            .range(first..)
            .map(|(_, e)| e)
            .take_while(|e| end.is_empty() || e.region.start_key.as_slice() < end)
            .take(if limit == 0 { usize::MAX } else { limit })
            .collect()
    }

    /// Ids of the regions other than `region` itself whose ranges overlap `region`'s.
    pub fn overlaps(&self, region: &metapb::Region) -> Vec<u64> {
        let (start, end) = (&region.start_key, &region.end_key);
        // Only the region containing `start` can begin before it (invariant 1).
        let from = match self.get_by_key(start) {
            Some(e) => e.region.start_key.clone(),
            None => start.clone(),
        };
        self.by_start
            .range(from..)
            .map(|(_, e)| &e.region)
            .take_while(|r| end.is_empty() || r.start_key < *end)
            .filter(|r| ranges_overlap(start, end, &r.start_key, &r.end_key) && r.id != region.id)
            .map(|r| r.id)
            .collect()
    }

    /// Inserts `entry`, replacing the region with the same id and every region overlapping
    /// it; returns the entries removed.
    pub fn insert(&mut self, entry: RegionEntry) -> Vec<RegionEntry> {
        let mut removed = Vec::new();
        let mut ids = self.overlaps(&entry.region);
        ids.push(entry.region.id);
        for id in ids {
            if let Some(e) = self.remove(id) {
                removed.push(e);
            }
        }
        self.count(&entry, true);
        self.by_id
            .insert(entry.region.id, entry.region.start_key.clone());
        self.by_start.insert(entry.region.start_key.clone(), entry);
        removed
    }

    /// Removes the region with id `id`.
    pub fn remove(&mut self, id: u64) -> Option<RegionEntry> {
        let start = self.by_id.remove(&id)?;
        let entry = self.by_start.remove(&start)?;
        self.count(&entry, false);
        Some(entry)
    }
}

#[cfg(test)]
pub(crate) fn test_region(id: u64, start: &[u8], end: &[u8], version: u64) -> metapb::Region {
    metapb::Region {
        id,
        start_key: start.to_vec(),
        end_key: end.to_vec(),
        region_epoch: Some(metapb::RegionEpoch {
            conf_ver: 1,
            version,
        }),
        peers: vec![metapb::Peer {
            id: id * 10,
            store_id: 1,
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn entry(id: u64, start: &[u8], end: &[u8]) -> RegionEntry {
        RegionEntry {
            region: test_region(id, start, end, 1),
            leader: None,
        }
    }

    fn ids(v: Vec<&RegionEntry>) -> Vec<u64> {
        v.into_iter().map(|e| e.region.id).collect()
    }

    #[test]
    fn lookups_on_a_split_key_space() {
        let mut t = RegionTree::default();
        t.insert(entry(1, b"", b"b"));
        t.insert(entry(2, b"b", b"d"));
        t.insert(entry(3, b"d", b""));
        assert_eq!(t.get_by_key(b"").map(|e| e.region.id), Some(1));
        assert_eq!(t.get_by_key(b"b").map(|e| e.region.id), Some(2));
        assert_eq!(t.get_by_key(b"c\xff").map(|e| e.region.id), Some(2));
        assert_eq!(t.get_by_key(b"zzz").map(|e| e.region.id), Some(3));
        assert_eq!(t.get_prev(b"b").map(|e| e.region.id), Some(1));
        assert_eq!(t.get_prev(b"c").map(|e| e.region.id), Some(2));
        assert_eq!(t.get_prev(b""), None);
        assert_eq!(ids(t.scan(b"a", b"", 0)), vec![1, 2, 3]);
        assert_eq!(ids(t.scan(b"c", b"d", 0)), vec![2]);
        assert_eq!(ids(t.scan(b"c", b"", 1)), vec![2]);
        assert_eq!(
            t.get(2).map(|e| e.region.start_key.clone()),
            Some(b"b".to_vec())
        );
    }

    #[test]
    fn insert_replaces_same_id_and_overlaps() {
        let mut t = RegionTree::default();
        t.insert(entry(1, b"", b""));
        // A split: region 1 shrinks to [c, ∞), region 2 takes [, c).
        let removed = t.insert(entry(2, b"", b"c"));
        assert_eq!(removed.len(), 1);
        assert!(t.get(1).is_none());
        t.insert(entry(1, b"c", b""));
        assert_eq!(t.len(), 2);
        assert_eq!(t.get_by_key(b"d").map(|e| e.region.id), Some(1));
        // A region covering both replaces both.
        t.insert(entry(3, b"", b""));
        assert_eq!(t.len(), 1);
        assert!(t.get(1).is_none() && t.get(2).is_none());
    }

    /// The model: a plain list of (id, start, end) with the same replacement rule.
    #[derive(Default)]
    struct Model(Vec<(u64, Vec<u8>, Vec<u8>)>);

    impl Model {
        fn insert(&mut self, id: u64, s: &[u8], e: &[u8]) {
            self.0
                .retain(|(i, rs, re)| *i != id && !ranges_overlap(s, e, rs, re));
            self.0.push((id, s.to_vec(), e.to_vec()));
            self.0.sort_by(|a, b| a.1.cmp(&b.1));
        }
        fn contains(r: &(u64, Vec<u8>, Vec<u8>), k: &[u8]) -> bool {
            r.1.as_slice() <= k && (r.2.is_empty() || k < r.2.as_slice())
        }
        fn by_key(&self, k: &[u8]) -> Option<u64> {
            self.0.iter().find(|r| Self::contains(r, k)).map(|r| r.0)
        }
        fn prev(&self, k: &[u8]) -> Option<u64> {
            self.0
                .iter()
                .rev()
                .find(|r| r.1.as_slice() < k)
                .map(|r| r.0)
        }
        fn scan(&self, s: &[u8], e: &[u8], limit: usize) -> Vec<u64> {
            self.0
                .iter()
                .filter(|r| Self::contains(r, s) || r.1.as_slice() >= s)
                .take_while(|r| e.is_empty() || r.1.as_slice() < e)
                .take(if limit == 0 { usize::MAX } else { limit })
                .map(|r| r.0)
                .collect()
        }
    }

    fn key() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(0u8..4, 0..3)
    }

    fn range() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
        (key(), key()).prop_map(|(a, b)| {
            if b.is_empty() || a < b {
                (a, b)
            } else if a == b {
                (a, Vec::new())
            } else {
                (b, a)
            }
        })
    }

    proptest! {
        #[test]
        fn matches_the_model(
            inserts in proptest::collection::vec((1u64..8, range()), 1..30),
            probes in proptest::collection::vec((key(), key(), 0usize..4), 1..20),
        ) {
            let mut tree = RegionTree::default();
            let mut model = Model::default();
            for (id, (s, e)) in &inserts {
                // A second peer elsewhere, and a leader on some, for the per-store counts.
                let mut x = entry(*id, s, e);
                x.region.peers.push(metapb::Peer { id: id * 10 + 1, store_id: 2 + id % 2, ..Default::default() });
                x.leader = (id % 3 != 0).then(|| x.region.peers[usize::from(id % 3 == 2)]);
                tree.insert(x);
                model.insert(*id, s, e);
                prop_assert_eq!(tree.len(), model.0.len());
                prop_assert_eq!(tree.by_id.len(), tree.by_start.len());
                for store in 1..4 {
                    let peers = tree.iter().filter(|x| x.region.peers.iter().any(|p| p.store_id == store)).count();
                    let leaders = tree.iter().filter(|x| x.leader.is_some_and(|l| l.store_id == store)).count();
                    prop_assert_eq!(tree.region_count(store), peers as u64);
                    prop_assert_eq!(tree.leader_count(store), leaders as u64);
                }
            }
            for (k, end, limit) in &probes {
                prop_assert_eq!(tree.get_by_key(k).map(|e| e.region.id), model.by_key(k));
                prop_assert_eq!(tree.get_prev(k).map(|e| e.region.id), model.prev(k));
                prop_assert_eq!(ids(tree.scan(k, end, *limit)), model.scan(k, end, *limit));
            }
            for (id, s, _) in &model.0 {
                prop_assert_eq!(tree.get(*id).map(|e| e.region.start_key.clone()), Some(s.clone()));
            }
        }
    }
}
