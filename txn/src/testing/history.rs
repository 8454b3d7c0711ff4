//! Recording concurrent transaction histories for an isolation checker, in Jepsen's
//! rw-register form: keys and values are integers, every write writes a value no other
//! write wrote, so a read names the transaction it read from (or the initial state,
//! `None`).
//!
//! Each transaction is an `invoke` event, then one completion: `ok` (committed), `fail`
//! (certainly aborted). Events are numbered in the order they were recorded, which is
//! real time: an `ok` recorded before an `invoke` finished before it began. A process has
//! at most one transaction open at a time (Jepsen's rule); a client that abandons a
//! transaction must go on under a new process id, and the abandoned transaction is
//! completed when its fate is known.
//!
//! The checker is told each committed writer's commit ts ([`History::commit_order`]): the
//! version order of a key is the order of its writers' commit ts. Only that order is taken
//! from the system; which version each read saw is inferred from the values.
//!
//! Concurrency: a `History` is shared by tasks behind `&`; one mutex guards the events.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Mutex;

use mvcc::TimeStamp;

/// One operation of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Read `key`; the value seen (`None`: no value), `None` in an invocation too.
    Read { key: u64, value: Option<u64> },
    /// Write `value` to `key`.
    Write { key: u64, value: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Invoke,
    Ok,
    Fail,
}

#[derive(Debug, Clone)]
struct Event {
    process: u64,
    kind: Kind,
    ops: Vec<Op>,
    /// Committed writers: the commit ts.
    commit_ts: Option<TimeStamp>,
}

/// A history being recorded (module docs).
#[derive(Debug, Default)]
pub struct History {
    events: Mutex<Vec<Event>>,
}

/// A completed transaction of a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// Its event index (what [`History::commit_order`] is keyed by).
    pub index: usize,
    /// Committed (else aborted).
    pub committed: bool,
    /// What it did.
    pub ops: Vec<Op>,
    /// Its commit ts, if it committed writes.
    pub commit_ts: Option<TimeStamp>,
}

/// Counts over the committed part of a history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryStats {
    /// Committed transactions.
    pub committed: usize,
    /// Aborted transactions.
    pub failed: usize,
    /// Committed transactions that wrote something.
    pub committed_writers: usize,
    /// Anti-dependency (rw) edges between committed transactions: T read a version of a
    /// key and another transaction wrote the next one.
    pub rw_edges: usize,
    /// Write-read edges between distinct committed transactions.
    pub wr_edges: usize,
}

impl History {
    /// An empty history.
    pub fn new() -> History {
        History::default()
    }

    /// Records that `process` began a transaction planning `ops` (reads' values unknown).
    pub fn invoke(&self, process: u64, ops: &[Op]) -> usize {
        let ops = ops
            .iter()
            .map(|op| match *op {
                Op::Read { key, .. } => Op::Read { key, value: None },
                w => w,
            })
            .collect();
        self.push(process, Kind::Invoke, ops, None)
    }

    /// Records that `process`'s transaction committed at `commit_ts` (`None`: it wrote
    /// nothing) after doing `ops`; answers the event's index.
    pub fn ok(&self, process: u64, ops: Vec<Op>, commit_ts: Option<TimeStamp>) -> usize {
        self.push(process, Kind::Ok, ops, commit_ts)
    }

    /// Records that `process`'s transaction, which tried `ops`, certainly aborted; answers
    /// the event's index.
    pub fn fail(&self, process: u64, ops: Vec<Op>) -> usize {
        self.push(process, Kind::Fail, ops, None)
    }

    fn push(&self, process: u64, kind: Kind, ops: Vec<Op>, commit_ts: Option<TimeStamp>) -> usize {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events.push(Event {
            process,
            kind,
            ops,
            commit_ts,
        });
        events.len() - 1
    }

    fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The completed transactions, in the order they completed.
    pub fn completions(&self) -> Vec<Completion> {
        self.events()
            .into_iter()
            .enumerate()
            .filter(|(_, e)| e.kind != Kind::Invoke)
            .map(|(index, e)| Completion {
                index,
                committed: e.kind == Kind::Ok,
                ops: e.ops,
                commit_ts: e.commit_ts,
            })
            .collect()
    }

    /// Makes the completion at event `index` claim it read `value` as the first read of
    /// `key` — a corrupted history, to show a checker notices. Answers whether such a
    /// read was there.
    pub fn set_read(&self, index: usize, key: u64, value: Option<u64>) -> bool {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let read = events.get_mut(index).and_then(|e| {
            e.ops
                .iter_mut()
                .find(|op| matches!(op, Op::Read { key: k, .. } if *k == key))
        });
        match read {
            Some(op) => {
                *op = Op::Read { key, value };
                true
            }
            None => false,
        }
    }

    /// The history as JSON lines in Elle's format (`{"index", "type", "process",
    /// "value": [["r", k, v], ["w", k, v]]}`).
    pub fn to_elle_json(&self) -> String {
        let mut out = String::new();
        for (index, e) in self.events().iter().enumerate() {
            let kind = match e.kind {
                Kind::Invoke => "invoke",
                Kind::Ok => "ok",
                Kind::Fail => "fail",
            };
            let ops: Vec<String> = e
                .ops
                .iter()
                .map(|op| match op {
                    Op::Read {
                        key,
                        value: Some(v),
                    } => format!("[\"r\",{key},{v}]"),
                    Op::Read { key, value: None } => format!("[\"r\",{key},null]"),
                    Op::Write { key, value } => format!("[\"w\",{key},{value}]"),
                })
                .collect();
            let _ = writeln!(
                out,
                "{{\"index\":{index},\"type\":\"{kind}\",\"process\":{},\"value\":[{}]}}",
                e.process,
                ops.join(",")
            );
        }
        out
    }

    /// Event index of each committed writer's completion → its position in the system's
    /// commit order (its commit ts).
    pub fn commit_order(&self) -> HashMap<u64, i64> {
        self.events()
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let ts = e.commit_ts?;
                Some((i as u64, i64::try_from(ts.into_inner()).unwrap_or(i64::MAX)))
            })
            .collect()
    }

    /// Counts (see [`HistoryStats`]), with the version order from commit ts.
    pub fn stats(&self) -> HistoryStats {
        let events = self.events();
        let mut stats = HistoryStats::default();
        // key → versions in commit order: (commit ts, value, writer).
        let mut versions: BTreeMap<u64, Vec<(TimeStamp, u64, usize)>> = BTreeMap::new();
        for (i, e) in events.iter().enumerate() {
            match e.kind {
                Kind::Invoke => {}
                Kind::Fail => stats.failed += 1,
                Kind::Ok => {
                    stats.committed += 1;
                    let Some(ts) = e.commit_ts else { continue };
                    stats.committed_writers += 1;
                    for op in &e.ops {
                        if let Op::Write { key, value } = *op {
                            versions.entry(key).or_default().push((ts, value, i));
                        }
                    }
                }
            }
        }
        for v in versions.values_mut() {
            v.sort_unstable();
        }
        for (i, e) in events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.kind == Kind::Ok)
        {
            // Only external reads (before the transaction wrote the key) make edges.
            let mut written = std::collections::BTreeSet::new();
            for op in &e.ops {
                let (key, value) = match *op {
                    Op::Write { key, .. } => {
                        written.insert(key);
                        continue;
                    }
                    Op::Read { key, value } if !written.contains(&key) => (key, value),
                    Op::Read { .. } => continue,
                };
                let chain = versions.get(&key).map(Vec::as_slice).unwrap_or_default();
                // The version after the one read (the first one when the initial was read).
                let pos = match value {
                    None => Some(0),
                    Some(v) => chain.iter().position(|c| c.1 == v).map(|p| p + 1),
                };
                if let Some(&(_, _, writer)) = value.and_then(|v| chain.iter().find(|c| c.1 == v)) {
                    stats.wr_edges += usize::from(writer != i);
                }
                if let Some(&(_, _, next)) = pos.and_then(|p| chain.get(p)) {
                    stats.rw_edges += usize::from(next != i);
                }
            }
        }
        stats
    }
}
