//! The skiplist's key type: an internal key and its value in one `Bytes`, behind an inline
//! 16-byte prefix that settles most comparisons without touching the key bytes.
//!
//! Random inserts into a skiplist are bound by memory latency: every comparison on the search
//! path would otherwise follow the node's `Bytes` pointer to another cache line. Comparing the
//! prefix stored in the node first means only nodes sharing the first 16 bytes of `cf + user
//! key` with the target are dereferenced. Sixteen, not eight: db_bench's keys (an 8-byte
//! big-endian number, padded) and TiKV's (`z`, a table or region prefix, then the row) share
//! their first bytes widely, and with eight the last levels of every search compared keys
//! through the pointer.
//!
//! # Why the prefix order agrees with the key order
//! `prefix(k)` is the first 16 bytes of `cf + user key` zero-padded to 16, read as two
//! big-endian `u64`s compared in order, so `prefix(a) < prefix(b)` iff `pad(a) < pad(b)`
//! bytewise. Claim: `a < b` (bytewise,
//! on `cf + user key`) implies `prefix(a) <= prefix(b)`; equivalently `prefix(a) < prefix(b)`
//! implies `a < b`. Let `i < 16` be the first byte where the padded arrays differ, so
//! `pad(a)[i] < pad(b)[i]`. Then `pad(b)[i] > 0`, so `b` has a real byte at `i`. If `a` has one
//! too, `a[..i] == b[..i]` and `a[i] < b[i]`, so `a < b`. If not, `a` ends at `i`, so `a` is a
//! proper prefix of `b` and again `a < b`. The converse fails (`"a"` and `"a\0"` pad alike),
//! which is why equal prefixes fall through to the full comparison. The internal key order is
//! `(cf + user key)` first, trailer second, so it inherits the property: comparing prefixes
//! first, then [`InternalKeyComparator`] on ties, is exactly [`InternalKeyComparator`] order.

use std::borrow::Borrow;
use std::cmp::Ordering;

use bytes::Bytes;
use sstable::Comparator;

use crate::key::{
    cf_user_key, internal_key, pack_trailer, CfId, InternalKeyComparator, SeqNo, ValueKind,
    TRAILER_LEN,
};

/// The first 16 bytes of `cf + user key`, zero-padded, as two big-endian words. Two `u64`s
/// rather than a `u128` keep the node 8-byte aligned (a `u128` would pad it to 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Prefix(u64, u64);

/// The [`Prefix`] of an internal key.
#[inline]
pub(crate) fn prefix_of(internal_key: &[u8]) -> Prefix {
    let mut buf = [0u8; 16];
    let head = cf_user_key(internal_key);
    let n = head.len().min(16);
    buf[..n].copy_from_slice(&head[..n]);
    let (hi, lo) = buf.split_at(8);
    let word = |b: &[u8]| u64::from_be_bytes(b.try_into().unwrap_or_default());
    Prefix(word(hi), word(lo))
}

#[inline]
fn compare(a_prefix: Prefix, a: &[u8], b_prefix: Prefix, b: &[u8]) -> Ordering {
    a_prefix
        .cmp(&b_prefix)
        .then_with(|| InternalKeyComparator.compare(a, b))
}

/// A memtable entry as stored in the skiplist.
///
/// Invariants: `key_len <= kv.len()`; `kv[..key_len]` is a well-formed internal key and
/// `prefix == prefix_of(kv[..key_len])`. `kv` is usually a slice of the one buffer that holds
/// a whole batch; cloning is a reference-count increment.
#[derive(Debug, Clone)]
pub(crate) struct MemKey {
    prefix: Prefix,
    /// The internal key, then the value (a put's value, a range delete's end key).
    kv: Bytes,
    key_len: usize,
}

impl MemKey {
    /// REQUIRES: `key_len <= kv.len()` and `kv[..key_len]` is an internal key.
    pub(crate) fn new(kv: Bytes, key_len: usize) -> Self {
        let key_len = key_len.min(kv.len());
        MemKey {
            prefix: prefix_of(kv.get(..key_len).unwrap_or_default()),
            kv,
            key_len,
        }
    }

    pub(crate) fn internal_key(&self) -> &[u8] {
        self.kv.get(..self.key_len).unwrap_or_default()
    }

    pub(crate) fn value(&self) -> &[u8] {
        self.kv.get(self.key_len..).unwrap_or_default()
    }

    /// The value as a zero-copy slice of the batch buffer.
    pub(crate) fn value_bytes(&self) -> Bytes {
        self.kv.slice(self.key_len..)
    }

    /// The user key as a zero-copy slice of the batch buffer.
    pub(crate) fn user_key_bytes(&self) -> Bytes {
        let end = self.key_len.saturating_sub(TRAILER_LEN);
        self.kv.slice(end.min(1)..end)
    }

    /// Bytes of key and value.
    pub(crate) fn size(&self) -> usize {
        self.kv.len()
    }
}

impl PartialEq for MemKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MemKey {}

impl PartialOrd for MemKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MemKey {
    /// Inserts compare stored keys with each other through this, with no dynamic dispatch.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        compare(
            self.prefix,
            self.internal_key(),
            other.prefix,
            other.internal_key(),
        )
    }
}

/// Anything that orders like a [`MemKey`]. Lookups go through `&dyn KeyLike`, because
/// crossbeam-skiplist 0.1 looks up `Q` with `K: Borrow<Q>`: a `MemKey` can lend itself as a
/// `dyn KeyLike`, and so can a [`SeekKey`] borrowing a caller's bytes, so a seek needs no
/// allocation (one virtual call per side per comparison is the price).
pub(crate) trait KeyLike {
    /// The prefix and the full internal key.
    fn parts(&self) -> (Prefix, &[u8]);
}

impl KeyLike for MemKey {
    #[inline]
    fn parts(&self) -> (Prefix, &[u8]) {
        (self.prefix, self.internal_key())
    }
}

impl<'a> Borrow<dyn KeyLike + 'a> for MemKey {
    fn borrow(&self) -> &(dyn KeyLike + 'a) {
        self
    }
}

impl PartialEq for dyn KeyLike + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for dyn KeyLike + '_ {}

impl PartialOrd for dyn KeyLike + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn KeyLike + '_ {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        let ((pa, a), (pb, b)) = (self.parts(), other.parts());
        compare(pa, a, pb, b)
    }
}

/// A lookup target borrowing an internal key (which may be malformed: the comparator and
/// `prefix_of` agree on how to order those too).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeekKey<'a> {
    prefix: Prefix,
    key: &'a [u8],
}

impl<'a> SeekKey<'a> {
    pub(crate) fn new(key: &'a [u8]) -> Self {
        SeekKey {
            prefix: prefix_of(key),
            key,
        }
    }
}

impl KeyLike for SeekKey<'_> {
    #[inline]
    fn parts(&self) -> (Prefix, &[u8]) {
        (self.prefix, self.key)
    }
}

/// Lookup keys up to this long are built on the stack.
const STACK_KEY_LEN: usize = 128;

/// Calls `f` with the internal key `(cf, user_key, seq, kind)`, built on the stack when short.
pub(crate) fn with_lookup_key<R>(
    cf: CfId,
    user_key: &[u8],
    seq: SeqNo,
    kind: ValueKind,
    f: impl FnOnce(&dyn KeyLike) -> R,
) -> R {
    let len = 1 + user_key.len() + TRAILER_LEN;
    let mut stack = [0u8; STACK_KEY_LEN];
    let heap;
    let key: &[u8] = match stack.get_mut(..len) {
        Some(slot) => {
            let (head, trailer) = slot.split_at_mut(len - TRAILER_LEN);
            if let Some((c, user)) = head.split_first_mut() {
                *c = cf;
                user.copy_from_slice(user_key);
            }
            trailer.copy_from_slice(&pack_trailer(seq, kind).to_be_bytes());
            slot
        }
        None => {
            heap = internal_key(cf, user_key, seq, kind);
            &heap
        }
    };
    f(&SeekKey::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(key: &[u8]) -> MemKey {
        MemKey::new(Bytes::copy_from_slice(key), key.len())
    }

    #[test]
    fn equal_prefixes_fall_through_to_the_comparator() {
        let a = internal_key(0, b"a", 1, ValueKind::Put);
        let a0 = internal_key(0, b"a\0", 9, ValueKind::Put);
        let long1 = internal_key(0, b"abcdefghijklmnopqr", 1, ValueKind::Put);
        let long2 = internal_key(0, b"abcdefghijklmnop", 1, ValueKind::Put);
        assert_eq!(prefix_of(&a), prefix_of(&a0));
        assert_eq!(entry(&a).cmp(&entry(&a0)), Ordering::Less);
        assert_eq!(prefix_of(&long1), prefix_of(&long2));
        assert_eq!(entry(&long2).cmp(&entry(&long1)), Ordering::Less);
        let seek = SeekKey::new(&a0);
        let e: &dyn KeyLike = &entry(&a);
        assert_eq!(e.cmp(&seek), Ordering::Less);
    }

    fn raw_key() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            // Well-formed internal keys over a tiny alphabet, long enough to cross 16 bytes.
            (
                0u8..3,
                proptest::collection::vec(prop_oneof![Just(0u8), Just(1), Just(255)], 0..19),
                0u64..3,
                0u8..3
            )
                .prop_map(|(cf, k, seq, kind)| {
                    internal_key(cf, &k, seq, ValueKind::from_u8(kind).unwrap())
                }),
            // Anything, including keys shorter than a trailer.
            proptest::collection::vec(any::<u8>(), 0..20),
        ]
    }

    proptest! {
        #[test]
        fn prefix_order_agrees_with_the_comparator(a in raw_key(), b in raw_key()) {
            let want = InternalKeyComparator.compare(&a, &b);
            if prefix_of(&a) != prefix_of(&b) {
                prop_assert_eq!(prefix_of(&a).cmp(&prefix_of(&b)), want);
            }
            prop_assert_eq!(entry(&a).cmp(&entry(&b)), want);
            let (sa, sb) = (SeekKey::new(&a), SeekKey::new(&b));
            prop_assert_eq!((&sa as &dyn KeyLike).cmp(&sb), want);
        }
    }
}
