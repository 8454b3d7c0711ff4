//! Reading raw data through one engine snapshot, with TTLs applied.
//!
//! A `RawReader` pins a snapshot and one instant (`now`): every read of a request answers as
//! of that snapshot and that instant, so an expiring key cannot appear in one half of a scan
//! and vanish from the other. Expired values are skipped exactly as if deleted; values that
//! do not decode fail the whole read with `Corruption`.
//!
//! Cursors are created and dropped inside each call: the raw API's async methods never hold
//! one across an `.await` (they are not `Send`).

use mvcc::{Cf, IterBounds, Snapshot};

use super::checksum::Checksum;
use super::types::KvPair;
use super::value::RawValue;
use crate::error::Result;

/// Reads of the raw column family at one snapshot and one instant.
#[derive(Debug)]
pub(crate) struct RawReader<'a, S: Snapshot> {
    snapshot: &'a S,
    /// Unix seconds; values with `expire_ts <= now` are invisible.
    now: u64,
}

impl<'a, S: Snapshot> RawReader<'a, S> {
    pub(crate) fn new(snapshot: &'a S, now: u64) -> Self {
        RawReader { snapshot, now }
    }

    /// The live value of `key`, decoded.
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let Some(stored) = self.snapshot.get_cf(Cf::Raw, key)? else {
            return Ok(None);
        };
        let v = RawValue::decode(&stored)?;
        Ok((!v.is_expired(self.now)).then(|| v.user_value.to_vec()))
    }

    /// Seconds `key` has left: `None` if absent or expired, `Some(0)` if it never expires.
    pub(crate) fn ttl(&self, key: &[u8]) -> Result<Option<u64>> {
        let Some(stored) = self.snapshot.get_cf(Cf::Raw, key)? else {
            return Ok(None);
        };
        let v = RawValue::decode(&stored)?;
        Ok(match v.expire_ts {
            None => Some(0),
            Some(ts) if ts <= self.now => None,
            Some(ts) => Some(ts - self.now),
        })
    }

    /// Up to `limit` live pairs of `[lower, upper)` (`None`: unbounded), ascending, or
    /// descending from the top of the range when `reverse`.
    pub(crate) fn scan(
        &self,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
        limit: usize,
        key_only: bool,
        reverse: bool,
    ) -> Result<Vec<KvPair>> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        self.for_each(lower, upper, reverse, |key, value| {
            let value = if key_only { Vec::new() } else { value.to_vec() };
            out.push(KvPair::new(key, value));
            out.len() < limit
        })?;
        Ok(out)
    }

    /// Adds every live pair of `[lower, upper)` to `sum`.
    pub(crate) fn checksum(
        &self,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
        sum: &mut Checksum,
    ) -> Result<()> {
        self.for_each(lower, upper, false, |key, value| {
            sum.update(key, value);
            true
        })
    }

    /// Calls `f(key, user_value)` for live pairs of `[lower, upper)` in order until it
    /// returns false.
    fn for_each(
        &self,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
        reverse: bool,
        mut f: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        // Nothing lies below an empty upper bound or in an inverted range; say so here rather
        // than rely on each engine's cursor to agree.
        if upper.is_some_and(<[u8]>::is_empty) || lower.zip(upper).is_some_and(|(l, u)| l >= u) {
            return Ok(());
        }
        let bounds = IterBounds {
            lower: lower.map(<[u8]>::to_vec),
            upper: upper.map(<[u8]>::to_vec),
        };
        let mut cursor = self.snapshot.iter_cf(Cf::Raw, bounds)?;
        let mut valid = if reverse {
            cursor.seek_to_last()?
        } else {
            cursor.seek_to_first()?
        };
        while valid {
            let v = RawValue::decode(cursor.value())?;
            if !v.is_expired(self.now) && !f(cursor.key(), v.user_value) {
                break;
            }
            valid = if reverse {
                cursor.prev()?
            } else {
                cursor.next()?
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use mvcc::{MemEngine, Modify};

    use super::*;
    use crate::raw::value::encode;

    fn engine() -> MemEngine {
        let e = MemEngine::new();
        let put = |k: &[u8], v: Vec<u8>| Modify::Put {
            cf: Cf::Raw,
            key: k.to_vec(),
            value: v,
        };
        e.write(vec![
            put(b"a", encode(b"1", None)),
            put(b"b", encode(b"2", Some(50))),
            put(b"c", encode(b"3", Some(100))),
            put(b"d", encode(b"4", None)),
            // A transactional key of the same name lives in another family.
            Modify::Put {
                cf: Cf::Default,
                key: b"a".to_vec(),
                value: b"txn".to_vec(),
            },
        ])
        .unwrap();
        e
    }

    #[test]
    fn ttl_hides_and_reports() {
        let snap = engine().snapshot();
        let r = RawReader::new(&snap, 50);
        assert_eq!(r.get(b"a").unwrap().unwrap(), b"1");
        assert_eq!(r.get(b"b").unwrap(), None, "expired at 50");
        assert_eq!(r.get(b"zz").unwrap(), None);
        assert_eq!(r.ttl(b"a").unwrap(), Some(0));
        assert_eq!(r.ttl(b"b").unwrap(), None);
        assert_eq!(r.ttl(b"c").unwrap(), Some(50));
        assert_eq!(r.ttl(b"zz").unwrap(), None);
    }

    #[test]
    fn scans_skip_expired_both_ways_within_bounds() {
        let snap = engine().snapshot();
        let r = RawReader::new(&snap, 50);
        let keys = |v: Vec<KvPair>| v.into_iter().map(|p| p.key).collect::<Vec<_>>();
        assert_eq!(
            keys(r.scan(None, None, 10, false, false).unwrap()),
            [b"a", b"c", b"d"]
        );
        assert_eq!(
            keys(r.scan(None, None, 2, false, true).unwrap()),
            [b"d", b"c"]
        );
        assert_eq!(
            keys(r.scan(Some(b"b"), Some(b"d"), 10, false, false).unwrap()),
            [b"c"]
        );
        assert_eq!(
            keys(r.scan(Some(b"b"), Some(b"d"), 10, false, true).unwrap()),
            [b"c"]
        );
        assert!(r
            .scan(Some(b"d"), Some(b"a"), 10, false, false)
            .unwrap()
            .is_empty());
        assert!(r.scan(None, None, 0, false, false).unwrap().is_empty());
        let ko = r.scan(None, None, 1, true, false).unwrap();
        assert_eq!(ko, [KvPair::new(b"a", b"")]);
        let mut sum = Checksum::default();
        r.checksum(None, None, &mut sum).unwrap();
        assert_eq!((sum.total_kvs, sum.total_bytes), (3, 6));
    }

    #[test]
    fn corrupt_value_is_an_error() {
        let e = engine();
        e.write(vec![Modify::Put {
            cf: Cf::Raw,
            key: b"bad".to_vec(),
            value: vec![0x80],
        }])
        .unwrap();
        let snap = e.snapshot();
        let r = RawReader::new(&snap, 0);
        assert!(r.get(b"bad").is_err());
        assert!(r.ttl(b"bad").is_err());
        assert!(r.scan(None, None, 100, true, false).is_err());
        assert_eq!(
            r.scan(None, None, 1, false, false).unwrap().len(),
            1,
            "stops before"
        );
    }
}
