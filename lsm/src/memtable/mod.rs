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
//! keyed by [`entry::MemKey`]: an inline 16-byte key prefix, then the internal key and value
//! in one `Bytes`. Entries' bytes are carved out of arena chunks of [`ARENA_CHUNK`] bytes
//! shared by many batches, so an entry costs one allocation — its skiplist node — and the
//! memtable's bytes are freed chunk by chunk when the last reader of it lets go. (A value
//! handed out by `get` keeps its chunk alive, not the whole memtable.)

mod entry;
mod iter;
mod tombstones;

use std::fmt;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::{BufMut, Bytes, BytesMut};
use crossbeam_skiplist::SkipMap;
use parking_lot::Mutex;

use crate::batch::WriteBatch;
use crate::error::{Error, Result};
use crate::key::{encode_internal_key, CfId, ParsedKey, SeqNo, ValueKind, MAX_SEQ, TRAILER_LEN};
use entry::{with_lookup_key, KeyLike, MemKey};
pub use iter::MemTableIter;
pub use tombstones::RangeTombstone;

/// Estimated bytes per skiplist node besides the key and value: the `MemKey` (56 bytes), the
/// node's reference count and height (8), and its tower (2 pointers on average at p = 1/2).
const NODE_OVERHEAD: usize = 56 + 8 + 16;

/// Bytes of one arena chunk. Large enough that its allocation is amortized over thousands of
/// small entries, small enough that a value pinned by a reader holds little memory. A batch
/// larger than a chunk gets a buffer of its own.
const ARENA_CHUNK: usize = 256 << 10;

/// What the memtable holds for a key at a read sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemValue {
    /// The newest visible version is a put.
    Put {
        /// Its sequence number.
        seq: SeqNo,
        /// Its value (a zero-copy slice of the memtable's buffer).
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
    /// The unused tail of the current arena chunk. Held only while a batch is copied in.
    arena: Mutex<BytesMut>,
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
            arena: Mutex::new(BytesMut::new()),
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
        let bytes: usize = batch
            .iter()
            .map(|op| 1 + op.key.len() + TRAILER_LEN + op.value.len())
            .sum();
        let mut rest = self.arena_copy(bytes, |buf| {
            for (seq, op) in (first_seq..).zip(batch) {
                encode_internal_key(buf, op.cf, op.key, seq, op.kind);
                buf.put_slice(op.value);
            }
        });
        debug_assert_eq!(rest.len(), bytes);
        // Split the batch's bytes op by op; the last piece moves out without a refcount bump.
        for op in batch {
            let key_len = 1 + op.key.len() + TRAILER_LEN;
            let entry = MemKey::new(rest.split_to(key_len + op.value.len()), key_len);
            self.map_for(op.kind).insert(entry, ());
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
        let key_len = 1 + user_key.len() + TRAILER_LEN;
        let kv = self.arena_copy(key_len + value.len(), |buf| {
            encode_internal_key(buf, cf, user_key, seq, kind);
            buf.put_slice(value);
        });
        let entry = MemKey::new(kv, key_len);
        let bytes = entry.size();
        self.map_for(kind).insert(entry, ());
        self.account(bytes + NODE_OVERHEAD, seq, seq);
        Ok(())
    }

    /// Writes `len` bytes with `fill` into the arena and returns them (all that `fill` wrote;
    /// it should be exactly `len`).
    fn arena_copy(&self, len: usize, fill: impl FnOnce(&mut BytesMut)) -> Bytes {
        let mut arena = self.arena.lock();
        // Never let BytesMut grow in place: that would copy the chunk and strand the entries
        // already carved from it in the old one. Start a fresh chunk instead.
        if arena.capacity() < len {
            *arena = BytesMut::with_capacity(len.max(ARENA_CHUNK));
        }
        fill(&mut arena);
        let written = arena.len();
        arena.split_to(written).freeze()
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
        let seq = read_seq.min(MAX_SEQ);
        with_lookup_key(cf, user_key, seq, ValueKind::SEEK, |target| {
            let entry = self
                .points
                .lower_bound::<dyn KeyLike>(Bound::Included(target))?;
            let found = entry.key();
            let parsed = ParsedKey::parse(found.internal_key())?;
            if parsed.cf != cf || parsed.user_key != user_key {
                return None;
            }
            let seq = parsed.seq;
            match parsed.kind {
                ValueKind::Put => Some(MemValue::Put {
                    seq,
                    value: found.value_bytes(),
                }),
                ValueKind::Delete => Some(MemValue::Deleted { seq }),
                ValueKind::RangeDelete => None, // never in `points`
            }
        })
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
        let kv = (1 + 3 + 8 + 5) + (1 + 4 + 8);
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
