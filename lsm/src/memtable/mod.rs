//! The memtable: the newest writes, in memory, ordered by internal key.
//!
//! # Concurrency contract
//! Every method takes `&self`: any number of threads may insert batches while any number read
//! (`get`, tombstone queries, [`MemTableIter`]). The memtable does NOT make a batch visible
//! atomically — a reader may see some entries of a batch being inserted and not others. The
//! engine provides atomicity: it publishes a sequence number only after every batch up to it
//! is fully inserted, and readers read at a published sequence, so they never look at a
//! sequence number whose entries are still arriving. An entry inserted before a read starts is
//! always seen by it.
//!
//! REQUIRES: every entry's sequence number is unique (the engine hands each op its own); an
//! entry inserted twice replaces the first.
//!
//! # Layout
//! Point entries (puts and deletes) live in one skiplist, range tombstones in another, both
//! keyed by [`entry::MemKey`]: an inline 16-byte key prefix and a pointer to the entry's
//! lengths, internal key and value in the memtable's [`arena::Arena`]. An entry costs one
//! allocation — its 24-byte-key skiplist node — and its bytes in a chunk shared by many
//! batches; everything is freed when the last holder of the memtable lets it go. Values leave
//! the memtable as copies (`get`, range tombstones), as RocksDB's do, so nothing outside can
//! hold a pointer into the arena.

mod arena;
mod entry;
mod iter;
mod tombstones;

use std::fmt;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::{BufMut, Bytes};
use crossbeam_skiplist::SkipMap;

use crate::batch::WriteBatch;
use crate::error::{Error, Result};
use crate::key::{
    encode_internal_key, lookup_key, CfId, ParsedKey, SeqNo, ValueKind, MAX_SEQ, TRAILER_LEN,
};
use arena::Arena;
use entry::{entry_len, put_header, KeyLike, MemKey, SeekKey};
pub use iter::MemTableIter;
pub use tombstones::RangeTombstone;

/// Bytes per skiplist node: the `MemKey` (24), crossbeam's reference count and height (8),
/// the tower (2 pointers on average at p = 1/2) and glibc's chunk header (8). glibc rounds
/// each node to 16 bytes: 48, 64, 64, 80… by height, 57.5 on average; this counts 56.
const NODE_OVERHEAD: usize = std::mem::size_of::<MemKey>() + 8 + 16 + 8;

/// What the memtable holds for a key at a read sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemValue {
    /// The newest visible version is a put.
    Put {
        /// Its sequence number.
        seq: SeqNo,
        /// Its value (a copy: nothing outside the memtable points into its arena).
        value: Bytes,
    },
    /// The newest visible version is a point tombstone.
    Deleted {
        /// Its sequence number.
        seq: SeqNo,
    },
}

/// An in-memory, concurrently writable sorted table of recent writes.
pub struct MemTable {
    /// Puts and deletes.
    points: SkipMap<MemKey, ()>,
    /// Range deletes: internal key of the start, value = end user key. Kept apart so point
    /// lookups and iteration never step over them (the engine merges them across layers).
    tombstones: SkipMap<MemKey, ()>,
    /// Estimate of bytes held, for the flush trigger.
    memory: AtomicUsize,
    /// Smallest and largest sequence numbers inserted (`u64::MAX` and 0 while empty).
    min_seq: AtomicU64,
    max_seq: AtomicU64,
    /// The entries' bytes. Declared last so it is dropped after the skiplists whose keys
    /// point into it (their drop reads no key; the order is for clarity, not soundness).
    arena: Arena,
}

impl Default for MemTable {
    fn default() -> Self {
        Self::new()
    }
}

impl MemTable {
    /// An empty memtable.
    pub fn new() -> Self {
        MemTable {
            points: SkipMap::new(),
            tombstones: SkipMap::new(),
            memory: AtomicUsize::new(0),
            min_seq: AtomicU64::new(u64::MAX),
            max_seq: AtomicU64::new(0),
            arena: Arena::new(),
        }
    }

    /// Inserts every op of `batch`, op `i` at sequence number `first_seq + i` (the batch's own
    /// header sequence is not consulted). Safe to call from several threads at once.
    ///
    /// # Errors
    /// `InvalidArgument` if the sequence numbers would exceed [`MAX_SEQ`]; nothing is inserted.
    pub fn insert_batch(&self, batch: &WriteBatch, first_seq: SeqNo) -> Result<()> {
        let Some(count) = (batch.len() as u64).checked_sub(1) else {
            return Ok(());
        };
        let last_seq = check_seqs(first_seq, count)?;
        let bytes = batch.iter().try_fold(0usize, |sum, op| {
            Ok::<_, Error>(sum + entry_bytes(op.key.len(), op.value.len())?)
        })?;
        // One region for the whole batch: one trip through the arena's lock.
        let mut rest = self.arena.alloc(bytes);
        for (seq, op) in (first_seq..).zip(batch) {
            // Checked above: cannot fail here.
            let len = entry_bytes(op.key.len(), op.value.len())?;
            let (dst, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            let key = self.write_entry(dst, op.cf, op.key, seq, op.kind, op.value)?;
            self.map_for(op.kind).insert(key, ());
        }
        self.account(bytes + batch.len() * NODE_OVERHEAD, first_seq, last_seq);
        Ok(())
    }

    /// Inserts one entry; `value` is the end user key for a range delete, ignored for a
    /// delete. For tests and tools: the write path uses [`MemTable::insert_batch`].
    ///
    /// # Errors
    /// `InvalidArgument` if `seq > MAX_SEQ`.
    pub fn insert(
        &self,
        cf: CfId,
        user_key: &[u8],
        seq: SeqNo,
        kind: ValueKind,
        value: &[u8],
    ) -> Result<()> {
        check_seqs(seq, 0)?;
        let value = if kind == ValueKind::Delete {
            &[][..]
        } else {
            value
        };
        let bytes = entry_bytes(user_key.len(), value.len())?;
        let dst = self.arena.alloc(bytes);
        let key = self.write_entry(dst, cf, user_key, seq, kind, value)?;
        self.map_for(kind).insert(key, ());
        self.account(bytes + NODE_OVERHEAD, seq, seq);
        Ok(())
    }

    /// Writes one entry into `dst`, a region of this memtable's arena sized by `entry_len`,
    /// and returns its key.
    fn write_entry(
        &self,
        dst: &mut [u8],
        cf: CfId,
        user_key: &[u8],
        seq: SeqNo,
        kind: ValueKind,
        value: &[u8],
    ) -> Result<MemKey> {
        let key_len = 1 + user_key.len() + TRAILER_LEN;
        let mut body = put_header(dst, key_len, value.len());
        encode_internal_key(&mut body, cf, user_key, seq, kind);
        body.put_slice(value);
        // SAFETY: `dst` is a region of `self.arena`, which lives as long as the memtable, and
        // the key goes only into this memtable's skiplists (see `entry`'s safety contract).
        #[allow(unsafe_code)]
        let key = unsafe { MemKey::from_entry(dst) };
        // `entry_bytes` checked the lengths, so the header always decodes.
        key.ok_or_else(|| Error::InvalidArgument("memtable entry longer than 4 GiB".into()))
    }

    fn map_for(&self, kind: ValueKind) -> &SkipMap<MemKey, ()> {
        match kind {
            ValueKind::RangeDelete => &self.tombstones,
            ValueKind::Put | ValueKind::Delete => &self.points,
        }
    }

    fn account(&self, bytes: usize, first_seq: SeqNo, last_seq: SeqNo) {
        // Statistics only: entries are published by the skiplist itself, hence Relaxed.
        self.memory.fetch_add(bytes, Ordering::Relaxed);
        // Sequence numbers mostly grow: test before the read-modify-write, which costs a locked
        // instruction even when it changes nothing.
        if first_seq < self.min_seq.load(Ordering::Relaxed) {
            self.min_seq.fetch_min(first_seq, Ordering::Relaxed);
        }
        if last_seq > self.max_seq.load(Ordering::Relaxed) {
            self.max_seq.fetch_max(last_seq, Ordering::Relaxed);
        }
    }

    /// The newest put or delete of `user_key` in `cf` with sequence number `<= read_seq`.
    /// Range tombstones are not applied: see [`MemTable::max_covering_tombstone_seq`].
    pub fn get(&self, cf: CfId, user_key: &[u8], read_seq: SeqNo) -> Option<MemValue> {
        let key = lookup_key(cf, user_key, read_seq.min(MAX_SEQ), ValueKind::SEEK);
        let target = SeekKey::new(&key);
        let entry = self
            .points
            .lower_bound::<dyn KeyLike>(Bound::Included(&target))?;
        let found = entry.key();
        let parsed = ParsedKey::parse(found.internal_key())?;
        if parsed.cf != cf || parsed.user_key != user_key {
            return None;
        }
        let seq = parsed.seq;
        match parsed.kind {
            ValueKind::Put => Some(MemValue::Put {
                seq,
                value: Bytes::copy_from_slice(found.value()),
            }),
            ValueKind::Delete => Some(MemValue::Deleted { seq }),
            ValueKind::RangeDelete => None, // never in `points`
        }
    }

    /// Estimated bytes held: keys, values and per-entry overhead.
    pub fn approximate_memory_usage(&self) -> usize {
        self.memory.load(Ordering::Relaxed)
    }

    /// Entries held: puts, deletes and range tombstones.
    pub fn len(&self) -> usize {
        self.points.len() + self.tombstones.len()
    }

    /// True if nothing was inserted.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty() && self.tombstones.is_empty()
    }

    /// Smallest sequence number inserted, `None` while empty.
    pub fn min_seq(&self) -> Option<SeqNo> {
        let seq = self.min_seq.load(Ordering::Relaxed);
        (seq != u64::MAX).then_some(seq)
    }

    /// Largest sequence number inserted, `None` while empty.
    pub fn max_seq(&self) -> Option<SeqNo> {
        (!self.is_empty()).then(|| self.max_seq.load(Ordering::Relaxed))
    }
}

impl fmt::Debug for MemTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemTable")
            .field("points", &self.points.len())
            .field("tombstones", &self.tombstones.len())
            .field("memory", &self.approximate_memory_usage())
            .field("seqs", &(self.min_seq(), self.max_seq()))
            .finish()
    }
}

/// Arena bytes of an entry for a user key and value of these lengths.
///
/// # Errors
/// `InvalidArgument` if the internal key or the value is 4 GiB or longer (the entry header's
/// lengths are 32-bit, as the write batch's are); checked before anything is inserted.
fn entry_bytes(user_key_len: usize, value_len: usize) -> Result<usize> {
    let key_len = 1 + user_key_len + TRAILER_LEN;
    if u32::try_from(key_len).is_err() || u32::try_from(value_len).is_err() {
        return Err(Error::InvalidArgument(format!(
            "memtable entry of {key_len} key and {value_len} value bytes: lengths must fit 32 bits"
        )));
    }
    Ok(entry_len(key_len, value_len))
}

/// Checks that `first..=first + extra` are valid sequence numbers; returns the last.
fn check_seqs(first: SeqNo, extra: u64) -> Result<SeqNo> {
    first
        .checked_add(extra)
        .filter(|&last| last <= MAX_SEQ)
        .ok_or_else(|| {
            Error::InvalidArgument(format!("sequence numbers {first}..+{extra} exceed MAX_SEQ"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(v: &[u8], seq: SeqNo) -> Option<MemValue> {
        Some(MemValue::Put {
            seq,
            value: Bytes::copy_from_slice(v),
        })
    }

    #[test]
    fn get_returns_the_newest_version_visible_at_read_seq() {
        let m = MemTable::new();
        let mut b = WriteBatch::new();
        b.put(0, b"k", b"v1");
        b.put(0, b"k2", b"other");
        b.put(1, b"k", b"cf1");
        m.insert_batch(&b, 10).unwrap();
        let mut b = WriteBatch::new();
        b.delete(0, b"k");
        b.put(0, b"k", b"v3");
        m.insert_batch(&b, 20).unwrap();

        assert_eq!(m.get(0, b"k", 9), None);
        assert_eq!(m.get(0, b"k", 10), put(b"v1", 10));
        assert_eq!(m.get(0, b"k", 19), put(b"v1", 10));
        assert_eq!(m.get(0, b"k", 20), Some(MemValue::Deleted { seq: 20 }));
        assert_eq!(m.get(0, b"k", 21), put(b"v3", 21));
        assert_eq!(m.get(0, b"k", u64::MAX), put(b"v3", 21));
        assert_eq!(m.get(1, b"k", 100), put(b"cf1", 12));
        assert_eq!(m.get(0, b"k2", 100), put(b"other", 11));
        // Neighbours and prefixes of present keys are absent.
        for absent in [&b""[..], b"j", b"k\0", b"k1", b"kk"] {
            assert_eq!(m.get(0, absent, 100), None, "{absent:?}");
        }
        assert_eq!(m.get(2, b"k", 100), None);
        assert_eq!((m.len(), m.min_seq(), m.max_seq()), (5, Some(10), Some(21)));
    }

    #[test]
    fn long_keys_take_the_heap_path() {
        let m = MemTable::new();
        let long = vec![7u8; 300];
        m.insert(0, &long, 5, ValueKind::Put, b"v").unwrap();
        assert_eq!(m.get(0, &long, 5), put(b"v", 5));
        assert_eq!(m.get(0, &long[..299], 5), None);
    }

    #[test]
    fn accounting_and_sequence_limits() {
        let m = MemTable::new();
        assert!(m.is_empty());
        assert_eq!(
            (m.min_seq(), m.max_seq(), m.approximate_memory_usage()),
            (None, None, 0)
        );
        let mut b = WriteBatch::new();
        b.put(0, b"key", b"value");
        b.delete(0, b"gone");
        assert!(matches!(
            m.insert_batch(&b, MAX_SEQ),
            Err(Error::InvalidArgument(_))
        ));
        assert!(m.insert(0, b"k", MAX_SEQ + 1, ValueKind::Put, b"").is_err());
        assert!(m.is_empty());
        m.insert_batch(&WriteBatch::new(), 3).unwrap();
        assert!(m.is_empty());
        m.insert_batch(&b, MAX_SEQ - 1).unwrap();
        // Two one-byte lengths before each entry.
        let kv = (2 + 1 + 3 + 8 + 5) + (2 + 1 + 4 + 8);
        assert_eq!(m.approximate_memory_usage(), kv + 2 * NODE_OVERHEAD);
        assert_eq!(
            (m.min_seq(), m.max_seq()),
            (Some(MAX_SEQ - 1), Some(MAX_SEQ))
        );
        assert_eq!(
            m.get(0, b"gone", MAX_SEQ),
            Some(MemValue::Deleted { seq: MAX_SEQ })
        );
    }
}
