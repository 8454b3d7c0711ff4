//! How a region's range maps onto each KV column family.
//!
//! Regions are cut at region keys. The transactional families store memcomparable-encoded
//! user keys (plus a timestamp), and region keys for them are encoded keys too, so a
//! region's range applies to them as is. The raw family stores raw keys; in API V1 region
//! keys for raw data are raw keys (as is), in API V2 they are encoded like transactional
//! ones (TiKV's rule), so the raw family's bounds are the decoded region bounds.

use mvcc::{Cf, Key};

use crate::error::{Error, Result};
use crate::region::Region;

/// The mapping from region keys to each family's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeySpace {
    /// True when region keys for raw data are memcomparable-encoded (API V2).
    pub raw_keys_encoded: bool,
}

impl KeySpace {
    /// The keys of `cf` that belong to `region`: `[start, end)`, `end` `None` for
    /// unbounded.
    ///
    /// # Errors
    /// `Corruption` if a bound of an encoded key space does not decode (a damaged region).
    pub fn cf_bounds(&self, region: &Region, cf: Cf) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
        let end = (!region.end_key.is_empty()).then(|| region.end_key.clone());
        if cf != Cf::Raw || !self.raw_keys_encoded {
            return Ok((region.start_key.clone(), end));
        }
        let decode = |b: &[u8]| -> Result<Vec<u8>> {
            if b.is_empty() {
                return Ok(Vec::new());
            }
            Key::from_encoded_slice(b)
                .to_raw()
                .map_err(|e| Error::Corruption {
                    what: format!("bound of region {}", region.id),
                    reason: e.to_string(),
                })
        };
        Ok((
            decode(&region.start_key)?,
            end.as_deref().map(decode).transpose()?,
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn raw_bounds_decode_only_in_an_encoded_raw_key_space() {
        let region = Region {
            start_key: Key::from_raw(b"ra").into_encoded(),
            end_key: Vec::new(),
            ..Default::default()
        };
        let v1 = KeySpace::default();
        let v2 = KeySpace {
            raw_keys_encoded: true,
        };
        assert_eq!(v1.cf_bounds(&region, Cf::Raw).unwrap().0, region.start_key);
        assert_eq!(
            v2.cf_bounds(&region, Cf::Raw).unwrap(),
            (b"ra".to_vec(), None)
        );
        assert_eq!(
            v2.cf_bounds(&region, Cf::Write).unwrap().0,
            region.start_key
        );
        let bad = Region {
            start_key: b"\x01".to_vec(),
            ..Default::default()
        };
        assert!(v2.cf_bounds(&bad, Cf::Raw).is_err());
    }
}
