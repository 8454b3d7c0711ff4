//! Results and how they are shown: db_bench's result line per workload, a summary per
//! engine, the side-by-side table with ratios, and JSON for machines.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// One workload's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadResult {
    /// The workload's name.
    pub name: String,
    /// Operations done (for readwhilewriting, the readers' only).
    pub ops: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Bytes of keys and values written or read.
    pub bytes: u64,
    /// Latency percentiles in microseconds: p50, p99, p99.9.
    pub p50_us: f64,
    /// See `p50_us`.
    pub p99_us: f64,
    /// See `p50_us`.
    pub p999_us: f64,
    /// CPU microseconds (all threads, background work included) per operation.
    pub cpu_us_per_op: f64,
    /// For point reads: how many found a value.
    pub found: Option<u64>,
    /// readwhilewriting: bytes its writer wrote beside the reported reads.
    #[serde(default)]
    pub writer_bytes: Option<u64>,
}

impl WorkloadResult {
    /// Operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.seconds.max(1e-9)
    }

    /// db_bench's result line, then latency and CPU.
    pub fn line(&self) -> String {
        let micros = self.seconds * 1e6 / self.ops.max(1) as f64;
        let mb = self.bytes as f64 / 1048576.0 / self.seconds.max(1e-9);
        let mut line = format!(
            "{:<16} : {:>11.3} micros/op {} ops/sec {:.3} seconds {} operations; {:>6.1} MB/s",
            self.name,
            micros,
            self.ops_per_sec().round() as u64,
            self.seconds,
            self.ops,
            mb
        );
        if let Some(found) = self.found {
            let _ = write!(line, " ({found} of {} found)", self.ops);
        }
        let _ = write!(
            line,
            "\n{:<16}   latency us: p50 {:.2} p99 {:.2} p99.9 {:.2}; cpu {:.2} us/op",
            "", self.p50_us, self.p99_us, self.p999_us, self.cpu_us_per_op
        );
        line
    }
}

/// Write and space amplification at a point where background work has settled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Amplification {
    /// The workloads since the database was created.
    pub after: Vec<String>,
    /// Bytes of keys and values the workloads wrote.
    pub user_bytes_written: u64,
    /// Bytes the process wrote to storage meanwhile (`/proc/self/io` `write_bytes`).
    pub disk_bytes_written: u64,
    /// Bytes of the live keys and values (a full scan).
    pub logical_bytes: u64,
    /// Bytes of the database's files.
    pub disk_bytes: u64,
}

impl Amplification {
    /// Bytes written to storage per byte of user data written.
    pub fn write_amp(&self) -> f64 {
        self.disk_bytes_written as f64 / self.user_bytes_written.max(1) as f64
    }

    /// Bytes on disk per byte of live data.
    pub fn space_amp(&self) -> f64 {
        self.disk_bytes as f64 / self.logical_bytes.max(1) as f64
    }

    /// A one-line account.
    pub fn line(&self) -> String {
        format!(
            "{:<16} : write amp {:.2} ({} MiB to disk for {} MiB written); space amp {:.2} \
             ({} MiB on disk for {} MiB live) after {}",
            "settle",
            self.write_amp(),
            self.disk_bytes_written >> 20,
            self.user_bytes_written >> 20,
            self.space_amp(),
            self.disk_bytes >> 20,
            self.logical_bytes >> 20,
            self.after.join(",")
        )
    }
}

/// Everything one engine's run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineReport {
    /// The engine's name.
    pub engine: String,
    /// Its settings as applied.
    pub settings: Vec<(String, String)>,
    /// Per workload, in order.
    pub workloads: Vec<WorkloadResult>,
    /// Each `settle`, and the one at the end of the run.
    pub amplification: Vec<Amplification>,
    /// CPU seconds of the whole run per timed operation, in microseconds.
    pub cpu_us_per_op: f64,
    /// Peak resident set size of the engine's process.
    pub peak_rss_bytes: u64,
    /// Resident memory at the end of the run, anonymous and file-backed (mmapped files).
    #[serde(default)]
    pub end_rss_anon_bytes: u64,
    /// See `end_rss_anon_bytes`.
    #[serde(default)]
    pub end_rss_file_bytes: u64,
    /// The engine's own statistics at the end.
    pub engine_stats: String,
}

impl EngineReport {
    /// The summary printed at the end of an engine's run.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<16} : peak RSS {:.1} MiB (at the end: {:.1} MiB anonymous, {:.1} MiB mapped \
             files); cpu {:.2} us/op over the run",
            self.engine,
            self.peak_rss_bytes as f64 / 1048576.0,
            self.end_rss_anon_bytes as f64 / 1048576.0,
            self.end_rss_file_bytes as f64 / 1048576.0,
            self.cpu_us_per_op
        );
        s
    }

    fn workload(&self, name: &str) -> Option<&WorkloadResult> {
        self.workloads.iter().find(|w| w.name == name)
    }
}

/// The side-by-side table: ops/s per engine per workload, with Strata's ratio to each other
/// engine, then the amplification, memory and CPU rows.
pub fn comparison_table(reports: &[EngineReport]) -> String {
    let Some(first) = reports.first() else {
        return String::new();
    };
    let strata = reports.iter().find(|r| r.engine == "strata");
    let others: Vec<&EngineReport> = reports.iter().filter(|r| r.engine != "strata").collect();
    let mut header = format!("{:<24}", "ops/sec");
    for r in reports {
        let _ = write!(header, "{:>14}", r.engine);
    }
    if strata.is_some() {
        for o in &others {
            let _ = write!(header, "{:>16}", format!("strata/{}", o.engine));
        }
    }
    let mut out = header + "\n";
    let ratio = |s: f64, o: f64| {
        if o > 0.0 {
            format!("{:.2}x", s / o)
        } else {
            "-".into()
        }
    };
    let mut row =
        |label: &str, value: &dyn Fn(&EngineReport) -> Option<f64>, fmt: &dyn Fn(f64) -> String| {
            let _ = write!(out, "{label:<24}");
            for r in reports {
                let _ = write!(out, "{:>14}", value(r).map_or("-".into(), fmt));
            }
            if let Some(s) = strata {
                for o in &others {
                    let cell = match (value(s), value(o)) {
                        (Some(a), Some(b)) => ratio(a, b),
                        _ => "-".into(),
                    };
                    let _ = write!(out, "{cell:>16}");
                }
            }
            out.push('\n');
        };
    for w in &first.workloads {
        row(
            &w.name,
            &|r| r.workload(&w.name).map(WorkloadResult::ops_per_sec),
            &|v| format!("{v:.0}"),
        );
    }
    for w in &first.workloads {
        row(
            &format!("{} p99 us", w.name),
            &|r| r.workload(&w.name).map(|x| x.p99_us),
            &|v| format!("{v:.1}"),
        );
    }
    let amps = first.amplification.len();
    for i in 0..amps {
        let label = format!("write amp #{}", i + 1);
        row(
            &label,
            &|r| r.amplification.get(i).map(Amplification::write_amp),
            &|v| format!("{v:.2}"),
        );
        let label = format!("space amp #{}", i + 1);
        row(
            &label,
            &|r| r.amplification.get(i).map(Amplification::space_amp),
            &|v| format!("{v:.2}"),
        );
    }
    row(
        "peak RSS MiB",
        &|r| Some(r.peak_rss_bytes as f64 / 1048576.0),
        &|v| format!("{v:.0}"),
    );
    row("cpu us/op", &|r| Some(r.cpu_us_per_op), &|v| {
        format!("{v:.2}")
    });
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn result(name: &str, ops: u64, seconds: f64) -> WorkloadResult {
        WorkloadResult {
            name: name.into(),
            ops,
            seconds,
            bytes: ops * 116,
            p50_us: 1.0,
            p99_us: 5.0,
            p999_us: 9.0,
            cpu_us_per_op: 2.0,
            found: None,
            writer_bytes: None,
        }
    }

    fn report(engine: &str, ops_per_sec: f64) -> EngineReport {
        EngineReport {
            engine: engine.into(),
            settings: vec![],
            workloads: vec![result("fillseq", 1000, 1000.0 / ops_per_sec)],
            amplification: vec![Amplification {
                after: vec!["fillseq".into()],
                user_bytes_written: 100,
                disk_bytes_written: 250,
                logical_bytes: 100,
                disk_bytes: 110,
            }],
            cpu_us_per_op: 3.0,
            peak_rss_bytes: 100 << 20,
            end_rss_anon_bytes: 0,
            end_rss_file_bytes: 0,
            engine_stats: String::new(),
        }
    }

    #[test]
    fn result_line_keeps_db_bench_shape() {
        let line = result("fillseq", 1_000_000, 2.0).line();
        assert!(line.starts_with("fillseq          :       2.000 micros/op 500000 ops/sec 2.000 seconds 1000000 operations;   55.3 MB/s"), "{line}");
    }

    #[test]
    fn table_shows_ratios_against_strata() {
        let table = comparison_table(&[report("strata", 2000.0), report("rocksdb", 1000.0)]);
        let fill = table.lines().find(|l| l.starts_with("fillseq ")).unwrap();
        assert!(fill.ends_with("2.00x"), "{table}");
        assert!(table.contains("strata/rocksdb"));
        let amp = table
            .lines()
            .find(|l| l.starts_with("write amp #1"))
            .unwrap();
        assert!(amp.contains("2.50"), "{table}");
        let json = serde_json::to_string(&report("strata", 1.0)).unwrap();
        let back: EngineReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back.amplification[0].space_amp(), 1.1);
    }
}
