//! The transaction workloads and their names.
//!
//! A name is a kind and a key count: `opt10` is an optimistic transaction writing 10 keys,
//! `pess100` a pessimistic one writing 100, `point_get` one `get`, `batch_get10` one
//! `batch_get` of 10 keys. Any positive count works (`opt3`), up to the key space.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The workloads run when `--workloads` is not given: the set.
pub const DEFAULT_WORKLOADS: &str = "opt1,opt10,opt100,pess1,pess10,pess100,point_get,batch_get10";

/// One kind of transaction, repeated by every client task for the workload's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxnWorkload {
    /// Prewrite `n` puts (primary: the first key), then commit them all in one call.
    Optimistic(usize),
    /// Lock `n` keys pessimistically, prewrite the puts, commit them all in one call.
    Pessimistic(usize),
    /// One transactional `get` at a fresh ts.
    PointGet,
    /// One `batch_get` of `n` keys at a fresh ts.
    BatchGet(usize),
}

impl TxnWorkload {
    /// Keys each transaction touches.
    pub fn keys(self) -> usize {
        match self {
            TxnWorkload::Optimistic(n) | TxnWorkload::Pessimistic(n) | TxnWorkload::BatchGet(n) => {
                n
            }
            TxnWorkload::PointGet => 1,
        }
    }

    /// Whether its transactions write.
    pub fn writes(self) -> bool {
        matches!(
            self,
            TxnWorkload::Optimistic(_) | TxnWorkload::Pessimistic(_)
        )
    }
}

impl fmt::Display for TxnWorkload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxnWorkload::Optimistic(n) => write!(f, "opt{n}"),
            TxnWorkload::Pessimistic(n) => write!(f, "pess{n}"),
            TxnWorkload::PointGet => f.write_str("point_get"),
            TxnWorkload::BatchGet(n) => write!(f, "batch_get{n}"),
        }
    }
}

impl FromStr for TxnWorkload {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let unknown = || {
            Error::Usage(format!(
                "unknown workload {s:?}; known: optN, pessN, point_get, batch_getN (N > 0 keys)"
            ))
        };
        if s == "point_get" {
            return Ok(TxnWorkload::PointGet);
        }
        let (make, count): (fn(usize) -> TxnWorkload, &str) =
            if let Some(n) = s.strip_prefix("batch_get") {
                (TxnWorkload::BatchGet, n)
            } else if let Some(n) = s.strip_prefix("pess") {
                (TxnWorkload::Pessimistic, n)
            } else if let Some(n) = s.strip_prefix("opt") {
                (TxnWorkload::Optimistic, n)
            } else {
                return Err(unknown());
            };
        match count.parse::<usize>() {
            Ok(n) if n > 0 => Ok(make(n)),
            _ => Err(unknown()),
        }
    }
}

/// Parses `--workloads` (comma-separated, run in order).
///
/// # Errors
/// `Usage` naming an unknown workload.
pub fn parse_workloads(list: &str) -> Result<Vec<TxnWorkload>, Error> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_round_trip() {
        let list = parse_workloads(DEFAULT_WORKLOADS).unwrap();
        assert_eq!(list.len(), 8);
        let names: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(names.join(","), DEFAULT_WORKLOADS);
        assert_eq!(list[2], TxnWorkload::Optimistic(100));
        assert_eq!(list[7], TxnWorkload::BatchGet(10));
        assert_eq!(list[6].keys(), 1);
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["opt", "opt0", "pessx", "get", "batch_get", "opt-1"] {
            assert!(parse_workloads(bad).is_err(), "{bad}");
        }
    }
}
