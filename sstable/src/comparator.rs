//! Key ordering and the key a bloom filter sees.
//!
//! A table stores opaque keys. By default they are ordered bytewise ([`Bytewise`]); an engine
//! that stores internal keys (user key + sequence + type) supplies its own [`Comparator`] so
//! that all versions of a user key stay adjacent, and a [`KeyExtractor`] so that the bloom
//! filter is built and probed on the user key alone. Both are named, and the names are
//! recorded in the table's properties: a table is never read with another comparator, and a
//! filter built from other keys than the reader would probe is ignored rather than trusted.

use std::cmp::Ordering;
use std::fmt::Debug;

/// A total order over keys.
///
/// Implementations must be consistent: the order of two keys never changes, and `name`
/// changes whenever the order does (tables written under one name are refused under another).
pub trait Comparator: Send + Sync + Debug {
    /// A stable name recorded in every table written with this order.
    fn name(&self) -> &str;

    /// Three-way comparison of two keys.
    fn compare(&self, a: &[u8], b: &[u8]) -> Ordering;

    /// Writes into `out` a short key `k` with `start <= k < limit`, used as an index
    /// separator between two blocks. REQUIRES: `start < limit`. Returning `start` is valid.
    fn separator(&self, start: &[u8], limit: &[u8], out: &mut Vec<u8>);

    /// Writes into `out` a short key `k >= key`, used after the last block.
    /// Returning `key` is valid.
    fn successor(&self, key: &[u8], out: &mut Vec<u8>);
}

/// Lexicographic order of the raw bytes (memcmp), the default.
#[derive(Debug, Default, Clone, Copy)]
pub struct Bytewise;

impl Comparator for Bytewise {
    fn name(&self) -> &str {
        "strata.bytewise"
    }

    #[inline]
    fn compare(&self, a: &[u8], b: &[u8]) -> Ordering {
        a.cmp(b)
    }

    fn separator(&self, start: &[u8], limit: &[u8], out: &mut Vec<u8>) {
        out.clear();
        let common = start.iter().zip(limit).take_while(|(a, b)| a == b).count();
        if common < start.len() && common < limit.len() {
            let byte = start[common];
            // Bump the first differing byte if the result stays below `limit`.
            if byte < 0xff && byte + 1 < limit[common] {
                out.extend_from_slice(&start[..=common]);
                if let Some(last) = out.last_mut() {
                    *last += 1;
                }
                return;
            }
        }
        out.extend_from_slice(start);
    }

    fn successor(&self, key: &[u8], out: &mut Vec<u8>) {
        out.clear();
        match key.iter().position(|&b| b != 0xff) {
            Some(i) => {
                out.extend_from_slice(&key[..=i]);
                if let Some(last) = out.last_mut() {
                    *last += 1;
                }
            }
            None => out.extend_from_slice(key),
        }
    }
}

/// Chooses the part of a key that the bloom filter holds and is probed with.
pub trait KeyExtractor: Send + Sync + Debug {
    /// A stable name recorded in every table whose filter was built with this extractor.
    fn name(&self) -> &str;

    /// The filter key of `key`: a sub-slice, so extraction never allocates.
    fn extract<'a>(&self, key: &'a [u8]) -> &'a [u8];
}

/// The whole key goes into the filter, the default.
#[derive(Debug, Default, Clone, Copy)]
pub struct WholeKey;

impl KeyExtractor for WholeKey {
    fn name(&self) -> &str {
        "strata.whole-key"
    }

    fn extract<'a>(&self, key: &'a [u8]) -> &'a [u8] {
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sep(a: &[u8], b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        Bytewise.separator(a, b, &mut out);
        out
    }

    #[test]
    fn separator_shortens_when_it_can() {
        assert_eq!(sep(b"abcdef", b"abzz"), b"abd");
        assert_eq!(sep(b"abc", b"abd"), b"abc", "adjacent bytes cannot shrink");
        assert_eq!(sep(b"ab", b"abc"), b"ab", "a prefix stays as it is");
        assert_eq!(sep(b"a\xff\x01", b"b"), b"a\xff\x01");
    }

    #[test]
    fn successor_shortens() {
        let mut out = Vec::new();
        Bytewise.successor(b"abc", &mut out);
        assert_eq!(out, b"b");
        Bytewise.successor(b"\xff\xffx", &mut out);
        assert_eq!(out, b"\xff\xffy");
        Bytewise.successor(b"\xff\xff", &mut out);
        assert_eq!(out, b"\xff\xff");
    }

    proptest! {
        #[test]
        fn separator_lies_between(a in proptest::collection::vec(any::<u8>(), 0..8),
                                  b in proptest::collection::vec(any::<u8>(), 0..8)) {
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            prop_assume!(lo < hi);
            let s = sep(&lo, &hi);
            prop_assert!(lo <= s && s < hi);
            let mut succ = Vec::new();
            Bytewise.successor(&lo, &mut succ);
            prop_assert!(succ >= lo);
        }
    }
}
