//! The primitive encodings MVCC records and keys are built from (FORMAT.md, "Primitives"):
//! memcomparable bytes, LEB128 varints, zigzag-length-prefixed ("compact") bytes and
//! big-endian u64s. All of them are TiKV's (`tikv_util::codec`), byte for byte.
//!
//! Decoding goes through [`Reader`], which turns every short or malformed input into
//! [`Error::Corruption`] naming the record and the byte offset: nothing here panics on input.

use crate::error::{Error, Result};

/// Bytes per memcomparable group.
const GROUP: usize = 8;
/// The marker of a full group; a last group's marker is `MARKER - pad`.
const MARKER: u8 = 0xFF;

/// Encoded length of a `len`-byte key in memcomparable form.
pub(crate) fn memcomparable_len(len: usize) -> usize {
    (len / GROUP + 1) * (GROUP + 1)
}

/// Appends `raw` in memcomparable form: 8-byte groups, the last one zero-padded, each followed
/// by a marker `0xFF - pad`. Order of encodings equals order of raw keys, and no encoding is
/// a prefix of another, so suffixes (timestamps) never disturb the order of keys.
pub(crate) fn encode_memcomparable(out: &mut Vec<u8>, raw: &[u8]) {
    out.reserve(memcomparable_len(raw.len()));
    let mut chunks = raw.chunks_exact(GROUP);
    for chunk in &mut chunks {
        out.extend_from_slice(chunk);
        out.push(MARKER);
    }
    // Always a last, partial group (possibly empty): it carries the length via its pad.
    let rest = chunks.remainder();
    let pad = GROUP - rest.len();
    out.extend_from_slice(rest);
    out.extend(std::iter::repeat_n(0, pad));
    out.push(MARKER - pad as u8);
}

/// Appends `v` as an unsigned LEB128 varint (1 to 10 bytes).
pub(crate) fn encode_var_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `data` with its length as a zigzag varint (TiKV's `encode_compact_bytes`).
pub(crate) fn encode_compact_bytes(out: &mut Vec<u8>, data: &[u8]) {
    // Zigzag of a non-negative length is `len << 1`.
    encode_var_u64(out, (data.len() as u64) << 1);
    out.extend_from_slice(data);
}

/// A cursor over one record being decoded.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Decodes `buf`, reporting errors as damage to a `what` ("lock record", ...).
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, pos: 0, what }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The bytes not yet decoded.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// A corruption error at the current offset.
    pub(crate) fn error(&self, reason: impl Into<String>) -> Error {
        Error::corruption(self.what, self.pos, reason)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end.and_then(|e| self.buf.get(self.pos..e)) {
            Some(b) => {
                self.pos += n;
                Ok(b)
            }
            None => Err(self.error(format!("needs {n} more bytes, {} left", self.rest().len()))),
        }
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?.first().copied().unwrap_or_default())
    }

    pub(crate) fn u64_be(&mut self) -> Result<u64> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// A LEB128 varint. Accepts what TiKV accepts: up to 10 bytes, non-shortest forms
    /// included; a 10th byte above 1 overflows u64 and is corruption.
    pub(crate) fn var_u64(&mut self) -> Result<u64> {
        let start = self.pos;
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.u8()?;
            if i == 9 && b > 1 {
                self.pos = start;
                return Err(self.error("varint overflows u64"));
            }
            v |= u64::from(b & 0x7F) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        self.pos = start;
        Err(self.error("varint longer than 10 bytes"))
    }

    /// Compact bytes: a zigzag varint length, then that many bytes.
    pub(crate) fn compact_bytes(&mut self) -> Result<&'a [u8]> {
        let start = self.pos;
        let zigzag = self.var_u64()?;
        if zigzag & 1 == 1 {
            self.pos = start;
            return Err(self.error("negative length"));
        }
        let len = usize::try_from(zigzag >> 1).map_err(|_| self.error("length too large"))?;
        self.bytes(len)
    }

    /// One memcomparable-encoded key; returns the raw key.
    pub(crate) fn memcomparable(&mut self) -> Result<Vec<u8>> {
        let mut raw = Vec::with_capacity(self.rest().len() / (GROUP + 1) * GROUP);
        loop {
            let group = self.bytes(GROUP + 1)?;
            let (data, marker) = group.split_at(GROUP);
            let marker = marker.first().copied().unwrap_or_default();
            if marker == MARKER {
                raw.extend_from_slice(data);
                continue;
            }
            let pad = usize::from(MARKER - marker);
            if pad > GROUP {
                return Err(self.error(format!("bad group marker {marker:#04x}")));
            }
            let (keep, padding) = data.split_at(GROUP - pad);
            if padding.iter().any(|&b| b != 0) {
                return Err(self.error("non-zero padding"));
            }
            raw.extend_from_slice(keep);
            return Ok(raw);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(raw: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        encode_memcomparable(&mut v, raw);
        v
    }

    #[test]
    fn memcomparable_vectors_match_tikv() {
        // From TiKV's `Key::from_raw` tests: an empty key is one all-padding group.
        assert_eq!(enc(b""), [0, 0, 0, 0, 0, 0, 0, 0, 0xF7]);
        assert_eq!(enc(b"z"), [b'z', 0, 0, 0, 0, 0, 0, 0, 0xF8]);
        // Exactly 8 bytes: a full group, then an empty last group.
        assert_eq!(
            enc(b"12345678"),
            [b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0xF7]
        );
    }

    #[test]
    fn varint_and_compact_bytes_vectors() {
        let mut v = Vec::new();
        encode_var_u64(&mut v, 300);
        assert_eq!(v, [0xAC, 0x02]);
        let mut v = Vec::new();
        encode_compact_bytes(&mut v, b"pk");
        assert_eq!(v, [0x04, b'p', b'k']);
        let mut v = Vec::new();
        encode_var_u64(&mut v, u64::MAX);
        assert_eq!(v.len(), 10);
        assert_eq!(Reader::new(&v, "t").var_u64().unwrap(), u64::MAX);
    }

    #[test]
    fn malformed_inputs_are_corruption() {
        let bad: &[&[u8]] = &[&[0x80], &[0xFF; 9], &[0xFF; 11]];
        for b in bad {
            assert!(Reader::new(b, "t").var_u64().is_err(), "{b:?}");
        }
        // Ten bytes whose last one is 2: overflows u64.
        let mut over = vec![0xFF; 9];
        over.push(0x02);
        assert!(Reader::new(&over, "t").var_u64().is_err());
        // Non-shortest varints are accepted, as TiKV does.
        assert_eq!(Reader::new(&[0x80, 0x00], "t").var_u64().unwrap(), 0);
        // Negative and overlong compact lengths.
        assert!(Reader::new(&[0x01], "t").compact_bytes().is_err());
        assert!(Reader::new(&[0x04, b'p'], "t").compact_bytes().is_err());
        // Marker claims 9 bytes of padding; padding not zero; truncated group.
        assert!(Reader::new(&[0; 9], "t").memcomparable().is_err());
        assert!(Reader::new(&[b'a', 1, 0, 0, 0, 0, 0, 0, 0xF8], "t")
            .memcomparable()
            .is_err());
        assert!(Reader::new(&[b'a', 0, 0], "t").memcomparable().is_err());
    }

    proptest! {
        #[test]
        fn memcomparable_round_trips_and_preserves_order(
            a in proptest::collection::vec(any::<u8>(), 0..40),
            b in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let (ea, eb) = (enc(&a), enc(&b));
            prop_assert_eq!(ea.len(), memcomparable_len(a.len()));
            prop_assert_eq!(a.cmp(&b), ea.cmp(&eb));
            let mut r = Reader::new(&ea, "t");
            prop_assert_eq!(r.memcomparable().unwrap(), a.clone());
            prop_assert!(r.is_empty());
            // Prefix-free: one encoding never starts with a different one.
            if a != b {
                prop_assert!(!ea.starts_with(&eb) && !eb.starts_with(&ea));
            }
        }

        #[test]
        fn varints_round_trip(v in any::<u64>()) {
            let mut out = Vec::new();
            encode_var_u64(&mut out, v);
            let mut r = Reader::new(&out, "t");
            prop_assert_eq!(r.var_u64().unwrap(), v);
            prop_assert!(r.is_empty());
        }

        #[test]
        fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Reader::new(&data, "t").memcomparable();
            let _ = Reader::new(&data, "t").compact_bytes();
            let _ = Reader::new(&data, "t").var_u64();
            let _ = Reader::new(&data, "t").u64_be();
        }
    }
}
