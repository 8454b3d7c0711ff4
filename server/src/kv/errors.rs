//! Error mapping: the libraries' outcomes to TiKV's wire fields, exactly as TiKV fills them
//! (`src/storage/errors.rs`: `extract_region_error`, `extract_key_error`).
//!
//! Three places an outcome can go in a response: `region_error` (the client refreshes its
//! region cache and retries), a `KeyError` (transactional outcomes the client acts on:
//! locked, conflict, …; anything else goes to `abort` with a readable message), or, for the
//! raw API, the `error` string.

use txn::{Assertion, KeyError, PessimisticLockNotFoundReason, WriteConflictReason};

use super::convert::{lock_info, region_to_pb};
use crate::proto::{deadlock, errorpb, kvrpcpb, metapb};
use crate::region::{Peer, RegionError};

/// A region error as TiKV's `errorpb::Error`.
pub fn region_error(e: &RegionError) -> errorpb::Error {
    let mut err = errorpb::Error::default();
    match e {
        RegionError::RegionNotFound { region_id } => {
            err.message = format!("region {region_id} not found");
            err.region_not_found = Some(errorpb::RegionNotFound {
                region_id: *region_id,
            });
        }
        RegionError::NotLeader { region_id, leader } => {
            err.message = format!("peer is not leader for region {region_id}");
            err.not_leader = Some(errorpb::NotLeader {
                region_id: *region_id,
                leader: leader.map(peer_to_pb),
            });
        }
        RegionError::StoreNotMatch {
            request_store_id,
            actual_store_id,
        } => {
            err.message = format!(
                "store not match: request to store {request_store_id}, this is store {actual_store_id}"
            );
            err.store_not_match = Some(errorpb::StoreNotMatch {
                request_store_id: *request_store_id,
                actual_store_id: *actual_store_id,
            });
        }
        RegionError::EpochNotMatch {
            message,
            current_regions,
        } => {
            err.message.clone_from(message);
            err.epoch_not_match = Some(errorpb::EpochNotMatch {
                current_regions: current_regions.iter().map(region_to_pb).collect(),
            });
        }
        RegionError::KeyNotInRegion { key, region } => {
            err.message = format!("key {key:02x?} is not in region {}", region.id);
            err.key_not_in_region = Some(errorpb::KeyNotInRegion {
                key: key.clone(),
                region_id: region.id,
                start_key: region.start_key.clone(),
                end_key: region.end_key.clone(),
            });
        }
    }
    err
}

/// The region error a Raft-backed engine's refusal stands for, as TiKV answers it; `None`
/// for any other error (it stays a failure of the request).
///
/// The transaction layer carries engine refusals boxed (`txn::Error::Engine`); the server is
/// the one place that knows the engine, so it looks inside.
pub fn engine_region_error(e: &txn::Error) -> Option<errorpb::Error> {
    use replication::Error as R;
    let txn::Error::Engine(inner) = e else {
        return None;
    };
    let r = inner.downcast_ref::<R>()?;
    let mapped = match r {
        R::NotLeader { region_id, leader } => RegionError::NotLeader {
            region_id: *region_id,
            leader: *leader,
        },
        R::EpochNotMatch { reason, current } => RegionError::EpochNotMatch {
            message: reason.clone(),
            current_regions: current.clone(),
        },
        R::RegionNotFound(region_id) => RegionError::RegionNotFound {
            region_id: *region_id,
        },
        R::KeyNotInRegion {
            key,
            region_id,
            start_key,
            end_key,
        } => RegionError::KeyNotInRegion {
            key: key.clone(),
            region: Box::new(replication::Region {
                id: *region_id,
                start_key: start_key.clone(),
                end_key: end_key.clone(),
                ..Default::default()
            }),
        },
        // The proposal lost its place (leadership changed), so it never applies: retry, as
        // TiKV's StaleCommand tells the client. (A timeout is not mapped: its outcome is
        // unknown, so it stays a failure of the request.)
        R::StaleCommand { .. } => {
            return Some(errorpb::Error {
                message: r.to_string(),
                stale_command: Some(errorpb::StaleCommand {}),
                ..Default::default()
            })
        }
        // The store is stopping: busy, try another peer.
        R::Stopped => {
            return Some(errorpb::Error {
                message: r.to_string(),
                server_is_busy: Some(errorpb::ServerIsBusy {
                    reason: r.to_string(),
                    ..Default::default()
                }),
                ..Default::default()
            })
        }
        _ => return None,
    };
    Some(region_error(&mapped))
}

pub(crate) fn peer_to_pb(p: Peer) -> metapb::Peer {
    metapb::Peer {
        id: p.id,
        store_id: p.store_id,
        ..Default::default()
    }
}

/// A transaction-layer error as TiKV's `KeyError`: its outcomes in their own fields, every
/// other error as `abort` with its message (the client gives up on the request).
pub fn key_error(e: &txn::Error) -> kvrpcpb::KeyError {
    match e {
        txn::Error::Key(k) => key_error_of(k),
        other => kvrpcpb::KeyError {
            abort: other.to_string(),
            ..Default::default()
        },
    }
}

/// The commit ts when `e` says the transaction committed (cleanup answers it in
/// `commit_version` instead of an error, as TiKV).
pub fn committed_ts(e: &txn::Error) -> Option<u64> {
    match e {
        txn::Error::Key(k) => match **k {
            KeyError::Committed { commit_ts, .. } => Some(commit_ts.into_inner()),
            _ => None,
        },
        _ => None,
    }
}

/// A transaction outcome as TiKV's `KeyError`.
pub fn key_error_of(k: &KeyError) -> kvrpcpb::KeyError {
    let mut out = kvrpcpb::KeyError::default();
    match k {
        KeyError::KeyIsLocked(info) => out.locked = Some(lock_info(info)),
        KeyError::WriteConflict {
            start_ts,
            conflict_start_ts,
            conflict_commit_ts,
            key,
            primary,
            reason,
        } => {
            out.conflict = Some(kvrpcpb::WriteConflict {
                start_ts: start_ts.into_inner(),
                conflict_ts: conflict_start_ts.into_inner(),
                key: key.clone(),
                primary: primary.clone(),
                conflict_commit_ts: conflict_commit_ts.into_inner(),
                reason: conflict_reason(*reason) as i32,
            });
            // As TiKV, for clients that only look at `retryable`.
            out.retryable = format!("{k}");
        }
        KeyError::AlreadyExist { key, .. } => {
            out.already_exist = Some(kvrpcpb::AlreadyExist { key: key.clone() });
        }
        KeyError::Deadlock {
            lock_ts,
            lock_key,
            deadlock_key_hash,
            wait_chain,
            ..
        } => {
            out.deadlock = Some(kvrpcpb::Deadlock {
                lock_ts: lock_ts.into_inner(),
                lock_key: lock_key.clone(),
                deadlock_key_hash: *deadlock_key_hash,
                wait_chain: wait_chain
                    .iter()
                    .map(|w| deadlock::WaitForEntry {
                        txn: w.txn.into_inner(),
                        wait_for_txn: w.wait_for_txn.into_inner(),
                        key_hash: w.key_hash,
                        key: w.key.clone(),
                        ..Default::default()
                    })
                    .collect(),
            });
        }
        KeyError::CommitTsExpired {
            start_ts,
            commit_ts,
            key,
            min_commit_ts,
        } => {
            out.commit_ts_expired = Some(kvrpcpb::CommitTsExpired {
                start_ts: start_ts.into_inner(),
                attempted_commit_ts: commit_ts.into_inner(),
                key: key.clone(),
                min_commit_ts: min_commit_ts.into_inner(),
            });
        }
        KeyError::TxnNotFound { start_ts, key } => {
            out.txn_not_found = Some(kvrpcpb::TxnNotFound {
                start_ts: start_ts.into_inner(),
                primary_key: key.clone(),
            });
        }
        KeyError::CommitTsTooLarge { min_commit_ts, .. } => {
            out.commit_ts_too_large = Some(kvrpcpb::CommitTsTooLarge {
                commit_ts: min_commit_ts.into_inner(),
            });
        }
        KeyError::AssertionFailed {
            start_ts,
            key,
            assertion,
            existing_start_ts,
            existing_commit_ts,
        } => {
            out.assertion_failed = Some(kvrpcpb::AssertionFailed {
                start_ts: start_ts.into_inner(),
                key: key.clone(),
                assertion: assertion_to_pb(*assertion) as i32,
                existing_start_ts: existing_start_ts.into_inner(),
                existing_commit_ts: existing_commit_ts.into_inner(),
            });
        }
        KeyError::PrimaryMismatch(info) => {
            out.primary_mismatch = Some(kvrpcpb::PrimaryMismatch {
                lock_info: Some(lock_info(info)),
            });
        }
        // TiKV: a commit that found no lock is retryable (the client re-checks the status).
        KeyError::TxnLockNotFound { .. } => out.retryable = format!("{k}"),
        KeyError::PessimisticLockNotFound { reason, .. } => {
            out.abort = format!(
                "PessimisticLockNotFound ({}): {k}",
                not_found_reason(*reason)
            );
        }
        _ => out.abort = format!("{k}"),
    }
    out
}

fn conflict_reason(r: WriteConflictReason) -> kvrpcpb::write_conflict::Reason {
    use kvrpcpb::write_conflict::Reason;
    match r {
        WriteConflictReason::Unknown | WriteConflictReason::NotLockedKeyConflict => Reason::Unknown,
        WriteConflictReason::Optimistic => Reason::Optimistic,
        WriteConflictReason::PessimisticRetry => Reason::PessimisticRetry,
        WriteConflictReason::SelfRolledBack => Reason::SelfRolledBack,
        WriteConflictReason::RcCheckTs => Reason::RcCheckTs,
        WriteConflictReason::LazyUniquenessCheck => Reason::LazyUniquenessCheck,
    }
}

fn not_found_reason(r: PessimisticLockNotFoundReason) -> &'static str {
    match r {
        PessimisticLockNotFoundReason::LockTsMismatch => "LockTsMismatch",
        PessimisticLockNotFoundReason::LockMissingAmendFail => "LockMissingAmendFail",
        PessimisticLockNotFoundReason::LockForUpdateTsMismatch => "LockForUpdateTsMismatch",
        PessimisticLockNotFoundReason::NonLockKeyConflict => "NonLockKeyConflict",
    }
}

pub(crate) fn assertion_to_pb(a: Assertion) -> kvrpcpb::Assertion {
    match a {
        Assertion::None => kvrpcpb::Assertion::None,
        Assertion::Exist => kvrpcpb::Assertion::Exist,
        Assertion::NotExist => kvrpcpb::Assertion::NotExist,
    }
}

#[cfg(test)]
mod tests {
    use mvcc::{LockInfo, LockType, TimeStamp};

    use super::*;

    fn ts(t: u64) -> TimeStamp {
        TimeStamp::new(t)
    }

    #[test]
    fn transaction_outcomes_fill_their_own_key_error_fields() {
        let locked = KeyError::KeyIsLocked(LockInfo {
            primary_lock: b"p".to_vec(),
            lock_version: ts(10),
            key: b"k".to_vec(),
            lock_ttl: 3000,
            txn_size: 1,
            lock_type: LockType::Put,
            lock_for_update_ts: ts(0),
            use_async_commit: false,
            min_commit_ts: ts(11),
            secondaries: vec![],
        });
        let e = key_error(&txn::Error::from(locked));
        let l = e.locked.unwrap();
        assert_eq!(
            (l.lock_version, l.lock_ttl, &l.key[..]),
            (10, 3000, &b"k"[..])
        );

        let conflict = KeyError::WriteConflict {
            start_ts: ts(5),
            conflict_start_ts: ts(6),
            conflict_commit_ts: ts(7),
            key: b"k".to_vec(),
            primary: b"p".to_vec(),
            reason: WriteConflictReason::Optimistic,
        };
        let e = key_error(&txn::Error::from(conflict));
        let c = e.conflict.unwrap();
        assert_eq!((c.start_ts, c.conflict_ts, c.conflict_commit_ts), (5, 6, 7));
        assert_eq!(c.reason, kvrpcpb::write_conflict::Reason::Optimistic as i32);
        assert!(!e.retryable.is_empty());

        let e = key_error(&txn::Error::from(KeyError::TxnNotFound {
            start_ts: ts(9),
            key: b"p".to_vec(),
        }));
        assert_eq!(e.txn_not_found.unwrap().start_ts, 9);

        let e = key_error(&txn::Error::from(KeyError::CommitTsExpired {
            start_ts: ts(1),
            commit_ts: ts(2),
            key: b"k".to_vec(),
            min_commit_ts: ts(3),
        }));
        let x = e.commit_ts_expired.unwrap();
        assert_eq!((x.attempted_commit_ts, x.min_commit_ts), (2, 3));

        let e = key_error(&txn::Error::from(KeyError::AlreadyExist {
            key: b"k".to_vec(),
            existing_start_ts: ts(1),
        }));
        assert_eq!(e.already_exist.unwrap().key, b"k");
    }

    #[test]
    fn other_failures_abort_with_a_message_and_committed_is_not_an_error_for_cleanup() {
        let e = key_error(&txn::Error::InvalidArgument("bad".into()));
        assert!(e.abort.contains("bad"));
        assert!(e.locked.is_none() && e.conflict.is_none());
        let committed = txn::Error::from(KeyError::Committed {
            start_ts: ts(1),
            commit_ts: ts(4),
            key: b"k".to_vec(),
        });
        assert_eq!(committed_ts(&committed), Some(4));
        assert_eq!(committed_ts(&txn::Error::TtlNotEnabled), None);
    }

    #[test]
    fn raft_engine_refusals_become_region_errors() {
        let engine = |e: replication::Error| txn::Error::Engine(Box::new(e));
        let leader = replication::Peer::new(7, 3);
        let e = engine_region_error(&engine(replication::Error::NotLeader {
            region_id: 2,
            leader: Some(leader),
        }))
        .unwrap();
        let nl = e.not_leader.unwrap();
        assert_eq!((nl.region_id, nl.leader.unwrap().store_id), (2, 3));
        let current = replication::Region {
            id: 2,
            end_key: b"m".to_vec(),
            ..Default::default()
        };
        let e = engine_region_error(&engine(replication::Error::EpochNotMatch {
            reason: "split".into(),
            current: vec![current],
        }))
        .unwrap();
        assert_eq!(e.epoch_not_match.unwrap().current_regions[0].end_key, b"m");
        let stale = engine(replication::Error::StaleCommand {
            region_id: 2,
            reason: "x",
        });
        assert!(engine_region_error(&stale).unwrap().stale_command.is_some());
        let timeout = engine(replication::Error::Timeout {
            region_id: 2,
            timeout: std::time::Duration::from_secs(1),
        });
        assert!(engine_region_error(&timeout).is_none());
        let stopped = engine_region_error(&engine(replication::Error::Stopped)).unwrap();
        assert!(stopped.server_is_busy.is_some());
        assert!(engine_region_error(&txn::Error::Internal("x".into())).is_none());
        assert!(
            engine_region_error(&engine(replication::Error::InvalidArgument("x".into()))).is_none()
        );
    }

    #[test]
    fn region_errors_carry_what_the_client_retries_with() {
        let e = region_error(&RegionError::NotLeader {
            region_id: 2,
            leader: Some(Peer::new(3, 4)),
        });
        let nl = e.not_leader.unwrap();
        assert_eq!((nl.region_id, nl.leader.unwrap().store_id), (2, 4));
        let e = region_error(&RegionError::RegionNotFound { region_id: 8 });
        assert_eq!(e.region_not_found.unwrap().region_id, 8);
    }
}
