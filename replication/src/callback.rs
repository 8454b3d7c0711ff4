//! How the Raft thread answers: a proposal or a read carries a one-shot callback, called
//! exactly once, on the Raft thread, with the outcome.

use mvcc::LsmSnapshot;

use crate::error::Result;

/// A one-shot answer.
pub type Callback<T> = Box<dyn FnOnce(Result<T>) + Send>;

/// What an applied write answers: nothing but success.
pub type WriteCallback = Callback<()>;

/// What a linearizable read answers: a snapshot of the store taken once the region's state
/// reflects every write committed before the read was asked.
pub type ReadCallback = Callback<LsmSnapshot>;
