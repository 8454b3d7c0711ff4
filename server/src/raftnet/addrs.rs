//! Where another store listens: a narrow seam, [`StoreAddrs`], so the transport needs
//! neither PD nor a configuration file. [`StaticAddrs`] is a fixed map (tests, fixed
//! deployments); [`CachedAddrs`] asks a [`StoreLookup`] (PD's GetStore: `node/pd_client.rs`)
//! once per store and again after a connection to it failed (the store may have moved).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::{Error, Result};

/// A boxed future (the seams are used as trait objects).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Resolves store ids to `host:port` addresses of their Raft service.
pub trait StoreAddrs: Send + Sync + std::fmt::Debug {
    /// The address of `store_id`.
    ///
    /// # Errors
    /// `Unreachable` if the store is unknown (or gone); whatever asking failed with.
    fn resolve(&self, store_id: u64) -> BoxFuture<'_, Result<String>>;

    /// A connection to `store_id` failed: forget what is cached about it.
    fn invalidate(&self, _store_id: u64) {}
}

/// A fixed map of addresses.
#[derive(Debug, Default, Clone)]
pub struct StaticAddrs {
    addrs: Arc<Mutex<HashMap<u64, String>>>,
}

impl StaticAddrs {
    /// An empty map.
    pub fn new() -> StaticAddrs {
        StaticAddrs::default()
    }

    /// Sets (or moves) `store_id` to `addr`.
    pub fn set(&self, store_id: u64, addr: impl Into<String>) {
        self.addrs.lock().insert(store_id, addr.into());
    }

    /// Forgets `store_id`: it resolves to an error from now on.
    pub fn remove(&self, store_id: u64) {
        self.addrs.lock().remove(&store_id);
    }
}

impl StoreAddrs for StaticAddrs {
    fn resolve(&self, store_id: u64) -> BoxFuture<'_, Result<String>> {
        let found = self.addrs.lock().get(&store_id).cloned();
        Box::pin(async move {
            found.ok_or_else(|| Error::Unreachable {
                store_id,
                reason: "no address known".into(),
            })
        })
    }
}

/// Asks for one store's address (PD's GetStore).
pub trait StoreLookup: Send + Sync + std::fmt::Debug {
    /// The address `store_id` registered.
    ///
    /// # Errors
    /// The lookup failed, or the store is unknown or removed (`Unreachable`).
    fn store_address(&self, store_id: u64) -> BoxFuture<'_, Result<String>>;
}

/// Addresses from a [`StoreLookup`], cached until a connection failure invalidates them.
#[derive(Debug)]
pub struct CachedAddrs<L> {
    lookup: L,
    cache: Mutex<HashMap<u64, String>>,
}

impl<L: StoreLookup> CachedAddrs<L> {
    /// Resolves through `lookup`.
    pub fn new(lookup: L) -> CachedAddrs<L> {
        CachedAddrs {
            lookup,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl<L: StoreLookup> StoreAddrs for CachedAddrs<L> {
    fn resolve(&self, store_id: u64) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            if let Some(a) = self.cache.lock().get(&store_id) {
                return Ok(a.clone());
            }
            let addr = self.lookup.store_address(store_id).await?;
            if addr.is_empty() {
                return Err(Error::Unreachable {
                    store_id,
                    reason: "registered without an address".into(),
                });
            }
            self.cache.lock().insert(store_id, addr.clone());
            Ok(addr)
        })
    }

    fn invalidate(&self, store_id: u64) {
        self.cache.lock().remove(&store_id);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// Answers `host-<store>-<n>` for the n-th lookup.
    #[derive(Debug, Default)]
    struct Counting(AtomicU64);

    impl StoreLookup for Counting {
        fn store_address(&self, store_id: u64) -> BoxFuture<'_, Result<String>> {
            let n = self.0.fetch_add(1, Ordering::Relaxed) + 1;
            Box::pin(async move { Ok(format!("host-{store_id}-{n}")) })
        }
    }

    #[tokio::test]
    async fn caches_until_invalidated() {
        let addrs = CachedAddrs::new(Counting::default());
        assert_eq!(addrs.resolve(2).await.unwrap(), "host-2-1");
        assert_eq!(addrs.resolve(2).await.unwrap(), "host-2-1");
        addrs.invalidate(2);
        assert_eq!(addrs.resolve(2).await.unwrap(), "host-2-2");
        assert_eq!(addrs.lookup.0.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn static_map_knows_only_what_it_was_told() {
        let addrs = StaticAddrs::new();
        addrs.set(1, "127.0.0.1:1");
        assert_eq!(addrs.resolve(1).await.unwrap(), "127.0.0.1:1");
        assert!(matches!(
            addrs.resolve(2).await,
            Err(Error::Unreachable { store_id: 2, .. })
        ));
    }
}
