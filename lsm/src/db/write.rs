//! The write path: group commit.
//!
//! Writers queue up; the one at the front becomes the leader, takes the writes queued behind
//! it (up to a size limit), makes room in the memtable (switching it, or waiting for flushes
//! and compactions when the tree is behind), assigns sequence numbers, appends every batch to
//! the WAL with one `write` — and one `fdatasync` if any writer asked for sync — inserts them
//! into the memtable, publishes the new visible sequence number and wakes the followers.
//! A sync write returns only once its data is durable.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, MutexGuard};

use super::{DbInner, Immutable, State, WalState, WriteOptions};
use crate::error::{Error, Result};
use crate::filename;
use crate::key::MAX_SEQ;
use crate::memtable::MemTable;
use crate::WriteBatch;

/// One writer waiting in the queue.
#[derive(Debug)]
pub(super) struct PendingWrite {
    batch: Mutex<Option<WriteBatch>>,
    sync: bool,
    size: usize,
    /// Set by the leader that committed this write.
    result: Mutex<Option<Result<()>>>,
}

pub(super) fn write(inner: &DbInner, options: WriteOptions, batch: WriteBatch) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let me = Arc::new(PendingWrite {
        size: batch.approximate_size(),
        batch: Mutex::new(Some(batch)),
        sync: options.sync,
        result: Mutex::new(None),
    });
    let mut queue = inner.queue.lock();
    queue.push_back(me.clone());
    loop {
        if let Some(r) = me.result.lock().take() {
            return r;
        }
        if queue.front().is_some_and(|f| Arc::ptr_eq(f, &me)) {
            break;
        }
        inner.queue_cv.wait(&mut queue);
    }
    // Leader: take the group (the leader first), leaving it queued until committed so that
    // later writers keep waiting behind it.
    let mut group = Vec::new();
    let mut bytes = 0;
    for w in queue.iter() {
        if !group.is_empty() && bytes + w.size > inner.options.max_write_group_bytes {
            break;
        }
        bytes += w.size;
        group.push(w.clone());
    }
    drop(queue);

    let result = commit_group(inner, &group);
    let mut queue = inner.queue.lock();
    for w in &group {
        queue.pop_front();
        if !Arc::ptr_eq(w, &me) {
            *w.result.lock() = Some(clone_result(&result));
        }
    }
    inner.queue_cv.notify_all();
    result
}

fn clone_result(r: &Result<()>) -> Result<()> {
    match r {
        Ok(()) => Ok(()),
        Err(e) => Err(Error::Background(e.to_string())),
    }
}

fn commit_group(inner: &DbInner, group: &[Arc<PendingWrite>]) -> Result<()> {
    let mut batches: Vec<WriteBatch> = group.iter().filter_map(|w| w.batch.lock().take()).collect();
    let count: u64 = batches.iter().map(|b| b.len() as u64).sum();
    let sync = group.iter().any(|w| w.sync);
    let (mem, first_seq) = {
        let mut state = inner.state.lock();
        make_room(inner, &mut state)?;
        let first = state.last_seq + 1;
        if first.saturating_add(count) > MAX_SEQ {
            return Err(Error::InvalidArgument("sequence numbers exhausted".into()));
        }
        state.last_seq += count;
        (state.mem.clone(), first)
    };
    // Only the leader touches the WAL, so this lock never waits.
    let mut wal = inner.wal.lock();
    let mut seq = first_seq;
    let mut logged = Ok(());
    let mut wal_bytes = 0u64;
    for b in &mut batches {
        b.set_sequence(seq);
        seq += b.len() as u64;
        wal_bytes += b.data().len() as u64;
        if let Err(e) = wal.writer.add_record(b.data()) {
            logged = Err(e);
            break;
        }
    }
    let logged = logged.and_then(|_| {
        if sync {
            wal.writer.sync()
        } else {
            wal.writer.flush()
        }
    });
    drop(wal);
    if let Err(e) = logged {
        let msg = format!("WAL write failed: {e}");
        inner.state.lock().bg_error = Some(msg.clone());
        inner.state_cv.notify_all();
        return Err(Error::Background(msg));
    }
    let mut seq = first_seq;
    for b in &batches {
        mem.insert_batch(b, seq)?;
        seq += b.len() as u64;
    }
    inner
        .visible_seq
        .store(first_seq + count - 1, Ordering::Release);
    let mut state = inner.state.lock();
    state.stats.wal_bytes += wal_bytes;
    state.stats.user_bytes += batches
        .iter()
        .map(|b| b.approximate_size() as u64)
        .sum::<u64>();
    state.stats.writes += batches.len() as u64;
    Ok(())
}

/// Ensures the memtable has room: delays or waits while the tree is behind, and switches to a
/// new memtable and WAL when the current one is full. Called by the leader only.
fn make_room(inner: &DbInner, state: &mut MutexGuard<'_, State>) -> Result<()> {
    let mut slowed = false;
    loop {
        if let Some(e) = &state.bg_error {
            return Err(Error::Background(e.clone()));
        }
        let version = state.versions.current();
        let l0 = version.files(0).len();
        let pending =
            crate::compaction::pending_compaction_bytes(&version, &inner.options.compaction);
        if l0 >= inner.options.l0_stop_trigger
            || pending >= inner.options.hard_pending_compaction_bytes
        {
            let start = Instant::now();
            inner.state_cv.wait_for(state, Duration::from_millis(100));
            state.stats.stall_micros += super::work::micros_since(start);
            state.stats.stalls += 1;
            continue;
        }
        let behind = l0 >= inner.options.l0_slowdown_trigger
            || pending >= inner.options.soft_pending_compaction_bytes;
        if behind && !slowed {
            slowed = true;
            let start = Instant::now();
            MutexGuard::unlocked(state, || std::thread::sleep(Duration::from_millis(1)));
            state.stats.stall_micros += super::work::micros_since(start);
            state.stats.slowdowns += 1;
            continue;
        }
        if state.mem.approximate_memory_usage() < inner.options.write_buffer_size {
            return Ok(());
        }
        if state.imm.len() >= inner.options.max_immutable_memtables {
            let start = Instant::now();
            inner.state_cv.wait_for(state, Duration::from_millis(100));
            state.stats.stall_micros += super::work::micros_since(start);
            state.stats.stalls += 1;
            continue;
        }
        switch_memtable(inner, state)?;
    }
}

/// Makes the memtable immutable and starts a new one with a new WAL.
pub(super) fn switch_memtable(inner: &DbInner, state: &mut State) -> Result<()> {
    let number = state.versions.new_file_number();
    let path = filename::wal(&inner.dir, number);
    let file = inner
        .options
        .fs
        .create(&path)
        .map_err(|e| Error::io(&path, e))?;
    inner
        .options
        .fs
        .sync_dir(&inner.dir)
        .map_err(|e| Error::io(&inner.dir, e))?;
    let mut wal = inner.wal.lock();
    // Sync the old WAL before any write goes to the new one: otherwise a later sync write in
    // the new WAL could be durable while earlier writes in the old one are lost, and recovery
    // would see a history with a hole.
    if let Err(e) = wal.writer.sync() {
        let msg = format!("WAL sync failed at memtable switch: {e}");
        state.bg_error = Some(msg.clone());
        inner.state_cv.notify_all();
        return Err(Error::Background(msg));
    }
    *wal = WalState {
        writer: wal::Writer::new(file),
    };
    drop(wal);
    let old = std::mem::replace(&mut state.mem, Arc::new(MemTable::new()));
    let old_wal = std::mem::replace(&mut state.mem_wal, number);
    state.imm.push_back(Immutable {
        mem: old,
        wal_number: old_wal,
    });
    inner.publish_view(state);
    inner.state_cv.notify_all();
    Ok(())
}
