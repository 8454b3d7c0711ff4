//! LEB128 varints for the write-batch encoding, range-tombstone properties and memtable entry
//! headers (the sstable crate's coding module is private).
//!
//! The decoder takes untrusted bytes and accepts only the canonical (shortest) encoding of a
//! value, so a decoded batch re-encodes to exactly the bytes it came from.

/// Appends `v` as a LEB128 varint (1 to 5 bytes) to a `Vec<u8>`, or writes it at the front
/// of a `&mut [u8]` and advances past it (which must have room: [`varint32_len`] bytes).
pub(crate) fn put_varint32(dst: &mut impl bytes::BufMut, mut v: u32) {
    while v >= 0x80 {
        dst.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    dst.put_u8(v as u8);
}

/// Bytes [`put_varint32`] writes for `v`.
pub(crate) fn varint32_len(v: u32) -> usize {
    let bits = 32 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Decodes a canonical varint that fits in 32 bits; returns the value and the bytes consumed,
/// or `None` if `src` ends inside it, it overflows 32 bits, or it is longer than necessary.
#[inline]
pub(crate) fn get_varint32(src: &[u8]) -> Option<(u32, usize)> {
    // Fast path: lengths below 128 are one byte.
    if let Some(&b) = src.first() {
        if b < 0x80 {
            return Some((u32::from(b), 1));
        }
    }
    let mut value = 0u32;
    for (i, &b) in src.iter().take(5).enumerate() {
        let bits = u32::from(b & 0x7f);
        // The fifth byte carries the top 4 bits of a u32, no more.
        if i == 4 && bits > 0x0f {
            return None;
        }
        value |= bits << (7 * i);
        if b < 0x80 {
            // A last byte of zero after the first means a longer-than-needed encoding.
            return (i == 0 || b != 0).then_some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_at_boundaries_and_truncation() {
        for v in [
            0u32,
            1,
            127,
            128,
            16383,
            16384,
            (1 << 28) - 1,
            1 << 28,
            u32::MAX,
        ] {
            let mut buf = Vec::new();
            put_varint32(&mut buf, v);
            assert_eq!(varint32_len(v), buf.len(), "{v}");
            assert_eq!(get_varint32(&buf), Some((v, buf.len())));
            assert_eq!(get_varint32(&buf[..buf.len() - 1]), None, "truncated {v}");
        }
    }

    #[test]
    fn rejects_overflow_and_overlong() {
        assert_eq!(get_varint32(&[0xff, 0xff, 0xff, 0xff, 0x10]), None);
        assert_eq!(get_varint32(&[0xff; 6]), None);
        assert_eq!(get_varint32(&[0x80, 0x00]), None);
        assert_eq!(get_varint32(&[0x81, 0x80, 0x00]), None);
        assert_eq!(get_varint32(&[0x00]), Some((0, 1)));
        assert_eq!(get_varint32(&[]), None);
    }
}
