//! The Raft thread: owns a [`Store`], takes requests from its inbox, ticks it on a timer and
//! runs a Ready round whenever something happened. The node's other threads hold a
//! [`StoreHandle`].
//!
//! A round runs after each batch of inbox messages, so proposals arriving together share
//! one fsync. A fatal store error (a failed fsync) stops the thread; every later request is
//! answered `Stopped`.
//!
//! Lifetime: the thread ends on [`StoreHandle::stop`] (messages queued behind it are failed
//! as `Stopped`), or once no [`StoreHandle`] exists. What the store itself owns (its
//! transport) holds a [`WeakStoreHandle`] instead, so it can report back (snapshot outcomes,
//! unreachable peers) without keeping its own store alive: the thread notices within a tick
//! that the last strong handle is gone.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::msg::StoreMsg;
use crate::store::Store;

/// Most inbox messages handled before a Ready round (bounds a round's latency).
const MAX_BATCH: usize = 1024;

/// Sends requests to a running store. Dropping every handle stops the thread.
#[derive(Debug, Clone)]
pub struct StoreHandle {
    tx: mpsc::Sender<StoreMsg>,
    /// Counted by the Raft thread: no strong handle left means stop.
    live: Arc<()>,
}

impl StoreHandle {
    /// Queues `msg`.
    ///
    /// # Errors
    /// `Stopped` if the Raft thread has exited (its callback is dropped unanswered, which
    /// the awaiting side sees as `Stopped` too).
    pub fn send(&self, msg: StoreMsg) -> Result<()> {
        self.tx.send(msg).map_err(|_| Error::Stopped)
    }

    /// Asks the Raft thread to stop (join its `JoinHandle` to wait). Needed because
    /// handles can be held in cycles (a transport reporting back to its own store).
    pub fn stop(&self) {
        let _ = self.tx.send(StoreMsg::Stop);
    }

    /// A handle that does not keep the thread running (for what the store owns).
    pub fn downgrade(&self) -> WeakStoreHandle {
        WeakStoreHandle {
            tx: self.tx.clone(),
            live: Arc::downgrade(&self.live),
        }
    }
}

/// Sends requests to a store without keeping its thread alive.
#[derive(Debug, Clone)]
pub struct WeakStoreHandle {
    tx: mpsc::Sender<StoreMsg>,
    live: Weak<()>,
}

impl WeakStoreHandle {
    /// Queues `msg` if the store still has a strong handle.
    ///
    /// # Errors
    /// `Stopped` once every [`StoreHandle`] is gone or the thread has exited.
    pub fn send(&self, msg: StoreMsg) -> Result<()> {
        if self.live.strong_count() == 0 {
            return Err(Error::Stopped);
        }
        self.tx.send(msg).map_err(|_| Error::Stopped)
    }
}

/// The receiving end of a store's requests, made before the store exists so that what the
/// store is built with (its transport) can hold a [`WeakStoreHandle`] to it.
#[derive(Debug)]
pub struct Inbox {
    rx: mpsc::Receiver<StoreMsg>,
    live: Weak<()>,
}

/// A new inbox and the handle that feeds it.
pub fn inbox() -> (StoreHandle, Inbox) {
    let (tx, rx) = mpsc::channel();
    let live = Arc::new(());
    let inbox = Inbox {
        rx,
        live: Arc::downgrade(&live),
    };
    (StoreHandle { tx, live }, inbox)
}

/// Starts the Raft thread for `store`, ticking every `tick`.
///
/// # Errors
/// If the thread cannot be spawned.
pub fn spawn(store: Store, tick: Duration) -> Result<(StoreHandle, JoinHandle<()>)> {
    let (handle, inbox) = inbox();
    let thread = spawn_with(store, inbox, tick)?;
    Ok((handle, thread))
}

/// Starts the Raft thread for `store` on an inbox made earlier with [`inbox`].
///
/// # Errors
/// If the thread cannot be spawned.
pub fn spawn_with(mut store: Store, inbox: Inbox, tick: Duration) -> Result<JoinHandle<()>> {
    let name = format!("raftstore-{}", store.store_id());
    let thread = std::thread::Builder::new().name(name).spawn(move || {
        let mut next_tick = Instant::now() + tick;
        loop {
            // A round first: what opening the store started (a sole replica's campaign)
            // must not wait for a message or a tick.
            if let Err(e) = store.on_ready() {
                tracing::error!(store = store.store_id(), error = %e, "raft store stopped");
                break;
            }
            let wait = next_tick.saturating_duration_since(Instant::now());
            match inbox.rx.recv_timeout(wait) {
                Ok(msg) => {
                    let mut stop = matches!(msg, StoreMsg::Stop);
                    store.handle(msg);
                    for msg in inbox.rx.try_iter().take(MAX_BATCH) {
                        stop |= matches!(msg, StoreMsg::Stop);
                        store.handle(msg);
                    }
                    if stop {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if inbox.live.strong_count() == 0 {
                break;
            }
            if Instant::now() >= next_tick {
                store.tick();
                next_tick += tick;
            }
        }
        store.stop();
    })?;
    Ok(thread)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;
    use crate::engines::Engines;
    use crate::keyspace::KeySpace;
    use crate::msg::StoreConfig;
    use crate::snapshot::SnapManager;
    use crate::transport::ChannelNetwork;

    #[test]
    fn a_weak_handle_does_not_keep_the_thread_running() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(lsm::Db::open(dir.path().join("db"), lsm::Options::default()).unwrap());
        let engines = Engines::new(db, KeySpace::default()).unwrap();
        let store = Store::open(
            StoreConfig::new(1),
            engines,
            SnapManager::new(dir.path().join("snap")),
            Arc::new(ChannelNetwork::new(1)),
            slog::Logger::root(slog::Discard, slog::o!()),
        )
        .unwrap();
        let (handle, inbox) = inbox();
        let weak = handle.downgrade();
        let thread = spawn_with(store, inbox, Duration::from_millis(5)).unwrap();
        weak.send(StoreMsg::Campaign { region_id: 9 }).unwrap();

        drop(handle);
        // A hang guard, not a speed bound: the thread stops within a tick.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            thread.is_finished(),
            "the weak handle kept the store running"
        );
        thread.join().unwrap();
        assert!(matches!(
            weak.send(StoreMsg::Campaign { region_id: 9 }),
            Err(Error::Stopped)
        ));
    }
}
