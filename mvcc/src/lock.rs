//! Lock records: the value stored in the `lock` column family under a key (no timestamp)
//! while a transaction holds it. At most one lock per key.
//!
//! Encoding (FORMAT.md, "Lock records"): a type byte, the primary key, `start_ts`, TTL, then
//! optional fields each introduced by a flag byte, in a fixed order. All byte values are
//! TiKV's (`txn_types::lock`) and are on-disk: DO NOT CHANGE.
//!
//! Forward compatibility, as in TiKV: a parser stops at the first flag byte it does not know
//! and ignores the rest, so fields added later (always appended after the known ones) are
//! skipped by older readers. A *known* flag whose payload is truncated is corruption.

use crate::codec::{encode_compact_bytes, encode_var_u64, Reader};
use crate::error::Result;
use crate::last_change::LastChange;
use crate::timestamp::TimeStamp;

const WHAT: &str = "lock record";

/// Longest value inlined in a lock or write record (its length is stored in one byte).
pub const SHORT_VALUE_MAX_LEN: usize = 255;

// Optional-field flags. On-disk values: DO NOT CHANGE. (TiKV reserves b'T' and uses b'h' for
// shared-lock info; neither is written or understood here, so parsing stops at them.)
pub(crate) const SHORT_VALUE_PREFIX: u8 = b'v';
const FOR_UPDATE_TS_PREFIX: u8 = b'f';
const TXN_SIZE_PREFIX: u8 = b't';
const MIN_COMMIT_TS_PREFIX: u8 = b'c';
const ASYNC_COMMIT_PREFIX: u8 = b'a';
const ROLLBACK_TS_PREFIX: u8 = b'r';
pub(crate) const LAST_CHANGE_PREFIX: u8 = b'l';
const TXN_SOURCE_PREFIX: u8 = b's';
const LOCKED_WITH_CONFLICT_PREFIX: u8 = b'F';
const GENERATION_PREFIX: u8 = b'g';

/// What a lock is for. On-disk byte values: DO NOT CHANGE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockType {
    /// Prewrite of a Put (`'P'`).
    Put,
    /// Prewrite of a Delete (`'D'`).
    Delete,
    /// Prewrite of a read lock, committed as a Lock write record (`'L'`).
    Lock,
    /// A pessimistic lock taken before prewrite (`'S'`).
    Pessimistic,
}

impl LockType {
    /// The stored byte.
    pub fn to_u8(self) -> u8 {
        match self {
            LockType::Put => b'P',
            LockType::Delete => b'D',
            LockType::Lock => b'L',
            LockType::Pessimistic => b'S',
        }
    }

    /// The type of a stored byte, if known (TiKV's newer shared lock `'H'` is not).
    pub fn from_u8(b: u8) -> Option<LockType> {
        match b {
            b'P' => Some(LockType::Put),
            b'D' => Some(LockType::Delete),
            b'L' => Some(LockType::Lock),
            b'S' => Some(LockType::Pessimistic),
            _ => None,
        }
    }
}

/// A transaction's lock on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// What the lock is for.
    pub lock_type: LockType,
    /// The raw primary key: where the transaction's fate is decided.
    pub primary: Vec<u8>,
    /// The transaction's `start_ts` (TiKV calls it `ts`; clients `lock_version`).
    pub ts: TimeStamp,
    /// Milliseconds after `ts`'s physical time until others may roll the lock back.
    pub ttl: u64,
    /// The value, when at most [`SHORT_VALUE_MAX_LEN`] bytes (else it is in `default`).
    pub short_value: Option<Vec<u8>>,
    /// Non-zero for pessimistic transactions: the ts their lock was acquired at.
    pub for_update_ts: TimeStamp,
    /// Keys in the transaction (a hint for resolvers); 0 = not recorded.
    pub txn_size: u64,
    /// Readers at ts below this need not wait; async commit / 1PC commit at or above it.
    pub min_commit_ts: TimeStamp,
    /// The transaction commits asynchronously; `secondaries` is set on its primary lock.
    pub use_async_commit: bool,
    /// In-memory only (never encoded): the lock belongs to a one-phase commit in progress.
    pub use_one_pc: bool,
    /// Raw keys of the other locks of an async-commit transaction (primary lock only).
    pub secondaries: Vec<Vec<u8>>,
    /// Start ts of other transactions rolled back on this key while this lock was held: their
    /// protected rollback records could otherwise be overwritten by this transaction's commit.
    pub rollback_ts: Vec<TimeStamp>,
    /// Position of the key's last Put/Delete (kept, not used yet).
    pub last_change: LastChange,
    /// Origin of the transaction, for change-data capture (0 = normal).
    pub txn_source: u64,
    /// A pessimistic lock acquired despite a write conflict ("fair locking").
    pub is_locked_with_conflict: bool,
    /// Pipelined-DML generation (0 = none).
    pub generation: u64,
}

impl Lock {
    /// A lock with every optional field unset.
    pub fn new(lock_type: LockType, primary: Vec<u8>, ts: TimeStamp, ttl: u64) -> Lock {
        Lock {
            lock_type,
            primary,
            ts,
            ttl,
            short_value: None,
            for_update_ts: TimeStamp::zero(),
            txn_size: 0,
            min_commit_ts: TimeStamp::zero(),
            use_async_commit: false,
            use_one_pc: false,
            secondaries: Vec::new(),
            rollback_ts: Vec::new(),
            last_change: LastChange::Unknown,
            txn_source: 0,
            is_locked_with_conflict: false,
            generation: 0,
        }
    }

    /// True if the lock belongs to a pessimistic transaction.
    pub fn is_pessimistic_txn(&self) -> bool {
        !self.for_update_ts.is_zero()
    }

    /// True for a pessimistic lock (not yet prewritten).
    pub fn is_pessimistic_lock(&self) -> bool {
        self.lock_type == LockType::Pessimistic
    }

    /// The stored form.
    ///
    /// # Panics
    /// If `short_value` is longer than [`SHORT_VALUE_MAX_LEN`] (its length is one byte; a
    /// caller inlining a longer value is a bug, and truncating it would lose data).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(32 + self.primary.len());
        b.push(self.lock_type.to_u8());
        encode_compact_bytes(&mut b, &self.primary);
        encode_var_u64(&mut b, self.ts.into_inner());
        encode_var_u64(&mut b, self.ttl);
        if let Some(v) = &self.short_value {
            push_short_value(&mut b, v);
        }
        if !self.for_update_ts.is_zero() {
            b.push(FOR_UPDATE_TS_PREFIX);
            b.extend_from_slice(&self.for_update_ts.into_inner().to_be_bytes());
        }
        if self.txn_size > 0 {
            b.push(TXN_SIZE_PREFIX);
            b.extend_from_slice(&self.txn_size.to_be_bytes());
        }
        if !self.min_commit_ts.is_zero() {
            b.push(MIN_COMMIT_TS_PREFIX);
            b.extend_from_slice(&self.min_commit_ts.into_inner().to_be_bytes());
        }
        if self.use_async_commit {
            b.push(ASYNC_COMMIT_PREFIX);
            encode_var_u64(&mut b, self.secondaries.len() as u64);
            for k in &self.secondaries {
                encode_compact_bytes(&mut b, k);
            }
        }
        if !self.rollback_ts.is_empty() {
            b.push(ROLLBACK_TS_PREFIX);
            encode_var_u64(&mut b, self.rollback_ts.len() as u64);
            for ts in &self.rollback_ts {
                b.extend_from_slice(&ts.into_inner().to_be_bytes());
            }
        }
        push_last_change(&mut b, &self.last_change);
        if self.txn_source != 0 {
            b.push(TXN_SOURCE_PREFIX);
            encode_var_u64(&mut b, self.txn_source);
        }
        if self.is_locked_with_conflict {
            b.push(LOCKED_WITH_CONFLICT_PREFIX);
        }
        if self.generation > 0 {
            b.push(GENERATION_PREFIX);
            b.extend_from_slice(&self.generation.to_be_bytes());
        }
        b
    }

    /// Decodes a stored lock.
    ///
    /// # Errors
    /// `Corruption` if it is empty, has an unknown type byte, or a field is truncated.
    pub fn parse(data: &[u8]) -> Result<Lock> {
        let mut r = Reader::new(data, WHAT);
        let type_byte = r.u8()?;
        let lock_type = LockType::from_u8(type_byte)
            .ok_or_else(|| r.error(format!("unknown lock type {type_byte:#04x}")))?;
        let primary = r.compact_bytes()?.to_vec();
        let ts = TimeStamp::new(r.var_u64()?);
        // Very old TiKV locks end after the ts: their TTL is 0.
        let ttl = if r.is_empty() { 0 } else { r.var_u64()? };
        let mut lock = Lock::new(lock_type, primary, ts, ttl);
        while !r.is_empty() {
            match r.u8()? {
                SHORT_VALUE_PREFIX => lock.short_value = Some(read_short_value(&mut r)?),
                FOR_UPDATE_TS_PREFIX => lock.for_update_ts = r.u64_be()?.into(),
                TXN_SIZE_PREFIX => lock.txn_size = r.u64_be()?,
                MIN_COMMIT_TS_PREFIX => lock.min_commit_ts = r.u64_be()?.into(),
                ASYNC_COMMIT_PREFIX => {
                    lock.use_async_commit = true;
                    let n = r.var_u64()?;
                    // No count can make us allocate more than the record holds.
                    lock.secondaries = Vec::with_capacity(bounded(n, r.rest().len()));
                    for _ in 0..n {
                        lock.secondaries.push(r.compact_bytes()?.to_vec());
                    }
                }
                ROLLBACK_TS_PREFIX => {
                    let n = r.var_u64()?;
                    lock.rollback_ts = Vec::with_capacity(bounded(n, r.rest().len() / 8));
                    for _ in 0..n {
                        lock.rollback_ts.push(r.u64_be()?.into());
                    }
                }
                LAST_CHANGE_PREFIX => lock.last_change = read_last_change(&mut r)?,
                TXN_SOURCE_PREFIX => lock.txn_source = r.var_u64()?,
                LOCKED_WITH_CONFLICT_PREFIX => lock.is_locked_with_conflict = true,
                GENERATION_PREFIX => lock.generation = r.u64_be()?,
                // A field from a newer format: stop, as TiKV does.
                _ => break,
            }
        }
        Ok(lock)
    }
}

fn bounded(n: u64, max: usize) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX).min(max)
}

/// Appends `'v'`, the length byte and the value.
pub(crate) fn push_short_value(b: &mut Vec<u8>, v: &[u8]) {
    let len = u8::try_from(v.len()).unwrap_or_else(|_| {
        panic!(
            "short value of {} bytes exceeds {SHORT_VALUE_MAX_LEN}",
            v.len()
        )
    });
    b.push(SHORT_VALUE_PREFIX);
    b.push(len);
    b.extend_from_slice(v);
}

/// Reads a short value's length byte and bytes (after its flag).
pub(crate) fn read_short_value(r: &mut Reader<'_>) -> Result<Vec<u8>> {
    let len = r.u8()?;
    Ok(r.bytes(usize::from(len))?.to_vec())
}

/// Appends `'l'`, the ts (u64 BE) and the version count (varint), unless Unknown.
pub(crate) fn push_last_change(b: &mut Vec<u8>, lc: &LastChange) {
    if let Some((ts, versions)) = lc.to_parts() {
        b.push(LAST_CHANGE_PREFIX);
        b.extend_from_slice(&ts.into_inner().to_be_bytes());
        encode_var_u64(b, versions);
    }
}

/// Reads a last-change field (after its flag).
pub(crate) fn read_last_change(r: &mut Reader<'_>) -> Result<LastChange> {
    let ts = TimeStamp::new(r.u64_be()?);
    let versions = r.var_u64()?;
    Ok(LastChange::from_parts(ts, versions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn minimal_lock_bytes() {
        // 'P', primary "pk" (zigzag length 4), ts 5, ttl 3000 (varint b8 17), short value "v1".
        let mut lock = Lock::new(LockType::Put, b"pk".to_vec(), 5.into(), 3000);
        lock.short_value = Some(b"v1".to_vec());
        let bytes = [
            b'P', 0x04, b'p', b'k', 0x05, 0xB8, 0x17, b'v', 0x02, b'v', b'1',
        ];
        assert_eq!(lock.to_bytes(), bytes);
        assert_eq!(Lock::parse(&bytes).unwrap(), lock);
    }

    #[test]
    fn every_field_in_tikv_order() {
        let mut lock = Lock::new(LockType::Pessimistic, b"p".to_vec(), 0x10.into(), 0);
        lock.short_value = Some(vec![]);
        lock.for_update_ts = 0x11.into();
        lock.txn_size = 2;
        lock.min_commit_ts = 0x12.into();
        lock.use_async_commit = true;
        lock.secondaries = vec![b"s".to_vec()];
        lock.rollback_ts = vec![0x13.into()];
        lock.last_change = LastChange::NotExist;
        lock.txn_source = 1;
        lock.is_locked_with_conflict = true;
        lock.generation = 3;
        let mut expected = vec![b'S', 0x02, b'p', 0x10, 0x00, b'v', 0x00];
        expected.extend([b'f', 0, 0, 0, 0, 0, 0, 0, 0x11]);
        expected.extend([b't', 0, 0, 0, 0, 0, 0, 0, 2]);
        expected.extend([b'c', 0, 0, 0, 0, 0, 0, 0, 0x12]);
        expected.extend([b'a', 0x01, 0x02, b's']);
        expected.extend([b'r', 0x01, 0, 0, 0, 0, 0, 0, 0, 0x13]);
        expected.extend([b'l', 0, 0, 0, 0, 0, 0, 0, 0, 0x01]);
        expected.extend([b's', 0x01, b'F']);
        expected.extend([b'g', 0, 0, 0, 0, 0, 0, 0, 3]);
        assert_eq!(lock.to_bytes(), expected);
        assert_eq!(Lock::parse(&expected).unwrap(), lock);
    }

    #[test]
    fn old_and_future_formats() {
        // A lock ending after its ts has TTL 0.
        let l = Lock::parse(&[b'D', 0x02, b'k', 0x07]).unwrap();
        assert_eq!((l.lock_type, l.ts, l.ttl), (LockType::Delete, 7.into(), 0));
        // An unknown flag ends parsing; what follows it is ignored, even garbage.
        let l = Lock::parse(&[b'L', 0x02, b'k', 0x07, 0x01, b'Z', 0xFF, b'f']).unwrap();
        assert_eq!(l, Lock::new(LockType::Lock, b"k".to_vec(), 7.into(), 1));
        // The in-memory 1PC flag is never stored.
        let mut l = Lock::new(LockType::Put, b"k".to_vec(), 1.into(), 1);
        l.use_one_pc = true;
        assert!(!Lock::parse(&l.to_bytes()).unwrap().use_one_pc);
    }

    #[test]
    fn damaged_locks_are_corruption() {
        let cases: &[&[u8]] = &[
            &[],
            &[b'H', 0x02, b'k', 0x07, 0x00], // TiKV's shared lock: not supported
            &[b'P', 0x04, b'k'],             // primary truncated
            &[b'P', 0x02, b'k'],             // ts missing
            &[b'P', 0x02, b'k', 0x07, 0x00, b'v', 0x05, b'a'], // short value truncated
            &[b'P', 0x02, b'k', 0x07, 0x00, b'f', 0, 0], // for_update_ts truncated
            &[b'P', 0x02, b'k', 0x07, 0x00, b'a', 0x05, 0x02, b's'], // fewer secondaries
            &[b'P', 0x02, b'k', 0x07, 0x00, b'r', 0xFF, 0xFF, 0xFF, 0x0F], // huge count
        ];
        for c in cases {
            let e = Lock::parse(c).unwrap_err();
            assert!(e.is_corruption(), "{c:?}: {e}");
        }
    }

    pub(crate) fn arb_lock() -> impl Strategy<Value = Lock> {
        (
            (
                0u8..4,
                proptest::collection::vec(any::<u8>(), 0..12),
                any::<u64>(),
                any::<u64>(),
            ),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=255)),
            (any::<u64>(), any::<u64>(), any::<u64>(), any::<bool>()),
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..5), 0..3),
            proptest::collection::vec(any::<u64>(), 0..3),
            (
                any::<u64>(),
                0u64..3,
                any::<u64>(),
                any::<bool>(),
                any::<u64>(),
            ),
        )
            .prop_map(
                |(
                    (t, primary, ts, ttl),
                    sv,
                    (fu, size, mc, ac),
                    secs,
                    rb,
                    (lc, lv, src, conflict, g),
                )| {
                    let lock_type = [
                        LockType::Put,
                        LockType::Delete,
                        LockType::Lock,
                        LockType::Pessimistic,
                    ][usize::from(t)];
                    let mut l = Lock::new(lock_type, primary, ts.into(), ttl);
                    l.short_value = sv;
                    l.for_update_ts = fu.into();
                    l.txn_size = size;
                    l.min_commit_ts = mc.into();
                    l.use_async_commit = ac;
                    l.secondaries = if ac { secs } else { Vec::new() };
                    l.rollback_ts = rb.into_iter().map(TimeStamp::new).collect();
                    l.last_change = LastChange::from_parts(lc.into(), lv);
                    l.txn_source = src;
                    l.is_locked_with_conflict = conflict;
                    l.generation = g;
                    l
                },
            )
    }

    proptest! {
        #[test]
        fn round_trips(lock in arb_lock()) {
            prop_assert_eq!(Lock::parse(&lock.to_bytes()).unwrap(), lock);
        }

        #[test]
        fn truncation_is_an_error_or_a_prefix_parse(lock in arb_lock(), cut in any::<prop::sample::Index>()) {
            let bytes = lock.to_bytes();
            let cut = cut.index(bytes.len());
            // A cut inside a field is corruption; a cut between fields parses to fewer fields.
            if let Ok(l) = Lock::parse(&bytes[..cut]) {
                prop_assert_eq!((l.lock_type, &l.primary, l.ts), (lock.lock_type, &lock.primary, lock.ts));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Lock::parse(&data);
        }
    }
}
