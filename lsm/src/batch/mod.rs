//! Write batches: a group of puts, deletes and range deletes applied atomically.
//!
//! A batch keeps its WAL encoding as it is built (FORMAT.md, "Write batch"), so writing it to
//! the log is a plain copy of [`WriteBatch::data`]. Ops are read back by walking that encoding.
//!
//! Invariant: `rep` is always a well-formed encoding holding exactly `count` ops, every range
//! delete with `start < end`. The builders keep it so; [`WriteBatch::from_wal_record`] checks
//! it on untrusted bytes. That is why iterating a batch cannot fail.
//!
//! `decode` reads untrusted WAL records back into batches.
//!
//! A batch is a plain value (`Send + Sync`, no interior mutability).

mod decode;
mod log;

use std::fmt;

use crate::error::Error;
use crate::key::{CfId, SeqNo, ValueKind};
use crate::varint::put_varint32;
use decode::parse_op;
pub use decode::BatchCorruption;
pub(crate) use log::WalBatches;

/// Bytes of the batch header: `first_seq: u64 LE` then `count: u32 LE`.
pub const BATCH_HEADER_LEN: usize = 12;

/// A group of writes, applied atomically: op `i` takes sequence number `sequence() + i`.
#[derive(Clone, PartialEq, Eq)]
pub struct WriteBatch {
    /// The WAL encoding: header, then the ops.
    rep: Vec<u8>,
    /// Ops in `rep`, mirrored from the header so `len` needs no decoding.
    count: u32,
}

/// One op of a batch, borrowing from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOp<'a> {
    /// What the op does.
    pub kind: ValueKind,
    /// Column family.
    pub cf: CfId,
    /// The user key (the start key of a range delete).
    pub key: &'a [u8],
    /// The value for a put, the exclusive end key for a range delete, empty for a delete.
    pub value: &'a [u8],
}

impl Default for WriteBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl WriteBatch {
    /// An empty batch with sequence number 0.
    pub fn new() -> Self {
        WriteBatch {
            rep: vec![0; BATCH_HEADER_LEN],
            count: 0,
        }
    }

    /// An empty batch with room for `bytes` bytes of ops (see [`WriteBatch::op_size`]) before
    /// it reallocates.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut rep = Vec::with_capacity(BATCH_HEADER_LEN + bytes);
        rep.resize(BATCH_HEADER_LEN, 0);
        WriteBatch { rep, count: 0 }
    }

    /// An upper bound of the bytes one op with this key and value takes in a batch.
    pub fn op_size(key: &[u8], value: &[u8]) -> usize {
        // Kind and cf bytes, two varint32 lengths of at most 5 bytes each.
        2 + 5 + key.len() + 5 + value.len()
    }

    /// Adds `key = value` in `cf`.
    ///
    /// # Panics
    /// If `key` or `value` is 4 GiB or longer, or the batch already holds `u32::MAX` ops (the
    /// encoding's limits; the engine rejects such writes long before).
    pub fn put(&mut self, cf: CfId, key: &[u8], value: &[u8]) {
        self.push(ValueKind::Put, cf, key, Some(value));
    }

    /// Adds a point tombstone for `key` in `cf`.
    ///
    /// # Panics
    /// As [`WriteBatch::put`].
    pub fn delete(&mut self, cf: CfId, key: &[u8]) {
        self.push(ValueKind::Delete, cf, key, None);
    }

    /// Adds a tombstone for every key in `[start, end)` of `cf`.
    ///
    /// # Errors
    /// `InvalidArgument` if `start >= end`: such a range deletes nothing, and reversed bounds
    /// are far more often a bug than intended; the batch is left unchanged.
    ///
    /// # Panics
    /// As [`WriteBatch::put`].
    pub fn delete_range(&mut self, cf: CfId, start: &[u8], end: &[u8]) -> crate::Result<()> {
        if start >= end {
            return Err(Error::InvalidArgument(
                "delete_range needs start < end".to_owned(),
            ));
        }
        self.push(ValueKind::RangeDelete, cf, start, Some(end));
        Ok(())
    }

    fn push(&mut self, kind: ValueKind, cf: CfId, key: &[u8], value: Option<&[u8]>) {
        assert!(
            self.count < u32::MAX,
            "a write batch holds at most 2^32 - 1 ops"
        );
        self.count += 1;
        self.rep[8..BATCH_HEADER_LEN].copy_from_slice(&self.count.to_le_bytes());
        self.rep.push(kind as u8);
        self.rep.push(cf);
        push_slice(&mut self.rep, key);
        if let Some(value) = value {
            push_slice(&mut self.rep, value);
        }
    }

    /// Number of ops.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True if the batch holds no ops.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Removes every op and resets the sequence number to 0, keeping the allocation.
    pub fn clear(&mut self) {
        self.rep.clear();
        self.rep.resize(BATCH_HEADER_LEN, 0);
        self.count = 0;
    }

    /// Bytes of the encoding, header included: what the WAL record will take.
    pub fn approximate_size(&self) -> usize {
        self.rep.len()
    }

    /// The ops in the order they were added.
    pub fn iter(&self) -> BatchIter<'_> {
        BatchIter {
            rep: &self.rep,
            pos: BATCH_HEADER_LEN,
            index: 0,
            count: self.count,
        }
    }

    /// The encoded batch: the WAL record payload.
    pub fn data(&self) -> &[u8] {
        &self.rep
    }

    /// Sets the sequence number of the first op. REQUIRES: `seq + len() - 1 <= MAX_SEQ`, or the
    /// record will be rejected as corrupt when read back.
    pub fn set_sequence(&mut self, seq: SeqNo) {
        self.rep[..8].copy_from_slice(&seq.to_le_bytes());
    }

    /// The sequence number of the first op.
    pub fn sequence(&self) -> SeqNo {
        self.rep
            .first_chunk::<8>()
            .map_or(0, |b| u64::from_le_bytes(*b))
    }
}

impl fmt::Debug for WriteBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteBatch")
            .field("sequence", &self.sequence())
            .field("ops", &self.count)
            .field("bytes", &self.rep.len())
            .finish()
    }
}

impl<'a> IntoIterator for &'a WriteBatch {
    type Item = BatchOp<'a>;
    type IntoIter = BatchIter<'a>;

    fn into_iter(self) -> BatchIter<'a> {
        self.iter()
    }
}

/// Iterator over a batch's ops, see [`WriteBatch::iter`].
#[derive(Debug, Clone)]
pub struct BatchIter<'a> {
    rep: &'a [u8],
    pos: usize,
    index: u32,
    count: u32,
}

impl<'a> Iterator for BatchIter<'a> {
    type Item = BatchOp<'a>;

    fn next(&mut self) -> Option<BatchOp<'a>> {
        if self.index == self.count {
            return None;
        }
        // Cannot fail: `rep` is well formed (module invariant). Should it ever, stop cleanly.
        let parsed = parse_op(self.rep, self.pos, self.index);
        debug_assert!(parsed.is_ok(), "malformed batch: {parsed:?}");
        let Ok((op, next)) = parsed else {
            self.index = self.count;
            return None;
        };
        self.pos = next;
        self.index += 1;
        Some(op)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.count - self.index) as usize;
        (left, Some(left))
    }
}

impl ExactSizeIterator for BatchIter<'_> {}

fn push_slice(dst: &mut Vec<u8>, bytes: &[u8]) {
    let Ok(len) = u32::try_from(bytes.len()) else {
        panic!("a write batch key or value must be under 4 GiB");
    };
    put_varint32(dst, len);
    dst.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_presized_batch_never_reallocates() {
        let (key, value) = (vec![1u8; 200], vec![2u8; 70_000]);
        let mut b = WriteBatch::with_capacity(WriteBatch::op_size(&key, &value));
        let capacity = b.rep.capacity();
        b.put(3, &key, &value);
        assert_eq!(b.rep.capacity(), capacity);
        assert_eq!(b.iter().next().unwrap().value, &value[..]);
    }

    pub(super) fn sample() -> WriteBatch {
        let mut b = WriteBatch::new();
        b.put(0, b"k1", b"v1");
        b.delete(3, b"k2");
        b.delete_range(1, b"a", b"b").unwrap();
        b.put(0, b"", b"");
        b.set_sequence(100);
        b
    }

    #[test]
    fn builds_iterates_and_roundtrips() {
        let b = sample();
        assert_eq!((b.len(), b.sequence()), (4, 100));
        let ops: Vec<_> = b.iter().collect();
        let expect = |kind, cf, key: &'static [u8], value: &'static [u8]| BatchOp {
            kind,
            cf,
            key,
            value,
        };
        assert_eq!(
            ops,
            [
                expect(ValueKind::Put, 0, b"k1", b"v1"),
                expect(ValueKind::Delete, 3, b"k2", b""),
                expect(ValueKind::RangeDelete, 1, b"a", b"b"),
                expect(ValueKind::Put, 0, b"", b""),
            ]
        );
        let back = WriteBatch::from_wal_record(b.data()).unwrap();
        assert_eq!(back, b);
        assert_eq!(b.approximate_size(), b.data().len());
    }

    #[test]
    fn encoding_is_the_documented_layout() {
        let mut b = WriteBatch::new();
        b.put(2, b"k", b"vv");
        b.delete(0, b"x");
        b.set_sequence(7);
        let mut want = vec![7, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0];
        want.extend_from_slice(&[1, 2, 1, b'k', 2, b'v', b'v', 0, 0, 1, b'x']);
        assert_eq!(b.data(), &want[..]);
    }

    #[test]
    fn empty_ranges_are_refused_and_clear_resets() {
        let mut b = sample();
        assert!(matches!(
            b.delete_range(0, b"b", b"a"),
            Err(Error::InvalidArgument(_))
        ));
        assert!(b.delete_range(0, b"a", b"a").is_err());
        assert_eq!(b.len(), 4);
        b.clear();
        assert!(b.is_empty());
        assert_eq!((b.sequence(), b.data()), (0, &[0u8; 12][..]));
        assert_eq!(b.iter().next(), None);
    }
}
