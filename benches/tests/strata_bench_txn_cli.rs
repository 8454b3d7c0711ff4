//! `strata-bench txn` end to end on the local LSM, tiny: the JSON report holds every
//! default workload with its transactions, the reads found every key, the text lines went to
//! stderr in the engine benchmark's shape, and the database directory is gone afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use strata_benches::txn::TxnRunReport;

#[test]
fn every_default_workload_runs_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_strata-bench"))
        .args(["txn", "--keys", "1000", "--txns", "20", "--threads", "2"])
        .args(["--output", "json", "--db", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: TxnRunReport = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = report.workloads.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "opt1",
            "opt10",
            "opt100",
            "pess1",
            "pess10",
            "pess100",
            "point_get",
            "batch_get10"
        ]
    );
    let preload = report.preload.as_ref().unwrap();
    assert_eq!((preload.txns, preload.aborted), (10, 0));
    for w in &report.workloads {
        assert_eq!(w.txns + w.aborted, 20, "{}", w.name);
        assert!(w.p50_us > 0.0 && w.p50_us <= w.p999_us, "{}", w.name);
    }
    let found = |name: &str| {
        report
            .workloads
            .iter()
            .find(|w| w.name == name)
            .unwrap()
            .found
    };
    assert_eq!(found("point_get"), Some(20));
    assert_eq!(found("batch_get10"), Some(200));
    assert_eq!(found("opt10"), None);
    assert!(
        stderr.contains("pess100          :") && stderr.contains("micros/txn"),
        "{stderr}"
    );
    assert!(stderr.contains("sync false"), "{stderr}");
    assert!(!dir.path().join("txn").exists());
}

#[test]
fn bad_flags_are_refused() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_strata-bench"))
            .arg("txn")
            .args(["--engine", "memory"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--workloads", "opt10", "--keys", "5", "--txns", "1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs 10 distinct keys"));
    let out = run(&["--duration", "0"]);
    assert!(!out.status.success());
    let out = run(&["--workloads", "nope", "--txns", "1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown workload"));
}
