//! Compare-and-swap: TiKV's `RawCompareAndSwap`, atomic under the key's latch.
//!
//! The latch is taken before the snapshot, so between this command's read and its write no
//! other point write or CAS of the key can run (see `storage.rs`, item 4). The comparison is
//! TiKV's: the current live value (`None` when absent or expired) must equal the expected one
//! (`None` means "expect the key not to exist", TiKV's `previous_not_exist`).

use mvcc::{Cf, Modify};

use super::reader::RawReader;
use super::storage::RawStorage;
use super::types::CasResult;
use super::value::{encode, expire_ts_for};
use crate::engine::Engine;
use crate::error::{Error, Result};

impl<E: Engine> RawStorage<E> {
    /// Writes `key` = `value` (expiring after `ttl` seconds; `0`: never) iff its current live
    /// value equals `expected` (`None`: iff it does not exist). Returns the value it had
    /// before, and whether the write happened.
    ///
    /// # Errors
    /// A refused key; `TtlNotEnabled` for `ttl != 0` in V1; engine errors; `Corruption` for a
    /// stored value that does not decode (nothing is written then).
    pub async fn compare_and_swap(
        &self,
        key: Vec<u8>,
        expected: Option<Vec<u8>>,
        value: Vec<u8>,
        ttl: u64,
    ) -> Result<CasResult> {
        self.api_version.check_key(&key)?;
        if ttl != 0 && !self.api_version.ttl_enabled() {
            return Err(Error::TtlNotEnabled);
        }
        let _guard = self.latches.acquire([&key]).await;
        let snap = self.engine.snapshot().await?;
        let now = self.clock.now_secs();
        let previous_value = RawReader::new(&snap, now).get(&key)?;
        drop(snap);
        if previous_value != expected {
            return Ok(CasResult {
                previous_value,
                succeed: false,
            });
        }
        let m = Modify::Put {
            cf: Cf::Raw,
            value: encode(&value, expire_ts_for(ttl, now)),
            key,
        };
        self.engine.write(vec![m], self.sync).await?;
        Ok(CasResult {
            previous_value,
            succeed: true,
        })
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

    #[tokio::test]
    async fn compares_like_tikv() {
        let clock = ManualClock::new(10);
        let s = RawStorage::new(MemoryEngine::new(), ApiVersion::V1Ttl)
            .with_clock(Arc::new(clock.clone()));
        let k = || b"k".to_vec();
        // Absent, expecting absence: swaps.
        let r = s
            .compare_and_swap(k(), None, b"v1".to_vec(), 0)
            .await
            .unwrap();
        assert_eq!(
            r,
            CasResult {
                previous_value: None,
                succeed: true
            }
        );
        assert!(r.previous_not_exist());
        // Present, expecting absence: refused, previous returned.
        let r = s
            .compare_and_swap(k(), None, b"v2".to_vec(), 0)
            .await
            .unwrap();
        assert_eq!(
            r,
            CasResult {
                previous_value: Some(b"v1".to_vec()),
                succeed: false
            }
        );
        // Wrong expectation: refused.
        let r = s
            .compare_and_swap(k(), Some(b"zz".to_vec()), b"v2".to_vec(), 0)
            .await
            .unwrap();
        assert!(!r.succeed);
        assert_eq!(s.get(b"k").await.unwrap().unwrap(), b"v1");
        // Right expectation, with a TTL.
        let r = s
            .compare_and_swap(k(), Some(b"v1".to_vec()), b"v3".to_vec(), 5)
            .await
            .unwrap();
        assert!(r.succeed);
        assert_eq!(s.get_key_ttl(b"k").await.unwrap(), Some(5));
        // Expired counts as absent.
        clock.advance(5);
        let r = s
            .compare_and_swap(k(), Some(b"v3".to_vec()), b"v4".to_vec(), 0)
            .await
            .unwrap();
        assert_eq!(
            r,
            CasResult {
                previous_value: None,
                succeed: false
            }
        );
        let r = s
            .compare_and_swap(k(), None, b"v4".to_vec(), 0)
            .await
            .unwrap();
        assert!(r.succeed);
        // Empty value is a value, distinct from absence.
        s.put(k(), vec![], 0).await.unwrap();
        let r = s
            .compare_and_swap(k(), None, b"v5".to_vec(), 0)
            .await
            .unwrap();
        assert_eq!(
            r,
            CasResult {
                previous_value: Some(vec![]),
                succeed: false
            }
        );
    }

    #[tokio::test]
    async fn v1_refuses_a_ttl_and_bad_keys() {
        let s = RawStorage::new(MemoryEngine::new(), ApiVersion::V1);
        assert!(matches!(
            s.compare_and_swap(b"k".to_vec(), None, vec![], 3).await,
            Err(Error::TtlNotEnabled)
        ));
        assert!(matches!(
            s.compare_and_swap(vec![], None, vec![], 0).await,
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(s.get(b"k").await.unwrap(), None);
    }
}
