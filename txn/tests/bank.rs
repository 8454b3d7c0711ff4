//! Scenario: a bank. Accounts start with equal balances; worker tasks transfer random
//! amounts between two random accounts, each transfer in a random flavour (optimistic or
//! pessimistic; 2PC, async commit or 1PC), never overdrawing (the transfer reads the
//! balance and gives up if it is short); a few transfers are abandoned after prewrite, as
//! by a crashed client, so others must resolve their locks. Reader tasks read every account
//! at one start ts and check that the total never changes and no balance is negative.
//! Runs on both engines, on a multi-thread runtime.
//!
//! By default each worker makes a fixed number of transfers (a few seconds in CI). Set
//! `STRATA_BANK_SECS=300` to run each engine for that many seconds instead (soak mode).
//!
//! Besides the invariant, the test asserts it was not vacuous: most transfers committed,
//! conflicts happened, and locks were resolved.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cmd_common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use txn::testing::{Client, ClientConfig, ClientError, Flavour, Oracle, Protocol, Rng};
use txn::{Engine, KeyError};

const ACCOUNTS: usize = 8;
const INITIAL: i64 = 1_000;
const WORKERS: usize = 6;
const READERS: usize = 2;
/// Transfers per worker in the default (CI) mode.
const TRANSFERS_PER_WORKER: usize = 80;
/// Percent of transfers abandoned after prewrite.
const ABANDON_PERCENT: u64 = 3;

fn account(i: usize) -> Vec<u8> {
    format!("acct{i:03}").into_bytes()
}

fn balance(v: Option<Vec<u8>>) -> i64 {
    let bytes: [u8; 8] = v.expect("every account exists").try_into().unwrap();
    i64::from_be_bytes(bytes)
}

#[derive(Debug, Default)]
struct Counts {
    committed: AtomicU64,
    insufficient: AtomicU64,
    aborted: AtomicU64,
    deadlocks: AtomicU64,
    abandoned: AtomicU64,
    reads: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// How long to run: `None` for the fixed number of transfers.
fn soak() -> Option<Duration> {
    let secs = std::env::var("STRATA_BANK_SECS").ok()?;
    Some(Duration::from_secs(
        secs.parse().expect("STRATA_BANK_SECS is seconds"),
    ))
}

/// One transfer; `Ok(false)` when the source's balance was short.
async fn transfer<E: Engine>(
    c: &Client<E>,
    rng: &mut Rng,
    counts: &Counts,
) -> Result<bool, ClientError> {
    let from = rng.below(ACCOUNTS as u64) as usize;
    let to = (from + 1 + rng.below(ACCOUNTS as u64 - 1) as usize) % ACCOUNTS;
    let amount = 1 + rng.below(300) as i64;
    let mut t = c.begin(*rng.pick(&Flavour::ALL));
    // One key at a time, in random order: pessimistic transfers can deadlock.
    let from_balance = balance(t.get_for_update(&[account(from)]).await?.remove(0));
    let to_balance = balance(t.get_for_update(&[account(to)]).await?.remove(0));
    if from_balance < amount {
        t.rollback().await?;
        return Ok(false);
    }
    t.put(&account(from), &(from_balance - amount).to_be_bytes());
    t.put(&account(to), &(to_balance + amount).to_be_bytes());
    if rng.chance(ABANDON_PERCENT) {
        t.prewrite_only().await?;
        bump(&counts.abandoned);
    } else {
        t.commit().await?;
    }
    Ok(true)
}

async fn worker<E: Engine>(c: Client<E>, seed: u64, counts: Arc<Counts>, until: Option<Instant>) {
    let mut rng = Rng::new(seed);
    let mut n = 0;
    while until.map_or(n < TRANSFERS_PER_WORKER, |u| Instant::now() < u) {
        n += 1;
        match transfer(&c, &mut rng, &counts).await {
            Ok(true) => bump(&counts.committed),
            Ok(false) => bump(&counts.insufficient),
            Err(ClientError::Aborted(e)) => {
                bump(&counts.aborted);
                if matches!(*e, KeyError::Deadlock { .. }) {
                    bump(&counts.deadlocks);
                }
            }
            Err(e) => panic!("transfer failed (seed {seed}): {e}"),
        }
    }
}

/// Reads every account at one start ts; checks the invariant.
async fn audit<E: Engine>(c: &Client<E>, rng: &mut Rng) {
    let mut t = c.begin(*rng.pick(&Flavour::ALL));
    let keys: Vec<Vec<u8>> = (0..ACCOUNTS).map(account).collect();
    let balances: Vec<i64> = t
        .batch_get(&keys)
        .await
        .unwrap()
        .into_iter()
        .map(balance)
        .collect();
    let total: i64 = balances.iter().sum();
    assert_eq!(
        total,
        INITIAL * ACCOUNTS as i64,
        "at {}: {balances:?}",
        t.start_ts()
    );
    assert!(
        balances.iter().all(|b| *b >= 0),
        "at {}: {balances:?}",
        t.start_ts()
    );
}

async fn bank<E: Engine>(env: cmd_common::Env<E>, seed: u64) {
    let config = ClientConfig::default();
    let c = Client::new(env.s.clone(), Arc::new(Oracle::new()), config);
    let mut setup = c.begin(Flavour::new(false, Protocol::TwoPc));
    for i in 0..ACCOUNTS {
        setup.put(&account(i), &INITIAL.to_be_bytes());
    }
    setup.commit().await.unwrap();

    let until = soak().map(|d| Instant::now() + d);
    let counts = Arc::new(Counts::default());
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let (c, counts, done) = (c.clone(), counts.clone(), done.clone());
            tokio::spawn(async move {
                let mut rng = Rng::new(seed ^ (1000 + r as u64));
                while !done.load(Ordering::Relaxed) {
                    audit(&c, &mut rng).await;
                    bump(&counts.reads);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
        })
        .collect();
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| tokio::spawn(worker(c.clone(), seed + w as u64, counts.clone(), until)))
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.unwrap();
    }
    audit(&c, &mut Rng::new(seed)).await;

    let s = c.stats();
    let resolved = s.resolved_committed.load(Ordering::Relaxed)
        + s.resolved_rolled_back.load(Ordering::Relaxed);
    eprintln!("seed {seed}: {counts:?}, client {s:?}");
    let committed = counts.committed.load(Ordering::Relaxed);
    let attempts = committed
        + counts.insufficient.load(Ordering::Relaxed)
        + counts.aborted.load(Ordering::Relaxed);
    assert!(
        committed * 2 >= attempts,
        "most transfers commit: {counts:?}"
    );
    assert!(
        counts.aborted.load(Ordering::Relaxed) > 0,
        "conflicts happened: {counts:?}"
    );
    assert!(s.for_update_retries.load(Ordering::Relaxed) + s.waits.load(Ordering::Relaxed) > 0);
    assert!(resolved > 0, "locks were resolved: {s:?}");
    assert!(counts.reads.load(Ordering::Relaxed) > 0);
}

fn seed() -> u64 {
    Rng::seed_from_env("STRATA_BANK_SEED")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bank_on_memory() {
    bank(cmd_common::memory(), seed()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bank_on_local_lsm() {
    bank(cmd_common::local(), seed()).await;
}
