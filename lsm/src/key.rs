//! Internal keys: how the engine stores a user key with its column family, sequence number
//! and kind, and the order tables and memtables keep them in.
//!
//! Layout (FORMAT.md, "Internal keys"):
//! ```text
//! +--------+----------------+------------------------------------------+
//! | cf: u8 | user key bytes | trailer: u64 big-endian = seq << 8 | kind |
//! +--------+----------------+------------------------------------------+
//! ```
//! Order: by `(cf, user key)` bytewise ascending, then by trailer **descending**, so the newest
//! version of a key comes first and a seek to `(key, seq)` lands on the newest version visible
//! at `seq`. This is not bytewise order of the encoding (a user key that is a prefix of
//! another would interleave their versions), hence [`InternalKeyComparator`].

use std::cmp::Ordering;

use sstable::{Bytewise, Comparator, KeyExtractor};

/// A sequence number: every write batch takes the next ones; snapshots name one.
pub type SeqNo = u64;

/// Sequence numbers are 56 bits (the trailer's low byte holds the kind).
pub const MAX_SEQ: SeqNo = (1 << 56) - 1;

/// Bytes of the trailer at the end of every internal key.
pub const TRAILER_LEN: usize = 8;

/// A column family's id, the first byte of every internal key.
pub type CfId = u8;

/// What an entry is. On-disk values: DO NOT CHANGE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum ValueKind {
    /// A point tombstone: the key is deleted as of this sequence number.
    Delete = 0,
    /// A value.
    Put = 1,
    /// A range tombstone: the value holds the exclusive end user key.
    RangeDelete = 2,
}

impl ValueKind {
    /// The kind with the largest tag: a seek key built with it sorts before every entry of the
    /// same user key and sequence number.
    pub const SEEK: ValueKind = ValueKind::RangeDelete;

    /// Decodes a kind byte from disk.
    pub fn from_u8(v: u8) -> Option<ValueKind> {
        match v {
            0 => Some(ValueKind::Delete),
            1 => Some(ValueKind::Put),
            2 => Some(ValueKind::RangeDelete),
            _ => None,
        }
    }
}

/// Packs a sequence number and kind into a trailer. REQUIRES: `seq <= MAX_SEQ`.
#[inline]
pub fn pack_trailer(seq: SeqNo, kind: ValueKind) -> u64 {
    debug_assert!(seq <= MAX_SEQ);
    (seq << 8) | kind as u64
}

/// Appends the internal key for `(cf, user_key, seq, kind)` to `buf` (a `Vec<u8>`, or the
/// memtable's arena).
pub fn encode_internal_key(
    buf: &mut impl bytes::BufMut,
    cf: CfId,
    user_key: &[u8],
    seq: SeqNo,
    kind: ValueKind,
) {
    buf.put_u8(cf);
    buf.put_slice(user_key);
    buf.put_u64(pack_trailer(seq, kind));
}

/// The internal key for `(cf, user_key, seq, kind)`.
pub fn internal_key(cf: CfId, user_key: &[u8], seq: SeqNo, kind: ValueKind) -> Vec<u8> {
    let mut buf = Vec::new();
    encode_internal_key(&mut buf, cf, user_key, seq, kind);
    buf
}

/// An internal key built for one lookup: on the stack up to 128 bytes, so a point read of an
/// ordinary key allocates nothing for it.
pub(crate) type LookupKey = smallvec::SmallVec<[u8; 128]>;

/// The internal key for `(cf, user_key, seq, kind)` as a [`LookupKey`].
pub(crate) fn lookup_key(cf: CfId, user_key: &[u8], seq: SeqNo, kind: ValueKind) -> LookupKey {
    // Sized exactly, then filled by the one encoder of the layout.
    let mut key = LookupKey::from_elem(0, 1 + user_key.len() + TRAILER_LEN);
    encode_internal_key(&mut &mut key[..], cf, user_key, seq, kind);
    key
}

/// An internal key split into its parts, borrowing the user key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedKey<'a> {
    /// Column family.
    pub cf: CfId,
    /// The user's key.
    pub user_key: &'a [u8],
    /// Sequence number of the write.
    pub seq: SeqNo,
    /// Kind of entry.
    pub kind: ValueKind,
}

impl<'a> ParsedKey<'a> {
    /// Splits an internal key; `None` if it is too short or its kind byte is unknown.
    pub fn parse(key: &'a [u8]) -> Option<ParsedKey<'a>> {
        let split = key.len().checked_sub(TRAILER_LEN)?;
        let (prefix, trailer) = key.split_at(split);
        let (&cf, user_key) = prefix.split_first()?;
        let trailer = u64::from_be_bytes(trailer.try_into().ok()?);
        Some(ParsedKey {
            cf,
            user_key,
            seq: trailer >> 8,
            kind: ValueKind::from_u8(trailer as u8)?,
        })
    }
}

/// The `cf + user key` part of an internal key (everything but the trailer).
#[inline]
pub fn cf_user_key(key: &[u8]) -> &[u8] {
    &key[..key.len().saturating_sub(TRAILER_LEN)]
}

#[inline]
fn trailer_of(key: &[u8]) -> u64 {
    let start = key.len().saturating_sub(TRAILER_LEN);
    let mut bytes = [0u8; TRAILER_LEN];
    let tail = &key[start..];
    bytes[TRAILER_LEN - tail.len()..].copy_from_slice(tail);
    u64::from_be_bytes(bytes)
}

/// Orders internal keys: `(cf, user key)` ascending, then trailer descending.
///
/// Total even over malformed keys (shorter than a trailer): those compare by their bytes with
/// a zero trailer, so a damaged table can never make the comparator panic.
#[derive(Debug, Default, Clone, Copy)]
pub struct InternalKeyComparator;

impl InternalKeyComparator {
    /// The comparator's name as recorded in every table the engine writes.
    pub const NAME: &'static str = "strata.internal-key.v1";
}

impl Comparator for InternalKeyComparator {
    fn name(&self) -> &str {
        Self::NAME
    }

    #[inline]
    fn compare(&self, a: &[u8], b: &[u8]) -> Ordering {
        cf_user_key(a)
            .cmp(cf_user_key(b))
            .then_with(|| trailer_of(b).cmp(&trailer_of(a)))
    }

    fn separator(&self, start: &[u8], limit: &[u8], out: &mut Vec<u8>) {
        let (su, lu) = (cf_user_key(start), cf_user_key(limit));
        let mut short = Vec::new();
        Bytewise.separator(su, lu, &mut short);
        out.clear();
        if short.len() < su.len() && su < short.as_slice() && short.as_slice() < lu {
            // A shorter user key strictly between the two: give it the largest trailer so it
            // sorts before every real entry of that user key.
            out.extend_from_slice(&short);
            out.extend_from_slice(&pack_trailer(MAX_SEQ, ValueKind::SEEK).to_be_bytes());
        } else {
            out.extend_from_slice(start);
        }
    }

    fn successor(&self, key: &[u8], out: &mut Vec<u8>) {
        let user = cf_user_key(key);
        let mut short = Vec::new();
        Bytewise.successor(user, &mut short);
        out.clear();
        if short.len() < user.len() && user < short.as_slice() {
            out.extend_from_slice(&short);
            out.extend_from_slice(&pack_trailer(MAX_SEQ, ValueKind::SEEK).to_be_bytes());
        } else {
            out.extend_from_slice(key);
        }
    }
}

/// Bloom filters hold `cf + user key`, so a lookup of any version hits the same filter bits.
#[derive(Debug, Default, Clone, Copy)]
pub struct CfUserKeyExtractor;

impl CfUserKeyExtractor {
    /// The extractor's name as recorded in every table the engine writes.
    pub const NAME: &'static str = "strata.cf-user-key.v1";
}

impl KeyExtractor for CfUserKeyExtractor {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn extract<'a>(&self, key: &'a [u8]) -> &'a [u8] {
        cf_user_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lookup_keys_are_internal_keys_on_the_stack_or_not() {
        for len in [0, 10, 119, 200] {
            let user = vec![0xab; len];
            let key = lookup_key(3, &user, 77, ValueKind::SEEK);
            assert_eq!(&key[..], &internal_key(3, &user, 77, ValueKind::SEEK)[..]);
            assert_eq!(key.spilled(), len + 1 + TRAILER_LEN > 128, "{len}");
        }
    }

    #[test]
    fn newer_versions_sort_first_and_prefixes_do_not_interleave() {
        let c = InternalKeyComparator;
        let a5 = internal_key(0, b"a", 5, ValueKind::Put);
        let a9 = internal_key(0, b"a", 9, ValueKind::Delete);
        let ab1 = internal_key(0, b"ab", 1, ValueKind::Put);
        let b_cf1 = internal_key(1, b"", 1, ValueKind::Put);
        assert_eq!(c.compare(&a9, &a5), Ordering::Less);
        assert_eq!(c.compare(&a5, &ab1), Ordering::Less);
        assert_eq!(c.compare(&a9, &ab1), Ordering::Less);
        assert_eq!(c.compare(&ab1, &b_cf1), Ordering::Less);
        let seek = internal_key(0, b"a", 5, ValueKind::SEEK);
        assert_eq!(c.compare(&seek, &a5), Ordering::Less);
        assert_eq!(c.compare(&a9, &seek), Ordering::Less);
    }

    #[test]
    fn parse_roundtrip_and_rejects_garbage() {
        let k = internal_key(3, b"user", MAX_SEQ, ValueKind::RangeDelete);
        let p = ParsedKey::parse(&k).unwrap();
        assert_eq!(
            (p.cf, p.user_key, p.seq, p.kind),
            (3, &b"user"[..], MAX_SEQ, ValueKind::RangeDelete)
        );
        assert!(ParsedKey::parse(&k[..8]).is_none());
        let mut bad = k.clone();
        *bad.last_mut().unwrap() = 9;
        assert!(ParsedKey::parse(&bad).is_none());
    }

    fn ikey() -> impl Strategy<Value = Vec<u8>> {
        (
            0u8..3,
            proptest::collection::vec(0u8..3, 0..4),
            0u64..4,
            0u8..3,
        )
            .prop_map(|(cf, k, seq, kind)| {
                internal_key(cf, &k, seq, ValueKind::from_u8(kind).unwrap())
            })
    }

    proptest! {
        #[test]
        fn order_matches_tuple_order(a in ikey(), b in ikey()) {
            let (pa, pb) = (ParsedKey::parse(&a).unwrap(), ParsedKey::parse(&b).unwrap());
            let expected = (pa.cf, pa.user_key).cmp(&(pb.cf, pb.user_key))
                .then((pb.seq, pb.kind).cmp(&(pa.seq, pa.kind)));
            prop_assert_eq!(InternalKeyComparator.compare(&a, &b), expected);
        }

        #[test]
        fn separators_and_successors_stay_in_range(a in ikey(), b in ikey()) {
            let c = InternalKeyComparator;
            let (lo, hi) = if c.compare(&a, &b) == Ordering::Less { (a, b) } else { (b, a) };
            prop_assume!(c.compare(&lo, &hi) == Ordering::Less);
            let mut s = Vec::new();
            c.separator(&lo, &hi, &mut s);
            prop_assert!(c.compare(&lo, &s) != Ordering::Greater);
            prop_assert!(c.compare(&s, &hi) == Ordering::Less);
            c.successor(&lo, &mut s);
            prop_assert!(c.compare(&lo, &s) != Ordering::Greater);
        }
    }
}
