//! Write records: the value stored in the `write` column family under `key + commit_ts`,
//! recording how a transaction ended on that key (committed Put/Delete/Lock, or Rollback,
//! which is stored under `key + start_ts`).
//!
//! Encoding (FORMAT.md, "Write records"): a type byte, `start_ts`, then flagged optional
//! fields in a fixed order; byte values are TiKV's (`txn_types::write`), on-disk: DO NOT
//! CHANGE. A parser stops at the first unknown flag byte (forward compatibility, as TiKV).

use crate::codec::{encode_var_u64, Reader};
use crate::error::Result;
use crate::last_change::LastChange;
use crate::lock::{
    push_last_change, push_short_value, read_last_change, read_short_value, LockType,
    LAST_CHANGE_PREFIX, SHORT_VALUE_PREFIX,
};
use crate::timestamp::TimeStamp;

const WHAT: &str = "write record";

// Optional-field flags. On-disk values: DO NOT CHANGE. Note the write record's txn source is
// b'S', the lock's b's'.
const OVERLAPPED_ROLLBACK_FLAG: u8 = b'R';
const GC_FENCE_PREFIX: u8 = b'F';
const TXN_SOURCE_PREFIX: u8 = b'S';

/// The short value marking a rollback record as protected: it must never be collapsed
/// (deleted) by later rollbacks, because it guards a pessimistic primary key.
pub const PROTECTED_ROLLBACK_SHORT_VALUE: &[u8] = b"p";

/// How a transaction ended on a key. On-disk byte values: DO NOT CHANGE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteType {
    /// Committed a value (`'P'`).
    Put,
    /// Committed a deletion (`'D'`).
    Delete,
    /// Committed a read lock: no data change (`'L'`).
    Lock,
    /// Rolled back (`'R'`), stored at `commit_ts == start_ts`.
    Rollback,
}

impl WriteType {
    /// The stored byte.
    pub fn to_u8(self) -> u8 {
        match self {
            WriteType::Put => b'P',
            WriteType::Delete => b'D',
            WriteType::Lock => b'L',
            WriteType::Rollback => b'R',
        }
    }

    /// The type of a stored byte, if known.
    pub fn from_u8(b: u8) -> Option<WriteType> {
        match b {
            b'P' => Some(WriteType::Put),
            b'D' => Some(WriteType::Delete),
            b'L' => Some(WriteType::Lock),
            b'R' => Some(WriteType::Rollback),
            _ => None,
        }
    }

    /// The record a committed lock of `lock_type` becomes; `None` for a pessimistic lock,
    /// which is never committed as such.
    pub fn from_lock_type(lock_type: LockType) -> Option<WriteType> {
        match lock_type {
            LockType::Put => Some(WriteType::Put),
            LockType::Delete => Some(WriteType::Delete),
            LockType::Lock => Some(WriteType::Lock),
            LockType::Pessimistic => None,
        }
    }
}

/// One write record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// How the transaction ended.
    pub write_type: WriteType,
    /// The transaction's start ts: where its value is in `default` when not inlined.
    pub start_ts: TimeStamp,
    /// The value when at most 255 bytes (Put), or the protected-rollback mark (Rollback).
    pub short_value: Option<Vec<u8>>,
    /// A rollback of another transaction whose start ts equals this record's commit ts also
    /// happened here. Commit ts are not unique across transactions, and a rollback is stored
    /// at `key + start_ts`; when that slot already holds a commit record, the commit record is
    /// kept and this flag set instead of overwriting it (see `commit_record::make_rollback`).
    pub has_overlapped_rollback: bool,
    /// Set only when the flag above is set on an existing record: the commit ts of the key's
    /// next newer Put/Delete at that time (`Some(0)`: none). Rewriting an old record could
    /// otherwise resurrect a version GC already dropped on a lagging replica; a reader that
    /// finds a fence at or below its read ts knows the record is stale (see
    /// [`check_gc_fence_as_latest_version`](Self::check_gc_fence_as_latest_version)).
    pub gc_fence: Option<TimeStamp>,
    /// Position of the key's last Put/Delete (kept, not used yet).
    pub last_change: LastChange,
    /// Origin of the transaction, for change-data capture (0 = normal).
    pub txn_source: u64,
}

impl Write {
    /// A record with no optional field set.
    pub fn new(write_type: WriteType, start_ts: TimeStamp, short_value: Option<Vec<u8>>) -> Write {
        Write {
            write_type,
            start_ts,
            short_value,
            has_overlapped_rollback: false,
            gc_fence: None,
            last_change: LastChange::Unknown,
            txn_source: 0,
        }
    }

    /// A rollback record; `protected` ones are never collapsed.
    pub fn new_rollback(start_ts: TimeStamp, protected: bool) -> Write {
        let mark = protected.then(|| PROTECTED_ROLLBACK_SHORT_VALUE.to_vec());
        Write::new(WriteType::Rollback, start_ts, mark)
    }

    /// This record marked as also standing for an overlapped rollback.
    #[must_use]
    pub fn set_overlapped_rollback(
        mut self,
        overlapped: bool,
        gc_fence: Option<TimeStamp>,
    ) -> Self {
        self.has_overlapped_rollback = overlapped;
        self.gc_fence = gc_fence;
        self
    }

    /// True for a protected rollback record.
    pub fn is_protected(&self) -> bool {
        self.write_type == WriteType::Rollback
            && self.short_value.as_deref() == Some(PROTECTED_ROLLBACK_SHORT_VALUE)
    }

    /// Whether this record, found as the newest version at or below `read_ts`, is valid.
    /// A fence `f > 0` with `f <= read_ts` means the version at `f` should have been found
    /// first; it is missing, so GC dropped it and this record is stale. A fence above
    /// `read_ts` is fine: `read_ts` is above the GC safe point, so that history is intact.
    pub fn check_gc_fence_as_latest_version(&self, read_ts: TimeStamp) -> bool {
        match self.gc_fence {
            Some(fence) => fence.is_zero() || fence > read_ts,
            None => true,
        }
    }

    /// The stored form.
    ///
    /// # Panics
    /// If `short_value` is longer than 255 bytes (see [`crate::Lock::to_bytes`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(12 + self.short_value.as_ref().map_or(0, |v| v.len() + 2));
        b.push(self.write_type.to_u8());
        encode_var_u64(&mut b, self.start_ts.into_inner());
        if let Some(v) = &self.short_value {
            push_short_value(&mut b, v);
        }
        if self.has_overlapped_rollback {
            b.push(OVERLAPPED_ROLLBACK_FLAG);
        }
        if let Some(ts) = self.gc_fence {
            b.push(GC_FENCE_PREFIX);
            b.extend_from_slice(&ts.into_inner().to_be_bytes());
        }
        push_last_change(&mut b, &self.last_change);
        if self.txn_source != 0 {
            b.push(TXN_SOURCE_PREFIX);
            encode_var_u64(&mut b, self.txn_source);
        }
        b
    }

    /// Decodes a stored record.
    ///
    /// # Errors
    /// `Corruption` if it is empty, has an unknown type byte, or a field is truncated.
    pub fn parse(data: &[u8]) -> Result<Write> {
        let mut r = Reader::new(data, WHAT);
        let type_byte = r.u8()?;
        let write_type = WriteType::from_u8(type_byte)
            .ok_or_else(|| r.error(format!("unknown write type {type_byte:#04x}")))?;
        let mut w = Write::new(write_type, r.var_u64()?.into(), None);
        while !r.is_empty() {
            match r.u8()? {
                SHORT_VALUE_PREFIX => w.short_value = Some(read_short_value(&mut r)?),
                OVERLAPPED_ROLLBACK_FLAG => w.has_overlapped_rollback = true,
                GC_FENCE_PREFIX => w.gc_fence = Some(r.u64_be()?.into()),
                LAST_CHANGE_PREFIX => w.last_change = read_last_change(&mut r)?,
                TXN_SOURCE_PREFIX => w.txn_source = r.var_u64()?,
                _ => break,
            }
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn byte_vectors() {
        let w = Write::new(WriteType::Put, 300.into(), Some(b"hi".to_vec()));
        let bytes = [b'P', 0xAC, 0x02, b'v', 0x02, b'h', b'i'];
        assert_eq!(w.to_bytes(), bytes);
        assert_eq!(Write::parse(&bytes).unwrap(), w);

        assert_eq!(
            Write::new_rollback(9.into(), false).to_bytes(),
            [b'R', 0x09]
        );
        let protected = Write::new_rollback(9.into(), true);
        assert_eq!(protected.to_bytes(), [b'R', 0x09, b'v', 0x01, b'p']);
        assert!(protected.is_protected() && !Write::new_rollback(9.into(), false).is_protected());

        let mut w = Write::new(WriteType::Delete, 1.into(), None)
            .set_overlapped_rollback(true, Some(0x20.into()));
        w.last_change = LastChange::Exist {
            last_change_ts: 2.into(),
            estimated_versions: 1,
        };
        w.txn_source = 5;
        let mut expected = vec![b'D', 0x01, b'R', b'F', 0, 0, 0, 0, 0, 0, 0, 0x20];
        expected.extend([b'l', 0, 0, 0, 0, 0, 0, 0, 2, 0x01, b'S', 0x05]);
        assert_eq!(w.to_bytes(), expected);
        assert_eq!(Write::parse(&expected).unwrap(), w);
    }

    #[test]
    fn unknown_flags_end_parsing_and_damage_is_corruption() {
        let w = Write::parse(&[b'L', 0x03, b'Z', 0xFF]).unwrap();
        assert_eq!(w, Write::new(WriteType::Lock, 3.into(), None));
        let cases: &[&[u8]] = &[
            &[],
            &[b'X', 0x01],
            b"P",
            &[b'P', 0x80],
            &[b'P', 1, b'v', 3, b'a'],
            &[b'P', 1, b'F', 0],
        ];
        for c in cases {
            assert!(Write::parse(c).unwrap_err().is_corruption(), "{c:?}");
        }
    }

    #[test]
    fn gc_fence_rule() {
        let base = Write::new(WriteType::Put, 10.into(), None);
        assert!(base.check_gc_fence_as_latest_version(100.into()));
        let no_newer = base.clone().set_overlapped_rollback(true, Some(0.into()));
        assert!(no_newer.check_gc_fence_as_latest_version(100.into()));
        let fenced = base.set_overlapped_rollback(true, Some(20.into()));
        assert!(fenced.check_gc_fence_as_latest_version(19.into()));
        assert!(!fenced.check_gc_fence_as_latest_version(20.into()));
        assert!(!fenced.check_gc_fence_as_latest_version(21.into()));
    }

    fn arb_write() -> impl Strategy<Value = Write> {
        (
            0usize..4,
            any::<u64>(),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=255)),
            any::<bool>(),
            proptest::option::of(any::<u64>()),
            (any::<u64>(), 0u64..3, any::<u64>()),
        )
            .prop_map(|(t, start, sv, ov, fence, (lc, lv, src))| {
                let wt = [
                    WriteType::Put,
                    WriteType::Delete,
                    WriteType::Lock,
                    WriteType::Rollback,
                ][t];
                let mut w = Write::new(wt, start.into(), sv)
                    .set_overlapped_rollback(ov, fence.map(TimeStamp::new));
                w.last_change = LastChange::from_parts(lc.into(), lv);
                w.txn_source = src;
                w
            })
    }

    proptest! {
        #[test]
        fn round_trips(w in arb_write()) {
            prop_assert_eq!(Write::parse(&w.to_bytes()).unwrap(), w);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Write::parse(&data);
        }
    }
}
