//! Scenario: several tikv-client clients read, write and compare-and-swap a few raw keys
//! (atomic mode, as TiKV requires for CAS) on three node processes while the leader is
//! SIGKILLed and restarted twice. Every operation's invocation and return are recorded; a
//! write or CAS that errored or timed out is an unknown outcome (it may have been applied,
//! at any time after its invocation), a failed read is dropped. tikv-client re-sends a
//! request after a transport error or a timeout, and the raw API has no way to recognise the
//! second copy (TiKV's neither): a write or CAS in flight when a node died, or slower than the
//! client's timeout, may have executed once more, so it gets an extra execution of unknown
//! outcome ([`may_resend`]). Each key's history must be
//! linearizable as a register with CAS (linearizability is compositional, so keys are
//! checked one by one), checked with todc-utils' Wing–Gong–Lowe checker. A checker that does
//! not finish in time fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cluster;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster::Cluster;
use parking_lot::Mutex;
use tikv_client::RawClient;
use todc_utils::{Action, History, Specification, WGLChecker};

const KEYS: u32 = 3;
const CLIENTS: u32 = 5;
/// Completed operations per client. With three keys this keeps each key's history at about
/// 250 operations, which the checker decides in seconds.
const OPS_PER_CLIENT: usize = 150;
/// Completed operations (all clients) at which the leader is killed, and how many more
/// must complete before it restarts.
const KILL_AT: [usize; 2] = [150, 450];
const DOWN_FOR: usize = 40;
/// A checker still searching after this long fails the test (an undecided history is not
/// a pass).
const CHECK_LIMIT: Duration = Duration::from_secs(120);

fn key(k: u32) -> Vec<u8> {
    format!("lin-{k}").into_bytes()
}

/// What a register operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Returned this value.
    Read(Option<u32>),
    /// Wrote this value (acknowledged, or unknown).
    Write(u32),
    /// Compare-and-swap; `outcome` is `None` when unknown, else the value seen before and
    /// whether it swapped.
    Cas {
        expect: Option<u32>,
        new: u32,
        outcome: Option<(Option<u32>, bool)>,
    },
}

/// A register of `u32`s, absent at first, with TiKV's CAS (absent expected = must not exist).
struct RegisterWithCas;

impl Specification for RegisterWithCas {
    type State = Option<u32>;
    type Operation = Op;

    fn init() -> Self::State {
        None
    }

    fn apply(op: &Op, state: &Option<u32>) -> (bool, Option<u32>) {
        match *op {
            Op::Read(v) => (v == *state, *state),
            Op::Write(v) => (true, Some(v)),
            Op::Cas {
                expect,
                new,
                outcome,
            } => {
                let swaps = expect == *state;
                let after = if swaps { Some(new) } else { *state };
                match outcome {
                    // Unknown: it may have been applied (now), or never — the latter is
                    // linearizing it after everything else, where no one observes it.
                    None => (true, after),
                    Some((prev, swapped)) => (prev == *state && swapped == swaps, after),
                }
            }
        }
    }
}

/// One recorded operation: on which key, when it was invoked and returned (`None`:
/// unknown outcome, it may take effect any time after `invoke`).
#[derive(Debug, Clone)]
struct Event {
    key: u32,
    op: Op,
    invoke: Instant,
    ret: Option<Instant>,
}

/// Whether `events` (one key's) are linearizable; `None` if the checker did not finish
/// within `limit`.
fn linearizable(events: Vec<Event>, limit: Duration) -> Option<bool> {
    if events.is_empty() {
        return Some(true);
    }
    // Each operation is its own process (todc pairs calls and responses per process), so
    // a client that saw an unknown outcome can go on without breaking the pairing.
    // Unknown outcomes return after everything else.
    let mut points: Vec<(Instant, bool, usize, Op)> = Vec::new();
    let end = events.iter().filter_map(|e| e.ret).max();
    let end = end.unwrap_or_else(Instant::now) + Duration::from_secs(1);
    for (pid, e) in events.iter().enumerate() {
        points.push((e.invoke, false, pid, e.op));
        points.push((e.ret.unwrap_or(end), true, pid, e.op));
    }
    // At equal instants calls come first (the operations overlap: the weaker claim).
    points.sort_by_key(|p| (p.0, p.1));
    let actions = points
        .into_iter()
        .map(|(_, is_ret, pid, op)| {
            (
                pid,
                if is_ret {
                    Action::Response(op)
                } else {
                    Action::Call(op)
                },
            )
        })
        .collect();
    let history = History::from_actions(actions);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(WGLChecker::<RegisterWithCas>::is_linearizable(history));
    });
    rx.recv_timeout(limit).ok()
}

/// `events` with one extra unknown-outcome execution of every write or CAS that tikv-client
/// may have sent twice: per node kill inside its interval (the first copy may have been
/// applied by the dead leader's successor before the client saw the transport error and
/// re-sent), plus one if it took longer than the client's request timeout.
fn may_resend(events: &[Event], kills: &[Instant], timeout: Duration) -> Vec<Event> {
    let mut out = events.to_vec();
    for e in events {
        let unknown = match e.op {
            Op::Read(_) => continue,
            Op::Write(v) => Op::Write(v),
            Op::Cas { expect, new, .. } => Op::Cas {
                expect,
                new,
                outcome: None,
            },
        };
        let spans = |t: Instant| t >= e.invoke && e.ret.is_none_or(|r| t <= r);
        let mut copies = kills.iter().filter(|&&k| spans(k)).count();
        if e.ret.is_some_and(|r| r - e.invoke > timeout) {
            copies += 1;
        }
        for _ in 0..copies {
            out.push(Event {
                key: e.key,
                op: unknown,
                invoke: e.invoke,
                ret: None,
            });
        }
    }
    out
}

/// One key's history, one line per operation in invocation order (milliseconds since
/// `t0`), for diagnosing a failure.
fn render(events: &[Event], t0: Instant) -> String {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by_key(|e| e.invoke);
    let ms = |t: Instant| t.saturating_duration_since(t0).as_secs_f64() * 1e3;
    sorted
        .iter()
        .map(|e| match e.ret {
            Some(r) => format!("{:>9.1} {:>9.1} {:?}\n", ms(e.invoke), ms(r), e.op),
            None => format!("{:>9.1}         ? {:?}\n", ms(e.invoke), e.op),
        })
        .collect()
}

fn decode(v: Option<Vec<u8>>) -> Option<u32> {
    v.map(|b| u32::from_be_bytes(b.try_into().expect("4-byte register values")))
}

struct Shared {
    events: Mutex<Vec<Event>>,
    /// When each node was killed.
    kills: Mutex<Vec<Instant>>,
    completed: AtomicUsize,
    unknown: AtomicUsize,
}

async fn client_loop(id: u32, client: RawClient, shared: Arc<Shared>) {
    let client = client.with_atomic_for_cas();
    // A small deterministic generator: reproducible mixes without a dependency.
    let mut rng = u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut last_seen: Vec<Option<u32>> = vec![None; KEYS as usize];
    let mut seq = 0u32;
    let mut completed = 0;
    // Attempts are bounded too, so a cluster that never recovers ends the test.
    for _ in 0..OPS_PER_CLIENT * 20 {
        if completed == OPS_PER_CLIENT {
            break;
        }
        let k = (next() % u64::from(KEYS)) as u32;
        seq += 1;
        // Unique per write: a read names the write it saw.
        let value = id * 1_000_000 + seq;
        let invoke = Instant::now();
        let (op, ok) = match next() % 10 {
            0..=3 => match client.get(key(k)).await {
                Ok(v) => {
                    let v = decode(v);
                    last_seen[k as usize] = v;
                    (Op::Read(v), true)
                }
                Err(_) => (Op::Read(None), false),
            },
            4..=6 => {
                let r = client.put(key(k), value.to_be_bytes().to_vec()).await;
                (Op::Write(value), r.is_ok())
            }
            _ => {
                let expect = last_seen[k as usize];
                let r = client
                    .compare_and_swap(
                        key(k),
                        expect.map(|v| v.to_be_bytes().to_vec()),
                        value.to_be_bytes().to_vec(),
                    )
                    .await;
                let outcome = r.ok().map(|(prev, swapped)| (decode(prev), swapped));
                if let Some((prev, swapped)) = outcome {
                    last_seen[k as usize] = if swapped { Some(value) } else { prev };
                }
                let ok = outcome.is_some();
                (
                    Op::Cas {
                        expect,
                        new: value,
                        outcome,
                    },
                    ok,
                )
            }
        };
        let ret = Instant::now();
        match (op, ok) {
            (_, true) => {
                completed += 1;
                shared.completed.fetch_add(1, Ordering::SeqCst);
                shared.events.lock().push(Event {
                    key: k,
                    op,
                    invoke,
                    ret: Some(ret),
                });
            }
            // A failed read changed nothing.
            (Op::Read(_), false) => {}
            (_, false) => {
                shared.unknown.fetch_add(1, Ordering::SeqCst);
                shared.events.lock().push(Event {
                    key: k,
                    op,
                    invoke,
                    ret: None,
                });
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn register_histories_across_leader_kills_are_linearizable() {
    let mut c = Cluster::start(3, cluster::FAST_RAFT).await;
    c.wait_replicated(3, 1).await;
    let shared = Arc::new(Shared {
        events: Mutex::new(Vec::new()),
        kills: Mutex::new(Vec::new()),
        completed: AtomicUsize::new(0),
        unknown: AtomicUsize::new(0),
    });
    let mut clients = Vec::new();
    for id in 0..CLIENTS {
        let client = c.raw().await;
        let s = shared.clone();
        clients.push(tokio::spawn(async move {
            client_loop(id, client, s.clone()).await;
        }));
    }
    // Finished (or panicked: the panic surfaces when it is awaited below).
    let done = tokio::spawn(async move {
        for c in clients {
            c.await.unwrap();
        }
    });

    // The nemesis, paced by progress (not time): kill the leader at KILL_AT completed
    // operations, restart it once DOWN_FOR more completed without it.
    let completed = || shared.completed.load(Ordering::SeqCst);
    let finished = || done.is_finished();
    let mut kills = 0;
    for at in KILL_AT {
        while completed() < at && !finished() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if finished() {
            break;
        }
        let victim = c.busiest_leader().await;
        c.kill_node(victim);
        shared.kills.lock().push(Instant::now());
        kills += 1;
        let resume = completed() + DOWN_FOR;
        while completed() < resume && !finished() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        c.start_node(victim).await;
    }
    done.await.unwrap();
    assert_eq!(
        kills,
        KILL_AT.len(),
        "the clients finished before the kills"
    );
    assert_eq!(completed(), (CLIENTS as usize) * OPS_PER_CLIENT);

    let events = shared.events.lock().clone();
    let kill_times = shared.kills.lock().clone();
    let t0 = events
        .iter()
        .map(|e| e.invoke)
        .min()
        .unwrap_or_else(Instant::now);
    for k in 0..KEYS {
        let mine: Vec<Event> = events.iter().filter(|e| e.key == k).cloned().collect();
        let mine = may_resend(&mine, &kill_times, c.client_timeout());
        let n = mine.len();
        let started = Instant::now();
        match linearizable(mine.clone(), CHECK_LIMIT) {
            Some(true) => eprintln!(
                "key {k}: {n} operations linearizable (checked in {:?})",
                started.elapsed()
            ),
            Some(false) => {
                let kills: Vec<String> = kill_times
                    .iter()
                    .map(|&t| format!("{:.1}", (t - t0).as_secs_f64() * 1e3))
                    .collect();
                eprintln!(
                    "key {k} (ms: invoked, returned; kills at {kills:?}):\n{}",
                    render(&mine, t0)
                );
                panic!("key {k}: the history of {n} operations is not linearizable")
            }
            None => panic!("key {k}: the checker did not decide {n} operations in time"),
        }
    }
    eprintln!(
        "{} operations completed, {} unknown outcomes, {kills} leader kills",
        completed(),
        shared.unknown.load(Ordering::SeqCst)
    );
}

/// The checker and the way histories are built reject what they must: hand-made histories
/// with a stale read, a lost acknowledged write, a CAS that saw a value no one had, and
/// accept unknown outcomes taking effect late or never.
#[test]
fn the_checker_rejects_doctored_histories() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let ev = |op, invoke: u64, ret: Option<u64>| Event {
        key: 0,
        op,
        invoke: at(invoke),
        ret: ret.map(at),
    };
    let check = |events: Vec<Event>| linearizable(events, Duration::from_secs(10)).unwrap();

    // Write 1 completes, a later read sees nothing: a stale read (what a follower serving
    // reads without ReadIndex would produce).
    assert!(!check(vec![
        ev(Op::Write(1), 0, Some(10)),
        ev(Op::Read(None), 20, Some(30)),
    ]));
    // The same read overlapping the write is fine.
    assert!(check(vec![
        ev(Op::Write(1), 0, Some(10)),
        ev(Op::Read(None), 5, Some(30)),
    ]));
    // Two sequential writes, a later read sees the first: lost write.
    assert!(!check(vec![
        ev(Op::Write(1), 0, Some(10)),
        ev(Op::Write(2), 20, Some(30)),
        ev(Op::Read(Some(1)), 40, Some(50)),
    ]));
    // A CAS claiming it saw 7 and swapped, where the register held 1.
    let cas = |expect, new, outcome| Op::Cas {
        expect,
        new,
        outcome,
    };
    assert!(!check(vec![
        ev(Op::Write(1), 0, Some(10)),
        ev(cas(Some(7), 8, Some((Some(7), true))), 20, Some(30)),
    ]));
    // A CAS that failed although its expectation held.
    assert!(!check(vec![
        ev(Op::Write(1), 0, Some(10)),
        ev(cas(Some(1), 8, Some((Some(1), false))), 20, Some(30)),
    ]));
    // An unknown write may show up much later, or never.
    assert!(check(vec![
        ev(Op::Write(1), 0, Some(10)),
        ev(Op::Write(2), 20, None),
        ev(Op::Read(Some(1)), 40, Some(50)),
        ev(Op::Read(Some(2)), 60, Some(70)),
    ]));
    assert!(check(vec![
        ev(Op::Write(1), 0, Some(10)),
        ev(Op::Write(2), 20, None),
        ev(Op::Read(Some(1)), 40, Some(50)),
    ]));
    // But not before it was invoked.
    assert!(!check(vec![
        ev(Op::Read(Some(2)), 0, Some(10)),
        ev(Op::Write(2), 20, None),
    ]));
    // A CAS that saw its own value and failed: its first copy was applied, the re-sent one
    // found the swap done. Only a copy the client may have sent explains it, and only
    // when a kill (or the timeout) gives the client a reason to re-send.
    let own = vec![
        ev(Op::Write(1), 0, Some(10)),
        ev(cas(Some(1), 8, Some((Some(8), false))), 20, Some(100)),
        ev(Op::Read(Some(8)), 110, Some(120)),
    ];
    assert!(!check(own.clone()));
    assert!(!check(may_resend(
        &own,
        &[at(5), at(101)],
        Duration::from_secs(3)
    )));
    assert!(check(may_resend(&own, &[at(50)], Duration::from_secs(3))));
    assert!(check(may_resend(&own, &[], Duration::from_millis(50))));
    assert_eq!(
        may_resend(&own, &[at(30), at(40)], Duration::from_secs(3)).len(),
        5
    );
    // Once a later read saw the unknown write's value, an older value cannot come back.
    assert!(!check(vec![
        ev(Op::Write(1), 0, Some(10)),
        ev(Op::Write(2), 20, None),
        ev(Op::Read(Some(2)), 40, Some(50)),
        ev(Op::Read(Some(1)), 60, Some(70)),
    ]));
}
