//! The table's bloom filter: one filter over all keys, blocked by cache line.
//!
//! Each key hashes (xxh3, 64 bits) to one 64-byte line of the filter, and sets or tests
//! `num_probes` bits inside that line. A probe therefore touches a single cache line, where a
//! classic bloom filter would touch `num_probes` random lines: on a lookup that misses in every
//! level this is the difference between one memory stall per table and seven. The price is a
//! slightly higher false-positive rate for the same space (about 0.95% at 10 bits per key
//! instead of 0.8%), checked by a test below.
//!
//! Layout (FORMAT.md, "Filter block"): `lines × 64 bytes` of bits, then `num_probes: u8`, then
//! `lines: u32` little-endian. A filter whose probe count is 0 or whose size does not match is
//! treated as "may contain everything" by the reader and reported as corruption by `verify`.

use xxhash_rust::xxh3::xxh3_64;

const LINE_BYTES: usize = 64;
const LINE_BITS: u32 = (LINE_BYTES * 8) as u32;
/// Bytes after the bit array: probe count (1) and line count (4).
const FILTER_META: usize = 5;

/// Hash of a filter key; the builder stores these until the table is finished, and a reader
/// probing several tables for one key computes it once
/// ([`crate::Table::may_contain_filter_hash`]). Part of the on-disk format: every filter's
/// bits are set from this hash.
#[inline]
pub fn filter_key_hash(key: &[u8]) -> u64 {
    xxh3_64(key)
}

/// Number of probes for a given density; fewer than a classic filter's `ln 2 · bits` because
/// a line's bits fill unevenly.
fn probes_for(bits_per_key: u32) -> u8 {
    (bits_per_key * 6 / 10).clamp(1, 24) as u8
}

#[inline]
fn line_of(hash: u64, lines: u32) -> usize {
    // Multiply-shift maps the high 32 bits onto 0..lines without a division.
    (((hash >> 32) * u64::from(lines)) >> 32) as usize
}

/// Yields the bit positions (0..512) a hash tests inside its line.
#[inline]
fn probe_bits(hash: u64, probes: u8) -> impl Iterator<Item = u32> {
    let mut h = hash as u32;
    (0..probes).map(move |_| {
        let bit = h >> (32 - 9);
        // Golden-ratio multiplication remixes the low half for the next probe.
        h = h.wrapping_mul(0x9e37_79b9);
        bit
    })
}

/// Builds a filter from key hashes.
pub(crate) fn build_filter(hashes: &[u64], bits_per_key: u32) -> Vec<u8> {
    let total_bits = (hashes.len() as u64 * u64::from(bits_per_key)).max(1);
    let lines = u32::try_from(total_bits.div_ceil(u64::from(LINE_BITS))).unwrap_or(u32::MAX);
    let probes = probes_for(bits_per_key);
    let mut out = vec![0u8; lines as usize * LINE_BYTES + FILTER_META];
    for &hash in hashes {
        let base = line_of(hash, lines) * LINE_BYTES;
        for bit in probe_bits(hash, probes) {
            out[base + (bit / 8) as usize] |= 1 << (bit % 8);
        }
    }
    let meta = lines as usize * LINE_BYTES;
    out[meta] = probes;
    out[meta + 1..].copy_from_slice(&lines.to_le_bytes());
    out
}

/// A filter read from a table.
#[derive(Debug, Clone)]
pub(crate) struct BloomFilter {
    data: bytes::Bytes,
    lines: u32,
    probes: u8,
}

impl BloomFilter {
    /// Checks the layout; `Err` names what is wrong.
    pub(crate) fn new(data: bytes::Bytes) -> Result<BloomFilter, &'static str> {
        let meta = data
            .len()
            .checked_sub(FILTER_META)
            .ok_or("filter block too short")?;
        let probes = data[meta];
        let lines = crate::coding::get_fixed32(&data, meta + 1).ok_or("filter block too short")?;
        if probes == 0 || probes > 30 {
            return Err("filter probe count out of range");
        }
        if lines == 0 || lines as usize * LINE_BYTES != meta {
            return Err("filter size does not match its line count");
        }
        Ok(BloomFilter {
            data,
            lines,
            probes,
        })
    }

    /// False only if no key with this hash was added.
    #[inline]
    pub(crate) fn may_contain_hash(&self, hash: u64) -> bool {
        let base = line_of(hash, self.lines) * LINE_BYTES;
        let line = &self.data[base..base + LINE_BYTES];
        // Every probe is tested, without an early exit: the bits of a missing key are set
        // about half the time, so a branch per probe would mispredict often, and a lookup
        // that probes several tables in a row wants their loads in flight together.
        probe_bits(hash, self.probes).fold(true, |all, bit| {
            all & (line[(bit / 8) as usize] & (1 << (bit % 8)) != 0)
        })
    }

    /// False only if `key` was not added.
    #[inline]
    pub(crate) fn may_contain(&self, key: &[u8]) -> bool {
        self.may_contain_hash(filter_key_hash(key))
    }

    pub(crate) fn probes(&self) -> u8 {
        self.probes
    }

    pub(crate) fn size(&self) -> usize {
        self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter_of(keys: impl Iterator<Item = Vec<u8>>, bits: u32) -> BloomFilter {
        let hashes: Vec<u64> = keys.map(|k| filter_key_hash(&k)).collect();
        BloomFilter::new(bytes::Bytes::from(build_filter(&hashes, bits))).unwrap()
    }

    #[test]
    fn no_false_negatives() {
        for n in [0u32, 1, 7, 1000] {
            let f = filter_of((0..n).map(|i| format!("key{i}").into_bytes()), 10);
            for i in 0..n {
                assert!(f.may_contain(format!("key{i}").as_bytes()));
            }
        }
    }

    /// The bound: at the default 10 bits per key, at most 1% false positives.
    #[test]
    fn false_positive_rate_at_ten_bits_is_at_most_one_percent() {
        let n = 100_000u64;
        let f = filter_of((0..n).map(|i| i.to_be_bytes().to_vec()), 10);
        let probes = 1_000_000u64;
        let hits = (n..n + probes)
            .filter(|i| f.may_contain(&i.to_be_bytes()))
            .count();
        let rate = hits as f64 / probes as f64;
        assert!(rate <= 0.01, "false-positive rate {rate}");
        // A filter that says "yes" to everything must not pass for a good one.
        assert!(
            rate > 0.001,
            "implausibly low rate {rate}: is the filter probing at all?"
        );
    }

    #[test]
    fn damaged_layouts_are_rejected() {
        let good = build_filter(&[1, 2, 3], 10);
        assert!(BloomFilter::new(bytes::Bytes::from(good.clone())).is_ok());
        let mut no_probes = good.clone();
        let meta = no_probes.len() - FILTER_META;
        no_probes[meta] = 0;
        assert!(BloomFilter::new(bytes::Bytes::from(no_probes)).is_err());
        let mut wrong_lines = good;
        wrong_lines[meta + 1] = 9;
        assert!(BloomFilter::new(bytes::Bytes::from(wrong_lines)).is_err());
        assert!(BloomFilter::new(bytes::Bytes::from_static(&[6, 1])).is_err());
    }
}
