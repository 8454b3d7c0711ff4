//! Little-endian fixed-width and length-prefixed encodings shared by this crate's records
//! (region descriptors, commands, apply state; layouts in FORMAT.md).

use crate::error::{Error, Result};

/// Appends `v` as 8 bytes little-endian.
pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends `v` as 4 bytes little-endian.
pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends `bytes` with a 4-byte little-endian length before it.
///
/// # Panics
/// If `bytes` is 4 GiB or longer (keys and values are limited far below that).
#[allow(clippy::expect_used)]
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, u32::try_from(bytes.len()).expect("field under 4 GiB"));
    out.extend_from_slice(bytes);
}

/// A cursor over an encoded record; every read checks the length left, so a truncated or
/// garbled record is a `Corruption` error naming `what`, never a panic.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    what: &'a str,
}

impl<'a> Reader<'a> {
    /// Reads `buf`, a record described by `what` in errors.
    pub(crate) fn new(buf: &'a [u8], what: &'a str) -> Reader<'a> {
        Reader { buf, what }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(self.error(format!("truncated: needs {n} more bytes")));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// A corruption error about this record.
    pub(crate) fn error(&self, reason: impl Into<String>) -> Error {
        Error::corrupt(self.what, reason)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        let mut b = [0; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        let mut b = [0; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    /// Fails unless the whole record was read.
    pub(crate) fn finish(self) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(self.error(format!("{} bytes left over", self.buf.len())))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn round_trip_and_truncation_is_corruption() {
        let mut out = Vec::new();
        put_u64(&mut out, 7);
        put_bytes(&mut out, b"abc");
        out.push(9);
        let mut r = Reader::new(&out, "test");
        assert_eq!(r.u64().unwrap(), 7);
        assert_eq!(r.bytes().unwrap(), b"abc");
        assert_eq!(r.u8().unwrap(), 9);
        r.finish().unwrap();
        for cut in 0..out.len() {
            let mut r = Reader::new(&out[..cut], "test");
            let whole = r.u64().and_then(|_| r.bytes()).and_then(|_| r.u8());
            assert!(matches!(whole, Err(Error::Corruption { .. })), "cut {cut}");
        }
        let mut r = Reader::new(&out, "test");
        r.u64().unwrap();
        assert!(r.finish().is_err());
    }
}
