//! Checking a request before it reaches storage: its context (region, epoch, store, API
//! version), its keys (in the region, not too large, in the right key mode) and its sizes.
//!
//! A refusal is answered in-band, as TiKV does: a region error in `region_error`, anything
//! else as a message (`KeyError.abort` for transactional requests, `error` for raw ones).

use txn::{ApiVersion, RAW_KEY_PREFIX, TXN_KEY_PREFIX};

use super::errors::region_error;
use crate::proto::{errorpb, kvrpcpb};
use crate::region::{Epoch, Region, RegionError, RegionTable, RequestRegion};

/// Request size limits (from `[server]` in the config).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest key accepted, in bytes.
    pub max_key_size: usize,
    /// Most keys, pairs, mutations or ranges in one request.
    pub max_batch_keys: usize,
    /// Largest scan limit accepted (0 in a request means this).
    pub max_scan_limit: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_key_size: 8 * 1024,
            max_batch_keys: 10_240,
            max_scan_limit: 10_240,
        }
    }
}

/// Why a request is refused before it runs.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// A region error (the client refreshes its cache and retries).
    Region(Box<errorpb::Error>),
    /// A bad request: the message says what is wrong.
    Invalid(String),
}

impl From<RegionError> for Refusal {
    fn from(e: RegionError) -> Refusal {
        Refusal::Region(Box::new(region_error(&e)))
    }
}

/// Which family of commands a request belongs to: the key mode and key space it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Transactional: region keys are memcomparable-encoded.
    Txn,
    /// Raw: region keys are raw in API V1, encoded in V2.
    Raw,
}

/// What every handler checks requests against.
#[derive(Debug)]
pub struct Checker {
    /// The regions served here.
    pub regions: RegionTable,
    /// The storage's API version.
    pub api_version: ApiVersion,
    /// Size limits.
    pub limits: Limits,
}

impl Checker {
    /// Checks the context (region, store, epoch, API version) and that every key of `keys`
    /// is acceptable and inside the region; returns the region.
    ///
    /// # Errors
    /// A region error, or `Invalid` for a missing context, a wrong API version, a key too
    /// large or in the wrong mode, or too many keys.
    pub fn check<'k>(
        &self,
        ctx: Option<&kvrpcpb::Context>,
        family: Family,
        keys: impl IntoIterator<Item = &'k [u8]>,
    ) -> Result<Region, Refusal> {
        let region = self.check_context(ctx, family)?;
        let mut n = 0usize;
        for key in keys {
            n += 1;
            if n > self.limits.max_batch_keys {
                return Err(Refusal::Invalid(format!(
                    "too many keys in one request (limit {})",
                    self.limits.max_batch_keys
                )));
            }
            self.check_key(key, family)?;
            let rk = self.region_key(key, family);
            if !region.contains(&rk) {
                return Err(RegionError::KeyNotInRegion {
                    key: key.to_vec(),
                    region: Box::new(region),
                }
                .into());
            }
        }
        Ok(region)
    }

    /// Checks the context alone (region, store, epoch, API version).
    ///
    /// # Errors
    /// As [`check`](Self::check).
    pub fn check_context(
        &self,
        ctx: Option<&kvrpcpb::Context>,
        family: Family,
    ) -> Result<Region, Refusal> {
        let Some(ctx) = ctx else {
            return Err(Refusal::Invalid("the request has no context".into()));
        };
        self.check_api_version(ctx, family)?;
        let req = RequestRegion {
            region_id: ctx.region_id,
            epoch: ctx.region_epoch.as_ref().map(|e| Epoch {
                conf_ver: e.conf_ver,
                version: e.version,
            }),
            store_id: ctx.peer.as_ref().map_or(0, |p| p.store_id),
        };
        Ok(self.regions.check(&req)?)
    }

    /// TiKV's `check_api_version`: V1 storage takes V1 requests; V1 with TTL takes V1 (the
    /// client cannot tell them apart); V2 takes V2 requests, and V1 transactional requests
    /// only for TiDB's own key space (`m`, `t` prefixes).
    fn check_api_version(&self, ctx: &kvrpcpb::Context, family: Family) -> Result<(), Refusal> {
        let req = kvrpcpb::ApiVersion::try_from(ctx.api_version).ok();
        let ok = matches!(
            (self.api_version, req),
            (
                ApiVersion::V1 | ApiVersion::V1Ttl,
                Some(kvrpcpb::ApiVersion::V1)
            ) | (ApiVersion::V1Ttl, Some(kvrpcpb::ApiVersion::V1ttl))
                | (ApiVersion::V2, Some(kvrpcpb::ApiVersion::V2))
        );
        if ok {
            return Ok(());
        }
        Err(Refusal::Invalid(format!(
            "ApiVersionNotMatched: storage is API {:?}, the {} request is API {}",
            self.api_version,
            match family {
                Family::Txn => "transactional",
                Family::Raw => "raw",
            },
            req.map_or_else(|| ctx.api_version.to_string(), |v| format!("{v:?}"))
        )))
    }

    /// A key's size and (API V2) mode.
    ///
    /// # Errors
    /// `Invalid` naming the problem.
    pub fn check_key(&self, key: &[u8], family: Family) -> Result<(), Refusal> {
        if key.len() > self.limits.max_key_size {
            return Err(Refusal::Invalid(format!(
                "KeyTooLarge: key of {} bytes exceeds max-key-size {}",
                key.len(),
                self.limits.max_key_size
            )));
        }
        if self.api_version == ApiVersion::V2 {
            let want = match family {
                Family::Txn => TXN_KEY_PREFIX,
                Family::Raw => RAW_KEY_PREFIX,
            };
            if key.first() != Some(&want) {
                return Err(Refusal::Invalid(format!(
                    "InvalidKeyMode: API V2 {} keys start with {:?}, got {:02x?}",
                    match family {
                        Family::Txn => "transactional",
                        Family::Raw => "raw",
                    },
                    want as char,
                    &key[..key.len().min(8)]
                )));
            }
        }
        Ok(())
    }

    /// A range's bounds (empty: unbounded) pass [`check_key`](Self::check_key).
    ///
    /// # Errors
    /// As `check_key`.
    pub fn check_bounds(&self, start: &[u8], end: &[u8], family: Family) -> Result<(), Refusal> {
        for k in [start, end] {
            if !k.is_empty() {
                self.check_key(k, family)?;
            }
        }
        Ok(())
    }

    /// The request's scan limit (0 returns nothing, as TiKV); more than `max-scan-limit` is
    /// refused.
    ///
    /// # Errors
    /// `Invalid` above `max-scan-limit`.
    pub fn scan_limit(&self, limit: u32) -> Result<usize, Refusal> {
        match limit {
            l if l > self.limits.max_scan_limit => Err(Refusal::Invalid(format!(
                "scan limit {l} exceeds max-scan-limit {}",
                self.limits.max_scan_limit
            ))),
            l => Ok(l as usize),
        }
    }

    /// `key` in region key space.
    pub fn region_key(&self, key: &[u8], family: Family) -> Vec<u8> {
        match (family, self.api_version) {
            (Family::Raw, ApiVersion::V1 | ApiVersion::V1Ttl) => key.to_vec(),
            _ => mvcc::Key::from_raw(key).into_encoded(),
        }
    }

    /// The region's bounds as the request's keys (raw), `None` for unbounded.
    ///
    /// # Errors
    /// `Invalid` if a bound is not a valid encoded key (a damaged region table).
    pub fn region_bounds(
        &self,
        region: &Region,
        family: Family,
    ) -> Result<(Vec<u8>, Option<Vec<u8>>), Refusal> {
        let decode = |b: &[u8]| -> Result<Vec<u8>, Refusal> {
            match (family, self.api_version) {
                (Family::Raw, ApiVersion::V1 | ApiVersion::V1Ttl) => Ok(b.to_vec()),
                _ if b.is_empty() => Ok(Vec::new()),
                _ => mvcc::Key::from_encoded_slice(b).to_raw().map_err(|e| {
                    Refusal::Invalid(format!("region {} has a bad boundary: {e}", region.id))
                }),
            }
        };
        let start = decode(&region.start_key)?;
        let end = if region.end_key.is_empty() {
            None
        } else {
            Some(decode(&region.end_key)?)
        };
        Ok((start, end))
    }

    /// A request's scan range, its bounds checked ([`check_bounds`](Self::check_bounds))
    /// and clipped to the region ([`clip_scan`](Self::clip_scan)).
    ///
    /// # Errors
    /// As those two.
    pub fn scan_range(
        &self,
        region: &Region,
        family: Family,
        start: &[u8],
        end: &[u8],
        reverse: bool,
    ) -> Result<(Vec<u8>, Option<Vec<u8>>), Refusal> {
        self.check_bounds(start, end, family)?;
        self.clip_scan(region, family, start, end, reverse)
    }

    /// A scan's range clipped to the region: `(lower, upper)` with the upper bound exclusive
    /// (`None`: unbounded). `start`/`end` follow TiKV: forward scans run from `start`
    /// (inclusive) to `end` (exclusive, empty: unbounded); reverse scans from `start`
    /// (exclusive, empty: unbounded) down to `end` (inclusive).
    ///
    /// # Errors
    /// `KeyNotInRegion` when the scan does not begin inside the region.
    pub fn clip_scan(
        &self,
        region: &Region,
        family: Family,
        start: &[u8],
        end: &[u8],
        reverse: bool,
    ) -> Result<(Vec<u8>, Option<Vec<u8>>), Refusal> {
        let (r_lo, r_hi) = self.region_bounds(region, family)?;
        let not_in = || -> Refusal {
            RegionError::KeyNotInRegion {
                key: start.to_vec(),
                region: Box::new(region.clone()),
            }
            .into()
        };
        let (lo, hi) = if reverse {
            (end.to_vec(), (!start.is_empty()).then(|| start.to_vec()))
        } else {
            (start.to_vec(), (!end.is_empty()).then(|| end.to_vec()))
        };
        // Where the scan begins must be in the region: the lower bound forward, the upper
        // bound (exclusive) in reverse.
        if reverse {
            match (&hi, &r_hi) {
                (None, Some(_)) => return Err(not_in()),
                (Some(h), _) if h.as_slice() <= r_lo.as_slice() => return Err(not_in()),
                (Some(h), Some(rh)) if h > rh => return Err(not_in()),
                _ => {}
            }
        } else if lo < r_lo || r_hi.as_ref().is_some_and(|rh| &lo >= rh) {
            return Err(not_in());
        }
        let lo = lo.max(r_lo);
        let hi = match (hi, r_hi) {
            (None, b) | (b, None) => b,
            (Some(a), Some(b)) => Some(a.min(b)),
        };
        Ok((lo, hi))
    }
}

/// A clipped range `(lower, upper)` in the order the storage layers take it, TiKV's: a
/// reverse scan starts at its upper bound (empty: unbounded) and ends at its lower bound
/// (`None`: unbounded).
pub fn tikv_order(
    lower: Vec<u8>,
    upper: Option<Vec<u8>>,
    reverse: bool,
) -> (Vec<u8>, Option<Vec<u8>>) {
    if reverse {
        (
            upper.unwrap_or_default(),
            (!lower.is_empty()).then_some(lower),
        )
    } else {
        (lower, upper)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::region::{Peer, RegionInfo};

    fn checker(api: ApiVersion, start: &[u8], end: &[u8]) -> Checker {
        let peer = Peer::new(3, 1);
        let region = Region {
            id: 2,
            start_key: start.to_vec(),
            end_key: end.to_vec(),
            epoch: Epoch {
                conf_ver: 1,
                version: 1,
            },
            peers: vec![peer],
        };
        let info = RegionInfo {
            region,
            leader: Some(peer),
            peer,
            ..Default::default()
        };
        Checker {
            regions: RegionTable::new(1, Arc::new([info].into_iter().collect())),
            api_version: api,
            limits: Limits {
                max_key_size: 16,
                max_batch_keys: 3,
                max_scan_limit: 100,
            },
        }
    }

    fn ctx(api: kvrpcpb::ApiVersion) -> kvrpcpb::Context {
        kvrpcpb::Context {
            region_id: 2,
            api_version: api as i32,
            ..Default::default()
        }
    }

    #[test]
    fn api_versions_must_match_the_storage() {
        let c = checker(ApiVersion::V1, b"", b"");
        assert!(c
            .check_context(Some(&ctx(kvrpcpb::ApiVersion::V1)), Family::Raw)
            .is_ok());
        let e = c
            .check_context(Some(&ctx(kvrpcpb::ApiVersion::V2)), Family::Raw)
            .unwrap_err();
        assert!(matches!(e, Refusal::Invalid(m) if m.contains("ApiVersionNotMatched")));
        let c2 = checker(ApiVersion::V2, b"", b"");
        assert!(c2
            .check_context(Some(&ctx(kvrpcpb::ApiVersion::V1)), Family::Txn)
            .is_err());
        // V2 keys carry their mode.
        let v2 = ctx(kvrpcpb::ApiVersion::V2);
        assert!(c2.check(Some(&v2), Family::Raw, [&b"r\0\0\0k"[..]]).is_ok());
        assert!(c2
            .check(Some(&v2), Family::Raw, [&b"x\0\0\0k"[..]])
            .is_err());
        assert!(c2.check(Some(&v2), Family::Txn, [&b"x\0\0\0k"[..]]).is_ok());
        assert!(c.check_context(None, Family::Raw).is_err());
    }

    #[test]
    fn keys_are_limited_in_size_and_number_and_must_be_in_the_region() {
        let enc = |k: &[u8]| mvcc::Key::from_raw(k).into_encoded();
        let c = checker(ApiVersion::V1, &enc(b"b"), &enc(b"m"));
        let v1 = ctx(kvrpcpb::ApiVersion::V1);
        assert!(c.check(Some(&v1), Family::Txn, [&b"c"[..]]).is_ok());
        assert!(matches!(
            c.check(Some(&v1), Family::Txn, [&b"a"[..]]),
            Err(Refusal::Region(e)) if e.key_not_in_region.is_some()
        ));
        let big = [b'c'; 17];
        assert!(matches!(
            c.check(Some(&v1), Family::Txn, [&big[..]]),
            Err(Refusal::Invalid(m)) if m.contains("KeyTooLarge")
        ));
        let many = [&b"c"[..], b"d", b"e", b"f"];
        assert!(matches!(
            c.check(Some(&v1), Family::Txn, many),
            Err(Refusal::Invalid(m)) if m.contains("too many")
        ));
        assert_eq!(c.scan_limit(0).unwrap(), 0);
        assert_eq!(c.scan_limit(100).unwrap(), 100);
        assert!(c.scan_limit(101).is_err());
    }

    #[test]
    fn scans_are_clipped_to_the_region_both_ways() {
        let enc = |k: &[u8]| mvcc::Key::from_raw(k).into_encoded();
        let c = checker(ApiVersion::V1, &enc(b"b"), &enc(b"m"));
        let r = c.regions.get(2).unwrap().region;
        let (lo, hi) = c.clip_scan(&r, Family::Txn, b"c", b"", false).unwrap();
        assert_eq!((lo, hi), (b"c".to_vec(), Some(b"m".to_vec())));
        let (lo, hi) = c.clip_scan(&r, Family::Txn, b"c", b"z", false).unwrap();
        assert_eq!((lo, hi), (b"c".to_vec(), Some(b"m".to_vec())));
        assert!(c.clip_scan(&r, Family::Txn, b"m", b"", false).is_err());
        // Reverse: from "k" (exclusive) down to "a" → down to the region's start.
        let (lo, hi) = c.clip_scan(&r, Family::Txn, b"k", b"a", true).unwrap();
        assert_eq!((lo, hi), (b"b".to_vec(), Some(b"k".to_vec())));
        // Reverse from the region's end is fine; from beyond or unbounded is not.
        assert!(c.clip_scan(&r, Family::Txn, b"m", b"", true).is_ok());
        assert!(c.clip_scan(&r, Family::Txn, b"n", b"", true).is_err());
        assert!(c.clip_scan(&r, Family::Txn, b"", b"", true).is_err());
        // Raw V1 regions use raw keys.
        let raw = checker(ApiVersion::V1, b"b", b"m");
        let r = raw.regions.get(2).unwrap().region;
        assert!(raw.clip_scan(&r, Family::Raw, b"a", b"", false).is_err());
        let (lo, hi) = raw.clip_scan(&r, Family::Raw, b"b", b"", false).unwrap();
        assert_eq!((lo, hi), (b"b".to_vec(), Some(b"m".to_vec())));
    }
}
