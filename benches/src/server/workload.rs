//! The server workloads, their names, and the keys and values one client draws.

use std::fmt;
use std::str::FromStr;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::error::Error;
use crate::workload::{make_key, ValueSource};

/// The workloads run when `--workloads` is not given: the ceiling first, so the figures it
/// is compared with are measured after it on the same warm process.
pub const DEFAULT_WORKLOADS: &str = "empty_call,raw_get,raw_put,txn1,txn10";

/// One kind of request, repeated by every client for the workload's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerWorkload {
    /// `RawClient::get` of a random preloaded key.
    RawGet,
    /// `RawClient::put` of a random preloaded key (an overwrite).
    RawPut,
    /// An optimistic transaction over `n` distinct random keys: get each, put each, commit.
    Txn(usize),
    /// A `RawGet` to a service that answers at once with an empty response: what the gRPC
    /// transport alone allows.
    EmptyCall,
}

impl ServerWorkload {
    /// Keys each operation touches.
    pub fn keys(self) -> usize {
        match self {
            ServerWorkload::Txn(n) => n,
            _ => 1,
        }
    }
}

impl fmt::Display for ServerWorkload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerWorkload::RawGet => f.write_str("raw_get"),
            ServerWorkload::RawPut => f.write_str("raw_put"),
            ServerWorkload::Txn(n) => write!(f, "txn{n}"),
            ServerWorkload::EmptyCall => f.write_str("empty_call"),
        }
    }
}

impl FromStr for ServerWorkload {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::Usage(format!("unknown server workload {s:?}"));
        match s {
            "raw_get" => Ok(ServerWorkload::RawGet),
            "raw_put" => Ok(ServerWorkload::RawPut),
            "empty_call" => Ok(ServerWorkload::EmptyCall),
            _ => {
                let n: usize = s
                    .strip_prefix("txn")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(bad)?;
                if n == 0 {
                    return Err(bad());
                }
                Ok(ServerWorkload::Txn(n))
            }
        }
    }
}

/// Parses a comma-separated list of workload names.
///
/// # Errors
/// `Usage` naming the first unknown workload.
pub fn parse_workloads(list: &str) -> Result<Vec<ServerWorkload>, Error> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}

/// The keys and values one client draws: keys uniformly from the preloaded key space.
#[derive(Debug)]
pub struct KeyGen {
    rng: SmallRng,
    keys: u64,
    key_size: usize,
    value_size: usize,
    values: ValueSource,
}

impl KeyGen {
    /// Keys `[0, keys)` of `key_size` bytes, values of `value_size`, drawn from `seed`.
    pub fn new(keys: u64, key_size: usize, value_size: usize, seed: u64) -> KeyGen {
        KeyGen {
            rng: SmallRng::seed_from_u64(seed),
            keys: keys.max(1),
            key_size,
            value_size,
            values: ValueSource::new(seed, value_size, 0.5),
        }
    }

    /// Key number `n`.
    pub fn key(&self, n: u64) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.key_size);
        make_key(n, self.key_size, &mut key);
        key
    }

    /// A uniformly random key of the key space.
    pub fn random_key(&mut self) -> Vec<u8> {
        let n = self.rng.random_range(0..self.keys);
        self.key(n)
    }

    /// `n` distinct random keys, sorted (as a transaction's mutations are sent); at most the
    /// key space.
    pub fn distinct_keys(&mut self, n: usize) -> Vec<Vec<u8>> {
        let n = (n as u64).min(self.keys) as usize;
        let mut picked: Vec<u64> = Vec::with_capacity(n);
        while picked.len() < n {
            let k = self.rng.random_range(0..self.keys);
            if !picked.contains(&k) {
                picked.push(k);
            }
        }
        picked.sort_unstable();
        picked.into_iter().map(|k| self.key(k)).collect()
    }

    /// The next value.
    pub fn value(&mut self) -> Vec<u8> {
        self.values.next(self.value_size).to_vec()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_are_refused() {
        let list = parse_workloads(DEFAULT_WORKLOADS).unwrap();
        assert_eq!(
            list,
            vec![
                ServerWorkload::EmptyCall,
                ServerWorkload::RawGet,
                ServerWorkload::RawPut,
                ServerWorkload::Txn(1),
                ServerWorkload::Txn(10),
            ]
        );
        let names: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(names.join(","), DEFAULT_WORKLOADS);
        for bad in ["txn0", "txn", "txnx", "raw_scan"] {
            assert!(bad.parse::<ServerWorkload>().is_err(), "{bad}");
        }
    }

    #[test]
    fn transaction_keys_are_distinct_sorted_and_in_the_key_space() {
        let mut gen = KeyGen::new(20, 16, 100, 7);
        for _ in 0..100 {
            let keys = gen.distinct_keys(10);
            assert_eq!(keys.len(), 10);
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
            let last = gen.key(19);
            assert!(keys.iter().all(|k| k.len() == 16 && *k <= last));
        }
        // Never more keys than the space holds (it would loop forever).
        assert_eq!(gen.distinct_keys(50).len(), 20);
        assert_eq!(gen.value().len(), 100);
    }
}
