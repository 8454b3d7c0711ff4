//! Power loss at random moments, with the fault-injecting file system: unsynced data is
//! dropped (or partly kept, or torn) while writes, flushes and compactions are in flight.
//! After every crash the database must open, and what it holds must be exactly the state after
//! some prefix of the writes — a prefix that contains every acknowledged sync write.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use lsm::fs::{CrashMode, MemFs};
use lsm::{Db, Options, WriteBatch, WriteOptions};

const ROUNDS: u64 = 240;
const KEYS: u64 = 40;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn options(fs: &MemFs) -> Options {
    let mut o = Options {
        fs: Arc::new(fs.clone()),
        write_buffer_size: 4 << 10,
        ..Options::default()
    };
    o.compaction.l0_trigger = 2;
    o.compaction.base_level_bytes = 8 << 10;
    o.compaction.target_file_size = 4 << 10;
    o.table.block_size = 256;
    o
}

/// One write: a key and the value it gets (None = delete), and whether it was synced.
type Write = (u64, Option<u64>, bool);

fn state_after(writes: &[Write], n: usize) -> BTreeMap<u64, u64> {
    let mut m = BTreeMap::new();
    for (k, v, _) in &writes[..n] {
        match v {
            Some(v) => m.insert(*k, *v),
            None => m.remove(k),
        };
    }
    m
}

#[test]
fn recovery_after_power_loss_is_a_prefix_holding_every_synced_write() {
    for round in 0..ROUNDS {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (round + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
        let fs = MemFs::new();
        let dir = Path::new("/db");
        let db = Db::open(dir, options(&fs)).unwrap();
        let total = 40 + rng.next() % 160;
        let crash_after = rng.next() % total;
        let mut writes: Vec<Write> = Vec::new();
        for i in 0..=crash_after {
            let key = rng.next() % KEYS;
            let value = (!rng.next().is_multiple_of(10)).then_some(i);
            let sync = rng.next().is_multiple_of(4);
            let mut batch = WriteBatch::new();
            match value {
                // Values big enough that a few dozen writes fill a memtable.
                Some(v) => batch.put(
                    0,
                    &key.to_be_bytes(),
                    &[&v.to_be_bytes()[..], &[0u8; 120]].concat(),
                ),
                None => batch.delete(0, &key.to_be_bytes()),
            }
            db.write(WriteOptions { sync }, batch).unwrap();
            writes.push((key, value, sync));
        }
        let mode = match round % 3 {
            0 => CrashMode::DropUnsynced,
            1 => CrashMode::KeepRandomPrefix { seed: round },
            _ => CrashMode::TearLastWrite { seed: round },
        };
        fs.simulate_power_loss(mode);
        drop(db);

        let db = Db::open(dir, options(&fs))
            .unwrap_or_else(|e| panic!("round {round} ({mode:?}): reopen failed: {e}"));
        let mut recovered = BTreeMap::new();
        for k in 0..KEYS {
            if let Some(v) = db.get(0, &k.to_be_bytes(), None).unwrap() {
                recovered.insert(k, u64::from_be_bytes(v[..8].try_into().unwrap()));
            }
        }
        let must_have = writes.iter().rposition(|w| w.2).map_or(0, |i| i + 1);
        let prefix = (must_have..=writes.len()).find(|&n| state_after(&writes, n) == recovered);
        assert!(
            prefix.is_some(),
            "round {round} ({mode:?}): recovered state is no prefix of at least {must_have} of {} writes",
            writes.len()
        );
        db.close().unwrap();
    }
}
