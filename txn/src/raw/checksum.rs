//! Raw checksum: TiKV's `Crc64Xor` algorithm over key-value pairs.
//!
//! Each pair contributes `crc64(key ‖ value)` — CRC-64/XZ (a.k.a. GO-ECMA: reflected ECMA-182
//! polynomial, init and final XOR all ones), the variant of TiKV's own `crc64fast` crate —
//! and the contributions are XORed together, so the result does not depend on the order of
//! the pairs (ranges can be summed in any order, or in parallel, and combined by XOR).
//! `total_bytes` counts key and value bytes. The key is the client's key (V2: with its
//! prefix), the value the user's value (without this crate's expiry and flags).

/// The result of a raw checksum (TiKV's `RawChecksumResponse` fields).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checksum {
    /// XOR of `crc64(key ‖ value)` over all pairs.
    pub crc64_xor: u64,
    /// Number of pairs.
    pub total_kvs: u64,
    /// Sum of key and value lengths.
    pub total_bytes: u64,
}

impl Checksum {
    /// Adds one pair.
    pub fn update(&mut self, key: &[u8], value: &[u8]) {
        let mut digest = crc64fast::Digest::new();
        digest.write(key);
        digest.write(value);
        self.crc64_xor ^= digest.sum64();
        self.total_kvs += 1;
        // usize always fits in u64 on supported targets.
        self.total_bytes += (key.len() + value.len()) as u64;
    }

    /// Combines two checksums of disjoint pair sets.
    pub fn merge(&mut self, other: &Checksum) {
        self.crc64_xor ^= other.crc64_xor;
        self.total_kvs += other.total_kvs;
        self.total_bytes += other.total_bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_is_crc64_xz() {
        // The catalogue check value of CRC-64/XZ over "123456789".
        let mut c = Checksum::default();
        c.update(b"12345", b"6789");
        assert_eq!(c.crc64_xor, 0x995d_c9bb_df19_39fa);
        assert_eq!((c.total_kvs, c.total_bytes), (1, 9));
    }

    #[test]
    fn order_independent_and_mergeable() {
        let pairs: [(&[u8], &[u8]); 3] = [(b"a", b"1"), (b"b", b""), (b"c", b"333")];
        let mut fwd = Checksum::default();
        pairs.iter().for_each(|(k, v)| fwd.update(k, v));
        let mut rev = Checksum::default();
        pairs.iter().rev().for_each(|(k, v)| rev.update(k, v));
        assert_eq!(fwd, rev);
        let (mut left, mut right) = (Checksum::default(), Checksum::default());
        left.update(pairs[0].0, pairs[0].1);
        pairs[1..].iter().for_each(|(k, v)| right.update(k, v));
        left.merge(&right);
        assert_eq!(left, fwd);
        assert_eq!(fwd.total_bytes, 7);
        assert_ne!(fwd.crc64_xor, 0);
    }
}
