//! The isolation checker the history tests share: the `adya` crate (Elle's rw-register
//! analysis), given the system's commit order as each key's version order.
//!
//! Models checked: `snapshot-isolation` (Adya's PL-SI: no G1a/b/c, no G-single, no cycle
//! without two adjacent anti-dependency edges) and `strong-snapshot-isolation` (the same
//! with real-time edges: a transaction that began after another finished must see it).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use adya::{check, Opts, Report, Valid, Workload};
use txn::testing::History;

/// The checker's verdict on `h` under the models above.
pub fn check_si(h: &History) -> Report {
    let json = h.to_elle_json();
    let parsed = adya::History::from_json(&json).unwrap();
    let opts = Opts {
        models: vec![
            "snapshot-isolation".into(),
            "strong-snapshot-isolation".into(),
        ],
        transaction_order: Some(h.commit_order()),
        ..Opts::default()
    };
    check(&parsed, Workload::RwRegister, &opts)
}

/// Panics with the anomalies unless `h` is valid.
pub fn assert_si(h: &History) {
    let r = check_si(h);
    assert_eq!(
        r.valid,
        Valid::True,
        "anomalies {:?}: {:#?}\nhistory:\n{}",
        r.anomaly_types,
        r.anomalies,
        h.to_elle_json()
    );
}

/// The anomaly types found (empty: valid).
pub fn anomalies(h: &History) -> Vec<String> {
    let r = check_si(h);
    assert_ne!(r.valid, Valid::Unknown, "{:?}", r.anomaly_types);
    r.anomaly_types
}
