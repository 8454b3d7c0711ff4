//! Results of `strata-bench server`: a line per workload as it finishes, then a Markdown
//! table (ready for BENCHMARKS.md) and raw_get's share of the empty-call ceiling.

use std::fmt::Write as _;

/// The target: a raw get through the whole stack reaches at least this share of what the
/// transport alone allows.
pub const TARGET_RATIO: f64 = 0.60;

/// How much of the first abort's message a result line shows.
const ABORT_CHARS: usize = 160;

/// One workload's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerResult {
    /// The workload's name (`raw_get`, `txn10`, …; `preload` for the load).
    pub name: String,
    /// Operations completed (aborted transactions are not counted here).
    pub ops: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Transactions whose commit failed, rolled back and not retried.
    pub aborted: u64,
    /// Why the first of them failed.
    pub first_abort: Option<String>,
    /// Latency of an operation as its client saw it, in microseconds.
    pub p50_us: f64,
    /// See `p50_us`.
    pub p99_us: f64,
    /// CPU microseconds of the whole process (clients, node, PD, engine) per operation.
    pub cpu_us_per_op: f64,
}

impl ServerResult {
    /// Operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.seconds.max(1e-9)
    }

    /// The result line printed as the workload finishes.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{:<12} : {:>9} ops/sec {:.3} seconds {} ops; latency us: p50 {:.1} p99 {:.1}; \
             cpu {:.1} us/op",
            self.name,
            self.ops_per_sec().round() as u64,
            self.seconds,
            self.ops,
            self.p50_us,
            self.p99_us,
            self.cpu_us_per_op
        );
        if self.aborted > 0 {
            // tikv-client's key errors run to a kilobyte; their head says what happened.
            let why: String = self
                .first_abort
                .as_deref()
                .unwrap_or("?")
                .chars()
                .take(ABORT_CHARS)
                .collect();
            let _ = write!(line, "; {} aborted (first: {why})", self.aborted);
        }
        line
    }
}

/// raw_get's ops/s over empty_call's, when both ran.
pub fn ceiling_ratio(results: &[ServerResult]) -> Option<f64> {
    let find = |name: &str| results.iter().find(|r| r.name == name);
    let ceiling = find("empty_call")?.ops_per_sec();
    (ceiling > 0.0).then(|| find("raw_get").map(|r| r.ops_per_sec() / ceiling))?
}

/// The Markdown table of every workload, and the ratio line when it can be computed.
pub fn table(results: &[ServerResult]) -> String {
    let mut out = String::from(
        "| workload | ops/s | p50 µs | p99 µs | CPU µs/op (whole process) | aborted |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {} |",
            r.name,
            r.ops_per_sec(),
            r.p50_us,
            r.p99_us,
            r.cpu_us_per_op,
            r.aborted
        );
    }
    if let Some(ratio) = ceiling_ratio(results) {
        let verdict = if ratio >= TARGET_RATIO {
            "met"
        } else {
            "not met"
        };
        let _ = writeln!(
            out,
            "\nraw_get / empty_call = {:.1}% (target ≥ {:.0}%: {verdict})",
            ratio * 100.0,
            TARGET_RATIO * 100.0
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, ops: u64) -> ServerResult {
        ServerResult {
            name: name.into(),
            ops,
            seconds: 2.0,
            aborted: 0,
            first_abort: None,
            p50_us: 250.4,
            p99_us: 1200.0,
            cpu_us_per_op: 80.0,
        }
    }

    #[test]
    fn table_has_a_row_per_workload_and_the_ratio_against_the_target() {
        let results = [result("empty_call", 20_000), result("raw_get", 13_000)];
        let text = table(&results);
        assert!(
            text.contains("| empty_call | 10000 | 250 | 1200 | 80 | 0 |\n"),
            "{text}"
        );
        assert!(text.contains("| raw_get | 6500 |"), "{text}");
        assert!(text.ends_with("raw_get / empty_call = 65.0% (target ≥ 60%: met)\n"));
        let slow = [result("empty_call", 20_000), result("raw_get", 10_000)];
        assert!(table(&slow).contains("50.0% (target ≥ 60%: not met)"));
    }

    #[test]
    fn no_ratio_without_both_workloads() {
        assert_eq!(ceiling_ratio(&[result("raw_get", 5)]), None);
        assert_eq!(ceiling_ratio(&[result("empty_call", 5)]), None);
        assert_eq!(
            ceiling_ratio(&[result("empty_call", 0), result("raw_get", 5)]),
            None
        );
        assert!(!table(&[result("raw_get", 5)]).contains("empty_call ="));
    }

    #[test]
    fn line_names_aborts() {
        let mut r = result("txn10", 100);
        assert!(!r.line().contains("aborted"));
        r.aborted = 3;
        r.first_abort = Some("write conflict".into());
        let line = r.line();
        assert!(
            line.starts_with("txn10        :        50 ops/sec"),
            "{line}"
        );
        assert!(
            line.ends_with("; 3 aborted (first: write conflict)"),
            "{line}"
        );
        r.first_abort = Some("x".repeat(1000));
        let line = r.line();
        assert!(line.ends_with(&format!("(first: {})", "x".repeat(ABORT_CHARS))));
    }
}
