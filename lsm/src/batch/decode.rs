//! Decoding untrusted WAL records into write batches: every length is bounds-checked, every
//! way a record can be malformed has its own [`BatchCorruption`] variant, nothing panics, and
//! nothing is allocated beyond one copy of the record.

use super::{BatchOp, WriteBatch, BATCH_HEADER_LEN};
use crate::error::Error;
use crate::key::{ValueKind, MAX_SEQ};
use crate::varint::get_varint32;

/// Why a WAL record is not a valid batch. Positions are byte offsets inside the record; the
/// caller knows the file and the record's offset, see [`BatchCorruption::into_error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchCorruption {
    /// Fewer bytes than the header.
    #[error("record of {len} bytes is shorter than the {BATCH_HEADER_LEN}-byte batch header")]
    ShortHeader { len: usize },
    /// The header's sequence numbers do not fit in 56 bits.
    #[error("sequence numbers {first_seq} + {count} ops exceed the 56-bit maximum")]
    SequenceOverflow { first_seq: u64, count: u32 },
    /// An op's kind byte is not a known [`ValueKind`].
    #[error("op {index} at byte {at}: unknown kind {kind}")]
    UnknownKind { index: u32, at: usize, kind: u8 },
    /// A length varint is cut off, wider than 32 bits, or not in its shortest form.
    #[error("op {index} at byte {at}: malformed length varint")]
    BadLength { index: u32, at: usize },
    /// An op's fixed bytes, key or value run past the end of the record.
    #[error("op {index} at byte {at}: truncated")]
    Truncated { index: u32, at: usize },
    /// A range delete whose start is not below its end (builders never write one).
    #[error("op {index} at byte {at}: range delete with start >= end")]
    EmptyRange { index: u32, at: usize },
    /// The record ends cleanly after fewer ops than the header counts.
    #[error("header counts {expected} ops but the record holds {found}")]
    CountMismatch { expected: u32, found: u32 },
    /// Bytes remain after the last counted op.
    #[error("{extra} trailing bytes at byte {at} after the last op")]
    TrailingBytes { at: usize, extra: usize },
}

impl BatchCorruption {
    /// The engine error for this damage in the record at `offset` of WAL `file`.
    pub fn into_error(self, file: &str, offset: u64) -> Error {
        Error::Corruption {
            file: file.to_owned(),
            offset,
            reason: format!("write batch: {self}"),
        }
    }
}

impl WriteBatch {
    /// Decodes a WAL record. Allocates one copy of `record` and nothing else, whatever the
    /// header claims.
    ///
    /// # Errors
    /// A [`BatchCorruption`] naming the first damage found; wrap it with
    /// [`BatchCorruption::into_error`].
    pub fn from_wal_record(record: &[u8]) -> Result<WriteBatch, BatchCorruption> {
        let short = BatchCorruption::ShortHeader { len: record.len() };
        let (seq, rest) = record.split_first_chunk::<8>().ok_or(short.clone())?;
        let (count, _) = rest.split_first_chunk::<4>().ok_or(short)?;
        let (first_seq, count) = (u64::from_le_bytes(*seq), u32::from_le_bytes(*count));
        if first_seq.saturating_add(u64::from(count)) > MAX_SEQ + 1 {
            return Err(BatchCorruption::SequenceOverflow { first_seq, count });
        }
        let mut pos = BATCH_HEADER_LEN;
        for index in 0..count {
            if pos == record.len() {
                let found = index;
                return Err(BatchCorruption::CountMismatch {
                    expected: count,
                    found,
                });
            }
            pos = parse_op(record, pos, index)?.1;
        }
        if pos != record.len() {
            let extra = record.len() - pos;
            return Err(BatchCorruption::TrailingBytes { at: pos, extra });
        }
        Ok(WriteBatch {
            rep: record.to_vec(),
            count,
        })
    }
}

/// Parses op `index` at `pos` of `rep`; returns it and the position after it.
pub(super) fn parse_op(
    rep: &[u8],
    pos: usize,
    index: u32,
) -> Result<(BatchOp<'_>, usize), BatchCorruption> {
    let at = pos;
    let truncated = BatchCorruption::Truncated { index, at };
    let rest = rep.get(pos..).ok_or(truncated.clone())?;
    let (&kind, rest) = rest.split_first().ok_or(truncated.clone())?;
    let kind = ValueKind::from_u8(kind).ok_or(BatchCorruption::UnknownKind { index, at, kind })?;
    let (&cf, rest) = rest.split_first().ok_or(truncated)?;
    let (key, rest) = take_slice(rest, index, at)?;
    let (value, rest) = match kind {
        ValueKind::Delete => (&[][..], rest),
        ValueKind::Put | ValueKind::RangeDelete => take_slice(rest, index, at)?,
    };
    if kind == ValueKind::RangeDelete && key >= value {
        return Err(BatchCorruption::EmptyRange { index, at });
    }
    let op = BatchOp {
        kind,
        cf,
        key,
        value,
    };
    Ok((op, rep.len() - rest.len()))
}

/// Splits a varint-length-prefixed slice off the front of `src`.
fn take_slice(src: &[u8], index: u32, at: usize) -> Result<(&[u8], &[u8]), BatchCorruption> {
    let (len, n) = get_varint32(src).ok_or(BatchCorruption::BadLength { index, at })?;
    let rest = src.get(n..).unwrap_or_default();
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if rest.len() < len {
        return Err(BatchCorruption::Truncated { index, at });
    }
    Ok(rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::tests::sample;

    fn decode_err(bytes: &[u8]) -> BatchCorruption {
        WriteBatch::from_wal_record(bytes).unwrap_err()
    }

    #[test]
    fn every_corruption_is_typed() {
        use BatchCorruption::*;
        let good = sample().data().to_vec();
        assert_eq!(decode_err(&good[..11]), ShortHeader { len: 11 });

        let mut seq = good.clone();
        seq[..8].copy_from_slice(&(MAX_SEQ - 2).to_le_bytes());
        assert_eq!(
            decode_err(&seq),
            SequenceOverflow {
                first_seq: MAX_SEQ - 2,
                count: 4
            }
        );

        let mut kind = good.clone();
        kind[12] = 9;
        assert_eq!(
            decode_err(&kind),
            UnknownKind {
                index: 0,
                at: 12,
                kind: 9
            }
        );

        // Op 0 is `1, 0, 2, k1, 2, v1`: 8 bytes from 12.
        assert_eq!(decode_err(&good[..13]), Truncated { index: 0, at: 12 });
        assert_eq!(decode_err(&good[..16]), Truncated { index: 0, at: 12 });
        let mut overlong = good[..14].to_vec();
        overlong.extend_from_slice(&[0x82, 0x00, b'k', b'1']);
        assert_eq!(decode_err(&overlong), BadLength { index: 0, at: 12 });
        let mut wide = good[..14].to_vec();
        wide.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert_eq!(decode_err(&wide), BadLength { index: 0, at: 12 });

        let mut range = WriteBatch::new();
        range.delete_range(0, b"a", b"b").unwrap();
        let mut range = range.data().to_vec();
        *range.last_mut().unwrap() = b'a';
        assert_eq!(decode_err(&range), EmptyRange { index: 0, at: 12 });

        assert_eq!(
            decode_err(&good[..20]),
            CountMismatch {
                expected: 4,
                found: 1
            }
        );
        let mut trailing = good.clone();
        trailing.push(0);
        let at = good.len();
        assert_eq!(decode_err(&trailing), TrailingBytes { at, extra: 1 });

        let err = decode_err(&trailing).into_error("000007.log", 4096);
        assert!(err.is_corruption());
        assert!(err.to_string().contains("000007.log"), "{err}");
    }
}
