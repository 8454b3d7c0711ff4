//! Results of `strata-bench txn`: one line per workload in db_bench's shape (per
//! transaction instead of per operation), and the JSON document of `--output json`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::client::CommittedTxn;
use super::settings::TxnArgs;

/// One workload's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TxnResult {
    /// The workload's name (`opt10`, `point_get`, …; `preload` for the load).
    pub name: String,
    /// Keys per transaction.
    pub keys_per_txn: usize,
    /// Transactions completed: committed (writes) or answered (reads). Aborted ones are
    /// not counted here.
    pub txns: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Bytes of keys and values written or read.
    pub bytes: u64,
    /// Conflicts met and retried (a transaction may retry several times).
    pub retries: u64,
    /// Transactions given up after too many conflicts.
    pub aborted: u64,
    /// Reads: keys found (every key of the key space exists after the preload).
    pub found: Option<u64>,
    /// Latency of a whole transaction, retries and back-off included, in microseconds.
    pub p50_us: f64,
    /// See `p50_us`.
    pub p99_us: f64,
    /// See `p50_us`.
    pub p999_us: f64,
    /// CPU microseconds (all threads, the engine's background work included) per
    /// transaction.
    pub cpu_us_per_txn: f64,
    /// Writes: the committed transaction with the highest commit ts (for tests that read it
    /// back; not printed).
    #[serde(skip)]
    pub last_committed: Option<CommittedTxn>,
}

impl TxnResult {
    /// Transactions per second.
    pub fn txns_per_sec(&self) -> f64 {
        self.txns as f64 / self.seconds.max(1e-9)
    }

    /// Keys written or read per second.
    pub fn keys_per_sec(&self) -> f64 {
        self.txns_per_sec() * self.keys_per_txn as f64
    }

    /// The result line, then latency and CPU (as `strata-bench engine`'s lines).
    pub fn line(&self) -> String {
        let micros = self.seconds * 1e6 / self.txns.max(1) as f64;
        let mb = self.bytes as f64 / 1048576.0 / self.seconds.max(1e-9);
        let mut line = format!(
            "{:<16} : {:>11.3} micros/txn {} txns/sec {} keys/sec {:.3} seconds {} txns; \
             {:>6.1} MB/s",
            self.name,
            micros,
            self.txns_per_sec().round() as u64,
            self.keys_per_sec().round() as u64,
            self.seconds,
            self.txns,
            mb
        );
        match self.found {
            Some(found) => {
                let keys = self.txns * self.keys_per_txn as u64;
                let _ = write!(line, " ({found} of {keys} keys found)");
            }
            None => {
                let _ = write!(
                    line,
                    " ({} conflicts retried, {} aborted)",
                    self.retries, self.aborted
                );
            }
        }
        let _ = write!(
            line,
            "\n{:<16}   latency us: p50 {:.2} p99 {:.2} p99.9 {:.2}; cpu {:.2} us/txn",
            "", self.p50_us, self.p99_us, self.p999_us, self.cpu_us_per_txn
        );
        line
    }
}

/// The whole run, as `--output json` prints it.
#[derive(Debug, Serialize, Deserialize)]
pub struct TxnRunReport {
    /// The machine the run measured.
    pub machine: String,
    /// The flags of the run.
    pub args: TxnArgs,
    /// The preload (an optimistic load in transactions of up to 100 consecutive keys).
    pub preload: Option<TxnResult>,
    /// Per workload, in run order.
    pub workloads: Vec<TxnResult>,
    /// Peak resident set size of the process.
    pub peak_rss_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(found: Option<u64>) -> TxnResult {
        TxnResult {
            name: "opt10".into(),
            keys_per_txn: 10,
            txns: 1000,
            seconds: 2.0,
            bytes: 1000 * 10 * 116,
            retries: 3,
            aborted: 0,
            found,
            p50_us: 1.0,
            p99_us: 5.0,
            p999_us: 9.0,
            cpu_us_per_txn: 2.0,
            last_committed: None,
        }
    }

    #[test]
    fn line_keeps_the_engine_benchmark_shape() {
        let line = result(None).line();
        assert!(
            line.starts_with(
                "opt10            :    2000.000 micros/txn 500 txns/sec 5000 keys/sec 2.000 \
                 seconds 1000 txns;    0.6 MB/s (3 conflicts retried, 0 aborted)"
            ),
            "{line}"
        );
        assert!(line.contains("latency us: p50 1.00 p99 5.00 p99.9 9.00; cpu 2.00 us/txn"));
        let read = result(Some(9990)).line();
        assert!(read.contains("(9990 of 10000 keys found)"), "{read}");
    }
}
