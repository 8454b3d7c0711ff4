//! The workloads, and the keys and values they use.
//!
//! Keys follow db_bench: the key number as 8 big-endian bytes, padded with `'0'` to
//! `--key-size`. Values are slices of a buffer in which every piece is random bytes repeated
//! to reach `1 / compression_ratio` of their length, so blocks compress to about that ratio.

use std::fmt;
use std::str::FromStr;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::error::Error;

/// One step of a benchmark run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// `num` puts in key order, on a fresh database.
    FillSeq,
    /// `num` puts, every key once in a random order, on a fresh database (db_bench draws with
    /// replacement; a permutation makes every later read of `[0, num)` find its key).
    FillRandom,
    /// `num` puts of keys drawn at random from `[0, num)`.
    Overwrite,
    /// `reads` gets of keys drawn from `[0, num)`.
    ReadRandom,
    /// `reads` gets of keys that are absent but sort among the present ones.
    ReadMissing,
    /// One iterator from the first key forward, `reads` entries at most.
    ReadSeq,
    /// One iterator from the last key backward, `reads` entries at most.
    ReadReverse,
    /// `reads` times: seek to a random key, then 10 nexts.
    SeekRandom,
    /// `--threads` readers doing `reads` gets while one writer overwrites random keys; the
    /// readers' operations are reported.
    ReadWhileWriting,
    /// `num` deletes of keys drawn from `[0, num)`.
    DeleteRandom,
    /// `num / 100` puts with sync on, from `--fillsync-threads` writers (group commit), on a
    /// fresh database.
    FillSync,
    /// Not timed: waits for compactions to settle and records write and space amplification.
    Settle,
}

impl Workload {
    /// Whether the workload starts from an empty database.
    pub fn fresh_db(self) -> bool {
        matches!(
            self,
            Workload::FillSeq | Workload::FillRandom | Workload::FillSync
        )
    }

    /// Whether its operations write (so the report shows MB/s of user data written).
    pub fn writes(self) -> bool {
        matches!(
            self,
            Workload::FillSeq
                | Workload::FillRandom
                | Workload::Overwrite
                | Workload::DeleteRandom
                | Workload::FillSync
        )
    }

    const NAMES: [(&'static str, Workload); 12] = [
        ("fillseq", Workload::FillSeq),
        ("fillrandom", Workload::FillRandom),
        ("overwrite", Workload::Overwrite),
        ("readrandom", Workload::ReadRandom),
        ("readmissing", Workload::ReadMissing),
        ("readseq", Workload::ReadSeq),
        ("readreverse", Workload::ReadReverse),
        ("seekrandom", Workload::SeekRandom),
        ("readwhilewriting", Workload::ReadWhileWriting),
        ("deleterandom", Workload::DeleteRandom),
        ("fillsync", Workload::FillSync),
        ("settle", Workload::Settle),
    ];
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Workload::NAMES
            .iter()
            .find(|(_, w)| w == self)
            .map_or("?", |(n, _)| n);
        f.write_str(name)
    }
}

impl FromStr for Workload {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Workload::NAMES
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, w)| *w)
            .ok_or_else(|| {
                let known: Vec<&str> = Workload::NAMES.iter().map(|(n, _)| *n).collect();
                Error::Usage(format!(
                    "unknown benchmark {s:?}; known: {}",
                    known.join(",")
                ))
            })
    }
}

/// Parses `--benchmarks` (comma-separated, in order).
///
/// # Errors
/// `Usage` naming an unknown workload.
pub fn parse_list(list: &str) -> Result<Vec<Workload>, Error> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}

/// Writes key number `n` into `buf` (cleared first) in db_bench's layout.
pub fn make_key(n: u64, key_size: usize, buf: &mut Vec<u8>) {
    buf.clear();
    let be = n.to_be_bytes();
    if key_size >= be.len() {
        buf.extend_from_slice(&be);
        buf.resize(key_size, b'0');
    } else {
        buf.extend_from_slice(&be[be.len() - key_size..]);
    }
}

/// Values that compress to about a given ratio, cut from one pre-generated buffer.
#[derive(Debug)]
pub struct ValueSource {
    data: Vec<u8>,
    pos: usize,
}

impl ValueSource {
    const BUFFER: usize = 1 << 20;

    /// A source of `value_size` values compressing to about `ratio` (0 < ratio <= 1).
    pub fn new(seed: u64, value_size: usize, ratio: f64) -> ValueSource {
        let mut rng = SmallRng::seed_from_u64(seed);
        let piece_len = value_size.clamp(1, 100);
        let mut data = Vec::with_capacity(Self::BUFFER + value_size);
        while data.len() < Self::BUFFER.max(value_size * 2) {
            let raw = ((piece_len as f64 * ratio).ceil() as usize).clamp(1, piece_len);
            let random: Vec<u8> = (0..raw).map(|_| rng.random_range(b' '..=b'~')).collect();
            data.extend(random.iter().cycle().take(piece_len));
        }
        ValueSource { data, pos: 0 }
    }

    /// The next value of `len` bytes.
    pub fn next(&mut self, len: usize) -> &[u8] {
        if self.pos + len > self.data.len() {
            self.pos = 0;
        }
        let value = &self.data[self.pos..self.pos + len];
        self.pos += len;
        value
    }
}

/// A seeded pseudo-random permutation of `[0, n)`: a 4-round Feistel network on the smallest
/// even power of two covering `n`, walking cycles until the output falls below `n`. It costs
/// no memory, so every engine's RSS is measured without a key list in it.
#[derive(Debug, Clone)]
pub struct Permutation {
    n: u64,
    half_bits: u32,
    keys: [u64; 4],
}

impl Permutation {
    /// A permutation of `[0, n)` chosen by `seed`.
    pub fn new(n: u64, seed: u64) -> Permutation {
        let bits = 64 - n.max(2).saturating_sub(1).leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        let mut rng = SmallRng::seed_from_u64(seed);
        Permutation {
            n,
            half_bits,
            keys: [rng.random(), rng.random(), rng.random(), rng.random()],
        }
    }

    /// The image of `i` (`i < n`).
    pub fn apply(&self, i: u64) -> u64 {
        let mut x = i;
        loop {
            x = self.round_trip(x);
            if x < self.n {
                return x;
            }
        }
    }

    fn round_trip(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut left, mut right) = (x >> self.half_bits, x & mask);
        for key in self.keys {
            let f = xxhash_rust::xxh3::xxh3_64_with_seed(&right.to_le_bytes(), key) & mask;
            (left, right) = (right, left ^ f);
        }
        (left << self.half_bits) | right
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn permutation_is_a_bijection() {
        for n in [1u64, 2, 3, 1000, 4097] {
            let p = Permutation::new(n, 7);
            let mut seen: Vec<u64> = (0..n).map(|i| p.apply(i)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n = {n}");
        }
        let p = Permutation::new(1000, 7);
        let moved = (0..1000).filter(|&i| p.apply(i) != i).count();
        assert!(moved > 900, "a permutation that shuffles: {moved} moved");
    }

    #[test]
    fn keys_sort_like_their_numbers() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        make_key(255, 16, &mut a);
        make_key(256, 16, &mut b);
        assert_eq!(a.len(), 16);
        assert!(a < b);
        assert_eq!(&a[8..], b"00000000");
        make_key(258, 4, &mut a);
        assert_eq!(a, [0, 0, 1, 2]);
    }

    #[test]
    fn values_compress_to_about_the_ratio() {
        let mut source = ValueSource::new(1, 100, 0.5);
        let mut all = Vec::new();
        for _ in 0..1000 {
            all.extend_from_slice(source.next(100));
        }
        let compressed = zstd::bulk::compress(&all, 1).unwrap();
        let ratio = compressed.len() as f64 / all.len() as f64;
        assert!((0.4..0.65).contains(&ratio), "ratio {ratio}");
    }

    #[test]
    fn workload_names_round_trip() {
        let list = parse_list("fillseq, readrandom,settle").unwrap();
        assert_eq!(
            list,
            [Workload::FillSeq, Workload::ReadRandom, Workload::Settle]
        );
        assert_eq!(list[1].to_string(), "readrandom");
        assert!(matches!(parse_list("fillseq,nope"), Err(Error::Usage(_))));
    }
}
