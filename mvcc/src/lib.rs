#![doc = include_str!("../FORMAT.md")]
//!
//! # Crate map
//! Records and their encodings (FORMAT.md):
//! - `timestamp`: [`TimeStamp`] and [`TsSet`].
//! - `key`: [`Key`], memcomparable user keys with an optional descending timestamp.
//! - `lock`, `write`, `last_change`: [`Lock`] and [`Write`] records and their fields.
//! - `codec`: the primitive encodings (memcomparable bytes, varints, compact bytes).
//!
//! The engine seam:
//! - `engine`: the [`Snapshot`] and [`Cursor`] traits, [`Modify`], and the two engines:
//!   [`LsmEngine`] (Strata's LSM) and [`MemEngine`] (in memory, for tests).
//!
//! Reading and writing MVCC data:
//! - `reader`: [`MvccReader`], record-level reads for transaction actions.
//! - `commit_record`: [`TxnCommitRecord`] and [`make_rollback`] (overlapped rollbacks).
//! - `lock_check`: when a lock blocks a read ([`Lock::check_ts_conflict`]), [`LockInfo`].
//! - `read_options`, `point_getter`, `scanner`: [`PointGetter`] and [`Scanner`], reads at a
//!   ts that respect locks.
//! - `txn`: [`MvccTxn`], which collects an action's modifications.
//! - `error`: the crate's [`Error`].

mod codec;
mod commit_record;
mod engine;
mod error;
mod key;
mod last_change;
mod lock;
mod lock_check;
mod point_getter;
mod read_options;
mod reader;
mod scanner;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
mod timestamp;
mod txn;
mod write;

pub use commit_record::{make_rollback, OverlappedWrite, TxnCommitRecord};
pub use engine::{
    end_past_last, Cf, Cursor, IterBounds, LsmEngine, LsmSnapshot, MemEngine, MemSnapshot, Modify,
    Snapshot,
};
pub use error::{Error, Result};
pub use key::{Key, TS_LEN};
pub use last_change::LastChange;
pub use lock::{Lock, LockType, SHORT_VALUE_MAX_LEN};
pub use lock_check::{IsolationLevel, LockInfo};
pub use point_getter::PointGetter;
pub use read_options::ReadOptions;
pub use reader::MvccReader;
pub use scanner::{ScanEntry, ScanOptions, Scanner};
pub use timestamp::{TimeStamp, TsSet};
pub use txn::MvccTxn;
pub use write::{Write, WriteType, PROTECTED_ROLLBACK_SHORT_VALUE};
