//! Percolator actions, one per file (TiKV's `src/storage/txn/actions/`).
//!
//! Every action is a function of the shape
//! `(&mut MvccTxn, &mut MvccReader<S>, request args) -> Result<outcome>`: it reads through the
//! reader (one snapshot) and only *collects* modifications in the `MvccTxn`; the caller
//! writes them as one batch, so an action's effects are all or nothing. Transaction outcomes
//! (locked, conflict, …) are `Error::Key(KeyError)`; an action that fails leaves the buffer
//! to be discarded (the caller writes nothing).
//!
//! Actions that read on behalf of a transaction or compute commit ts also take the
//! [`ConcurrencyManager`](crate::ConcurrencyManager). Latches, batching across requests and
//! lock waiting belong to the command layer.

pub mod acquire_pessimistic_lock;
pub mod check_secondary_locks;
pub mod check_txn_status;
pub mod cleanup;
pub mod commit;
pub mod gc;
pub mod mutation;
pub mod pessimistic_rollback;
pub mod prewrite;
pub mod prewrite_request;
pub mod resolve_lock;
pub mod rollback;
pub mod scan_lock;
pub mod txn_heart_beat;
