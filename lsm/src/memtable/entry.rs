//! The skiplist's key type: an inline 16-byte key prefix, then a pointer to the entry's bytes
//! (lengths, internal key, value) in the memtable's arena.
//!
//! Random inserts into a skiplist are bound by memory latency: every comparison on the search
//! path would otherwise follow the node's pointer to another cache line. Comparing the
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

use std::fmt;
use std::ptr::NonNull;

use sstable::Comparator;

use crate::varint::{get_varint32, put_varint32, varint32_len};

use crate::key::{cf_user_key, InternalKeyComparator};

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

/// The order of two keys given their prefixes and, lazily, their internal keys: only a tie on
/// the prefix reads the keys (for a [`MemKey`], a load from the arena).
#[inline]
fn compare<'a, 'b>(
    a_prefix: Prefix,
    a: impl FnOnce() -> &'a [u8],
    b_prefix: Prefix,
    b: impl FnOnce() -> &'b [u8],
) -> Ordering {
    a_prefix
        .cmp(&b_prefix)
        .then_with(|| InternalKeyComparator.compare(a(), b()))
}

/// A length as the header's 32-bit varint. The memtable checks lengths before writing
/// (`entry_bytes`); one that did not fit would be written as `u32::MAX`, which
/// [`MemKey::from_entry`] then refuses as longer than the entry.
fn header_len(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Bytes an entry with these lengths takes in the arena.
pub(crate) fn entry_len(key_len: usize, value_len: usize) -> usize {
    varint32_len(header_len(key_len)) + varint32_len(header_len(value_len)) + key_len + value_len
}

/// Writes an entry's header into the front of `dst` (sized by [`entry_len`]) and returns the
/// rest, where the caller writes the internal key and then the value.
pub(crate) fn put_header(mut dst: &mut [u8], key_len: usize, value_len: usize) -> &mut [u8] {
    put_varint32(&mut dst, header_len(key_len));
    put_varint32(&mut dst, header_len(value_len));
    dst
}

/// Decodes one varint at `*p` and advances `*p` past it.
///
/// # Safety
/// `*p` points at a complete varint written by [`put_varint32`] in live memory.
#[allow(unsafe_code)]
#[inline]
unsafe fn read_varint(p: &mut *const u8) -> usize {
    let mut value = 0usize;
    let mut shift = 0;
    loop {
        // SAFETY: per the contract every byte up to the varint's last is in bounds.
        let b = unsafe { p.read() };
        // SAFETY: as above; at most one past the varint's last byte, still inside the entry.
        *p = unsafe { p.add(1) };
        value |= usize::from(b & 0x7f) << shift;
        if b < 0x80 {
            return value;
        }
        shift += 7;
    }
}

/// A memtable entry as stored in the skiplist.
///
/// Invariants: `entry` points at a complete entry (layout in the module docs) in a live arena,
/// whose internal key `prefix` is the [`Prefix`] of. Cloning copies the pointer.
#[derive(Clone)]
pub(crate) struct MemKey {
    prefix: Prefix,
    entry: NonNull<u8>,
}

// SAFETY: the entry's bytes are written before the key exists and never change afterwards
// (only read, through `&self`), so sharing or sending the pointer is sharing immutable bytes.
#[allow(unsafe_code)]
unsafe impl Send for MemKey {}
#[allow(unsafe_code)]
unsafe impl Sync for MemKey {}

impl MemKey {
    /// The key of the complete entry at the front of `entry` (written by [`put_header`] and
    /// the caller). Returns `None` if the header is malformed or longer than `entry`.
    ///
    /// # Safety
    /// `entry`'s memory must stay allocated and unchanged for as long as the returned key or
    /// any clone of it is used: it must be a region of the memtable's own arena.
    #[allow(unsafe_code)]
    pub(crate) unsafe fn from_entry(entry: &[u8]) -> Option<Self> {
        let (key_len, a) = get_varint32(entry)?;
        let (value_len, b) = get_varint32(entry.get(a..)?)?;
        let key_start = a + b;
        let key_end = key_start.checked_add(usize::try_from(key_len).ok()?)?;
        let end = key_end.checked_add(usize::try_from(value_len).ok()?)?;
        if end > entry.len() {
            return None;
        }
        Some(MemKey {
            prefix: prefix_of(entry.get(key_start..key_end)?),
            entry: NonNull::from(entry).cast(),
        })
    }

    /// The internal key and the value (a put's value, a range delete's end key).
    #[allow(unsafe_code)]
    #[inline]
    pub(crate) fn key_value(&self) -> (&[u8], &[u8]) {
        let mut p = self.entry.as_ptr().cast_const();
        // SAFETY: by the type's invariant `entry` points at a complete, immutable entry in a
        // live arena: two varints, then `key_len + value_len` bytes.
        unsafe {
            let key_len = read_varint(&mut p);
            let value_len = read_varint(&mut p);
            let key = std::slice::from_raw_parts(p, key_len);
            let value = std::slice::from_raw_parts(p.add(key_len), value_len);
            (key, value)
        }
    }

    pub(crate) fn internal_key(&self) -> &[u8] {
        self.key_value().0
    }

    pub(crate) fn value(&self) -> &[u8] {
        self.key_value().1
    }
}

impl fmt::Debug for MemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (key, value) = self.key_value();
        f.debug_struct("MemKey")
            .field("key", &key)
            .field("value_len", &value.len())
            .finish()
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
            || self.internal_key(),
            other.prefix,
            || other.internal_key(),
        )
    }
}

/// Anything that orders like a [`MemKey`]. Lookups go through `&dyn KeyLike`, because
/// crossbeam-skiplist 0.1 looks up `Q` with `K: Borrow<Q>`: a `MemKey` can lend itself as a
/// `dyn KeyLike`, and so can a [`SeekKey`] borrowing a caller's bytes, so a seek needs no
/// allocation (a virtual call per side per comparison, two on a prefix tie, is the price).
pub(crate) trait KeyLike {
    /// The first 16 bytes of `cf + user key`, as [`prefix_of`] computes them.
    fn prefix(&self) -> Prefix;
    /// The full internal key.
    fn key(&self) -> &[u8];
}

impl KeyLike for MemKey {
    #[inline]
    fn prefix(&self) -> Prefix {
        self.prefix
    }
    #[inline]
    fn key(&self) -> &[u8] {
        self.internal_key()
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
        compare(self.prefix(), || self.key(), other.prefix(), || other.key())
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
    fn prefix(&self) -> Prefix {
        self.prefix
    }
    #[inline]
    fn key(&self) -> &[u8] {
        self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{internal_key, ValueKind};
    use proptest::prelude::*;

    use crate::memtable::arena::Arena;

    /// A key for `key` and `value`, written into `arena`.
    pub(crate) fn entry_with(arena: &Arena, key: &[u8], value: &[u8]) -> MemKey {
        let dst = arena.alloc(entry_len(key.len(), value.len()));
        let rest = put_header(dst, key.len(), value.len());
        let (k, v) = rest.split_at_mut(key.len());
        k.copy_from_slice(key);
        v.copy_from_slice(value);
        // SAFETY: `dst` is a region of `arena`, which every caller keeps alive (on its stack)
        // for as long as it uses the key.
        #[allow(unsafe_code)]
        let key = unsafe { MemKey::from_entry(dst) };
        key.expect("well-formed entry")
    }

    fn entry(arena: &Arena, key: &[u8]) -> MemKey {
        entry_with(arena, key, b"")
    }

    #[test]
    fn entries_read_back_with_one_and_multi_byte_lengths() {
        let arena = Arena::new();
        for (klen, vlen) in [(9, 0), (10, 127), (127, 128), (200, 16384), (70000, 3)] {
            let key: Vec<u8> = (0..klen).map(|i| (i * 7) as u8).collect();
            let value: Vec<u8> = (0..vlen).map(|i| (i * 13) as u8).collect();
            let e = entry_with(&arena, &key, &value);
            assert_eq!((e.internal_key(), e.value()), (&key[..], &value[..]));
            assert_eq!(e.prefix, prefix_of(&key));
        }
    }

    #[test]
    fn malformed_or_truncated_headers_make_no_key() {
        let arena = Arena::new();
        let dst = arena.alloc(12);
        put_header(dst, 9, 4); // 2 + 9 + 4 = 15 > 12
                               // SAFETY: both headers are bad, so no key is made that could outlive its memory.
        #[allow(unsafe_code)]
        let (short, overlong) = unsafe {
            (
                MemKey::from_entry(dst),
                MemKey::from_entry(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..]),
            )
        };
        assert!(short.is_none() && overlong.is_none());
    }

    #[test]
    fn equal_prefixes_fall_through_to_the_comparator() {
        let a = internal_key(0, b"a", 1, ValueKind::Put);
        let a0 = internal_key(0, b"a\0", 9, ValueKind::Put);
        let long1 = internal_key(0, b"abcdefghijklmnopqr", 1, ValueKind::Put);
        let long2 = internal_key(0, b"abcdefghijklmnop", 1, ValueKind::Put);
        let arena = Arena::new();
        assert_eq!(prefix_of(&a), prefix_of(&a0));
        assert_eq!(entry(&arena, &a).cmp(&entry(&arena, &a0)), Ordering::Less);
        assert_eq!(prefix_of(&long1), prefix_of(&long2));
        assert_eq!(
            entry(&arena, &long2).cmp(&entry(&arena, &long1)),
            Ordering::Less
        );
        let seek = SeekKey::new(&a0);
        let e: &dyn KeyLike = &entry(&arena, &a);
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
            let arena = Arena::new();
            prop_assert_eq!(entry(&arena, &a).cmp(&entry(&arena, &b)), want);
            let (sa, sb) = (SeekKey::new(&a), SeekKey::new(&b));
            prop_assert_eq!((&sa as &dyn KeyLike).cmp(&sb), want);
        }
    }
}
