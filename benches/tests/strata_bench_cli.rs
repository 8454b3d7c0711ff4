//! `strata-bench engine --engine all` end to end on a tiny key count: every engine this build
//! has runs every workload in a child process, and the JSON report holds what the text
//! promises (all workloads, found counts, amplification, RSS, a comparison).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use strata_benches::run::RunReport;

fn strata_bench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_strata-bench"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn all_engines_run_every_workload_and_report_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = strata_bench(&[
        "engine",
        "--engine",
        "all",
        "--num",
        "3000",
        "--fillsync-threads",
        "4",
        "--threads",
        "2",
        "--output",
        "json",
        "--db",
        dir.path().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: RunReport = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<String> = report.engines.iter().map(|e| e.engine.clone()).collect();
    assert!(
        names.contains(&"strata".into()) && names.contains(&"fjall".into()),
        "{names:?}"
    );
    // The text lines went to stderr, db_bench's shape included, and the comparison table.
    assert!(
        stderr.contains("readrandom       :") && stderr.contains("micros/op"),
        "{stderr}"
    );
    assert!(stderr.contains("strata/fjall"), "{stderr}");
    for engine in &report.engines {
        let w = |name: &str| engine.workloads.iter().find(|w| w.name == name).unwrap();
        assert_eq!(
            engine.workloads.len(),
            11,
            "{}: every workload but settle",
            engine.engine
        );
        assert_eq!(w("fillseq").ops, 3000);
        assert_eq!(w("fillrandom").ops, 3000);
        assert_eq!(w("fillsync").ops, 30);
        // fillrandom writes every key once, so every random read finds its key ...
        assert_eq!(w("readrandom").found, Some(3000), "{}", engine.engine);
        // ... and no missing key is found.
        assert_eq!(w("readmissing").found, Some(0));
        assert_eq!(w("readseq").ops, 3000);
        assert_eq!(w("readreverse").ops, 3000);
        assert!(
            w("seekrandom").bytes > 3000 * 116,
            "seeks read their ten nexts"
        );
        assert!(w("readrandom").p99_us >= w("readrandom").p50_us && w("readrandom").p50_us > 0.0);
        // Before each fresh database (after fillseq, after fillsync), the explicit settle
        // after fillrandom + overwrite, and one at the end of the run.
        assert_eq!(engine.amplification.len(), 4, "{}", engine.engine);
        assert_eq!(engine.amplification[0].after, ["fillseq"]);
        let after_overwrite = &engine.amplification[2];
        assert_eq!(after_overwrite.after, ["fillrandom", "overwrite"]);
        assert_eq!(after_overwrite.logical_bytes, 3000 * 116);
        assert!(after_overwrite.disk_bytes > 0 && after_overwrite.disk_bytes_written > 0);
        assert!(engine.peak_rss_bytes > 1 << 20);
    }
    // Each engine ran in its own directory, removed when it finished.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn bad_flags_are_refused_by_name() {
    let out = strata_bench(&["engine", "--benchmarks", "fillseq,nosuch", "--num", "10"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown benchmark \"nosuch\""));
    let out = strata_bench(&["engine", "--num", "0"]);
    assert!(!out.status.success());
}
