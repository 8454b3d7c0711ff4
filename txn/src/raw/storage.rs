//! `RawStorage`: TiKV's raw key-value API over the [`Engine`] seam — point reads, writes with
//! TTLs, deletes and range deletes. Scans and checksums are in `scan.rs`, compare-and-swap in
//! `cas.rs`.
//!
//! Contract of every method:
//! 1. Keys are checked against the API version first (`ApiVersion::check_key`); nothing is
//!    read or written for a refused request.
//! 2. A read uses one engine snapshot and one clock instant for the whole request.
//! 3. A write is one `Engine::write` batch: all of it is applied or none.
//! 4. Point writes (put, batch_put, delete, batch_delete, compare_and_swap) hold the key
//!    latches of their keys from before their read (CAS) to after their write, so a CAS is
//!    atomic against every point write, not only against other CASes (TiKV gets this only in
//!    its "atomic" raw mode; here it is always on — uncontended latches cost a mutex each).
//!    `delete_range` takes no latches: a CAS racing a range delete over its key may write
//!    just before or just after it, as with TiKV.
//!
//! Concurrency: `RawStorage` is cheap to clone (shared engine, clock and latches) and every
//! method takes `&self`; the returned futures are `Send`.

use std::sync::Arc;

use mvcc::{Cf, Modify};

use super::api_version::ApiVersion;
use super::clock::{Clock, SystemClock};
use super::reader::RawReader;
use super::types::KvPair;
use super::value::{encode, expire_ts_for};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::latch::Latches;

/// The raw key-value API over an engine (see the module docs).
#[derive(Clone)]
pub struct RawStorage<E: Engine> {
    pub(super) engine: E,
    pub(super) api_version: ApiVersion,
    /// "Now" for TTLs; injectable so tests control expiry.
    pub(super) clock: Arc<dyn Clock>,
    /// Serialise point writes and CAS on the same keys (module docs, item 4).
    pub(super) latches: Arc<Latches>,
    /// Whether writes wait for durability (`Engine::write(.., sync)`).
    pub(super) sync: bool,
}

impl<E: Engine> std::fmt::Debug for RawStorage<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawStorage")
            .field("api_version", &self.api_version)
            .field("clock", &self.clock)
            .field("sync", &self.sync)
            .finish_non_exhaustive()
    }
}

impl<E: Engine> RawStorage<E> {
    /// Raw storage over `engine`: the system clock, its own latches, synced writes.
    pub fn new(engine: E, api_version: ApiVersion) -> RawStorage<E> {
        RawStorage {
            engine,
            api_version,
            clock: Arc::new(SystemClock),
            latches: Arc::new(Latches::default()),
            sync: true,
        }
    }

    /// The same storage over another engine, sharing clock and latches (see
    /// [`TxnStorage::with_engine`](crate::TxnStorage::with_engine)).
    pub fn with_engine<E2: Engine>(&self, engine: E2) -> RawStorage<E2> {
        RawStorage {
            engine,
            api_version: self.api_version,
            clock: self.clock.clone(),
            latches: self.latches.clone(),
            sync: self.sync,
        }
    }

    /// Uses `clock` for TTLs (give the compaction filter the same one).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> RawStorage<E> {
        self.clock = clock;
        self
    }

    /// Uses `latches` (e.g. shared with other command layers).
    #[must_use]
    pub fn with_latches(mut self, latches: Arc<Latches>) -> RawStorage<E> {
        self.latches = latches;
        self
    }

    /// Whether writes wait until durable (default true).
    #[must_use]
    pub fn with_sync(mut self, sync: bool) -> RawStorage<E> {
        self.sync = sync;
        self
    }

    /// The API version requests are checked against.
    pub fn api_version(&self) -> ApiVersion {
        self.api_version
    }

    /// The engine underneath.
    pub fn engine(&self) -> &E {
        &self.engine
    }

    /// The live value of `key` (`None`: absent or expired).
    ///
    /// # Errors
    /// `InvalidArgument`/`InvalidKeyMode` for a refused key; engine errors; `Corruption` for
    /// a stored value that does not decode.
    pub async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.api_version.check_key(key)?;
        let snap = self.engine.snapshot().await?;
        RawReader::new(&snap, self.clock.now_secs()).get(key)
    }

    /// The live pairs among `keys`, in request order; absent and expired keys are left out
    /// (as TiKV's `RawBatchGet`). A repeated key appears once per request occurrence.
    ///
    /// # Errors
    /// As [`get`](Self::get); one refused key refuses the request.
    pub async fn batch_get(&self, keys: &[Vec<u8>]) -> Result<Vec<KvPair>> {
        for k in keys {
            self.api_version.check_key(k)?;
        }
        let snap = self.engine.snapshot().await?;
        let reader = RawReader::new(&snap, self.clock.now_secs());
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some(v) = reader.get(k)? {
                out.push(KvPair::new(k.clone(), v));
            }
        }
        Ok(out)
    }

    /// Seconds `key` has left to live: `None` if absent or expired, `Some(0)` if it never
    /// expires (TiKV's `RawGetKeyTTL`: `not_found` for `None`).
    ///
    /// # Errors
    /// `TtlNotEnabled` in V1; otherwise as [`get`](Self::get).
    pub async fn get_key_ttl(&self, key: &[u8]) -> Result<Option<u64>> {
        self.api_version.check_key(key)?;
        if !self.api_version.ttl_enabled() {
            return Err(Error::TtlNotEnabled);
        }
        let snap = self.engine.snapshot().await?;
        RawReader::new(&snap, self.clock.now_secs()).ttl(key)
    }

    /// Writes `key` = `value`, expiring `ttl` seconds from now (`0`: never).
    ///
    /// # Errors
    /// A refused key; `TtlNotEnabled` for `ttl != 0` in V1; engine errors.
    pub async fn put(&self, key: Vec<u8>, value: Vec<u8>, ttl: u64) -> Result<()> {
        self.batch_put(vec![KvPair { key, value }], &[ttl]).await
    }

    /// Writes all `pairs` in one batch. `ttls` follows TiKV's rule: empty means no TTL for
    /// any pair, one TTL applies to every pair, otherwise one TTL per pair. Later pairs win
    /// over earlier ones with the same key.
    ///
    /// # Errors
    /// A refused key; `InvalidArgument` for another number of TTLs; `TtlNotEnabled` for a
    /// non-zero TTL in V1; engine errors.
    pub async fn batch_put(&self, pairs: Vec<KvPair>, ttls: &[u64]) -> Result<()> {
        for p in &pairs {
            self.api_version.check_key(&p.key)?;
        }
        let ttls = self.expand_ttls(pairs.len(), ttls)?;
        if pairs.is_empty() {
            return Ok(());
        }
        let _guard = self.latches.acquire(pairs.iter().map(|p| &p.key)).await;
        // Read the clock under the latches, so a later writer of the key never computes an
        // earlier expiry from an earlier instant.
        let now = self.clock.now_secs();
        let modifies = pairs
            .into_iter()
            .zip(ttls)
            .map(|(p, ttl)| Modify::Put {
                cf: Cf::Raw,
                value: encode(&p.value, expire_ts_for(ttl, now)),
                key: p.key,
            })
            .collect();
        self.engine.write(modifies, self.sync).await
    }

    /// Removes `key` (absent keys are fine).
    ///
    /// # Errors
    /// A refused key; engine errors.
    pub async fn delete(&self, key: Vec<u8>) -> Result<()> {
        self.batch_delete(vec![key]).await
    }

    /// Removes every key of `keys` in one batch.
    ///
    /// # Errors
    /// As [`delete`](Self::delete); one refused key refuses the request.
    pub async fn batch_delete(&self, keys: Vec<Vec<u8>>) -> Result<()> {
        for k in &keys {
            self.api_version.check_key(k)?;
        }
        if keys.is_empty() {
            return Ok(());
        }
        let _guard = self.latches.acquire(&keys).await;
        let modifies = keys
            .into_iter()
            .map(|key| Modify::Delete { cf: Cf::Raw, key })
            .collect();
        self.engine.write(modifies, self.sync).await
    }

    /// Removes every key in `[start, end)`. In V1 an empty `start` means "from the first
    /// key"; in V2 both ends must lie in `start`'s keyspace.
    ///
    /// # Errors
    /// `InvalidArgument` if `start >= end`; `InvalidKeyMode` in V2 for a start that is not a
    /// raw key or an end beyond its keyspace; engine errors.
    pub async fn delete_range(&self, start: Vec<u8>, end: Vec<u8>) -> Result<()> {
        if self.api_version == ApiVersion::V2 {
            let confined = self.api_version.confine_upper(&start, Some(&end))?;
            if confined.as_deref() != Some(end.as_slice()) {
                return Err(Error::InvalidKeyMode {
                    api_version: self.api_version,
                    key: end,
                    reason: "delete_range end is beyond the start key's keyspace",
                });
            }
        }
        if start >= end {
            return Err(Error::InvalidArgument(format!(
                "delete_range needs start < end, got {start:02x?} >= {end:02x?}"
            )));
        }
        let m = Modify::DeleteRange {
            cf: Cf::Raw,
            start,
            end,
        };
        self.engine.write(vec![m], self.sync).await
    }

    /// Removes every key at or after `start` (within `start`'s keyspace in V2): a
    /// [`delete_range`](Self::delete_range) with no end, for a range reaching past the last
    /// region. What exists when it is asked for is removed (see [`mvcc::end_past_last`]).
    ///
    /// # Errors
    /// As [`delete_range`](Self::delete_range).
    pub async fn delete_from(&self, start: Vec<u8>) -> Result<()> {
        if let Some(end) = self.api_version.confine_upper(&start, None)? {
            return self.delete_range(start, end).await;
        }
        let snap = self.engine.snapshot().await?;
        match mvcc::end_past_last(&snap, Cf::Raw, &start)? {
            Some(end) => self.delete_range(start, end).await,
            None => Ok(()),
        }
    }

    /// One TTL per pair, by TiKV's rule (see [`batch_put`](Self::batch_put)).
    fn expand_ttls(&self, pairs: usize, ttls: &[u64]) -> Result<Vec<u64>> {
        let expanded = match ttls {
            [] => vec![0; pairs],
            [ttl] => vec![*ttl; pairs],
            _ if ttls.len() == pairs => ttls.to_vec(),
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "{} ttls for {pairs} pairs: give none, one, or one per pair",
                    ttls.len()
                )))
            }
        };
        if !self.api_version.ttl_enabled() && expanded.iter().any(|t| *t != 0) {
            return Err(Error::TtlNotEnabled);
        }
        Ok(expanded)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::engine::MemoryEngine;
    use crate::raw::clock::ManualClock;

    #[tokio::test]
    async fn with_engine_shares_clock_and_latches() {
        let (a, clock) = storage(ApiVersion::V1Ttl);
        let engine = MemoryEngine::new();
        let b = a.with_engine(engine.clone());
        assert!(Arc::ptr_eq(&a.latches, &b.latches));
        b.put(b"k".to_vec(), b"v".to_vec(), 10).await.unwrap();
        clock.advance(11);
        // b reads through its own engine with a's clock: expired.
        assert_eq!(b.get(b"k").await.unwrap(), None);
        assert_eq!(a.get(b"k").await.unwrap(), None, "a's engine never had it");
    }

    fn storage(v: ApiVersion) -> (RawStorage<MemoryEngine>, ManualClock) {
        let clock = ManualClock::new(1000);
        let s = RawStorage::new(MemoryEngine::new(), v).with_clock(Arc::new(clock.clone()));
        (s, clock)
    }

    /// Every method's future can move between runtime threads (no cursor is held across an
    /// await). A compile-time check: the futures are built, never run.
    #[test]
    fn futures_are_send() {
        fn send<T: Send>(_: T) {}
        let (s, _) = storage(ApiVersion::V1);
        let r = [crate::raw::KeyRange::default()];
        send(s.get(b"k"));
        send(s.batch_get(&[]));
        send(s.get_key_ttl(b"k"));
        send(s.put(vec![], vec![], 0));
        send(s.batch_put(vec![], &[]));
        send(s.delete(vec![]));
        send(s.batch_delete(vec![]));
        send(s.delete_range(vec![], vec![]));
        send(s.scan(b"", None, 1, false, false));
        send(s.batch_scan(&r, 1, false, false));
        send(s.checksum(&r));
        send(s.compare_and_swap(vec![], None, vec![], 0));
    }

    #[tokio::test]
    async fn put_get_delete() {
        let (s, _) = storage(ApiVersion::V1);
        s.put(b"k".to_vec(), b"v".to_vec(), 0).await.unwrap();
        assert_eq!(s.get(b"k").await.unwrap().unwrap(), b"v");
        s.put(b"k".to_vec(), b"".to_vec(), 0).await.unwrap();
        assert_eq!(
            s.get(b"k").await.unwrap().unwrap(),
            b"",
            "empty values exist"
        );
        s.delete(b"k".to_vec()).await.unwrap();
        assert_eq!(s.get(b"k").await.unwrap(), None);
        s.delete(b"never".to_vec()).await.unwrap();
        assert!(matches!(s.get(b"").await, Err(Error::InvalidArgument(_))));
        assert!(matches!(
            s.put(vec![], b"v".to_vec(), 0).await,
            Err(Error::InvalidArgument(_))
        ));
    }

    #[tokio::test]
    async fn ttl_rules_of_batch_put() {
        let (s, clock) = storage(ApiVersion::V1Ttl);
        let pairs = |n: u8| {
            (0..n)
                .map(|i| KvPair::new(vec![b'k', i], vec![i]))
                .collect::<Vec<_>>()
        };
        s.batch_put(pairs(3), &[]).await.unwrap();
        assert_eq!(s.get_key_ttl(b"k\x02").await.unwrap(), Some(0));
        s.batch_put(pairs(3), &[10]).await.unwrap();
        assert_eq!(s.get_key_ttl(b"k\x00").await.unwrap(), Some(10));
        assert_eq!(s.get_key_ttl(b"k\x02").await.unwrap(), Some(10));
        s.batch_put(pairs(3), &[5, 0, 20]).await.unwrap();
        clock.advance(5);
        assert_eq!(s.get(b"k\x00").await.unwrap(), None);
        assert_eq!(s.get_key_ttl(b"k\x00").await.unwrap(), None);
        assert_eq!(s.get_key_ttl(b"k\x01").await.unwrap(), Some(0));
        assert_eq!(s.get_key_ttl(b"k\x02").await.unwrap(), Some(15));
        assert!(matches!(
            s.batch_put(pairs(3), &[1, 2]).await,
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(
            s.batch_get(&[b"k\x00".to_vec(), b"k\x02".to_vec(), b"k\x01".to_vec()])
                .await
                .unwrap(),
            [KvPair::new(b"k\x02", [2]), KvPair::new(b"k\x01", [1])]
        );
    }

    #[tokio::test]
    async fn v1_refuses_ttls() {
        let (s, _) = storage(ApiVersion::V1);
        assert!(matches!(
            s.put(b"k".to_vec(), b"v".to_vec(), 5).await,
            Err(Error::TtlNotEnabled)
        ));
        assert!(matches!(
            s.get_key_ttl(b"k").await,
            Err(Error::TtlNotEnabled)
        ));
        s.batch_put(vec![KvPair::new(b"k", b"v")], &[0])
            .await
            .unwrap();
        assert_eq!(s.get(b"k").await.unwrap().unwrap(), b"v");
    }

    #[tokio::test]
    async fn delete_range_checks_bounds() {
        let (s, _) = storage(ApiVersion::V1);
        for k in [b"a", b"b", b"c"] {
            s.put(k.to_vec(), b"v".to_vec(), 0).await.unwrap();
        }
        assert!(matches!(
            s.delete_range(b"c".to_vec(), b"b".to_vec()).await,
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            s.delete_range(b"b".to_vec(), b"b".to_vec()).await,
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            s.delete_range(b"b".to_vec(), vec![]).await,
            Err(Error::InvalidArgument(_))
        ));
        s.delete_range(b"b".to_vec(), b"c".to_vec()).await.unwrap();
        assert_eq!(s.get(b"b").await.unwrap(), None);
        assert!(s.get(b"c").await.unwrap().is_some());
        s.delete_range(vec![], b"c".to_vec()).await.unwrap();
        assert_eq!(s.get(b"a").await.unwrap(), None);
        s.put(b"\xff\xff".to_vec(), b"v".to_vec(), 0).await.unwrap();
        s.delete_from(b"d".to_vec()).await.unwrap();
        assert!(s.get(b"c").await.unwrap().is_some());
        assert_eq!(s.get(b"\xff\xff").await.unwrap(), None);
        s.delete_from(vec![]).await.unwrap();
        assert_eq!(s.get(b"c").await.unwrap(), None);
        let (v2, _) = storage(ApiVersion::V2);
        let e = v2
            .delete_range(b"r\0\0\x01a".to_vec(), b"r\0\0\x03".to_vec())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::InvalidKeyMode { .. }), "{e}");
        v2.delete_range(b"r\0\0\x01a".to_vec(), b"r\0\0\x02".to_vec())
            .await
            .unwrap();
    }
}
