//! The on-disk framing: block and header sizes, fragment types, header
//! encoding and the checksum. Byte-level spec: `wal/FORMAT.md`.
//!
//! Everything here is a pure function of bytes; the writer and the fragment
//! reader are the only callers, so a change to the format is a change to this
//! file (and to FORMAT.md, and to the version history there).

use std::fmt;

/// A log is a sequence of blocks of this size; no fragment crosses a block
/// boundary. DO NOT CHANGE: existing logs would no longer parse.
pub const BLOCK_SIZE: usize = 32 * 1024;

/// Fragment header: checksum u32 LE, length u16 LE, type u8.
/// DO NOT CHANGE.
pub const HEADER_SIZE: usize = 7;

/// The most payload one fragment can carry (a fragment alone in a block).
pub(crate) const MAX_FRAGMENT_PAYLOAD: usize = BLOCK_SIZE - HEADER_SIZE;

// The length field is a u16: a block-sized fragment must fit in it.
const _: () = assert!(MAX_FRAGMENT_PAYLOAD <= u16::MAX as usize);

/// Zeros the writer uses to pad a block tail too short for a header.
pub(crate) const TRAILER_ZEROS: [u8; HEADER_SIZE - 1] = [0; HEADER_SIZE - 1];

/// What part of a record a fragment holds. The discriminants are the type
/// byte on disk. DO NOT CHANGE OR RENUMBER; 0 stays invalid so that a
/// zero-filled region never parses as a fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FragmentType {
    /// The whole record in one fragment (also the empty record).
    Full = 1,
    /// The first fragment of a record that continues in the next block.
    First = 2,
    /// A whole block of a record that started in an earlier block and
    /// continues in a later one.
    Middle = 3,
    /// The final fragment of a multi-fragment record.
    Last = 4,
}

impl FragmentType {
    /// Decodes an on-disk type byte; `None` for 0 and for unknown values.
    pub fn from_u8(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::Full),
            2 => Some(Self::First),
            3 => Some(Self::Middle),
            4 => Some(Self::Last),
            _ => None,
        }
    }

    /// The type byte as stored on disk.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for FragmentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full => "FULL",
            Self::First => "FIRST",
            Self::Middle => "MIDDLE",
            Self::Last => "LAST",
        })
    }
}

/// A fragment header as read from disk, before any validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawHeader {
    pub(crate) checksum: u32,
    pub(crate) length: u16,
    pub(crate) type_byte: u8,
}

impl RawHeader {
    pub(crate) fn decode(bytes: &[u8; HEADER_SIZE]) -> Self {
        let [c0, c1, c2, c3, l0, l1, type_byte] = *bytes;
        Self {
            checksum: u32::from_le_bytes([c0, c1, c2, c3]),
            length: u16::from_le_bytes([l0, l1]),
            type_byte,
        }
    }

    /// True for an all-zero header: preallocated or never-written space.
    pub(crate) fn is_zero(&self) -> bool {
        self.checksum == 0 && self.length == 0 && self.type_byte == 0
    }
}

/// The checksum stored in a header: CRC-32 (IEEE, as computed by crc32fast)
/// over the type byte followed by the payload. The type is covered so a
/// flipped type byte is caught; the length is not, but a wrong length
/// changes which bytes are summed, which the checksum catches instead.
pub(crate) fn checksum(type_byte: u8, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&[type_byte]);
    hasher.update(payload);
    hasher.finalize()
}

/// Appends one fragment (header then payload) to `out`.
///
/// REQUIRES: `payload.len() <= MAX_FRAGMENT_PAYLOAD` (the writer splits
/// records so that this holds).
pub(crate) fn encode_fragment(out: &mut Vec<u8>, kind: FragmentType, payload: &[u8]) {
    debug_assert!(payload.len() <= MAX_FRAGMENT_PAYLOAD);
    // Saturation is unreachable given the REQUIRES above; it only avoids a
    // silent wrap if a future caller breaks it.
    let length = u16::try_from(payload.len()).unwrap_or(u16::MAX);
    let type_byte = kind.as_u8();
    out.reserve(HEADER_SIZE + payload.len());
    out.extend_from_slice(&checksum(type_byte, payload).to_le_bytes());
    out.extend_from_slice(&length.to_le_bytes());
    out.push(type_byte);
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_values_are_pinned() {
        // On-disk values: this test fails if anyone renumbers them.
        assert_eq!(FragmentType::Full.as_u8(), 1);
        assert_eq!(FragmentType::First.as_u8(), 2);
        assert_eq!(FragmentType::Middle.as_u8(), 3);
        assert_eq!(FragmentType::Last.as_u8(), 4);
        assert_eq!(FragmentType::from_u8(0), None);
        assert_eq!(FragmentType::from_u8(5), None);
        assert_eq!(FragmentType::from_u8(255), None);
        for t in [
            FragmentType::Full,
            FragmentType::First,
            FragmentType::Middle,
            FragmentType::Last,
        ] {
            assert_eq!(FragmentType::from_u8(t.as_u8()), Some(t));
        }
    }

    #[test]
    fn sizes_are_pinned() {
        assert_eq!(BLOCK_SIZE, 32768);
        assert_eq!(HEADER_SIZE, 7);
        assert_eq!(MAX_FRAGMENT_PAYLOAD, 32761);
    }

    #[test]
    fn fragment_golden_bytes() {
        // Golden vector: if this changes, existing logs no longer parse.
        let mut out = Vec::new();
        encode_fragment(&mut out, FragmentType::Full, b"abc");
        let crc = checksum(1, b"abc");
        let mut expected = crc.to_le_bytes().to_vec();
        expected.extend_from_slice(&[3, 0, 1, b'a', b'b', b'c']);
        assert_eq!(out, expected);
        // crc32 of [0x01, 'a', 'b', 'c'] (IEEE polynomial), computed once
        // with Python's zlib.crc32 as an independent implementation.
        assert_eq!(crc, 0x539d_20a9);
    }

    #[test]
    fn header_roundtrip() {
        let mut out = Vec::new();
        encode_fragment(&mut out, FragmentType::Middle, &[7u8; 300]);
        let mut h = [0u8; HEADER_SIZE];
        h.copy_from_slice(&out[..HEADER_SIZE]);
        let raw = RawHeader::decode(&h);
        assert_eq!(raw.length, 300);
        assert_eq!(raw.type_byte, 3);
        assert_eq!(raw.checksum, checksum(3, &[7u8; 300]));
        assert!(!raw.is_zero());
        assert!(RawHeader::decode(&[0; HEADER_SIZE]).is_zero());
    }

    #[test]
    fn checksum_covers_the_type() {
        assert_ne!(checksum(1, b"x"), checksum(2, b"x"));
        // A zero header can never carry a valid checksum for an empty payload.
        assert_ne!(checksum(0, b""), 0);
    }
}
