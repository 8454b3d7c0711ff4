//! Splitting repeatedly under writes, on three stores: each round writes raw keys through
//! the region that holds them, then checks every region (`check_split` on its leader, as the
//! worker would) and proposes each suggested BatchSplit with writes queued right behind it
//! under the same epoch (refused once the split applies, or accepted before it). Whatever
//! was acknowledged must read back, at the end, through the region that now holds its key;
//! the regions must tile the key space on every store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use mvcc::{Cf, Modify};
use parking_lot::Mutex;
use replication::{check_split, Request, SplitConfig, SplitRequest, StoreConfig, StoreMsg};

const ROUNDS: usize = 12;
/// The first round writes a burst, cut several times at once; later rounds keep writing.
const FIRST_ROUND_WRITES: usize = 400;
const WRITES_PER_ROUND: usize = 60;

fn config(store_id: u64) -> StoreConfig {
    let mut c = StoreConfig::new(store_id);
    c.split = SplitConfig {
        region_max_size: 24 << 10,
        region_split_size: 8 << 10,
        region_max_keys: u64::MAX,
        region_split_keys: u64::MAX,
        // Small batches: a big region takes several rounds of splits.
        batch_split_limit: 2,
        split_check_diff: 1,
    };
    c
}

/// Keys spread over the key space, deterministic.
struct Keys(u64);

impl Keys {
    fn next(&mut self) -> Vec<u8> {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        format!("k{:06}", self.0 % 1_000_000).into_bytes()
    }
}

/// What became of the puts: acknowledged ones, and how many were refused for their epoch.
#[derive(Default)]
struct Outcomes {
    acked: Vec<(Vec<u8>, Vec<u8>)>,
    epoch_refused: usize,
    splits_applied: usize,
}

type Acks = Arc<Mutex<Outcomes>>;

/// Proposes a raw put of `key` to `region_id` under `epoch`, without waiting.
fn put_behind(
    c: &mut common::Cluster,
    region_id: u64,
    epoch: replication::Epoch,
    key: Vec<u8>,
    acks: &Acks,
) {
    let Some(leader) = c.leader(region_id) else {
        return;
    };
    let value = [key.as_slice(), &[b'.'; 100]].concat();
    let acks = acks.clone();
    let (k, v) = (key.clone(), value.clone());
    c.store(leader).handle(StoreMsg::Propose {
        region_id,
        epoch,
        request: Request::Write(vec![Modify::Put {
            cf: Cf::Raw,
            key,
            value,
        }]),
        cb: Box::new(move |r| match r {
            Ok(()) => acks.lock().acked.push((k, v)),
            Err(replication::Error::EpochNotMatch { .. }) => acks.lock().epoch_refused += 1,
            Err(_) => {}
        }),
    });
}

#[test]
fn acknowledged_writes_survive_repeated_splits() {
    let mut c = common::Cluster::with_config(3, 3, 5, config);
    c.wait_leader(1);
    let acks: Acks = Arc::default();
    let mut keys = Keys(0x2545_f491_4f6c_dd1d);
    let mut next_region = 100u64;
    let mut most_cuts = 0;
    for round in 0..ROUNDS {
        let writes = if round == 0 {
            FIRST_ROUND_WRITES
        } else {
            WRITES_PER_ROUND
        };
        for _ in 0..writes {
            let key = keys.next();
            let info = c.store(1).meta().find(&key).unwrap();
            put_behind(&mut c, info.region.id, info.region.epoch, key, &acks);
        }
        c.run(2);
        for info in c.store(1).meta().all() {
            let Some(leader) = c.leader(info.region.id) else {
                continue;
            };
            let Some(region) = c.store(leader).meta().get(info.region.id) else {
                continue;
            };
            let engines = c.store(leader).engines().clone();
            let Some(s) = check_split(&engines, &config(leader).split, &region.region).unwrap()
            else {
                continue;
            };
            most_cuts = most_cuts.max(s.split_keys.len());
            let splits = s
                .split_keys
                .iter()
                .map(|key| {
                    next_region += 1;
                    SplitRequest {
                        split_key: key.clone(),
                        new_region_id: next_region,
                        new_peer_ids: (1..=3).map(|s| next_region * 10 + s).collect(),
                    }
                })
                .collect();
            c.store(leader).handle(StoreMsg::Propose {
                region_id: s.region_id,
                epoch: s.epoch,
                request: Request::BatchSplit { splits },
                cb: {
                    let acks = acks.clone();
                    Box::new(move |r| {
                        r.unwrap();
                        acks.lock().splits_applied += 1;
                    })
                },
            });
            // Writes right behind the split, under the epoch it ends: refused at apply.
            for _ in 0..3 {
                let key = keys.next();
                if region.region.contains(&key) {
                    put_behind(&mut c, s.region_id, s.epoch, key, &acks);
                }
            }
            c.run(3);
        }
    }
    c.run(20);

    let regions: Vec<_> = c.store(1).meta().all();
    assert!(regions.len() >= 6, "only {} regions", regions.len());
    assert!(most_cuts >= 2, "no split of several cuts");
    assert!(
        acks.lock().splits_applied >= 4,
        "{} splits",
        acks.lock().splits_applied
    );
    assert!(
        acks.lock().epoch_refused > 0,
        "no write was refused behind a split"
    );
    for s in 1..=3 {
        let all: Vec<_> = c
            .store(s)
            .meta()
            .all()
            .into_iter()
            .map(|i| i.region)
            .collect();
        assert_eq!(all.len(), regions.len(), "store {s}");
        assert!(all.first().unwrap().start_key.is_empty());
        assert!(all.last().unwrap().end_key.is_empty());
        for w in all.windows(2) {
            assert_eq!(
                w[0].end_key, w[1].start_key,
                "store {s}: a gap or an overlap"
            );
        }
    }
    // A key's value is a function of the key: a key written twice has one value.
    let acked: BTreeMap<Vec<u8>, Vec<u8>> = acks.lock().acked.iter().cloned().collect();
    assert!(
        acked.len() > ROUNDS * WRITES_PER_ROUND / 2,
        "{} acknowledged",
        acked.len()
    );
    for (key, value) in &acked {
        let region = c.store(1).meta().find(key).unwrap().region;
        let leader = c.wait_leader(region.id);
        assert_eq!(
            c.get(leader, region.id, key).unwrap().as_ref(),
            Some(value),
            "{} in region {}",
            String::from_utf8_lossy(key),
            region.id
        );
    }
}
