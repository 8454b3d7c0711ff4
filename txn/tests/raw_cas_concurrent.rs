//! Concurrent compare-and-swap: many tasks increment one counter by CAS (read, then swap old
//! for old + 1, retrying on failure) on a multi-threaded runtime. The latch makes each CAS
//! atomic, so the counter ends at exactly the number of successful swaps — no increment is
//! lost and none is counted twice. Plain puts of other keys run meanwhile and never wait.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::b;
use txn::{ApiVersion, Engine, ManualClock, RawStorage};

const TASKS: u64 = 8;
const INCREMENTS: u64 = 25;

async fn counter<E: Engine>(s: RawStorage<E>, _clock: ManualClock) {
    let key = b(b"counter");
    let created = s
        .compare_and_swap(key.clone(), None, 0u64.to_be_bytes().to_vec(), 0)
        .await
        .unwrap();
    assert!(created.succeed);
    let successes = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let (s, key, successes, failures) =
            (s.clone(), key.clone(), successes.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            while done < INCREMENTS {
                let current = s.get(&key).await.unwrap().unwrap();
                let n = u64::from_be_bytes(current.as_slice().try_into().unwrap());
                let r = s
                    .compare_and_swap(
                        key.clone(),
                        Some(current),
                        (n + 1).to_be_bytes().to_vec(),
                        0,
                    )
                    .await
                    .unwrap();
                if r.succeed {
                    done += 1;
                    successes.fetch_add(1, Ordering::SeqCst);
                } else {
                    failures.fetch_add(1, Ordering::SeqCst);
                    // The previous value it returns is what the key held at the CAS.
                    assert!(r.previous_value.is_some());
                }
                // Unrelated writes interleave freely.
                s.put(format!("other{t}").into_bytes(), b(b"x"), 0)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let total = successes.load(Ordering::SeqCst);
    assert_eq!(total, TASKS * INCREMENTS);
    let end = s.get(&key).await.unwrap().unwrap();
    assert_eq!(
        u64::from_be_bytes(end.as_slice().try_into().unwrap()),
        total
    );
    // Contention happened (otherwise the test proves little); reported, not required.
    eprintln!(
        "cas: {total} successes, {} retries",
        failures.load(Ordering::SeqCst)
    );
}

on_both_engines!(ApiVersion::V1, counter);
