//! A Percolator client over [`TxnStorage`] for concurrency tests: what tikv-client does,
//! in one process and without regions.
//!
//! A [`Txn`] reads at its start ts (resolving the locks it meets, see `resolver`), buffers
//! its writes, and commits in the [`Flavour`] it was begun with (see `commit`): optimistic
//! or pessimistic, by 2PC, async commit or 1PC. Contract:
//! 1. A transaction that returns [`ClientError::Aborted`] committed nothing and left no lock
//!    behind that a resolver could commit: the caller may simply retry.
//! 2. A pessimistic transaction reads for update (`get_for_update`) through its locks: every
//!    value it read that way stays the latest committed one until it commits, so all its
//!    locked reads hold at its final for_update_ts.
//! 3. Loops (lock waits, retries) are bounded by [`ClientConfig::give_up_after`]; past it a
//!    call fails with [`ClientError::Stuck`], which a test reports as a liveness bug.
//! 4. While it waits, a transaction whose primary holds its lock heart-beats it, so its TTL
//!    runs out only if its client stops (or stalls longer than the TTL). Contract 2 does not
//!    rest on this: a resolver may remove the pessimistic locks of an expired transaction
//!    without a trace, and a second lock request would then succeed at a newer
//!    for_update_ts without noticing the writes in between — so a key is locked once per
//!    transaction (as client-go's lock cache does), its first locked read answers later
//!    reads for update, and a lost lock surfaces at prewrite as `PessimisticLockNotFound`
//!    (`Aborted`). Heart beats only keep slow transactions from being aborted.
//!
//! Concurrency: `Client` is cheap to clone and shared by tasks; a `Txn` belongs to one task.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mvcc::{TimeStamp, TsSet};

use crate::oracle::Oracle;
use crate::{Engine, Error, KeyError, ReadOptions, TxnStorage};

/// How a transaction commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Prewrite, then commit the primary, then the secondaries.
    TwoPc,
    /// Committed once every key is prewritten, at the largest min_commit_ts answered.
    AsyncCommit,
    /// Every key in one prewrite that commits.
    OnePc,
}

/// Optimistic or pessimistic, and how it commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flavour {
    /// Lock keys before reading them for update (and before writing them).
    pub pessimistic: bool,
    /// The commit protocol.
    pub protocol: Protocol,
}

impl Flavour {
    /// Every combination.
    pub const ALL: [Flavour; 6] = [
        Flavour::new(false, Protocol::TwoPc),
        Flavour::new(false, Protocol::AsyncCommit),
        Flavour::new(false, Protocol::OnePc),
        Flavour::new(true, Protocol::TwoPc),
        Flavour::new(true, Protocol::AsyncCommit),
        Flavour::new(true, Protocol::OnePc),
    ];

    /// A flavour.
    pub const fn new(pessimistic: bool, protocol: Protocol) -> Flavour {
        Flavour {
            pessimistic,
            protocol,
        }
    }
}

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The transaction was rolled back (conflict, deadlock, rolled back by a resolver…);
    /// nothing of it committed. Retryable.
    #[error("aborted: {0}")]
    Aborted(Box<KeyError>),
    /// A wait or retry loop ran past `give_up_after` (a liveness bug, or an overloaded box).
    #[error("stuck: {0}")]
    Stuck(String),
    /// Anything else: a bug in the client or the storage.
    #[error(transparent)]
    Storage(#[from] Error),
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// TTL of every lock, in ms. Short in tests, so abandoned locks are resolved quickly.
    pub lock_ttl_ms: u64,
    /// How long a pessimistic lock request waits for a lock before resolving it.
    pub lock_wait_ms: i64,
    /// How long a prewrite or lock request keeps waiting for a live lock of another
    /// transaction before giving up (`Aborted`): two transactions may wait for each other
    /// outside the wait-for graph (a prewrite never joins it), and heart beats keep both
    /// alive, so one must give up (client-go's backoff budget).
    pub write_wait_budget: Duration,
    /// Bound of every wait / retry loop (contract 3).
    pub give_up_after: Duration,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            lock_ttl_ms: 500,
            lock_wait_ms: 50,
            write_wait_budget: Duration::from_millis(500),
            give_up_after: Duration::from_secs(60),
        }
    }
}

/// What the client did, for tests to show they exercised something.
#[derive(Debug, Default)]
pub struct ClientStats {
    /// Locks of committed transactions committed by a resolver.
    pub resolved_committed: AtomicU64,
    /// Locks of failed transactions rolled back by a resolver.
    pub resolved_rolled_back: AtomicU64,
    /// Async-commit transactions whose fate a resolver decided from the secondaries.
    pub async_commit_checks: AtomicU64,
    /// Reads that went past a lock whose min_commit_ts was pushed above them.
    pub bypassed: AtomicU64,
    /// Back-offs while a live lock stood in the way.
    pub waits: AtomicU64,
    /// Pessimistic lock requests retried with a newer for_update_ts after a write conflict.
    pub for_update_retries: AtomicU64,
    /// 2PC commits retried because a reader pushed min_commit_ts.
    pub commit_ts_retries: AtomicU64,
}

impl ClientStats {
    /// Adds one to `counter`.
    pub(super) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The client: a storage, the shared oracle, settings and counters.
#[derive(Debug)]
pub struct Client<E: Engine> {
    pub(super) storage: TxnStorage<E>,
    pub(super) oracle: Arc<Oracle>,
    pub(super) config: ClientConfig,
    pub(super) stats: Arc<ClientStats>,
}

impl<E: Engine> Clone for Client<E> {
    fn clone(&self) -> Self {
        Client {
            storage: self.storage.clone(),
            oracle: self.oracle.clone(),
            config: self.config.clone(),
            stats: self.stats.clone(),
        }
    }
}

impl<E: Engine> Client<E> {
    /// A client of `storage` taking timestamps from `oracle`.
    pub fn new(storage: TxnStorage<E>, oracle: Arc<Oracle>, config: ClientConfig) -> Client<E> {
        Client {
            storage,
            oracle,
            config,
            stats: Arc::default(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    /// The oracle.
    pub fn oracle(&self) -> &Arc<Oracle> {
        &self.oracle
    }

    /// The storage.
    pub fn storage(&self) -> &TxnStorage<E> {
        &self.storage
    }

    /// Begins a transaction at a fresh start ts.
    pub fn begin(&self, flavour: Flavour) -> Txn<E> {
        Txn {
            client: self.clone(),
            flavour,
            start_ts: self.oracle.now(),
            for_update_ts: TimeStamp::zero(),
            primary: None,
            locked: BTreeSet::new(),
            locked_values: BTreeMap::new(),
            writes: BTreeMap::new(),
            bypass: Vec::new(),
            primary_locked: false,
            last_heart_beat: Instant::now(),
        }
    }

    /// The deadline of a loop starting now (contract 3).
    pub(super) fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.config.give_up_after
    }
}

/// One transaction (module docs).
#[derive(Debug)]
pub struct Txn<E: Engine> {
    pub(super) client: Client<E>,
    pub(super) flavour: Flavour,
    pub(super) start_ts: TimeStamp,
    /// Pessimistic: the for_update_ts of the last lock request (0 before any).
    pub(super) for_update_ts: TimeStamp,
    /// The first key locked or written: where the transaction's fate is decided.
    pub(super) primary: Option<Vec<u8>>,
    /// Keys holding our pessimistic lock.
    pub(super) locked: BTreeSet<Vec<u8>>,
    /// The values read when keys were locked with their value (contract 2: never locked
    /// twice, so later reads for update answer from here).
    pub(super) locked_values: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Buffered writes: `Some` puts, `None` deletes.
    pub(super) writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Transactions whose locks our reads may pass (their min_commit_ts is above us).
    pub(super) bypass: Vec<TimeStamp>,
    /// The primary holds our lock: heart beats may extend it (contract 4).
    pub(super) primary_locked: bool,
    /// When the last heart beat was sent.
    pub(super) last_heart_beat: Instant,
}

impl<E: Engine> Txn<E> {
    /// The start ts.
    pub fn start_ts(&self) -> TimeStamp {
        self.start_ts
    }

    /// The flavour.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// Buffers a put.
    pub fn put(&mut self, key: &[u8], value: &[u8]) {
        self.primary.get_or_insert_with(|| key.to_vec());
        self.writes.insert(key.to_vec(), Some(value.to_vec()));
    }

    /// Buffers a delete.
    pub fn delete(&mut self, key: &[u8]) {
        self.primary.get_or_insert_with(|| key.to_vec());
        self.writes.insert(key.to_vec(), None);
    }

    /// The value of `key` at start ts (or as written by this transaction).
    ///
    /// # Errors
    /// `Stuck`, `Storage` (module docs).
    pub async fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>, ClientError> {
        let mut v = self.batch_get(&[key.to_vec()]).await?;
        Ok(v.pop().flatten())
    }

    /// The values of `keys` at start ts, aligned with `keys`, resolving the locks met.
    ///
    /// # Errors
    /// `Stuck`, `Storage` (module docs).
    pub async fn batch_get(
        &mut self,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, ClientError> {
        let deadline = self.client.deadline();
        let found = loop {
            let options = ReadOptions {
                bypass_locks: TsSet::new(self.bypass.clone()),
                ..ReadOptions::default()
            };
            let locks = match self
                .client
                .storage
                .batch_get(keys, self.start_ts, options)
                .await
            {
                Ok(pairs) => {
                    let (values, locks): (Vec<_>, Vec<_>) =
                        pairs.into_iter().partition(|p| p.value.is_ok());
                    if locks.is_empty() {
                        break values;
                    }
                    locks.into_iter().filter_map(|p| p.value.err()).collect()
                }
                Err(Error::Key(e)) if matches!(*e, KeyError::KeyIsLocked(_)) => match *e {
                    KeyError::KeyIsLocked(lock) => vec![lock],
                    _ => unreachable!("matched above"),
                },
                Err(e) => return Err(e.into()),
            };
            for lock in locks {
                let bypass = self.client.resolve_for_read(&lock, self.start_ts).await?;
                self.bypass.extend(bypass);
            }
            self.keep_alive().await?;
            self.client.check_deadline(deadline, "reading")?;
        };
        let mut found: BTreeMap<Vec<u8>, Vec<u8>> = found
            .into_iter()
            .filter_map(|p| p.value.ok().map(|v| (p.key, v)))
            .collect();
        Ok(keys
            .iter()
            .map(|k| match self.writes.get(k) {
                Some(own) => own.clone(),
                None => found.remove(k),
            })
            .collect())
    }
}
