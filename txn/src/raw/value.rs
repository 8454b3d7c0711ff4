//! The on-disk encoding of a raw value: the user's bytes, an optional expiry time and a flags
//! byte (specified byte by byte in `txn/FORMAT.md`, section «Raw values»).
//!
//! ```text
//! +-------------------+---------------------------------+-------------+
//! | user value (n B)  | expire_ts: u64 big-endian (8 B) | flags (1 B) |
//! |                   |   present iff flags bit 0       |             |
//! +-------------------+---------------------------------+-------------+
//! ```
//!
//! Every API version writes this one encoding (a store can change `api_version` without
//! rewriting data). Decoding trusts nothing: a missing flags byte, unknown flag bits or a
//! truncated expiry are `Corruption`, never a panic and never a wrong value.

use crate::error::{Error, Result};

/// Flags bit 0: an 8-byte expiry time precedes the flags byte. On-disk: DO NOT CHANGE.
pub const FLAG_EXPIRE_TS: u8 = 0b0000_0001;

/// Every flag bit this version knows; any other bit set is corruption.
const KNOWN_FLAGS: u8 = FLAG_EXPIRE_TS;

const EXPIRE_TS_LEN: usize = 8;

/// A decoded raw value, borrowing the user bytes from the stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawValue<'a> {
    /// What the client wrote.
    pub user_value: &'a [u8],
    /// Unix time in seconds at which the value expires (`None`: never). A value is expired
    /// at every time `now >= expire_ts` (TiKV's rule).
    pub expire_ts: Option<u64>,
}

impl<'a> RawValue<'a> {
    /// Decodes a stored value.
    ///
    /// # Errors
    /// `Corruption` (what = "raw value") for an empty value, unknown flag bits, or a value too
    /// short for the expiry its flags announce.
    pub fn decode(bytes: &'a [u8]) -> Result<RawValue<'a>> {
        let Some((&flags, rest)) = bytes.split_last() else {
            return Err(corruption(0, "empty value: the flags byte is missing"));
        };
        if flags & !KNOWN_FLAGS != 0 {
            return Err(corruption(
                rest.len(),
                format!("unknown flag bits {flags:#010b}"),
            ));
        }
        if flags & FLAG_EXPIRE_TS == 0 {
            return Ok(RawValue {
                user_value: rest,
                expire_ts: None,
            });
        }
        let Some(split) = rest.len().checked_sub(EXPIRE_TS_LEN) else {
            return Err(corruption(
                0,
                format!(
                    "flags announce an expiry but only {} bytes precede them",
                    rest.len()
                ),
            ));
        };
        let (user_value, ts) = rest.split_at(split);
        let mut be = [0u8; EXPIRE_TS_LEN];
        be.copy_from_slice(ts);
        Ok(RawValue {
            user_value,
            expire_ts: Some(u64::from_be_bytes(be)),
        })
    }

    /// True if the value is expired at `now` (unix seconds).
    pub fn is_expired(&self, now: u64) -> bool {
        self.expire_ts.is_some_and(|ts| ts <= now)
    }
}

/// Encodes `user_value` with an optional expiry (unix seconds).
pub fn encode(user_value: &[u8], expire_ts: Option<u64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(user_value.len() + EXPIRE_TS_LEN + 1);
    out.extend_from_slice(user_value);
    match expire_ts {
        Some(ts) => {
            out.extend_from_slice(&ts.to_be_bytes());
            out.push(FLAG_EXPIRE_TS);
        }
        None => out.push(0),
    }
    out
}

/// The expiry of a value written at `now` with `ttl` seconds to live (`ttl == 0`: never),
/// saturating rather than wrapping as TiKV does.
pub fn expire_ts_for(ttl: u64, now: u64) -> Option<u64> {
    (ttl != 0).then(|| now.saturating_add(ttl))
}

fn corruption(offset: usize, reason: impl Into<String>) -> Error {
    Error::Mvcc(mvcc::Error::Corruption {
        what: "raw value",
        offset,
        reason: reason.into(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn layout_is_byte_exact() {
        assert_eq!(encode(b"", None), [0]);
        assert_eq!(encode(b"ab", None), [b'a', b'b', 0]);
        assert_eq!(
            encode(b"a", Some(0x0102_0304_0506_0708)),
            [b'a', 1, 2, 3, 4, 5, 6, 7, 8, 1]
        );
        assert_eq!(encode(b"", Some(2)), [0, 0, 0, 0, 0, 0, 0, 2, 1]);
    }

    #[test]
    fn expiry_rules() {
        let v = RawValue::decode(&[b'v', 0, 0, 0, 0, 0, 0, 0, 10, 1]).unwrap();
        assert_eq!((v.user_value, v.expire_ts), (&b"v"[..], Some(10)));
        assert!(!v.is_expired(9));
        assert!(v.is_expired(10), "expired at exactly expire_ts");
        assert!(!RawValue::decode(&[0]).unwrap().is_expired(u64::MAX));
        assert_eq!(expire_ts_for(0, 100), None);
        assert_eq!(expire_ts_for(5, 100), Some(105));
        assert_eq!(expire_ts_for(u64::MAX, 100), Some(u64::MAX));
    }

    #[test]
    fn damage_is_corruption_not_panic() {
        for bad in [
            &[][..],
            &[1][..],
            &[1, 2, 3, 4, 5, 6, 7, 1][..],
            &[4][..],
            &[1, 2, 3, 4, 5, 6, 7, 8, 0x81][..],
            &[2][..],
        ] {
            let e = RawValue::decode(bad).unwrap_err();
            assert!(
                matches!(&e, Error::Mvcc(m) if m.is_corruption()),
                "{bad:?}: {e}"
            );
        }
    }

    proptest! {
        #[test]
        fn round_trip(
            value in proptest::collection::vec(any::<u8>(), 0..40),
            ts in proptest::option::of(any::<u64>()),
        ) {
            let enc = encode(&value, ts);
            let dec = RawValue::decode(&enc).unwrap();
            prop_assert_eq!(dec.user_value, &value[..]);
            prop_assert_eq!(dec.expire_ts, ts);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
            let _ = RawValue::decode(&bytes);
        }
    }
}
