//! Range tombstones in the memtable: listing them for flush and the engine's read path, and the
//! one query the engine needs per point lookup.
//!
//! The memtable never applies them itself: a range delete in this memtable may shadow entries
//! in older tables, and older range deletes may shadow entries here, so the engine merges them
//! across layers. Same concurrency contract as the rest of the memtable.

use std::ops::Bound;

use bytes::Bytes;

use super::entry::{KeyLike, SeekKey};
use super::MemTable;
use crate::key::{internal_key, CfId, ParsedKey, SeqNo, ValueKind, MAX_SEQ};

/// A range tombstone: every key of `cf` in `[start, end)` with a smaller sequence number is
/// deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeTombstone {
    /// Column family.
    pub cf: CfId,
    /// First deleted user key.
    pub start: Bytes,
    /// First user key after the range (exclusive end).
    pub end: Bytes,
    /// Sequence number of the delete.
    pub seq: SeqNo,
}

impl MemTable {
    /// The largest sequence number `<= read_seq` of a range tombstone in this memtable that
    /// covers `user_key` of `cf`, if any. Takes time linear in the tombstones of `cf` that
    /// start at or before `user_key` (range deletes are expected to be rare; a fragmented
    /// index can come later if they are not). Returns at once when there are none.
    pub fn max_covering_tombstone_seq(
        &self,
        cf: CfId,
        user_key: &[u8],
        read_seq: SeqNo,
    ) -> Option<SeqNo> {
        if self.tombstones.is_empty() {
            return None;
        }
        // From the first possible entry of `cf` to the last version of `user_key`.
        let first = internal_key(cf, b"", MAX_SEQ, ValueKind::SEEK);
        let last = internal_key(cf, user_key, 0, ValueKind::Delete);
        let (first, last) = (SeekKey::new(&first), SeekKey::new(&last));
        let range = (
            Bound::Included(&first as &dyn KeyLike),
            Bound::Included(&last as &dyn KeyLike),
        );
        self.tombstones
            .range::<dyn KeyLike, _>(range)
            .filter_map(|e| {
                let t = ParsedKey::parse(e.key().internal_key())?;
                (t.seq <= read_seq && user_key < e.key().value()).then_some(t.seq)
            })
            .max()
    }

    /// Every range tombstone, ordered by `(cf, start)`, then newest first (copies of the keys).
    pub fn range_tombstones(&self) -> Vec<RangeTombstone> {
        self.tombstones
            .iter()
            .filter_map(|e| {
                let key = e.key();
                let t = ParsedKey::parse(key.internal_key())?;
                Some(RangeTombstone {
                    cf: t.cf,
                    start: Bytes::copy_from_slice(t.user_key),
                    end: Bytes::copy_from_slice(key.value()),
                    seq: t.seq,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::WriteBatch;

    #[test]
    fn tombstones_are_listed_and_queried_but_not_applied_by_get() {
        let m = MemTable::new();
        assert_eq!(m.max_covering_tombstone_seq(0, b"a", 100), None);
        let mut b = WriteBatch::new();
        b.put(0, b"c", b"v");
        b.delete_range(0, b"b", b"d").unwrap(); // seq 11
        b.delete_range(1, b"a", b"z").unwrap(); // seq 12
        b.delete_range(0, b"a", b"c").unwrap(); // seq 13
        m.insert_batch(&b, 10).unwrap();
        m.insert(0, b"b", 30, ValueKind::RangeDelete, b"bb")
            .unwrap();

        let c = |s: &'static [u8]| Bytes::from_static(s);
        let t = |cf, start, end, seq| RangeTombstone {
            cf,
            start: c(start),
            end: c(end),
            seq,
        };
        assert_eq!(
            m.range_tombstones(),
            [
                t(0, b"a", b"c", 13),
                t(0, b"b", b"bb", 30),
                t(0, b"b", b"d", 11),
                t(1, b"a", b"z", 12)
            ]
        );
        assert_eq!((m.len(), m.max_seq()), (5, Some(30)));
        // get ignores tombstones: the engine combines the two answers.
        assert!(m.get(0, b"c", 100).is_some());
        let q = |cf, key: &[u8], seq| m.max_covering_tombstone_seq(cf, key, seq);
        assert_eq!(q(0, b"c", 100), Some(11));
        assert_eq!(q(0, b"c", 10), None);
        assert_eq!(q(0, b"b", 100), Some(30));
        assert_eq!(q(0, b"b", 29), Some(13));
        assert_eq!(q(0, b"b", 12), Some(11));
        assert_eq!(q(0, b"ba", 100), Some(30));
        assert_eq!(q(0, b"bb", 100), Some(13));
        assert_eq!(q(0, b"d", 100), None);
        assert_eq!(q(0, b"", 100), None);
        assert_eq!(q(1, b"y", 100), Some(12));
        assert_eq!(q(1, b"z", 100), None);
        assert_eq!(q(2, b"b", 100), None);
    }
}
