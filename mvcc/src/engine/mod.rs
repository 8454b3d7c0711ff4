//! The snapshot seam: the narrow view of a storage engine the MVCC readers need, and the
//! modifications MVCC writers produce.
//!
//! - [`Snapshot`]: point reads and cursors over the column families at one point in
//!   time. Implemented over the LSM engine ([`LsmEngine`]) and in memory ([`MemEngine`], for
//!   tests here and in the transaction layer).
//! - [`Modify`]: one put, delete or range delete in one column family. Writers collect them
//!   (see `MvccTxn`); the caller applies a whole list as one atomic batch.
//!
//! Keys and values at this level are engine bytes: MVCC-encoded keys (see `Key`).

mod lsm;
mod memory;

use bytes::Bytes;

use crate::error::Result;

pub use self::lsm::{LsmEngine, LsmSnapshot};
pub use memory::{MemEngine, MemSnapshot};

/// The column families MVCC data (and raw key-value data) lives in.
///
/// Indices are stable: a new family is only ever appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cf {
    /// Values at `key + start_ts`, when too long to inline.
    Default,
    /// Locks at `key` (no ts).
    Lock,
    /// Commit and rollback records at `key + commit_ts`.
    Write,
    /// Raw key-value data (TiKV's raw API), apart from every transactional family so raw and
    /// transactional keys never collide. Its value encoding belongs to the raw layer.
    Raw,
}

impl Cf {
    /// The family with stable index `i` (see [`Cf::index`]), if any.
    pub fn from_index(i: usize) -> Option<Cf> {
        Cf::ALL.get(i).copied()
    }

    /// All of them, in index order.
    pub const ALL: [Cf; 4] = [Cf::Default, Cf::Lock, Cf::Write, Cf::Raw];

    /// How many there are (the length of [`Cf::ALL`]).
    pub const COUNT: usize = Cf::ALL.len();

    /// The engine's name of the column family.
    pub fn name(self) -> &'static str {
        match self {
            Cf::Default => "default",
            Cf::Lock => "lock",
            Cf::Write => "write",
            Cf::Raw => "raw",
        }
    }

    /// The family's stable index (its position in [`Cf::ALL`]); stored in replicated
    /// commands, so never renumbered.
    pub fn index(self) -> usize {
        match self {
            Cf::Default => 0,
            Cf::Lock => 1,
            Cf::Write => 2,
            Cf::Raw => 3,
        }
    }
}

/// Bounds of a cursor: it shows only keys in `[lower, upper)` (`None`: unbounded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IterBounds {
    /// Smallest key shown (inclusive).
    pub lower: Option<Vec<u8>>,
    /// Keys at or above this are not shown.
    pub upper: Option<Vec<u8>>,
}

impl IterBounds {
    /// True if `key` is inside the bounds.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.lower.as_deref().is_none_or(|l| key >= l)
            && self.upper.as_deref().is_none_or(|u| key < u)
    }
}

/// A cursor over one column family of a snapshot, in bytewise key order, within its bounds.
///
/// Every positioning method returns `valid()` afterwards. `key()` and `value()` are empty
/// when not valid. `next` and `prev` REQUIRE `valid()`.
pub trait Cursor {
    /// Positions at the first key `>= key`.
    ///
    /// # Errors
    /// Engine errors (I/O, corruption).
    fn seek(&mut self, key: &[u8]) -> Result<bool>;
    /// Positions at the last key `<= key`.
    ///
    /// # Errors
    /// As [`seek`](Self::seek).
    fn seek_for_prev(&mut self, key: &[u8]) -> Result<bool>;
    /// Positions at the first key.
    ///
    /// # Errors
    /// As [`seek`](Self::seek).
    fn seek_to_first(&mut self) -> Result<bool>;
    /// Positions at the last key.
    ///
    /// # Errors
    /// As [`seek`](Self::seek).
    fn seek_to_last(&mut self) -> Result<bool>;
    /// Moves to the next key.
    ///
    /// # Errors
    /// As [`seek`](Self::seek).
    fn next(&mut self) -> Result<bool>;
    /// Moves to the previous key.
    ///
    /// # Errors
    /// As [`seek`](Self::seek).
    fn prev(&mut self) -> Result<bool>;
    /// True if positioned at a key.
    fn valid(&self) -> bool;
    /// The current key.
    fn key(&self) -> &[u8];
    /// The current value.
    fn value(&self) -> &[u8];
}

/// A consistent, read-only view of all column families at one point in time.
///
/// Thread safety: `Send + Sync`; cursors borrow the snapshot and are used by one thread.
pub trait Snapshot: Send + Sync {
    /// The value of `key` in `cf`.
    ///
    /// # Errors
    /// Engine errors (I/O, corruption).
    fn get_cf(&self, cf: Cf, key: &[u8]) -> Result<Option<Bytes>>;

    /// An unpositioned cursor over `cf` within `bounds`.
    ///
    /// # Errors
    /// Engine errors (I/O, corruption).
    fn iter_cf(&self, cf: Cf, bounds: IterBounds) -> Result<Box<dyn Cursor + '_>>;
}

impl<S: Snapshot + ?Sized> Snapshot for &S {
    fn get_cf(&self, cf: Cf, key: &[u8]) -> Result<Option<Bytes>> {
        (**self).get_cf(cf, key)
    }

    fn iter_cf(&self, cf: Cf, bounds: IterBounds) -> Result<Box<dyn Cursor + '_>> {
        (**self).iter_cf(cf, bounds)
    }
}

impl<S: Snapshot + ?Sized> Snapshot for std::sync::Arc<S> {
    fn get_cf(&self, cf: Cf, key: &[u8]) -> Result<Option<Bytes>> {
        (**self).get_cf(cf, key)
    }

    fn iter_cf(&self, cf: Cf, bounds: IterBounds) -> Result<Box<dyn Cursor + '_>> {
        (**self).iter_cf(cf, bounds)
    }
}

impl<S: Snapshot + ?Sized> Snapshot for Box<S> {
    fn get_cf(&self, cf: Cf, key: &[u8]) -> Result<Option<Bytes>> {
        (**self).get_cf(cf, key)
    }

    fn iter_cf(&self, cf: Cf, bounds: IterBounds) -> Result<Box<dyn Cursor + '_>> {
        (**self).iter_cf(cf, bounds)
    }
}

/// An exclusive end for a range deletion that covers every key of `cf` at or after `lower`
/// in `snap`: just past its last key. `None` when there is no such key.
///
/// Range deletions need a finite end, and no finite key is greater than every possible key;
/// but a deletion "to the end" must only remove what exists when it is asked for. A key
/// written concurrently past the last one is ordered after the deletion, as any concurrent
/// write would be.
///
/// # Errors
/// Engine errors (I/O, corruption).
pub fn end_past_last<S: Snapshot + ?Sized>(
    snap: &S,
    cf: Cf,
    lower: &[u8],
) -> Result<Option<Vec<u8>>> {
    let bounds = IterBounds {
        lower: Some(lower.to_vec()),
        upper: None,
    };
    let mut cursor = snap.iter_cf(cf, bounds)?;
    if !cursor.seek_to_last()? {
        return Ok(None);
    }
    let mut end = cursor.key().to_vec();
    end.push(0);
    Ok(Some(end))
}

/// One change to the engine, in one column family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modify {
    /// Sets `key` to `value`.
    Put {
        /// Column family.
        cf: Cf,
        /// Engine key.
        key: Vec<u8>,
        /// Engine value.
        value: Vec<u8>,
    },
    /// Removes `key`.
    Delete {
        /// Column family.
        cf: Cf,
        /// Engine key.
        key: Vec<u8>,
    },
    /// Removes every key in `[start, end)`; REQUIRES `start < end`.
    DeleteRange {
        /// Column family.
        cf: Cf,
        /// First key removed.
        start: Vec<u8>,
        /// First key kept.
        end: Vec<u8>,
    },
}

impl Modify {
    /// Bytes of keys and values, for batch size accounting.
    pub fn size(&self) -> usize {
        match self {
            Modify::Put { key, value, .. } => key.len() + value.len(),
            Modify::Delete { key, .. } => key.len(),
            Modify::DeleteRange { start, end, .. } => start.len() + end.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn end_past_last_covers_the_last_key_and_nothing_before_lower() {
        let engine = MemEngine::default();
        let snap = engine.snapshot();
        assert_eq!(end_past_last(&snap, Cf::Raw, b"").unwrap(), None);
        let put = |key: &[u8]| Modify::Put {
            cf: Cf::Raw,
            key: key.to_vec(),
            value: b"v".to_vec(),
        };
        engine
            .write(vec![put(b"a"), put(b"m"), put(b"\xff\xff")])
            .unwrap();
        let snap = engine.snapshot();
        assert_eq!(
            end_past_last(&snap, Cf::Raw, b"b").unwrap(),
            Some(b"\xff\xff\0".to_vec())
        );
        // Another family's keys do not count.
        assert_eq!(end_past_last(&snap, Cf::Write, b"").unwrap(), None);
        // Nothing at or after the lower bound.
        engine
            .write(vec![Modify::Delete {
                cf: Cf::Raw,
                key: b"\xff\xff".to_vec(),
            }])
            .unwrap();
        let snap = engine.snapshot();
        assert_eq!(end_past_last(&snap, Cf::Raw, b"n").unwrap(), None);
        assert_eq!(
            end_past_last(&snap, Cf::Raw, b"").unwrap(),
            Some(b"m\0".to_vec())
        );
    }
}
