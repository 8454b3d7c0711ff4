//! Variable-length (LEB128) and fixed-width little-endian integer coding.
//!
//! Decoders take untrusted bytes: they return `None` instead of reading past the slice or
//! accepting an over-long encoding, and never panic.

/// Appends `v` as a LEB128 varint (1 to 5 bytes).
pub(crate) fn put_varint32(dst: &mut Vec<u8>, v: u32) {
    put_varint64(dst, u64::from(v));
}

/// Appends `v` as a LEB128 varint (1 to 10 bytes).
pub(crate) fn put_varint64(dst: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        dst.push((v as u8) | 0x80);
        v >>= 7;
    }
    dst.push(v as u8);
}

/// Decodes a varint that must fit in 32 bits; returns the value and the bytes consumed.
#[inline]
pub(crate) fn get_varint32(src: &[u8]) -> Option<(u32, usize)> {
    // Fast path: most lengths in a block are below 128.
    if let Some(&b) = src.first() {
        if b < 0x80 {
            return Some((u32::from(b), 1));
        }
    }
    let (v, n) = decode_varint(src, 5)?;
    u32::try_from(v).ok().map(|v| (v, n))
}

/// Decodes a varint of up to 64 bits; returns the value and the bytes consumed.
#[inline]
pub(crate) fn get_varint64(src: &[u8]) -> Option<(u64, usize)> {
    decode_varint(src, 10)
}

fn decode_varint(src: &[u8], max_len: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in src.iter().take(max_len).enumerate() {
        let shift = 7 * i as u32;
        let bits = u64::from(b & 0x7f);
        // The tenth byte of a u64 may only carry one bit.
        if shift == 63 && bits > 1 {
            return None;
        }
        value |= bits << shift;
        if b < 0x80 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Reads a little-endian u32 at `pos`, or `None` if the slice is too short.
#[inline]
pub(crate) fn get_fixed32(src: &[u8], pos: usize) -> Option<u32> {
    let bytes = src.get(pos..pos.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// Reads a little-endian u64 at `pos`, or `None` if the slice is too short.
#[inline]
pub(crate) fn get_fixed64(src: &[u8], pos: usize) -> Option<u64> {
    let bytes = src.get(pos..pos.checked_add(8)?)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_roundtrip_at_boundaries() {
        for v in [
            0u64,
            1,
            127,
            128,
            16383,
            16384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut buf = Vec::new();
            put_varint64(&mut buf, v);
            assert_eq!(get_varint64(&buf), Some((v, buf.len())));
            assert_eq!(get_varint64(&buf[..buf.len() - 1]), None, "truncated {v}");
        }
    }

    #[test]
    fn varint32_rejects_wider_values() {
        let mut buf = Vec::new();
        put_varint64(&mut buf, u64::from(u32::MAX) + 1);
        assert_eq!(get_varint32(&buf), None);
        let mut buf = Vec::new();
        put_varint32(&mut buf, u32::MAX);
        assert_eq!(get_varint32(&buf), Some((u32::MAX, 5)));
    }

    #[test]
    fn overlong_varints_are_rejected() {
        assert_eq!(get_varint64(&[0xff; 11]), None);
        // Ten bytes whose last carries more than the one bit left in a u64.
        let mut bytes = vec![0xff; 9];
        bytes.push(0x02);
        assert_eq!(get_varint64(&bytes), None);
    }

    #[test]
    fn fixed_reads_are_bounds_checked() {
        let buf = [1, 0, 0, 0, 2, 0, 0, 0, 0];
        assert_eq!(get_fixed32(&buf, 0), Some(1));
        assert_eq!(get_fixed32(&buf, 6), None);
        assert_eq!(get_fixed64(&buf, 1), Some(2 << 24));
        assert_eq!(get_fixed64(&buf, 2), None);
        assert_eq!(get_fixed32(&buf, usize::MAX), None);
    }
}
