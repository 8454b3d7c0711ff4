//! A table's range tombstones, stored in its properties block.
//!
//! Range tombstones are few (region clean-up, `delete_range`) but must be known before any
//! point lookup in a table, so they are kept out of the data blocks and written as the user
//! property `range-dels` (FORMAT.md, "Range tombstones in tables"), which a table's open
//! loads anyway:
//!
//! ```text
//! count: varint32, then per tombstone:
//!   cf: u8 | start_len: varint32 | start | end_len: varint32 | end | seq: u64 LE
//! ```

use bytes::Bytes;

use crate::memtable::RangeTombstone;
use crate::varint::{get_varint32, put_varint32};

/// Name of the table property holding the range tombstones.
pub const RANGE_DELS_PROPERTY: &str = "range-dels";

/// Encodes tombstones for the table property.
pub fn encode(tombstones: &[RangeTombstone]) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint32(&mut out, tombstones.len() as u32);
    for t in tombstones {
        out.push(t.cf);
        put_varint32(&mut out, t.start.len() as u32);
        out.extend_from_slice(&t.start);
        put_varint32(&mut out, t.end.len() as u32);
        out.extend_from_slice(&t.end);
        out.extend_from_slice(&t.seq.to_le_bytes());
    }
    out
}

/// Decodes the table property; `Err` says what is wrong (the caller names the table).
pub fn decode(mut src: &[u8]) -> Result<Vec<RangeTombstone>, String> {
    let bad = |what: &str| format!("range tombstones: {what}");
    let (count, n) = get_varint32(src).ok_or_else(|| bad("bad count"))?;
    src = &src[n..];
    // Each tombstone takes at least 11 bytes: never trust the count for an allocation.
    let mut out = Vec::with_capacity((count as usize).min(src.len() / 11));
    for _ in 0..count {
        let (&cf, rest) = src.split_first().ok_or_else(|| bad("truncated"))?;
        src = rest;
        let mut bytes = || -> Result<Bytes, String> {
            let (len, n) = get_varint32(src).ok_or_else(|| bad("bad length"))?;
            let end = n
                .checked_add(len as usize)
                .filter(|e| *e <= src.len())
                .ok_or_else(|| bad("key runs past the property"))?;
            let b = Bytes::copy_from_slice(&src[n..end]);
            src = &src[end..];
            Ok(b)
        };
        let start = bytes()?;
        let end = bytes()?;
        let seq_bytes: [u8; 8] = src
            .get(..8)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| bad("truncated sequence number"))?;
        src = &src[8..];
        out.push(RangeTombstone {
            cf,
            start,
            end,
            seq: u64::from_le_bytes(seq_bytes),
        });
    }
    if !src.is_empty() {
        return Err(bad("trailing bytes"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tombstone() -> impl Strategy<Value = RangeTombstone> {
        (
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..10),
            proptest::collection::vec(any::<u8>(), 0..10),
            any::<u64>(),
        )
            .prop_map(|(cf, s, e, seq)| RangeTombstone {
                cf,
                start: Bytes::from(s),
                end: Bytes::from(e),
                seq,
            })
    }

    proptest! {
        #[test]
        fn roundtrip_and_damage(ts in proptest::collection::vec(tombstone(), 0..5),
                                at in any::<usize>(), flip in 1u8..) {
            let bytes = encode(&ts);
            let back = decode(&bytes).unwrap();
            prop_assert_eq!(back.len(), ts.len());
            for (a, b) in back.iter().zip(&ts) {
                prop_assert_eq!((a.cf, &a.start, &a.end, a.seq), (b.cf, &b.start, &b.end, b.seq));
            }
            let mut bad = bytes.clone();
            let i = at % bad.len();
            bad[i] ^= flip;
            let _ = decode(&bad);
            prop_assert!(decode(&bytes[..i]).is_err());
        }
    }
}
