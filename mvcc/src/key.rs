//! `Key`: a user key in its stored (memcomparable) form, optionally with a timestamp appended.
//!
//! Layout (FORMAT.md, "Keys"):
//! ```text
//! +------------------------------------------+-------------------------------+
//! | memcomparable(raw key): 9 bytes per group | !ts: u64 big-endian (optional) |
//! +------------------------------------------+-------------------------------+
//! ```
//! The `lock` column family stores keys without a timestamp; `default` and `write` append
//! `start_ts` / `commit_ts` inverted, so a key's versions sort newest first and a seek to
//! `key + ts` lands on the newest version at or below `ts`.
//!
//! Whether a given `Key` carries a timestamp is the caller's knowledge, as in TiKV.

use std::fmt;

use crate::codec::{self, Reader};
use crate::error::{Error, Result};
use crate::timestamp::TimeStamp;

/// Bytes of an appended timestamp.
pub const TS_LEN: usize = 8;

/// A key in encoded form (see the module docs).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(Vec<u8>);

impl Key {
    /// Encodes a raw user key.
    pub fn from_raw(raw: &[u8]) -> Key {
        let mut v = Vec::with_capacity(codec::memcomparable_len(raw.len()) + TS_LEN);
        codec::encode_memcomparable(&mut v, raw);
        Key(v)
    }

    /// Wraps bytes already in encoded form (e.g. read from the engine).
    pub fn from_encoded(encoded: Vec<u8>) -> Key {
        Key(encoded)
    }

    /// As [`from_encoded`](Self::from_encoded), copying.
    pub fn from_encoded_slice(encoded: &[u8]) -> Key {
        Key(encoded.to_vec())
    }

    /// The encoded bytes.
    pub fn as_encoded(&self) -> &[u8] {
        &self.0
    }

    /// The encoded bytes, by value.
    pub fn into_encoded(self) -> Vec<u8> {
        self.0
    }

    /// Encoded length in bytes.
    #[allow(clippy::len_without_is_empty)] // an encoded key is never empty
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Decodes the raw user key. REQUIRES: no timestamp appended.
    ///
    /// # Errors
    /// `Corruption` if the bytes are not one memcomparable key exactly. (TiKV's `to_raw`
    /// ignores trailing bytes; we refuse them, so a key with a timestamp passed by mistake is
    /// caught, not silently truncated.)
    pub fn to_raw(&self) -> Result<Vec<u8>> {
        let mut r = Reader::new(&self.0, "key");
        let raw = r.memcomparable()?;
        if !r.is_empty() {
            return Err(r.error("trailing bytes after the key"));
        }
        Ok(raw)
    }

    /// This key with `ts` appended (big-endian, bit-inverted: descending).
    #[must_use]
    pub fn append_ts(mut self, ts: TimeStamp) -> Key {
        self.0.extend_from_slice(&(!ts.into_inner()).to_be_bytes());
        self
    }

    /// This key with its appended timestamp removed.
    ///
    /// # Errors
    /// `Corruption` if it is shorter than a timestamp.
    pub fn truncate_ts(mut self) -> Result<Key> {
        let len = Self::truncate_ts_for(&self.0)?.len();
        self.0.truncate(len);
        Ok(self)
    }

    /// The timestamp appended to this key.
    ///
    /// # Errors
    /// `Corruption` if it is shorter than a timestamp.
    pub fn decode_ts(&self) -> Result<TimeStamp> {
        Ok(Self::split_on_ts_for(&self.0)?.1)
    }

    /// Splits an encoded key with a timestamp into the encoded user key and the timestamp.
    ///
    /// # Errors
    /// `Corruption` if `key` is shorter than a timestamp.
    pub fn split_on_ts_for(key: &[u8]) -> Result<(&[u8], TimeStamp)> {
        let Some(split) = key.len().checked_sub(TS_LEN) else {
            return Err(Error::corruption("key", 0, "shorter than a timestamp"));
        };
        let (user, ts) = key.split_at(split);
        let mut r = Reader::new(ts, "key");
        Ok((user, TimeStamp::new(!r.u64_be()?)))
    }

    /// The encoded user key of an encoded key with a timestamp.
    ///
    /// # Errors
    /// `Corruption` if `key` is shorter than a timestamp.
    pub fn truncate_ts_for(key: &[u8]) -> Result<&[u8]> {
        Ok(Self::split_on_ts_for(key)?.0)
    }

    /// True if `ts_key` (with a timestamp) is a version of the encoded user key `user_key`.
    pub fn is_user_key_eq(ts_key: &[u8], user_key: &[u8]) -> bool {
        ts_key.len() == user_key.len() + TS_LEN && ts_key.starts_with(user_key)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_raw() {
            Ok(raw) => write!(f, "Key({})", String::from_utf8_lossy(&raw).escape_debug()),
            Err(_) => write!(f, "Key(encoded {:02x?})", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn append_ts_matches_tikv_vectors() {
        // TiKV `test_append_ts`: the raw key "z" at ts 1000.
        let k = Key::from_raw(b"z").append_ts(1000.into());
        let expected = [
            b'z', 0, 0, 0, 0, 0, 0, 0, 0xF8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFC, 0x17,
        ];
        assert_eq!(k.as_encoded(), expected);
        // And an already-encoded "abc" at ts 100.
        let k = Key::from_encoded(b"abc".to_vec()).append_ts(100.into());
        assert_eq!(k.as_encoded(), b"abc\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x9B");
    }

    #[test]
    fn split_and_truncate() {
        let user = Key::from_raw(b"key");
        let k = user.clone().append_ts(42.into());
        assert_eq!(k.decode_ts().unwrap(), TimeStamp::new(42));
        assert_eq!(
            Key::truncate_ts_for(k.as_encoded()).unwrap(),
            user.as_encoded()
        );
        assert!(Key::is_user_key_eq(k.as_encoded(), user.as_encoded()));
        assert!(!Key::is_user_key_eq(
            k.as_encoded(),
            Key::from_raw(b"kez").as_encoded()
        ));
        assert_eq!(k.clone().truncate_ts().unwrap(), user);
        assert_eq!(user.to_raw().unwrap(), b"key");
        // A key with a timestamp is not a raw key.
        assert!(k.to_raw().unwrap_err().is_corruption());
        assert!(Key::split_on_ts_for(b"short").is_err());
    }

    proptest! {
        #[test]
        fn order_is_key_ascending_then_ts_descending(
            a in proptest::collection::vec(any::<u8>(), 0..20),
            b in proptest::collection::vec(any::<u8>(), 0..20),
            ta in any::<u64>(),
            tb in any::<u64>(),
        ) {
            let ka = Key::from_raw(&a).append_ts(ta.into());
            let kb = Key::from_raw(&b).append_ts(tb.into());
            let expected = a.cmp(&b).then(tb.cmp(&ta));
            prop_assert_eq!(ka.cmp(&kb), expected);
            let (user, ts) = Key::split_on_ts_for(ka.as_encoded()).unwrap();
            prop_assert_eq!(Key::from_encoded_slice(user).to_raw().unwrap(), a);
            prop_assert_eq!(ts, TimeStamp::new(ta));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..40)) {
            let k = Key::from_encoded(data.clone());
            let _ = k.to_raw();
            let _ = k.decode_ts();
            let _ = Key::split_on_ts_for(&data);
            let _ = format!("{k:?}");
        }
    }
}
