//! Four writers insert disjoint batches into one memtable while readers scan it and look keys
//! up. Every scan must be sorted; afterwards every entry is present exactly once, in order, and
//! readable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;
use std::thread;

use lsm::key::{InternalKeyComparator, ParsedKey, ValueKind};
use lsm::{MemTable, MemValue, WriteBatch};
use sstable::Comparator;

const WRITERS: u8 = 4;
const BATCHES_PER_WRITER: u64 = 500;
const OPS_PER_BATCH: u64 = 8;

/// Writer `w`'s key `i`: interleaves with the other writers' keys in the sort order.
fn key(w: u8, i: u64) -> Vec<u8> {
    format!("{:06}-{w}", i * 7919 % 100_003).into_bytes()
}

#[test]
fn concurrent_writers_and_readers() {
    let mem = Arc::new(MemTable::new());
    let next_seq = Arc::new(AtomicU64::new(1));
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (mem, done) = (Arc::clone(&mem), Arc::clone(&done));
            thread::spawn(move || {
                let mut scans = 0u64;
                while !done.load(AtomicOrdering::Acquire) || scans < 3 {
                    let mut it = mem.iter();
                    let mut prev: Option<Vec<u8>> = None;
                    if r == 0 {
                        it.seek_to_first();
                    } else {
                        it.seek_to_last();
                    }
                    while it.valid() {
                        let k = it.key().to_vec();
                        if let Some(p) = &prev {
                            let want = if r == 0 {
                                Ordering::Less
                            } else {
                                Ordering::Greater
                            };
                            assert_eq!(InternalKeyComparator.compare(p, &k), want);
                        }
                        prev = Some(k);
                        if r == 0 {
                            it.next()
                        } else {
                            it.prev()
                        }
                    }
                    // Lookups during writes see either nothing or the full value.
                    if let Some(MemValue::Put { value, .. }) = mem.get(1, &key(1, 3), u64::MAX) {
                        assert_eq!(&value[..], &key(1, 3)[..]);
                    }
                    scans += 1;
                }
                scans
            })
        })
        .collect();

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (mem, next_seq) = (Arc::clone(&mem), Arc::clone(&next_seq));
            thread::spawn(move || {
                let mut batch = WriteBatch::new();
                for b in 0..BATCHES_PER_WRITER {
                    batch.clear();
                    for i in b * OPS_PER_BATCH..(b + 1) * OPS_PER_BATCH {
                        let k = key(w, i);
                        batch.put(w % 2, &k, &k);
                    }
                    let first = next_seq.fetch_add(OPS_PER_BATCH, AtomicOrdering::Relaxed);
                    mem.insert_batch(&batch, first).unwrap();
                }
            })
        })
        .collect();

    for w in writers {
        w.join().unwrap();
    }
    done.store(true, AtomicOrdering::Release);
    for r in readers {
        assert!(r.join().unwrap() >= 3);
    }

    let total = u64::from(WRITERS) * BATCHES_PER_WRITER * OPS_PER_BATCH;
    assert_eq!(mem.len() as u64, total);
    assert_eq!((mem.min_seq(), mem.max_seq()), (Some(1), Some(total)));

    let mut it = mem.iter();
    it.seek_to_first();
    let (mut seen, mut seqs, mut prev) = (HashSet::new(), HashSet::new(), None::<Vec<u8>>);
    while it.valid() {
        let k = it.key().to_vec();
        if let Some(p) = &prev {
            assert_eq!(InternalKeyComparator.compare(p, &k), Ordering::Less);
        }
        let parsed = ParsedKey::parse(&k).unwrap();
        assert_eq!(parsed.kind, ValueKind::Put);
        assert_eq!(it.value(), parsed.user_key);
        assert!(
            seen.insert((parsed.cf, parsed.user_key.to_vec())),
            "duplicate entry"
        );
        assert!(seqs.insert(parsed.seq), "duplicate sequence number");
        prev = Some(k);
        it.next();
    }
    assert_eq!(seen.len() as u64, total);
    for w in 0..WRITERS {
        for i in 0..BATCHES_PER_WRITER * OPS_PER_BATCH {
            let k = key(w, i);
            match mem.get(w % 2, &k, u64::MAX) {
                Some(MemValue::Put { value, .. }) => assert_eq!(&value[..], &k[..]),
                other => panic!("writer {w} key {i}: {other:?}"),
            }
        }
    }
}
