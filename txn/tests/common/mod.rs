//! Helpers shared by the raw API scenario tests: raw storage on either engine, with a manual
//! clock, and the local engine wired to the TTL compaction filter.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use mvcc::LsmEngine;
use txn::{ApiVersion, Engine, LocalEngine, ManualClock, MemoryEngine, RawStorage, RawTtlFilter};

/// The starting time of every test clock (unix seconds).
pub const T0: u64 = 1_700_000_000;

/// Raw storage on a fresh in-memory engine.
pub fn memory(api: ApiVersion) -> (RawStorage<MemoryEngine>, ManualClock) {
    let clock = ManualClock::new(T0);
    let s = RawStorage::new(MemoryEngine::new(), api).with_clock(Arc::new(clock.clone()));
    (s, clock)
}

/// A local LSM engine in a temporary directory, with the TTL filter bound to its raw family.
pub struct Local {
    pub storage: RawStorage<LocalEngine>,
    pub clock: ManualClock,
    pub filter: Arc<RawTtlFilter>,
    pub dir: tempfile::TempDir,
}

impl Local {
    /// The LSM database underneath.
    pub fn db(&self) -> &Arc<lsm::Db> {
        self.storage.engine().inner().db()
    }
}

/// Raw storage on a fresh local engine (writes not synced: tests need no power-loss safety).
/// `options` tweaks the LSM options; the compaction filter is always the raw TTL filter.
pub fn local_with(api: ApiVersion, options: impl FnOnce(&mut lsm::Options)) -> Local {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let filter = Arc::new(RawTtlFilter::new(Arc::new(clock.clone())));
    let mut opts = lsm::Options {
        compaction_filter: Some(filter.clone()),
        background_threads: 1,
        ..lsm::Options::default()
    };
    options(&mut opts);
    let db = Arc::new(lsm::Db::open(dir.path(), opts).unwrap());
    let engine = LsmEngine::new(db).unwrap();
    filter.bind(&engine);
    let storage = RawStorage::new(LocalEngine::new(engine), api)
        .with_clock(Arc::new(clock.clone()))
        .with_sync(false);
    Local {
        storage,
        clock,
        filter,
        dir,
    }
}

/// Raw storage on a fresh local engine with default options.
pub fn local(api: ApiVersion) -> Local {
    local_with(api, |_| {})
}

/// Shorthand: owned bytes.
pub fn b(s: &[u8]) -> Vec<u8> {
    s.to_vec()
}

/// Keys of a scan result.
pub fn keys(pairs: &[txn::KvPair]) -> Vec<Vec<u8>> {
    pairs.iter().map(|p| p.key.clone()).collect()
}

/// Runs `f` on both engines: in memory, then on the local LSM.
#[macro_export]
macro_rules! on_both_engines {
    ($api:expr, $f:ident) => {
        mod engines {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory_engine() {
                let (s, clock) = common::memory($api);
                $f(s, clock).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn local_engine() {
                let l = common::local($api);
                $f(l.storage.clone(), l.clock.clone()).await;
            }
        }
    };
}

/// Asserts a raw storage is usable through the `Engine` trait generically.
pub fn assert_engine<E: Engine>(_: &RawStorage<E>) {}
