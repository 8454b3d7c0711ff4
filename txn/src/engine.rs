//! The `Engine` seam: everything the transaction layer needs of storage — a consistent
//! snapshot to read, and an atomic write of a list of modifications.
//!
//! The local LSM implements it now ([`LocalEngine`]); a Raft-backed engine implements it later
//! (`write` resolves once the batch is applied on the region's leader). Actions and commands
//! use only this trait, so they run unchanged on both, and on [`MemEngine`] in tests.
//!
//! Both methods are async because the Raft-backed engine answers later; the local engine
//! runs its blocking write (group commit, maybe an fsync) on tokio's blocking pool so it
//! never stalls a runtime worker.

use std::future::Future;
use std::sync::Arc;

use mvcc::{LsmEngine, LsmSnapshot, MemEngine, MemSnapshot, Modify, Snapshot};

use crate::error::{Error, Result};

/// Storage as the transaction layer sees it.
///
/// Contract: a snapshot taken after `write` resolved sees the whole batch; a batch is applied
/// atomically (a snapshot sees all of it or none of it).
pub trait Engine: Clone + Send + Sync + 'static {
    /// The snapshot type; it reads through the `mvcc` seam.
    type Snap: Snapshot + Send + Sync + 'static;

    /// A snapshot of the latest state.
    fn snapshot(&self) -> impl Future<Output = Result<Self::Snap>> + Send;

    /// Applies `modifies` as one atomic batch; `sync` makes it durable before resolving.
    fn write(&self, modifies: Vec<Modify>, sync: bool) -> impl Future<Output = Result<()>> + Send;
}

/// The local LSM engine behind the seam.
#[derive(Debug, Clone)]
pub struct LocalEngine {
    engine: Arc<LsmEngine>,
}

impl LocalEngine {
    /// Wraps an opened MVCC engine.
    pub fn new(engine: LsmEngine) -> LocalEngine {
        LocalEngine {
            engine: Arc::new(engine),
        }
    }

    /// The MVCC engine underneath.
    pub fn inner(&self) -> &LsmEngine {
        &self.engine
    }
}

impl Engine for LocalEngine {
    type Snap = LsmSnapshot;

    async fn snapshot(&self) -> Result<LsmSnapshot> {
        // Taking a snapshot loads the published view and registers a sequence number: no I/O.
        Ok(self.engine.snapshot())
    }

    async fn write(&self, modifies: Vec<Modify>, sync: bool) -> Result<()> {
        if modifies.is_empty() {
            return Ok(());
        }
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || engine.write(&modifies, lsm::WriteOptions { sync }))
            .await
            .map_err(|e| Error::Internal(format!("engine write task failed: {e}")))??;
        Ok(())
    }
}

/// The in-memory engine behind the seam, for tests.
#[derive(Debug, Clone, Default)]
pub struct MemoryEngine {
    engine: Arc<MemEngine>,
}

impl MemoryEngine {
    /// An empty engine.
    pub fn new() -> MemoryEngine {
        MemoryEngine::default()
    }
}

impl Engine for MemoryEngine {
    type Snap = MemSnapshot;

    async fn snapshot(&self) -> Result<MemSnapshot> {
        Ok(self.engine.snapshot())
    }

    async fn write(&self, modifies: Vec<Modify>, _sync: bool) -> Result<()> {
        Ok(self.engine.write(modifies)?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use mvcc::{Cf, Key, TimeStamp};

    use super::*;

    async fn write_then_read<E: Engine>(engine: E) {
        let key = Key::from_raw(b"k").append_ts(TimeStamp::new(5));
        let before = engine.snapshot().await.unwrap();
        engine
            .write(
                vec![Modify::Put {
                    cf: Cf::Default,
                    key: key.as_encoded().to_vec(),
                    value: b"v".to_vec(),
                }],
                true,
            )
            .await
            .unwrap();
        let after = engine.snapshot().await.unwrap();
        assert_eq!(
            after
                .get_cf(Cf::Default, key.as_encoded())
                .unwrap()
                .as_deref(),
            Some(&b"v"[..])
        );
        assert_eq!(before.get_cf(Cf::Default, key.as_encoded()).unwrap(), None);
    }

    #[tokio::test]
    async fn memory_engine_snapshots_are_isolated() {
        write_then_read(MemoryEngine::new()).await;
    }

    #[tokio::test]
    async fn local_engine_snapshots_are_isolated() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(lsm::Db::open(dir.path(), lsm::Options::default()).unwrap());
        write_then_read(LocalEngine::new(LsmEngine::new(db).unwrap())).await;
    }
}
