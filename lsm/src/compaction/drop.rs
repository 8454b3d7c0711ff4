//! What a compaction keeps: a pure, entry-by-entry decision over the merged input.
//!
//! Snapshots split sequence numbers into *stripes*: stripe `i` holds the sequence numbers
//! visible to snapshot `i` but not to snapshot `i - 1` (snapshots sorted ascending; the last
//! stripe is everything newer than the newest snapshot, seen by the latest state). Within one
//! user key (entries arrive newest first), a version is needed only if no newer version of the
//! key lies in the same stripe: every reader that could see it sees that newer one instead.
//! Consequences:
//! 1. Older versions are dropped only when no snapshot needs them.
//! 2. A point tombstone is dropped only in the oldest stripe and only at the bottom of the tree
//!    (nothing older below could reappear).
//! 3. The compaction filter sees only values in the newest stripe — read by the latest state
//!    and by no snapshot. A value it removes becomes a tombstone (hiding older versions that
//!    snapshots keep, or that lie below), and is dropped outright only at the bottom with no
//!    snapshot at all.
//! 4. A value covered by a range tombstone of the same stripe is dropped; range tombstones
//!    themselves are dropped only at the bottom, in the oldest stripe.

use std::fmt::Debug;

use super::filter_factory::StatefulFilter;
use crate::key::{cf_user_key, CfId, ParsedKey, SeqNo, ValueKind};
use crate::memtable::RangeTombstone;

/// The compaction filter's answer for one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterDecision {
    /// Keep the value.
    Keep,
    /// Remove the value (and, with it, every older version of the key).
    Remove,
}

/// A hook called during compaction for values no snapshot protects (MVCC GC, TTL expiry).
pub trait CompactionFilter: Send + Sync + Debug {
    /// A name for logs and stats.
    fn name(&self) -> &str;

    /// Decides whether `value`, the newest version of `user_key`, stays. Only values that no
    /// snapshot can read are offered. `bottommost` says whether older data for the key may
    /// exist below this output.
    fn filter(&self, cf: CfId, user_key: &[u8], value: &[u8], bottommost: bool) -> FilterDecision;
}

/// What to do with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Write it out unchanged.
    Keep,
    /// Leave it out.
    Drop,
    /// Write a point tombstone at the same key and sequence instead (filter removal above
    /// the bottom: older versions below must stay hidden).
    Tombstone,
    /// Write it out with sequence number 0 (as RocksDB does at the bottom): a put every
    /// snapshot sees, with no older data below it and no range tombstone of the compaction
    /// over it, needs no sequence number to be read right, and zeroed trailers compress to
    /// almost nothing (random ones cost ~7 bytes per entry after compression).
    KeepAtSeqZero,
}

/// The per-compaction state of the drop rules.
#[derive(Debug)]
pub struct DropPolicy<'a> {
    /// Live snapshots' sequence numbers, ascending.
    snapshots: &'a [SeqNo],
    bottommost: bool,
    filter: Option<&'a dyn CompactionFilter>,
    /// The run's stateful filter (`filter_factory`), asked after `filter` kept a value.
    stateful: Option<Box<dyn StatefulFilter>>,
    tombstones: &'a [RangeTombstone],
    current: Vec<u8>,
    /// Stripe of the newest kept version of `current`.
    last_stripe: Option<usize>,
}

impl<'a> DropPolicy<'a> {
    /// Rules for a compaction with these snapshots (ascending), whose output has no older data
    /// below it when `bottommost`, and these input range tombstones.
    pub fn new(
        snapshots: &'a [SeqNo],
        bottommost: bool,
        filter: Option<&'a dyn CompactionFilter>,
        tombstones: &'a [RangeTombstone],
    ) -> Self {
        DropPolicy {
            snapshots,
            bottommost,
            filter,
            stateful: None,
            tombstones,
            current: Vec::new(),
            last_stripe: None,
        }
    }

    /// These rules with a stateful filter for the run, offered values in key order after
    /// the stateless filter kept them (see `filter_factory`).
    #[must_use]
    pub fn with_stateful_filter(mut self, filter: Option<Box<dyn StatefulFilter>>) -> Self {
        self.stateful = filter;
        self
    }

    fn filter_removes(&mut self, cf: CfId, user_key: &[u8], value: &[u8]) -> bool {
        if let Some(f) = self.filter {
            if f.filter(cf, user_key, value, self.bottommost) == FilterDecision::Remove {
                return true;
            }
        }
        match self.stateful.as_mut() {
            Some(f) => f.filter(cf, user_key, value, self.bottommost) == FilterDecision::Remove,
            None => false,
        }
    }

    fn stripe(&self, seq: SeqNo) -> usize {
        self.snapshots.partition_point(|s| *s < seq)
    }

    /// Decides for the next entry of the merged input (internal keys in order).
    /// A malformed key is kept (the writer reports it).
    pub fn decide(&mut self, key: &[u8], value: &[u8]) -> Decision {
        let Some(k) = ParsedKey::parse(key) else {
            return Decision::Keep;
        };
        let user = cf_user_key(key);
        if user != self.current.as_slice() {
            user.clone_into(&mut self.current);
            self.last_stripe = None;
        }
        let stripe = self.stripe(k.seq);
        if self.last_stripe == Some(stripe) {
            return Decision::Drop;
        }
        self.last_stripe = Some(stripe);
        let oldest_stripe = stripe == 0;
        let newest_stripe = stripe == self.snapshots.len();
        let covered = self.tombstones.iter().any(|t| {
            t.cf == k.cf
                && t.seq > k.seq
                && self.stripe(t.seq) == stripe
                && t.start.as_ref() <= k.user_key
                && k.user_key < t.end.as_ref()
        });
        match k.kind {
            ValueKind::Put if covered => Decision::Drop,
            ValueKind::Put if newest_stripe => {
                if !self.filter_removes(k.cf, k.user_key, value) {
                    self.keep_put(&k, oldest_stripe)
                } else if self.bottommost && self.snapshots.is_empty() {
                    Decision::Drop
                } else {
                    Decision::Tombstone
                }
            }
            ValueKind::Put => self.keep_put(&k, oldest_stripe),
            ValueKind::Delete if self.bottommost && oldest_stripe => Decision::Drop,
            ValueKind::Delete if covered => Decision::Drop,
            ValueKind::Delete | ValueKind::RangeDelete => Decision::Keep,
        }
    }

    /// How a put that stays is written: at sequence number 0 when nothing can tell the
    /// difference. Every reader sees it (`oldest_stripe`: at or below every snapshot), nothing
    /// older lies below (`bottommost`), and no range tombstone of this compaction covers the
    /// key, so none carried into the output can be compared against the lost number. Tombstones
    /// outside this compaction sit in newer sources, so they are newer than the key anyway.
    fn keep_put(&self, k: &ParsedKey<'_>, oldest_stripe: bool) -> Decision {
        let zero = self.bottommost
            && oldest_stripe
            && k.seq != 0
            && !self.tombstones.iter().any(|t| {
                t.cf == k.cf && t.start.as_ref() <= k.user_key && k.user_key < t.end.as_ref()
            });
        if zero {
            Decision::KeepAtSeqZero
        } else {
            Decision::Keep
        }
    }

    /// Whether a range tombstone must be carried into the output.
    pub fn keep_range_tombstone(&self, t: &RangeTombstone) -> bool {
        !(self.bottommost && self.stripe(t.seq) == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::internal_key;
    use bytes::Bytes;

    fn run(
        entries: &[(&str, u64, ValueKind)],
        snapshots: &[SeqNo],
        bottommost: bool,
        filter: Option<&dyn CompactionFilter>,
        tombs: &[RangeTombstone],
    ) -> Vec<(String, u64, Decision)> {
        let mut p = DropPolicy::new(snapshots, bottommost, filter, tombs);
        entries
            .iter()
            .map(|(k, s, kind)| {
                let d = p.decide(&internal_key(0, k.as_bytes(), *s, *kind), b"v");
                (k.to_string(), *s, d)
            })
            .collect()
    }

    use Decision::{Drop, Keep, KeepAtSeqZero, Tombstone};
    use ValueKind::{Delete, Put};

    #[test]
    fn without_snapshots_only_the_newest_version_survives() {
        let out = run(
            &[
                ("a", 9, Put),
                ("a", 5, Put),
                ("a", 2, Delete),
                ("b", 4, Put),
            ],
            &[],
            false,
            None,
            &[],
        );
        let d: Vec<Decision> = out.iter().map(|o| o.2).collect();
        assert_eq!(d, vec![Keep, Drop, Drop, Keep]);
    }

    #[test]
    fn snapshots_keep_the_versions_they_see() {
        // Snapshot at 6 sees version 5; the latest state sees 9; version 2 is hidden by 5.
        let out = run(
            &[("a", 9, Put), ("a", 5, Put), ("a", 2, Put)],
            &[6],
            false,
            None,
            &[],
        );
        let d: Vec<Decision> = out.iter().map(|o| o.2).collect();
        assert_eq!(d, vec![Keep, Keep, Drop]);
    }

    #[test]
    fn tombstones_go_only_at_the_bottom_in_the_oldest_stripe() {
        let entries = [("a", 5, Delete), ("a", 3, Put)];
        let above: Vec<Decision> = run(&entries, &[], false, None, &[])
            .iter()
            .map(|o| o.2)
            .collect();
        assert_eq!(above, vec![Keep, Drop]);
        let bottom: Vec<Decision> = run(&entries, &[], true, None, &[])
            .iter()
            .map(|o| o.2)
            .collect();
        assert_eq!(bottom, vec![Drop, Drop]);
        // A snapshot older than the tombstone still needs the value under it.
        let snap: Vec<Decision> = run(&entries, &[4], true, None, &[])
            .iter()
            .map(|o| o.2)
            .collect();
        assert_eq!(snap, vec![Keep, KeepAtSeqZero]);
    }

    #[test]
    fn puts_every_reader_sees_go_to_the_bottom_at_sequence_zero() {
        let entries = [("a", 9, Put), ("b", 5, Put), ("c", 0, Put)];
        let d =
            |snapshots: &[SeqNo], bottommost: bool, tombs: &[RangeTombstone]| -> Vec<Decision> {
                run(&entries, snapshots, bottommost, None, tombs)
                    .iter()
                    .map(|o| o.2)
                    .collect()
            };
        // Already zero: kept as is.
        assert_eq!(d(&[], true, &[]), vec![KeepAtSeqZero, KeepAtSeqZero, Keep]);
        assert_eq!(
            d(&[], false, &[]),
            vec![Keep, Keep, Keep],
            "not at the bottom"
        );
        // A snapshot at 6 cannot see a@9: its number must stay.
        assert_eq!(d(&[6], true, &[]), vec![Keep, KeepAtSeqZero, Keep]);
        // A range tombstone over b (older than b, so it does not delete it) is compared
        // against b's number by readers: keep it.
        let t = RangeTombstone {
            cf: 0,
            start: Bytes::from_static(b"b"),
            end: Bytes::from_static(b"c"),
            seq: 3,
        };
        assert_eq!(d(&[], true, &[t]), vec![KeepAtSeqZero, Keep, Keep]);
    }

    #[test]
    fn range_tombstones_cover_older_values_of_their_stripe() {
        let t = RangeTombstone {
            cf: 0,
            start: Bytes::from_static(b"a"),
            end: Bytes::from_static(b"c"),
            seq: 7,
        };
        let out = run(
            &[("a", 5, Put), ("b", 8, Put), ("c", 1, Put)],
            &[],
            false,
            None,
            std::slice::from_ref(&t),
        );
        let d: Vec<Decision> = out.iter().map(|o| o.2).collect();
        assert_eq!(d, vec![Drop, Keep, Keep]);
        let protected = run(
            &[("a", 5, Put)],
            &[6],
            false,
            None,
            std::slice::from_ref(&t),
        );
        assert_eq!(protected[0].2, Keep, "a snapshot at 6 still sees a@5");
        let p = DropPolicy::new(&[], true, None, &[]);
        assert!(!p.keep_range_tombstone(&t));
        let p = DropPolicy::new(&[6], true, None, &[]);
        assert!(p.keep_range_tombstone(&t));
    }

    #[derive(Debug)]
    struct DropOdd;
    impl CompactionFilter for DropOdd {
        fn name(&self) -> &str {
            "drop-odd"
        }
        fn filter(&self, _: CfId, key: &[u8], _: &[u8], _: bool) -> FilterDecision {
            if key.last().is_some_and(|b| b % 2 == 1) {
                FilterDecision::Remove
            } else {
                FilterDecision::Keep
            }
        }
    }

    #[test]
    fn the_filter_sees_only_unprotected_values() {
        let entries = [("a", 5, Put), ("b", 6, Put), ("c", 7, Put)];
        let above: Vec<Decision> = run(&entries, &[], false, Some(&DropOdd), &[])
            .iter()
            .map(|o| o.2)
            .collect();
        assert_eq!(above, vec![Tombstone, Keep, Tombstone]);
        let bottom: Vec<Decision> = run(&entries, &[], true, Some(&DropOdd), &[])
            .iter()
            .map(|o| o.2)
            .collect();
        assert_eq!(bottom, vec![Drop, KeepAtSeqZero, Drop]);
        // a@5 and b@6 are read by the snapshot at 6: not offered. c@7 is read only by the
        // latest state: removed, as a tombstone since the snapshot keeps older data visible.
        // (a and b, seen by every reader at the bottom, lose their sequence numbers.)
        let snap: Vec<Decision> = run(&entries, &[6], true, Some(&DropOdd), &[])
            .iter()
            .map(|o| o.2)
            .collect();
        assert_eq!(snap, vec![KeepAtSeqZero, KeepAtSeqZero, Tombstone]);
    }

    /// Keeps the first offered key of each group (the text before '@'), removes the rest.
    #[derive(Debug, Default)]
    struct FirstOfGroup {
        group: Vec<u8>,
        seen: Vec<Vec<u8>>,
    }
    impl StatefulFilter for FirstOfGroup {
        fn filter(&mut self, _: CfId, key: &[u8], _: &[u8], _: bool) -> FilterDecision {
            self.seen.push(key.to_vec());
            let group = key.split(|b| *b == b'@').next().unwrap_or_default();
            if group == self.group.as_slice() {
                FilterDecision::Remove
            } else {
                self.group = group.to_vec();
                FilterDecision::Keep
            }
        }
    }

    #[test]
    fn a_stateful_filter_sees_offers_in_key_order_after_the_stateless_one() {
        let entries = [
            ("a@6", 9, Put),
            ("a@4", 8, Put),
            ("a@3", 7, Put), // removed by DropOdd
            ("b@5", 6, Put), // removed by DropOdd: never offered to the stateful filter
            ("b@4", 5, Put),
            ("c@1", 4, Delete), // tombstones are not offered
        ];
        let mut p = DropPolicy::new(&[], true, Some(&DropOdd), &[])
            .with_stateful_filter(Some(Box::new(FirstOfGroup::default())));
        let got: Vec<Decision> = entries
            .iter()
            .map(|(k, s, kind)| p.decide(&internal_key(0, k.as_bytes(), *s, *kind), b"v"))
            .collect();
        // The stateful filter keeps the first of each group it is offered (a@6, b@4) and
        // removes a@4; it never sees what DropOdd removed. (At the bottom with no snapshot,
        // what stays loses its sequence number.)
        assert_eq!(
            got,
            vec![KeepAtSeqZero, Drop, Drop, Drop, KeepAtSeqZero, Drop]
        );
        let seen = format!("{:?}", p.stateful);
        assert!(
            seen.contains("seen: [[97, 64, 54], [97, 64, 52], [98, 64, 52]]"),
            "{seen}"
        );
        // Above the bottom, removal becomes a tombstone, as for the stateless filter.
        let mut p = DropPolicy::new(&[], false, None, &[])
            .with_stateful_filter(Some(Box::new(FirstOfGroup::default())));
        let got: Vec<Decision> = [("a@2", 2), ("a@1", 1)]
            .iter()
            .map(|(k, s)| p.decide(&internal_key(0, k.as_bytes(), *s, Put), b"v"))
            .collect();
        assert_eq!(got, vec![Keep, Tombstone]);
    }
}
