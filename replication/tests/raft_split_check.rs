//! The split checker end to end on three stores, with tiny thresholds: MVCC writes (several
//! versions per user key, part of them flushed to tables) make the leader's worker suggest
//! cuts at user-key boundaries — never between two versions of a key; the test plays PD
//! (picks ids) and applies the suggestion as one BatchSplit: the regions tile the old range,
//! each serves its own data, and the old epoch is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::Duration;

use mvcc::{Cf, Key, Modify, Snapshot as _, TimeStamp, Write, WriteType};
use replication::{
    Error, Request, SplitConfig, SplitRequest, SplitSuggestion, StoreConfig, StoreMsg,
};

const KEYS: usize = 100;
const VERSIONS: u64 = 4;

fn config(store_id: u64) -> StoreConfig {
    let mut c = StoreConfig::new(store_id);
    c.split_check_tick_interval = 1;
    c.split = SplitConfig {
        region_max_size: 24 << 10,
        region_split_size: 12 << 10,
        region_max_keys: u64::MAX,
        region_split_keys: u64::MAX,
        batch_split_limit: 10,
        split_check_diff: 1,
    };
    c
}

/// Keys spread over the key space: neighbours differ early, so the tables' index holds
/// shortened separators that are no stored key (a cut must never be one).
fn user_key(i: usize) -> Vec<u8> {
    format!(
        "{:016x}",
        (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
    .into_bytes()
}

fn start_ts(version: u64) -> TimeStamp {
    TimeStamp::new(10 * version + 1)
}

fn commit_ts(version: u64) -> TimeStamp {
    TimeStamp::new(10 * version + 2)
}

/// A value that does not compress (so tables weigh what the memtable did).
fn value(i: usize, version: u64) -> Vec<u8> {
    let mut x = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ version;
    (0..100)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// One committed version of a key: its value in `default`, its record in `write`.
fn commit_version(c: &mut common::Cluster, leader: u64, i: usize, version: u64) {
    let key = Key::from_raw(&user_key(i));
    let modifies = vec![
        Modify::Put {
            cf: Cf::Default,
            key: key.clone().append_ts(start_ts(version)).into_encoded(),
            value: value(i, version),
        },
        Modify::Put {
            cf: Cf::Write,
            key: key.append_ts(commit_ts(version)).into_encoded(),
            value: Write::new(WriteType::Put, start_ts(version), None).to_bytes(),
        },
    ];
    let epoch = c.epoch(leader, 1);
    c.call(leader, |cb| StoreMsg::Propose {
        region_id: 1,
        epoch,
        request: Request::Write(modifies),
        cb,
    })
    .unwrap()
    .unwrap();
}

#[test]
fn checker_suggests_user_key_cuts_and_the_batch_split_applies() {
    let mut c = common::Cluster::with_config(3, 3, 11, config);
    let leader = c.wait_leader(1);
    for version in 1..=VERSIONS {
        for i in 0..KEYS {
            commit_version(&mut c, leader, i, version);
        }
        if version == 2 {
            for s in 1..=3 {
                c.store(s).engines().db.flush().unwrap();
            }
        }
    }

    // The observer is set only now, so exactly one check runs: at the next tick.
    let (tx, rx) = mpsc::channel::<SplitSuggestion>();
    c.store(leader)
        .set_split_observer(Box::new(move |s| {
            let _ = tx.send(s);
        }))
        .unwrap();
    c.run(1);
    let suggestion = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    let old = c.epoch(leader, 1);
    assert_eq!((suggestion.region_id, suggestion.epoch), (1, old));
    assert!(suggestion.stats.bytes >= 24 << 10, "{:?}", suggestion.stats);

    // Cuts are whole encoded user keys, ascending, and split no key's versions.
    let users: BTreeSet<Vec<u8>> = (0..KEYS)
        .map(|i| Key::from_raw(&user_key(i)).into_encoded())
        .collect();
    let cuts = suggestion.split_keys.clone();
    assert!((2..=6).contains(&cuts.len()), "{cuts:02x?}");
    assert!(cuts.windows(2).all(|w| w[0] < w[1]));
    for cut in &cuts {
        assert!(users.contains(cut), "{cut:02x?} is not a user key");
        assert_ne!(
            cut,
            users.first().unwrap(),
            "a cut at the first key leaves nothing left"
        );
        for i in 0..KEYS {
            let user = Key::from_raw(&user_key(i));
            let sides: BTreeSet<bool> = (1..=VERSIONS)
                .flat_map(|v| {
                    [
                        user.clone().append_ts(start_ts(v)).into_encoded(),
                        user.clone().append_ts(commit_ts(v)).into_encoded(),
                    ]
                })
                .map(|stored| stored >= *cut)
                .collect();
            assert_eq!(
                sides.len(),
                1,
                "versions of key {i} on both sides of {cut:02x?}"
            );
        }
    }

    // Play PD: ids for the new regions and peers, then one BatchSplit.
    let splits: Vec<SplitRequest> = cuts
        .iter()
        .enumerate()
        .map(|(n, key)| {
            let id = 10 + n as u64;
            SplitRequest {
                split_key: key.clone(),
                new_region_id: id,
                new_peer_ids: (1..=3).map(|s| id * 100 + s).collect(),
            }
        })
        .collect();
    let request = Request::BatchSplit { splits };
    c.call(leader, |cb| StoreMsg::Propose {
        region_id: 1,
        epoch: suggestion.epoch,
        request,
        cb,
    })
    .unwrap()
    .unwrap();
    c.run(10);

    for s in 1..=3 {
        let regions: Vec<_> = c
            .store(s)
            .meta()
            .all()
            .into_iter()
            .map(|i| i.region)
            .collect();
        assert_eq!(regions.len(), cuts.len() + 1, "store {s}");
        let starts: Vec<&[u8]> = regions.iter().map(|r| r.start_key.as_slice()).collect();
        let ends: Vec<&[u8]> = regions.iter().map(|r| r.end_key.as_slice()).collect();
        let mut expected_starts = vec![&b""[..]];
        expected_starts.extend(cuts.iter().map(Vec::as_slice));
        let mut expected_ends: Vec<&[u8]> = cuts.iter().map(Vec::as_slice).collect();
        expected_ends.push(b"");
        assert_eq!((starts, ends), (expected_starts, expected_ends));
        for r in &regions {
            assert_eq!(r.epoch.version, old.version + cuts.len() as u64);
        }
    }

    // Each region serves its own keys, every version.
    for info in c.store(leader).meta().all() {
        let region = info.region;
        let at = c.wait_leader(region.id);
        let epoch = c.epoch(at, region.id);
        let snap = c
            .call(at, |cb| StoreMsg::Read {
                region_id: region.id,
                epoch,
                cb,
            })
            .unwrap()
            .unwrap();
        let mine: Vec<usize> = (0..KEYS)
            .filter(|&i| region.contains(Key::from_raw(&user_key(i)).as_encoded()))
            .collect();
        assert!(!mine.is_empty(), "region {} holds no key", region.id);
        for &i in &mine {
            for v in 1..=VERSIONS {
                let key = Key::from_raw(&user_key(i));
                let data = key.clone().append_ts(start_ts(v)).into_encoded();
                assert_eq!(
                    snap.get_cf(Cf::Default, &data).unwrap().unwrap(),
                    value(i, v)
                );
                let record = key.append_ts(commit_ts(v)).into_encoded();
                assert!(snap.get_cf(Cf::Write, &record).unwrap().is_some());
            }
        }
    }

    // The epoch before the split is refused, with the current region.
    let stale_read = c.call(leader, |cb| StoreMsg::Read {
        region_id: 1,
        epoch: old,
        cb,
    });
    assert!(
        matches!(stale_read, Some(Err(Error::EpochNotMatch { .. }))),
        "{:?}",
        stale_read.map(|r| r.map(|_| ()))
    );
    let stale_write = c
        .call(leader, |cb| StoreMsg::Propose {
            region_id: 1,
            epoch: old,
            request: Request::Write(vec![Modify::Put {
                cf: Cf::Raw,
                key: b"late".to_vec(),
                value: b"x".to_vec(),
            }]),
            cb,
        })
        .unwrap();
    match stale_write {
        Err(Error::EpochNotMatch { current, .. }) => assert_eq!(current[0].end_key, cuts[0]),
        other => panic!("{other:?}"),
    }
}
