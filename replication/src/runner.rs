//! The Raft thread: owns a [`Store`], takes requests from its inbox, ticks it on a timer and
//! runs a Ready round whenever something happened. The node's other threads hold a
//! [`StoreHandle`].
//!
//! A round runs after each batch of inbox messages, so proposals arriving together share
//! one fsync. The thread ends on [`StoreHandle::stop`] or when every handle is dropped;
//! messages queued behind a stop are failed as `Stopped`. A fatal store error (a failed fsync) stops the thread; every later request
//! is answered `Stopped`.

use std::sync::mpsc::{self, RecvTimeoutError};
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
}

/// Starts the Raft thread for `store`, ticking every `tick`.
///
/// # Errors
/// If the thread cannot be spawned.
pub fn spawn(mut store: Store, tick: Duration) -> Result<(StoreHandle, JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel::<StoreMsg>();
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
            match rx.recv_timeout(wait) {
                Ok(msg) => {
                    let mut stop = matches!(msg, StoreMsg::Stop);
                    store.handle(msg);
                    for msg in rx.try_iter().take(MAX_BATCH) {
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
            if Instant::now() >= next_tick {
                store.tick();
                next_tick += tick;
            }
        }
        store.stop();
    })?;
    Ok((StoreHandle { tx }, thread))
}
