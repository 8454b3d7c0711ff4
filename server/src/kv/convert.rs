//! Conversions between TiKV's wire messages and the transaction layer's plain types.

use mvcc::{IsolationLevel, LockInfo, LockType, TimeStamp, TsSet};
use txn::actions::mutation::{
    AssertionLevel, CommitKind, Mutation, MutationOp, PessimisticAction, TxnKind, TxnProps,
};
use txn::{Assertion, ReadOptions};

use crate::proto::{kvrpcpb, metapb};
use crate::region::Region;

/// A lock as TiKV's `LockInfo`.
pub fn lock_info(l: &LockInfo) -> kvrpcpb::LockInfo {
    kvrpcpb::LockInfo {
        primary_lock: l.primary_lock.clone(),
        lock_version: l.lock_version.into_inner(),
        key: l.key.clone(),
        lock_ttl: l.lock_ttl,
        txn_size: l.txn_size,
        lock_type: lock_type(l.lock_type) as i32,
        lock_for_update_ts: l.lock_for_update_ts.into_inner(),
        use_async_commit: l.use_async_commit,
        min_commit_ts: l.min_commit_ts.into_inner(),
        secondaries: l.secondaries.clone(),
        ..Default::default()
    }
}

fn lock_type(t: LockType) -> kvrpcpb::Op {
    match t {
        LockType::Put => kvrpcpb::Op::Put,
        LockType::Delete => kvrpcpb::Op::Del,
        LockType::Lock => kvrpcpb::Op::Lock,
        LockType::Pessimistic => kvrpcpb::Op::PessimisticLock,
    }
}

/// A region as TiKV's `metapb::Region`.
pub fn region_to_pb(r: &Region) -> metapb::Region {
    metapb::Region {
        id: r.id,
        start_key: r.start_key.clone(),
        end_key: r.end_key.clone(),
        region_epoch: Some(metapb::RegionEpoch {
            conf_ver: r.epoch.conf_ver,
            version: r.epoch.version,
        }),
        peers: r
            .peers
            .iter()
            .map(|p| super::errors::peer_to_pb(*p))
            .collect(),
        ..Default::default()
    }
}

/// How a read treats locks, from the request's context.
pub fn read_options(ctx: &kvrpcpb::Context) -> ReadOptions {
    let ts = |v: &[u64]| TsSet::new(v.iter().copied().map(TimeStamp::new).collect());
    ReadOptions {
        bypass_locks: ts(&ctx.resolved_locks),
        access_locks: ts(&ctx.committed_locks),
        isolation: match kvrpcpb::IsolationLevel::try_from(ctx.isolation_level) {
            Ok(kvrpcpb::IsolationLevel::Rc) => IsolationLevel::Rc,
            // RCCheckTS reads like SI here (we keep no per-read ts check): the stricter choice.
            _ => IsolationLevel::Si,
        },
    }
}

/// One prewrite mutation.
///
/// # Errors
/// A message naming the op when it is not one a prewrite carries (Rollback,
/// PessimisticLock) or not a known op.
pub fn mutation(m: &kvrpcpb::Mutation) -> Result<Mutation, String> {
    let op = match kvrpcpb::Op::try_from(m.op) {
        Ok(kvrpcpb::Op::Put) => MutationOp::Put(m.value.clone()),
        Ok(kvrpcpb::Op::Del) => MutationOp::Delete,
        Ok(kvrpcpb::Op::Lock) => MutationOp::Lock,
        Ok(kvrpcpb::Op::Insert) => MutationOp::Insert(m.value.clone()),
        Ok(kvrpcpb::Op::CheckNotExists) => MutationOp::CheckNotExists,
        Ok(other) => return Err(format!("a prewrite cannot carry op {other:?}")),
        Err(_) => return Err(format!("unknown mutation op {}", m.op)),
    };
    let assertion = match kvrpcpb::Assertion::try_from(m.assertion) {
        Ok(kvrpcpb::Assertion::Exist) => Assertion::Exist,
        Ok(kvrpcpb::Assertion::NotExist) => Assertion::NotExist,
        _ => Assertion::None,
    };
    Ok(Mutation::new(&m.key, op).with_assertion(assertion))
}

/// The transaction a prewrite belongs to.
pub fn txn_props(req: &kvrpcpb::PrewriteRequest) -> TxnProps {
    let start_ts = TimeStamp::new(req.start_version);
    let max_commit_ts = TimeStamp::new(req.max_commit_ts);
    TxnProps {
        start_ts,
        primary: req.primary_lock.clone(),
        kind: if req.for_update_ts != 0 {
            TxnKind::Pessimistic {
                for_update_ts: TimeStamp::new(req.for_update_ts),
            }
        } else {
            TxnKind::Optimistic {
                skip_constraint_check: req.skip_constraint_check,
            }
        },
        // As TiKV: 1PC wins over async commit when the client offers both.
        commit_kind: if req.try_one_pc {
            CommitKind::OnePc { max_commit_ts }
        } else if req.use_async_commit {
            CommitKind::Async { max_commit_ts }
        } else {
            CommitKind::TwoPc
        },
        lock_ttl: req.lock_ttl,
        txn_size: req.txn_size,
        min_commit_ts: TimeStamp::new(req.min_commit_ts),
        assertion_level: match kvrpcpb::AssertionLevel::try_from(req.assertion_level) {
            Ok(kvrpcpb::AssertionLevel::Fast) => AssertionLevel::Fast,
            Ok(kvrpcpb::AssertionLevel::Strict) => AssertionLevel::Strict,
            _ => AssertionLevel::Off,
        },
    }
}

/// The pessimistic action of mutation `i` (optimistic transactions: none to check).
pub fn pessimistic_action(req: &kvrpcpb::PrewriteRequest, i: usize) -> PessimisticAction {
    use kvrpcpb::prewrite_request::PessimisticAction as Pb;
    if req.for_update_ts == 0 {
        return PessimisticAction::SkipPessimisticCheck;
    }
    match req
        .pessimistic_actions
        .get(i)
        .map(|a| Pb::try_from(*a).unwrap_or(Pb::SkipPessimisticCheck))
    {
        Some(Pb::DoPessimisticCheck) => PessimisticAction::DoPessimisticCheck,
        Some(Pb::DoConstraintCheck) => PessimisticAction::DoConstraintCheck,
        _ => PessimisticAction::SkipPessimisticCheck,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prewrite_flags_pick_the_commit_protocol_and_kind() {
        let mut req = kvrpcpb::PrewriteRequest {
            start_version: 10,
            primary_lock: b"p".to_vec(),
            use_async_commit: true,
            max_commit_ts: 50,
            ..Default::default()
        };
        let p = txn_props(&req);
        assert_eq!(
            p.commit_kind,
            CommitKind::Async {
                max_commit_ts: TimeStamp::new(50)
            }
        );
        assert!(!p.is_pessimistic());
        req.try_one_pc = true;
        req.for_update_ts = 12;
        let p = txn_props(&req);
        assert!(matches!(p.commit_kind, CommitKind::OnePc { .. }));
        assert_eq!(p.for_update_ts(), TimeStamp::new(12));
    }

    #[test]
    fn mutations_refuse_ops_a_prewrite_cannot_carry() {
        let m = kvrpcpb::Mutation {
            op: kvrpcpb::Op::Insert as i32,
            key: b"k".to_vec(),
            value: b"v".to_vec(),
            assertion: kvrpcpb::Assertion::NotExist as i32,
        };
        let got = mutation(&m).unwrap();
        assert_eq!(got.op, MutationOp::Insert(b"v".to_vec()));
        assert_eq!(got.assertion, Assertion::NotExist);
        let rollback = kvrpcpb::Mutation {
            op: kvrpcpb::Op::Rollback as i32,
            ..m.clone()
        };
        assert!(mutation(&rollback).is_err());
        let unknown = kvrpcpb::Mutation { op: 77, ..m };
        assert!(mutation(&unknown).unwrap_err().contains("77"));
    }
}
