//! Scenario: random concurrent transactions over a few hot keys, through the test client,
//! in random flavours (optimistic or pessimistic; 2PC, async commit or 1PC), some abandoned
//! after prewrite; every write writes a unique value. The history (commits, aborts, and
//! what each read saw) must satisfy snapshot isolation, strong (real-time) variant included,
//! per the checker `si_common` (validated in `si_checker_validation`). Pessimistic
//! transactions read only for update, so they too read one snapshot (client contract 2).
//!
//! Not vacuous: many transactions commit, reads create anti-dependency edges, and the same
//! history with one read altered into a lost update, or into a read of an aborted write, is
//! rejected — so the recording is what the checker sees. Runs on both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cmd_common;
mod si_common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use txn::testing::{
    Abandoned, Client, ClientConfig, ClientError, Flavour, History, Op, Oracle, Rng,
};
use txn::Engine;

const KEYS: u64 = 6;
const PROCESSES: u64 = 6;
const TXNS_PER_PROCESS: usize = 60;
const ABANDON_PERCENT: u64 = 3;

fn key(k: u64) -> Vec<u8> {
    format!("si{k:02}").into_bytes()
}

fn value(v: Option<Vec<u8>>) -> Option<u64> {
    v.map(|b| u64::from_be_bytes(b.try_into().expect("8-byte values")))
}

/// How one transaction ended.
enum End {
    Committed(Option<mvcc::TimeStamp>),
    Abandoned(Abandoned),
}

/// Event index → the flavour and start ts of the transaction completed there (diagnostics).
type Notes = std::sync::Mutex<std::collections::HashMap<usize, String>>;

/// Runs one random transaction; `ops` collects what it did (reads with what they saw).
async fn run_txn<E: Engine>(
    c: &Client<E>,
    rng: &mut Rng,
    plan: &[Op],
    ops: &mut Vec<Op>,
    note: &mut String,
) -> Result<End, ClientError> {
    let flavour = *rng.pick(&Flavour::ALL);
    let mut t = c.begin(flavour);
    *note = format!("{flavour:?} start {}", t.start_ts());
    for op in plan {
        match *op {
            Op::Read { key: k, .. } => {
                let v = if flavour.pessimistic {
                    t.get_for_update(&[key(k)]).await?.remove(0)
                } else {
                    t.get(&key(k)).await?
                };
                ops.push(Op::Read {
                    key: k,
                    value: value(v),
                });
            }
            Op::Write { key: k, value: v } => {
                t.put(&key(k), &v.to_be_bytes());
                ops.push(*op);
            }
        }
    }
    if ops.iter().any(|o| matches!(o, Op::Write { .. })) && rng.chance(ABANDON_PERCENT) {
        return Ok(End::Abandoned(t.prewrite_only().await?));
    }
    Ok(End::Committed(t.commit().await?))
}

fn plan(rng: &mut Rng, values: &AtomicU64) -> Vec<Op> {
    (0..1 + rng.below(4))
        .map(|_| {
            let k = rng.below(KEYS);
            if rng.chance(55) {
                Op::Read {
                    key: k,
                    value: None,
                }
            } else {
                let v = values.fetch_add(1, Ordering::Relaxed);
                Op::Write { key: k, value: v }
            }
        })
        .collect()
}

/// One process: transactions one after another; after abandoning one it goes on as a new
/// process (Jepsen's rule), and hands the abandoned one back for settling.
async fn process<E: Engine>(
    c: Client<E>,
    h: Arc<History>,
    id: u64,
    seed: u64,
    values: Arc<AtomicU64>,
    notes: Arc<Notes>,
) -> Vec<(u64, Vec<Op>, Abandoned, String)> {
    let mut rng = Rng::new(seed);
    let mut pid = id;
    let mut abandoned = Vec::new();
    for _ in 0..TXNS_PER_PROCESS {
        let plan = plan(&mut rng, &values);
        h.invoke(pid, &plan);
        let mut ops = Vec::new();
        let mut note = String::new();
        let index = match run_txn(&c, &mut rng, &plan, &mut ops, &mut note).await {
            Ok(End::Committed(ts)) => h.ok(pid, ops, ts),
            Ok(End::Abandoned(a)) => {
                abandoned.push((pid, ops, a, note));
                pid += PROCESSES;
                continue;
            }
            Err(ClientError::Aborted(_)) => {
                // Record every planned write: a read of any of them would be G1a.
                ops.extend(plan.iter().filter(|o| matches!(o, Op::Write { .. })));
                ops.dedup();
                h.fail(pid, ops)
            }
            Err(e) => panic!("process {id} (seed {seed}): {e}"),
        };
        notes.lock().unwrap().insert(index, note);
    }
    abandoned
}

async fn scenario<E: Engine>(env: cmd_common::Env<E>, seed: u64) {
    let c = Client::new(
        env.s.clone(),
        Arc::new(Oracle::new()),
        ClientConfig::default(),
    );
    let h = Arc::new(History::new());
    let values = Arc::new(AtomicU64::new(1));
    let notes = Arc::new(Notes::default());
    let tasks: Vec<_> = (0..PROCESSES)
        .map(|p| {
            let (c, h, values, notes) = (c.clone(), h.clone(), values.clone(), notes.clone());
            tokio::spawn(process(c, h, p, seed + p, values, notes))
        })
        .collect();
    let mut abandoned = Vec::new();
    for t in tasks {
        abandoned.extend(t.await.unwrap());
    }
    // The abandoned transactions complete now, as their fate is decided.
    for (pid, ops, a, note) in abandoned {
        let index = match c.settle(&a.primary, a.start_ts).await.unwrap() {
            Some(ts) => h.ok(pid, ops, Some(ts)),
            None => h.fail(pid, ops),
        };
        notes
            .lock()
            .unwrap()
            .insert(index, format!("abandoned {note}"));
    }
    let report = si_common::check_si(&h);
    if report.valid != adya::Valid::True {
        for (kind, found) in &report.anomalies {
            for a in found {
                eprintln!("{kind}: {}", a.explanation);
                for op in &a.ops {
                    eprintln!("  T{op}: {:?}", notes.lock().unwrap().get(&(*op as usize)));
                }
            }
        }
        si_common::assert_si(&h);
    }

    let stats = h.stats();
    eprintln!("seed {seed}: {stats:?}, client {:?}", c.stats());
    let total = (PROCESSES as usize) * TXNS_PER_PROCESS;
    assert!(
        stats.committed * 2 >= total,
        "most transactions commit: {stats:?}"
    );
    assert!(stats.failed > 0, "conflicts happened: {stats:?}");
    assert!(stats.rw_edges >= 20 && stats.wr_edges >= 20, "{stats:?}");
    corrupted_histories_are_rejected(&h);
}

/// The wiring can fail: the same history with one read altered is rejected.
fn corrupted_histories_are_rejected(h: &History) {
    let done = h.completions();
    // Lost update: a committed read-modify-write T2 of key k that read T1's version now
    // claims the version before T1's, which T1 overwrote too.
    let mut chains: std::collections::BTreeMap<u64, Vec<(mvcc::TimeStamp, u64)>> =
        Default::default();
    for c in done.iter().filter(|c| c.committed) {
        for op in &c.ops {
            if let (Op::Write { key, value }, Some(ts)) = (*op, c.commit_ts) {
                chains.entry(key).or_default().push((ts, value));
            }
        }
    }
    chains.values_mut().for_each(|v| v.sort_unstable());
    let target = done.iter().filter(|c| c.committed).find_map(|c| {
        c.ops.iter().enumerate().find_map(|(i, op)| match *op {
            Op::Read {
                key,
                value: Some(v),
            } if read_then_written(&c.ops, i, key) => {
                let chain = &chains[&key];
                let p = chain.iter().position(|x| x.1 == v)?;
                Some((c.index, key, p.checked_sub(1).map(|q| chain[q].1)))
            }
            _ => None,
        })
    });
    let (index, k, older) = target.expect("some committed read-modify-write read a version");
    assert!(h.set_read(index, k, older));
    let found = si_common::anomalies(h);
    assert!(!found.is_empty(), "a lost update went unnoticed");
    // Aborted read: the same read now claims a value of an aborted transaction.
    let aborted = done
        .iter()
        .filter(|c| !c.committed)
        .flat_map(|c| c.ops.iter())
        .find_map(|op| match *op {
            Op::Write { key, value } if key == k => Some(value),
            _ => None,
        });
    if let Some(v) = aborted {
        assert!(h.set_read(index, k, Some(v)));
        let found = si_common::anomalies(h);
        assert!(found.iter().any(|a| a == "G1a"), "{found:?}");
    }
}

/// True if `ops[i]`, a read of `key`, is its first and the transaction writes `key` later.
fn read_then_written(ops: &[Op], i: usize, key: u64) -> bool {
    let touches =
        |op: &Op| matches!(*op, Op::Read { key: k, .. } | Op::Write { key: k, .. } if k == key);
    !ops[..i].iter().any(touches)
        && ops[i..]
            .iter()
            .any(|op| matches!(*op, Op::Write { key: k, .. } if k == key))
}

fn seed() -> u64 {
    Rng::seed_from_env("STRATA_SI_SEED")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn si_on_memory() {
    scenario(cmd_common::memory(), seed()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn si_on_local_lsm() {
    scenario(cmd_common::local(), seed()).await;
}
