//! Committing a [`Txn`]: prewrite, then commit, per its [`Flavour`] (client-go's
//! `twoPhaseCommitter`).
//!
//! 1. Pessimistic: every written key not yet locked is locked first; keys locked but not
//!    written are prewritten as `Lock` mutations, so every lock is settled by the commit.
//! 2. Prewrite: 1PC sends every key in one request; 2PC and async commit send the primary
//!    first, then each secondary on its own (as if each key were in its own region), so
//!    resolvers meet half-prewritten transactions. A request that meets locks resolves them
//!    and is sent again, until `write_wait_budget`; any other key error, or locks still
//!    there after the budget, rolls back what was prewritten (`Aborted`).
//! 3. Commit: 1PC is done at prewrite. Async commit is committed once the last prewrite
//!    succeeded, at the largest min_commit_ts answered; the commit records are written
//!    afterwards. 2PC commits the primary at a ts from the oracle — a newer one if a reader
//!    pushed min_commit_ts (`CommitTsExpired`), `Aborted` if a resolver rolled it back —
//!    then the secondaries. A failure after the transaction committed is a `Storage` error,
//!    never `Aborted` (contract 1 of `client`).

use mvcc::TimeStamp;

use super::client::{ClientError, ClientStats, Protocol, Txn};
use crate::actions::mutation::{
    CommitKind, Mutation, MutationOp, PessimisticAction, TxnKind, TxnProps,
};
use crate::{Engine, Error, KeyError, PrewriteRequest};

/// A transaction whose client stopped after prewrite (see [`Txn::prewrite_only`]).
#[derive(Debug, Clone)]
pub struct Abandoned {
    /// Its primary key.
    pub primary: Vec<u8>,
    /// Its start ts.
    pub start_ts: TimeStamp,
}

impl<E: Engine> Txn<E> {
    /// Commits (module docs); answers the commit ts, or `None` for a transaction that
    /// neither wrote nor locked anything.
    ///
    /// A pessimistic transaction that only read for update still commits its locks as
    /// `Lock` records (as client-go does): that prewrite is what proves its locks were
    /// never lost, so that its locked reads hold at one ts (contract 2 of `client`).
    ///
    /// # Errors
    /// `Aborted` (nothing committed), `Stuck`, `Storage`.
    pub async fn commit(mut self) -> Result<Option<TimeStamp>, ClientError> {
        if self.writes.is_empty() && self.locked.is_empty() {
            return Ok(None);
        }
        let (props, mutations) = self.prepare().await?;
        let commit_ts = self.prewrite(&props, mutations).await?;
        let keys = self.keys(&props.primary);
        match (props.commit_kind, commit_ts) {
            (CommitKind::OnePc { .. }, Some(ts)) => Ok(Some(ts)),
            (CommitKind::Async { .. }, Some(ts)) => {
                let mut all = keys;
                all.push(props.primary.clone());
                self.client.storage.commit(&all, self.start_ts, ts).await?;
                Ok(Some(ts))
            }
            _ => self.commit_2pc(&props.primary, &keys).await.map(Some),
        }
    }

    /// Prewrites every key and stops, as a client that crashed then: its locks are left
    /// for resolvers. An async-commit transaction is committed by this; a 2PC one will be
    /// rolled back. Use [`Client::settle`](super::client::Client::settle) to learn which.
    ///
    /// # Errors
    /// As [`commit`](Self::commit); `Storage` for a transaction that writes nothing.
    pub async fn prewrite_only(mut self) -> Result<Abandoned, ClientError> {
        if self.writes.is_empty() {
            return Err(Error::InvalidArgument("nothing to prewrite".into()).into());
        }
        let (props, mutations) = self.prepare().await?;
        self.prewrite(&props, mutations).await?;
        Ok(Abandoned {
            primary: props.primary,
            start_ts: self.start_ts,
        })
    }

    /// Rule 1, then the request's properties and mutations (primary first).
    async fn prepare(
        &mut self,
    ) -> Result<(TxnProps, Vec<(Mutation, PessimisticAction)>), ClientError> {
        if self.flavour.pessimistic {
            // `lock_keys` skips the keys already held.
            let written: Vec<Vec<u8>> = self.writes.keys().cloned().collect();
            self.lock_keys(&written, false).await?;
        }
        let primary = self.primary.clone().ok_or_else(|| {
            Error::Internal("a transaction with writes or locks has a primary".into())
        })?;
        let action = if self.flavour.pessimistic {
            PessimisticAction::DoPessimisticCheck
        } else {
            PessimisticAction::SkipPessimisticCheck
        };
        let mut mutations: Vec<(Mutation, PessimisticAction)> = self
            .writes
            .iter()
            .map(|(k, v)| match v {
                Some(v) => Mutation::put(k, v),
                None => Mutation::new(k, MutationOp::Delete),
            })
            .chain(
                self.locked
                    .iter()
                    .filter(|k| !self.writes.contains_key(*k))
                    .map(|k| Mutation::new(k, MutationOp::Lock)),
            )
            .map(|m| (m, action))
            .collect();
        let primary_key = mvcc::Key::from_raw(&primary);
        mutations.sort_by_key(|(m, _)| m.key != primary_key);
        let mut props =
            TxnProps::optimistic(&primary, self.start_ts, self.client.config.lock_ttl_ms);
        props.txn_size = mutations.len() as u64;
        props.min_commit_ts = self.start_ts.next();
        if self.flavour.pessimistic {
            props.kind = TxnKind::Pessimistic {
                for_update_ts: self.for_update_ts,
            };
            props.min_commit_ts = self.for_update_ts.next();
        }
        let max_commit_ts = TimeStamp::zero();
        props.commit_kind = match self.flavour.protocol {
            Protocol::TwoPc => CommitKind::TwoPc,
            Protocol::AsyncCommit => CommitKind::Async { max_commit_ts },
            Protocol::OnePc => CommitKind::OnePc { max_commit_ts },
        };
        Ok((props, mutations))
    }

    /// Rule 2; answers the commit ts decided at prewrite (1PC, async commit), `None` for
    /// 2PC (including a fallback).
    async fn prewrite(
        &mut self,
        props: &TxnProps,
        mutations: Vec<(Mutation, PessimisticAction)>,
    ) -> Result<Option<TimeStamp>, ClientError> {
        let secondaries = match props.commit_kind {
            CommitKind::Async { .. } => Some(self.keys(&props.primary)),
            _ => None,
        };
        let batches: Vec<Vec<_>> = match props.commit_kind {
            CommitKind::OnePc { .. } => vec![mutations],
            _ => mutations.into_iter().map(|m| vec![m]).collect(),
        };
        let mut min_commit_ts = Some(TimeStamp::zero());
        let mut one_pc_commit_ts = TimeStamp::zero();
        let mut prewritten: Vec<Vec<u8>> = Vec::new();
        for batch in batches {
            let keys: Vec<Vec<u8>> = batch
                .iter()
                .map(|(m, _)| m.key.to_raw())
                .collect::<Result<_, _>>()
                .map_err(Error::from)?;
            let req = PrewriteRequest {
                props: props.clone(),
                mutations: batch,
                secondary_keys: secondaries.clone(),
            };
            match self.send_prewrite(req).await {
                Ok(resp) => {
                    self.primary_locked |= keys.contains(&props.primary);
                    prewritten.extend(keys);
                    min_commit_ts = min_commit_ts
                        .filter(|_| !resp.min_commit_ts.is_zero())
                        .map(|ts| ts.max(resp.min_commit_ts));
                    one_pc_commit_ts = resp.one_pc_commit_ts;
                }
                Err(ClientError::Aborted(e)) => {
                    prewritten.extend(self.locked.iter().cloned());
                    self.client
                        .storage
                        .batch_rollback(&prewritten, self.start_ts)
                        .await?;
                    return Err(ClientError::Aborted(e));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(match props.commit_kind {
            CommitKind::TwoPc => None,
            CommitKind::OnePc { .. } if !one_pc_commit_ts.is_zero() => Some(one_pc_commit_ts),
            CommitKind::OnePc { .. } => None,
            CommitKind::Async { .. } => min_commit_ts,
        })
    }

    /// One prewrite request, sent again after resolving the locks it met.
    async fn send_prewrite(
        &mut self,
        req: PrewriteRequest,
    ) -> Result<crate::PrewriteResponse, ClientError> {
        let deadline = self.client.deadline();
        let began = std::time::Instant::now();
        loop {
            let resp = match self.client.storage.prewrite(req.clone()).await {
                Ok(resp) => resp,
                Err(Error::Key(e)) => return Err(ClientError::Aborted(e)),
                Err(e) => return Err(e.into()),
            };
            if resp.errors.is_empty() {
                return Ok(resp);
            }
            let waited_long = began.elapsed() >= self.client.config.write_wait_budget;
            for e in resp.errors {
                match e {
                    KeyError::KeyIsLocked(lock) if !waited_long => {
                        self.client.resolve_for_write(&lock).await?;
                    }
                    e => return Err(ClientError::Aborted(Box::new(e))),
                }
            }
            self.keep_alive().await?;
            self.client.check_deadline(deadline, "prewriting")?;
        }
    }

    /// Rule 3 for 2PC.
    async fn commit_2pc(
        &self,
        primary: &[u8],
        secondaries: &[Vec<u8>],
    ) -> Result<TimeStamp, ClientError> {
        let storage = &self.client.storage;
        let mut commit_ts = self.client.oracle.now();
        let deadline = self.client.deadline();
        loop {
            match storage
                .commit(&[primary.to_vec()], self.start_ts, commit_ts)
                .await
            {
                Ok(()) => break,
                Err(Error::Key(e)) => match *e {
                    KeyError::CommitTsExpired { min_commit_ts, .. } => {
                        ClientStats::bump(&self.client.stats.commit_ts_retries);
                        commit_ts = self.client.oracle.now().max(min_commit_ts);
                    }
                    KeyError::TxnLockNotFound { .. } => {
                        // A resolver rolled the primary back: nothing committed.
                        storage.batch_rollback(secondaries, self.start_ts).await?;
                        return Err(ClientError::Aborted(e));
                    }
                    e => return Err(Error::from(e).into()),
                },
                Err(e) => return Err(e.into()),
            }
            self.client
                .check_deadline(deadline, "committing the primary")?;
        }
        if !secondaries.is_empty() {
            storage
                .commit(secondaries, self.start_ts, commit_ts)
                .await?;
        }
        Ok(commit_ts)
    }

    /// Every key of the transaction but `primary`.
    fn keys(&self, primary: &[u8]) -> Vec<Vec<u8>> {
        self.writes
            .keys()
            .chain(self.locked.iter())
            .filter(|k| k.as_slice() != primary)
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }
}
