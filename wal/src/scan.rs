//! Telling a torn tail from damage in the middle of a log.
//!
//! A crash can only tear the *last* append. When point-in-time reading stops at some offset,
//! the bytes after it are then at most the remains of one interrupted append, and they hold no
//! intact fragment: a torn write never produces a complete fragment with a matching checksum
//! after the tear. Damage in the middle of a log is different: the records written after it are
//! still there, intact. [`intact_fragment_after`] looks for such a fragment, so a caller that
//! needs to know (the engine's manifest recovery) can refuse to silently drop acknowledged
//! records when, say, a flipped length field makes a middle record look cut off by the end of
//! the file.

use crate::format::{checksum, FragmentType, RawHeader, BLOCK_SIZE, HEADER_SIZE};

/// The offset of the first intact fragment (valid type, payload within its block and the
/// data, matching checksum) that starts strictly after `offset`, if any. Empty FULL fragments
/// (an empty record) count only when their checksum matches, like any other.
///
/// A random 7-byte window passes the checksum with probability 2^-32, so on a genuinely torn
/// tail of a few KiB this answers `None` with overwhelming likelihood.
pub fn intact_fragment_after(log: &[u8], offset: u64) -> Option<u64> {
    let start = usize::try_from(offset).ok()?.checked_add(1)?;
    (start..log.len()).find_map(|p| {
        let header: &[u8; HEADER_SIZE] = log.get(p..p + HEADER_SIZE)?.try_into().ok()?;
        let h = RawHeader::decode(header);
        if h.is_zero() || FragmentType::from_u8(h.type_byte).is_none() {
            return None;
        }
        let end = p + HEADER_SIZE + usize::from(h.length);
        // Fragments never cross a block boundary.
        if (p % BLOCK_SIZE) + HEADER_SIZE + usize::from(h.length) > BLOCK_SIZE {
            return None;
        }
        let payload = log.get(p + HEADER_SIZE..end)?;
        (checksum(h.type_byte, payload) == h.checksum).then_some(p as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Writer;

    fn log_of(records: &[&[u8]]) -> (Vec<u8>, Vec<u64>) {
        let mut w = Writer::new(Vec::new());
        let offsets = records.iter().map(|r| w.add_record(r).unwrap()).collect();
        (w.into_inner().unwrap(), offsets)
    }

    #[test]
    fn finds_later_records_but_not_in_a_torn_tail() {
        let (log, offsets) = log_of(&[b"first record", b"second", b"third one"]);
        assert_eq!(intact_fragment_after(&log, offsets[0]), Some(offsets[1]));
        assert_eq!(intact_fragment_after(&log, offsets[2]), None);
        // A torn last append: a header and part of its payload.
        let (mut torn, offsets) = log_of(&[b"first record", b"the last one, torn"]);
        torn.truncate(torn.len() - 5);
        assert_eq!(intact_fragment_after(&torn, offsets[1]), None);
        assert_eq!(intact_fragment_after(&torn, u64::MAX), None);
    }
}
