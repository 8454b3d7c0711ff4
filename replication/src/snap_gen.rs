//! Snapshot generation off the Raft thread.
//!
//! Exporting a region to table files reads all of its data; done on the Raft thread it would
//! stall every region of the store (missed heartbeats, elections). Instead, when raft-rs asks
//! a leader's storage for a snapshot, the storage captures an LSM snapshot (a consistent view
//! as of the applied index — the Raft thread is the only writer of the KV families and it is
//! between two apply steps), hands it to this worker and answers
//! `SnapshotTemporarilyUnavailable`. raft-rs asks again on the follower's next heartbeat
//! response; by then the [`GenSlot`] usually holds the finished snapshot, which is returned
//! (and reused for other followers while the log still continues from it).
//!
//! One worker thread per [`SnapManager`](crate::snapshot::SnapManager) family of clones,
//! started at the first task; it exits when the last clone is dropped (queue closed) and is
//! joined then.
//!
//! Concurrency contract:
//! - a slot belongs to one peer; its state moves `Idle/Failed/stale Ready → Running` on the
//!   Raft thread (`PeerStorage::snapshot`), `Running → Ready/Failed` on the worker, and
//!   `* → Canceled` on the Raft thread when the peer is destroyed. The worker publishes and
//!   checks for cancellation under the slot's lock, so a canceled peer's files are always
//!   removed by whichever side comes second.
//! - the worker writes only `gen/<its key>/`; older generated directories of the region are
//!   removed on the Raft thread when it first hands out the new snapshot, which keeps
//!   `sending.rs`'s invariant (holds for sending are taken on the Raft thread).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};
use raft::eraftpb::{ConfState, Snapshot};

use crate::engines::Engines;
use crate::region::{Epoch, Region};
use crate::snapshot::{generate_files, SnapKey};

/// Where one peer's snapshot generation stands.
#[derive(Debug, Default)]
pub(crate) enum GenState {
    /// Nothing generated or asked for.
    #[default]
    Idle,
    /// The worker has (or will have) the task.
    Running,
    /// Finished. `handed_out` turns true the first time raft-rs is given it (older
    /// directories of the region are removed then).
    Ready {
        /// The region's epoch in the snapshot: once membership or range changed, a new
        /// peer would find itself missing from it, so it is not handed out any more.
        epoch: Epoch,
        snapshot: Snapshot,
        handed_out: bool,
    },
    /// The export failed (logged by the worker); the next request starts another.
    Failed,
    /// The peer is gone; nothing more is generated for it.
    Canceled,
}

/// One peer's generation state, shared with the worker.
#[derive(Debug, Default)]
pub(crate) struct GenSlot {
    pub(crate) state: Mutex<GenState>,
}

impl GenSlot {
    /// Marks the peer gone: a running export discards its files when it finishes.
    pub(crate) fn cancel(&self) {
        *self.state.lock() = GenState::Canceled;
    }
}

/// What the worker needs to export one snapshot.
pub(crate) struct GenTask {
    pub(crate) engines: Engines,
    pub(crate) region: Region,
    pub(crate) key: SnapKey,
    /// Membership as of `key.index`, for the snapshot's metadata.
    pub(crate) conf_state: ConfState,
    /// The database as of `key.index`.
    pub(crate) view: lsm::Snapshot,
    pub(crate) slot: Arc<GenSlot>,
}

/// The worker thread and its queue.
#[derive(Debug, Default)]
pub(crate) struct Generator {
    queue: Mutex<Option<mpsc::Sender<GenTask>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Tasks queued or running, for [`Generator::wait_idle`].
    busy: Arc<(Mutex<usize>, Condvar)>,
}

impl Generator {
    /// Queues `task`, starting the worker (writing under `dir`) if it is not running.
    /// False if the worker could not be started (the slot is then left as it was).
    pub(crate) fn submit(&self, dir: &Path, task: GenTask) -> bool {
        let mut queue = self.queue.lock();
        if queue.is_none() {
            let (tx, rx) = mpsc::channel();
            let dir = dir.to_path_buf();
            let busy = self.busy.clone();
            let spawned = std::thread::Builder::new()
                .name("snap-gen".into())
                .spawn(move || run(&dir, &rx, &busy));
            match spawned {
                Ok(handle) => {
                    *self.thread.lock() = Some(handle);
                    *queue = Some(tx);
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the snapshot generation thread");
                    return false;
                }
            }
        }
        let Some(tx) = queue.as_ref() else {
            return false;
        };
        *self.busy.0.lock() += 1;
        if tx.send(task).is_err() {
            *self.busy.0.lock() -= 1;
            return false;
        }
        true
    }

    /// Blocks until every queued task has been published. Tests use it to keep
    /// single-threaded scenarios deterministic.
    pub(crate) fn wait_idle(&self) {
        let (count, cv) = &*self.busy;
        let mut n = count.lock();
        while *n > 0 {
            cv.wait(&mut n);
        }
    }
}

impl Drop for Generator {
    fn drop(&mut self) {
        self.queue.lock().take();
        if let Some(handle) = self.thread.lock().take() {
            let _ = handle.join();
        }
    }
}

fn run(dir: &Path, rx: &mpsc::Receiver<GenTask>, busy: &(Mutex<usize>, Condvar)) {
    while let Ok(task) = rx.recv() {
        generate(dir, task);
        let mut n = busy.0.lock();
        *n -= 1;
        busy.1.notify_all();
    }
}

/// Exports one task and publishes the outcome in its slot.
fn generate(dir: &Path, task: GenTask) {
    let GenTask {
        engines,
        region,
        key,
        conf_state,
        view,
        slot,
    } = task;
    let out = key_dir(dir, key);
    if matches!(*slot.state.lock(), GenState::Canceled) {
        return;
    }
    let result = generate_files(&engines, &region, &out, &view);
    drop(view);
    let mut state = slot.state.lock();
    if matches!(*state, GenState::Canceled) {
        drop(state);
        let _ = std::fs::remove_dir_all(&out);
        return;
    }
    *state = match result {
        Ok(data) => {
            let mut snapshot = Snapshot {
                data: data.encode().into(),
                ..Default::default()
            };
            let meta = snapshot.mut_metadata();
            meta.index = key.index;
            meta.term = key.term;
            meta.set_conf_state(conf_state);
            GenState::Ready {
                epoch: region.epoch,
                snapshot,
                handed_out: false,
            }
        }
        Err(e) => {
            tracing::warn!(snapshot = %key, error = %e, "snapshot generation failed; retried on the next request");
            let _ = std::fs::remove_dir_all(&out);
            GenState::Failed
        }
    };
}

/// `gen/<key>` under a snapshot directory.
pub(crate) fn key_dir(dir: &Path, key: SnapKey) -> PathBuf {
    dir.join("gen").join(key.to_string())
}
