//! API versions and their key modes: which keys a raw request may touch, and how a range is
//! confined to one keyspace.
//!
//! - `V1`: keys are any non-empty bytes; no TTL.
//! - `V1Ttl`: as V1, with TTLs (TiKV's `api-version = 1` with `enable-ttl = true`).
//! - `V2`: keys carry their mode and keyspace: raw keys are `'r'` + a 3-byte keyspace id +
//!   the user's key; `'x'` is the transactional mode. A raw request accepts only raw keys
//!   with a whole keyspace prefix, and a range never reaches outside the keyspace of its
//!   inclusive end. TTLs are always enabled.
//!
//! Raw data lives in its own column family, so in every version raw keys never collide with
//! transactional ones; V2's prefixes additionally keep keyspaces apart.

use crate::error::{Error, Result};

/// The first byte of a V2 raw key.
pub const RAW_KEY_PREFIX: u8 = b'r';
/// The first byte of a V2 transactional key.
pub const TXN_KEY_PREFIX: u8 = b'x';
/// Bytes of a V2 keyspace prefix: the mode byte and a 3-byte big-endian keyspace id.
pub const KEYSPACE_PREFIX_LEN: usize = 4;

/// How raw keys and TTLs are interpreted (TiKV's `storage.api-version` and `enable-ttl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ApiVersion {
    /// Plain keys, no TTL.
    #[default]
    V1,
    /// Plain keys with TTL.
    V1Ttl,
    /// Mode- and keyspace-prefixed keys, with TTL.
    V2,
}

impl ApiVersion {
    /// The version TiKV's configuration pair means: `(1, false)` V1, `(1, true)` V1Ttl,
    /// `(2, true)` V2.
    ///
    /// # Errors
    /// `InvalidArgument` for another version number, or for V2 without TTL (TiKV refuses that
    /// configuration too: API V2 always keeps TTLs).
    pub fn from_config(api_version: u8, enable_ttl: bool) -> Result<ApiVersion> {
        match (api_version, enable_ttl) {
            (1, false) => Ok(ApiVersion::V1),
            (1, true) => Ok(ApiVersion::V1Ttl),
            (2, true) => Ok(ApiVersion::V2),
            (2, false) => Err(Error::InvalidArgument(
                "enable_ttl must be true in API V2".into(),
            )),
            (v, _) => Err(Error::InvalidArgument(format!(
                "api_version must be 1 or 2, not {v}"
            ))),
        }
    }

    /// True if requests may give TTLs.
    pub fn ttl_enabled(self) -> bool {
        !matches!(self, ApiVersion::V1)
    }

    /// Checks that `key` is a raw key of this version.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty key; `InvalidKeyMode` in V2 for a key without the raw
    /// prefix or shorter than a keyspace prefix.
    pub fn check_key(self, key: &[u8]) -> Result<()> {
        if key.is_empty() {
            return Err(Error::InvalidArgument("empty key".into()));
        }
        if self != ApiVersion::V2 {
            return Ok(());
        }
        let reason = match key[0] {
            RAW_KEY_PREFIX if key.len() >= KEYSPACE_PREFIX_LEN => return Ok(()),
            RAW_KEY_PREFIX => "shorter than the 4-byte keyspace prefix 'r' + keyspace id",
            TXN_KEY_PREFIX => "a transactional ('x') key in a raw request",
            _ => "not a raw key: V2 raw keys start with 'r' and a 3-byte keyspace id",
        };
        Err(invalid_mode(self, key, reason))
    }

    /// Confines a range given by its inclusive end `anchor` and its exclusive end `limit`
    /// (`None`: unbounded) to what the request may see. Returns the exclusive limit to use.
    ///
    /// V1/V1Ttl: `limit` unchanged. V2: `anchor` must be a raw key; the limit becomes the
    /// smaller of `limit` and the end of `anchor`'s keyspace, so a scan never leaves it. A
    /// given limit must itself be in raw mode (`'r'…` or the end of the raw space, `"s"`).
    ///
    /// # Errors
    /// As [`check_key`](Self::check_key) for `anchor`; `InvalidKeyMode` for a limit in another
    /// mode.
    pub(crate) fn confine_upper(
        self,
        anchor: &[u8],
        limit: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>> {
        if self != ApiVersion::V2 {
            return Ok(limit.map(<[u8]>::to_vec));
        }
        self.check_key(anchor)?;
        let end = keyspace_end(anchor);
        match limit {
            None => Ok(Some(end)),
            Some(l) if l.first() == Some(&RAW_KEY_PREFIX) || l == [RAW_KEY_PREFIX + 1] => {
                Ok(Some(if l < end.as_slice() { l.to_vec() } else { end }))
            }
            Some(l) => Err(invalid_mode(self, l, "range end outside the raw key space")),
        }
    }

    /// The inclusive lower end of a V2 range whose only given bound is the exclusive `upper`:
    /// the start of `upper`'s keyspace. V1/V1Ttl: unbounded (`None`).
    ///
    /// # Errors
    /// As [`check_key`](Self::check_key) for `upper` in V2.
    pub(crate) fn default_lower(self, upper: &[u8]) -> Result<Option<Vec<u8>>> {
        if self != ApiVersion::V2 {
            return Ok(None);
        }
        self.check_key(upper)?;
        Ok(upper.get(..KEYSPACE_PREFIX_LEN).map(<[u8]>::to_vec))
    }
}

/// The first key after the keyspace of the V2 raw key `key` (REQUIRES a whole prefix): the
/// next keyspace's prefix, or `"s"` after the last keyspace.
pub fn keyspace_end(key: &[u8]) -> Vec<u8> {
    let id = key
        .get(1..KEYSPACE_PREFIX_LEN)
        .map_or(0, |b| u32::from_be_bytes([0, b[0], b[1], b[2]]));
    if id >= 0x00ff_ffff {
        return vec![RAW_KEY_PREFIX + 1];
    }
    let next = (id + 1).to_be_bytes();
    vec![RAW_KEY_PREFIX, next[1], next[2], next[3]]
}

fn invalid_mode(api_version: ApiVersion, key: &[u8], reason: &'static str) -> Error {
    Error::InvalidKeyMode {
        api_version,
        key: key.to_vec(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn config_pairs_map_as_tikv() {
        assert_eq!(ApiVersion::from_config(1, false).unwrap(), ApiVersion::V1);
        assert_eq!(ApiVersion::from_config(1, true).unwrap(), ApiVersion::V1Ttl);
        assert_eq!(ApiVersion::from_config(2, true).unwrap(), ApiVersion::V2);
        assert!(ApiVersion::from_config(2, false).is_err());
        assert!(ApiVersion::from_config(3, true).is_err());
        assert!(!ApiVersion::V1.ttl_enabled() && ApiVersion::V1Ttl.ttl_enabled());
    }

    #[test]
    fn key_modes() {
        for v in [ApiVersion::V1, ApiVersion::V1Ttl, ApiVersion::V2] {
            assert!(matches!(v.check_key(b""), Err(Error::InvalidArgument(_))));
        }
        assert!(ApiVersion::V1.check_key(b"x\0\0\0k").is_ok());
        let v2 = ApiVersion::V2;
        assert!(v2.check_key(b"r\0\0\x01k").is_ok());
        assert!(v2.check_key(b"r\0\0\x01").is_ok());
        for bad in [&b"x\0\0\x01k"[..], b"r\0", b"k", b"t_a"] {
            let e = v2.check_key(bad).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidKeyMode { key, .. } if key == bad),
                "{e}"
            );
            assert!(e.to_string().contains("V2"), "{e}");
        }
    }

    #[test]
    fn keyspace_bounds() {
        assert_eq!(keyspace_end(b"r\0\0\x01abc"), b"r\0\0\x02");
        assert_eq!(keyspace_end(b"r\0\xff\xff"), b"r\x01\0\0");
        assert_eq!(keyspace_end(b"r\xff\xff\xff"), b"s");
        let v2 = ApiVersion::V2;
        let ks = b"r\0\0\x01a";
        assert_eq!(v2.confine_upper(ks, None).unwrap().unwrap(), b"r\0\0\x02");
        assert_eq!(
            v2.confine_upper(ks, Some(b"s")).unwrap().unwrap(),
            b"r\0\0\x02"
        );
        assert_eq!(
            v2.confine_upper(ks, Some(b"r\0\0\x01z")).unwrap().unwrap(),
            b"r\0\0\x01z"
        );
        assert!(v2.confine_upper(ks, Some(b"y")).is_err());
        assert!(v2.confine_upper(b"x\0\0\x01", None).is_err());
        assert_eq!(ApiVersion::V1.confine_upper(b"a", None).unwrap(), None);
        assert_eq!(
            v2.default_lower(b"r\0\0\x01zz").unwrap().unwrap(),
            b"r\0\0\x01"
        );
        assert_eq!(ApiVersion::V1Ttl.default_lower(b"zz").unwrap(), None);
    }
}
