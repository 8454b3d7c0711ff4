//! Range reads of the raw API: scan (forward and reverse), batch scan and checksum, with
//! TiKV's bounds semantics.
//!
//! - Forward scan: `[start_key, end_key)`; an empty or absent `end_key` is unbounded.
//! - Reverse scan: downwards from `start_key` (exclusive) to `end_key` (inclusive); an absent
//!   `end_key` is unbounded below. An empty `start_key` is an empty upper bound, so a V1
//!   reverse scan from `""` returns nothing, as TiKV's.
//! - V2: the inclusive end of a range names the keyspace (forward: `start_key`; reverse:
//!   `end_key`, or `start_key` when no end is given) and the range is cut at that keyspace's
//!   ends, so a scan never leaves it. TiKV leaves that to its clients; we enforce it.
//!
//! Each request reads one snapshot at one instant; expired pairs are invisible.

use super::checksum::Checksum;
use super::reader::RawReader;
use super::storage::RawStorage;
use super::types::{KeyRange, KvPair};
use crate::engine::Engine;
use crate::error::{Error, Result};

/// `[lower, upper)` of one range read (`None`: unbounded).
type Bounds = (Option<Vec<u8>>, Option<Vec<u8>>);

impl<E: Engine> RawStorage<E> {
    /// Up to `limit` live pairs from `start_key` towards `end_key` (module docs); values are
    /// empty when `key_only`.
    ///
    /// # Errors
    /// `InvalidKeyMode` in V2 for bounds outside the raw key space; engine errors;
    /// `Corruption` for a stored value that does not decode.
    pub async fn scan(
        &self,
        start_key: &[u8],
        end_key: Option<&[u8]>,
        limit: usize,
        key_only: bool,
        reverse: bool,
    ) -> Result<Vec<KvPair>> {
        let (lower, upper) = self.scan_bounds(start_key, end_key, reverse)?;
        let snap = self.engine.snapshot().await?;
        RawReader::new(&snap, self.clock.now_secs()).scan(
            lower.as_deref(),
            upper.as_deref(),
            limit,
            key_only,
            reverse,
        )
    }

    /// Scans several ranges in one snapshot, up to `each_limit` pairs from each, and returns
    /// the results one range after the other. As TiKV: a range's empty `end_key` means the
    /// next range's `start_key` (unbounded for the last range), and every range must run the
    /// scan's way (`start < end` forward, `start > end` reverse).
    ///
    /// # Errors
    /// `InvalidArgument` for a range running the wrong way; otherwise as [`scan`](Self::scan).
    pub async fn batch_scan(
        &self,
        ranges: &[KeyRange],
        each_limit: usize,
        key_only: bool,
        reverse: bool,
    ) -> Result<Vec<KvPair>> {
        let mut bounds = Vec::with_capacity(ranges.len());
        for (i, r) in ranges.iter().enumerate() {
            let end = match (r.end_key.is_empty(), ranges.get(i + 1)) {
                (false, _) => Some(r.end_key.as_slice()),
                (true, Some(next)) => Some(next.start_key.as_slice()),
                (true, None) => None,
            };
            if let Some(end) = end.filter(|e| !e.is_empty()) {
                let start = r.start_key.as_slice();
                if (!reverse && start >= end) || (reverse && start <= end) {
                    let way = if reverse { "reverse" } else { "forward" };
                    return Err(Error::InvalidArgument(format!(
                        "batch_scan range {i} runs the wrong way for a {way} scan: \
                         {start:02x?} .. {end:02x?}"
                    )));
                }
            }
            bounds.push(self.scan_bounds(&r.start_key, end, reverse)?);
        }
        let snap = self.engine.snapshot().await?;
        let reader = RawReader::new(&snap, self.clock.now_secs());
        let mut out = Vec::new();
        for (lower, upper) in &bounds {
            out.extend(reader.scan(
                lower.as_deref(),
                upper.as_deref(),
                each_limit,
                key_only,
                reverse,
            )?);
        }
        Ok(out)
    }

    /// TiKV's `Crc64Xor` checksum (see `checksum.rs`) of the live pairs in `[start_key,
    /// end_key)` of every range (empty `end_key`: unbounded; V2: the start key's keyspace).
    /// Overlapping ranges count their common pairs twice, as TiKV's.
    ///
    /// # Errors
    /// As [`scan`](Self::scan).
    pub async fn checksum(&self, ranges: &[KeyRange]) -> Result<Checksum> {
        let bounds = ranges
            .iter()
            .map(|r| self.scan_bounds(&r.start_key, Some(&r.end_key), false))
            .collect::<Result<Vec<_>>>()?;
        let snap = self.engine.snapshot().await?;
        let reader = RawReader::new(&snap, self.clock.now_secs());
        let mut sum = Checksum::default();
        for (lower, upper) in &bounds {
            reader.checksum(lower.as_deref(), upper.as_deref(), &mut sum)?;
        }
        Ok(sum)
    }

    /// The engine bounds of a scan request (module docs). An empty `end_key` is absent.
    fn scan_bounds(
        &self,
        start_key: &[u8],
        end_key: Option<&[u8]>,
        reverse: bool,
    ) -> Result<Bounds> {
        let v = self.api_version;
        let end_key = end_key.filter(|e| !e.is_empty());
        if !reverse {
            let upper = v.confine_upper(start_key, end_key)?;
            let lower = (!start_key.is_empty()).then(|| start_key.to_vec());
            return Ok((lower, upper));
        }
        match end_key {
            Some(end) => Ok((Some(end.to_vec()), v.confine_upper(end, Some(start_key))?)),
            None => Ok((v.default_lower(start_key)?, Some(start_key.to_vec()))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;
    use crate::engine::MemoryEngine;
    use crate::raw::api_version::ApiVersion;
    use crate::raw::clock::ManualClock;

    async fn filled(v: ApiVersion, keys: &[&[u8]]) -> RawStorage<MemoryEngine> {
        let s = RawStorage::new(MemoryEngine::new(), v).with_clock(Arc::new(ManualClock::new(1)));
        let pairs = keys
            .iter()
            .map(|k| KvPair::new(*k, [k[k.len() - 1]]))
            .collect();
        s.batch_put(pairs, &[]).await.unwrap();
        s
    }

    fn keys(pairs: &[KvPair]) -> Vec<&[u8]> {
        pairs.iter().map(|p| p.key.as_slice()).collect()
    }

    #[tokio::test]
    async fn bounds_as_tikv() {
        let s = filled(ApiVersion::V1, &[b"a", b"b", b"c", b"d"]).await;
        let fwd = s.scan(b"b", Some(b"d"), 10, false, false).await.unwrap();
        assert_eq!(keys(&fwd), [b"b", b"c"]);
        let fwd = s.scan(b"", None, 3, false, false).await.unwrap();
        assert_eq!(keys(&fwd), [b"a", b"b", b"c"]);
        // Reverse: start exclusive (upper), end inclusive (lower).
        let rev = s.scan(b"d", Some(b"b"), 10, false, true).await.unwrap();
        assert_eq!(keys(&rev), [b"c", b"b"]);
        let rev = s.scan(b"zz", None, 2, true, true).await.unwrap();
        assert_eq!(rev, [KvPair::new(b"d", b""), KvPair::new(b"c", b"")]);
        assert!(s.scan(b"", None, 10, false, true).await.unwrap().is_empty());
        assert!(s
            .scan(b"c", Some(b"b"), 10, false, false)
            .await
            .unwrap()
            .is_empty());
        assert!(s
            .scan(b"a", None, 0, false, false)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn batch_scan_each_limit_and_next_start_rule() {
        let s = filled(ApiVersion::V1, &[b"a1", b"a2", b"a3", b"b1", b"b2", b"c1"]).await;
        let ranges = [KeyRange::new(b"a", b""), KeyRange::new(b"b", b"c")];
        let got = s.batch_scan(&ranges, 2, false, false).await.unwrap();
        assert_eq!(keys(&got), [b"a1", b"a2", b"b1", b"b2"]);
        let last_open = [KeyRange::new(b"b2", b"")];
        assert_eq!(
            keys(&s.batch_scan(&last_open, 5, true, false).await.unwrap()),
            [b"b2", b"c1"]
        );
        let rev = [KeyRange::new(b"c", b""), KeyRange::new(b"b", b"a")];
        let got = s.batch_scan(&rev, 1, false, true).await.unwrap();
        assert_eq!(keys(&got), [b"b2", b"a3"]);
        let wrong = [KeyRange::new(b"b", b"a")];
        assert!(matches!(
            s.batch_scan(&wrong, 1, false, false).await,
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            s.batch_scan(&ranges, 1, false, true).await,
            Err(Error::InvalidArgument(_))
        ));
    }

    #[tokio::test]
    async fn v2_scans_stay_in_the_keyspace() {
        let ks = |id: u8, k: &[u8]| [&b"r\0\0"[..], &[id], k].concat();
        let all = [ks(1, b"a"), ks(1, b"b"), ks(2, b"a"), ks(3, b"z")];
        let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
        let s = filled(ApiVersion::V2, &refs).await;
        let fwd = s.scan(&ks(1, b""), None, 10, false, false).await.unwrap();
        assert_eq!(keys(&fwd), [ks(1, b"a"), ks(1, b"b")]);
        let fwd = s
            .scan(&ks(1, b"b"), Some(b"s"), 10, false, false)
            .await
            .unwrap();
        assert_eq!(keys(&fwd), [ks(1, b"b")]);
        let rev = s
            .scan(&ks(3, b""), Some(&ks(2, b"")), 10, false, true)
            .await
            .unwrap();
        assert_eq!(keys(&rev), [ks(2, b"a")]);
        let rev = s
            .scan(b"s", Some(&ks(2, b"")), 10, false, true)
            .await
            .unwrap();
        assert_eq!(keys(&rev), [ks(2, b"a")]);
        let rev = s.scan(&ks(1, b"z"), None, 10, false, true).await.unwrap();
        assert_eq!(keys(&rev), [ks(1, b"b"), ks(1, b"a")]);
        assert!(matches!(
            s.scan(b"x\0\0\x01", None, 1, false, false).await,
            Err(Error::InvalidKeyMode { .. })
        ));
        assert!(matches!(
            s.scan(b"", None, 1, false, false).await,
            Err(Error::InvalidArgument(_))
        ));
        let sum = s.checksum(&[KeyRange::new(ks(1, b""), b"")]).await.unwrap();
        assert_eq!(sum.total_kvs, 2);
    }
}
