//! A compaction never changes what a protected reader sees: for every live snapshot and for
//! the latest state, iterating the tree before and after gives the same entries. Outputs are
//! sorted, disjoint by user key, and versions no snapshot needs are gone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use lsm::compaction::{pick_compaction, run_compaction, CompactionOptions, JobContext};
use lsm::flush::write_table;
use lsm::fs::{FileSystem, MemFs};
use lsm::iter::{DbIterator, InternalIterator, IterOptions, LevelIterator, MergingIterator};
use lsm::key::{cf_user_key, SeqNo};
use lsm::table_cache::TableCache;
use lsm::version::{FileMeta, Version, VersionEdit};
use lsm::{MemTable, WriteBatch};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Put(u8, u8),
    Delete(u8),
    DeleteRange(u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..12, any::<u8>()).prop_map(|(k, v)| Op::Put(k, v)),
        2 => (0u8..12).prop_map(Op::Delete),
        1 => (0u8..12, 1u8..4).prop_map(|(k, n)| Op::DeleteRange(k, k + n)),
    ]
}

fn key(k: u8) -> Vec<u8> {
    vec![b'k', k]
}

/// Everything visible in column families 0 and 1 at `seq` through the files of `version`.
fn view(tables: &Arc<TableCache>, version: &Version, seq: SeqNo) -> Vec<(u8, Vec<u8>, Vec<u8>)> {
    (0..2)
        .flat_map(|cf| {
            view_cf(tables, version, seq, cf)
                .into_iter()
                .map(move |(k, v)| (cf, k, v))
        })
        .collect()
}

fn view_cf(
    tables: &Arc<TableCache>,
    version: &Version,
    seq: SeqNo,
    cf: u8,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
    let mut tombstones = Vec::new();
    for level in 0..lsm::version::NUM_LEVELS {
        for f in version.files(level) {
            let t = tables.get(f.number).unwrap();
            if let Some(raw) = t.properties().user.get(lsm::range_del::RANGE_DELS_PROPERTY) {
                tombstones.extend(lsm::range_del::decode(raw).unwrap());
            }
            if level == 0 {
                children.push(Box::new(t.iter()));
            }
        }
        if level > 0 {
            children.push(Box::new(LevelIterator::new(
                tables.clone(),
                version.files(level).to_vec(),
            )));
        }
    }
    let mut it = DbIterator::new(
        Box::new(MergingIterator::new(children)),
        cf,
        seq,
        IterOptions::default(),
        tombstones,
    );
    it.seek_to_first().unwrap();
    let mut out = Vec::new();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.next().unwrap();
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn compaction_preserves_every_protected_view(
        flushes in proptest::collection::vec(proptest::collection::vec(op(), 1..25), 4..7),
        snapshot_picks in proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
    ) {
        let fs = MemFs::new();
        let dir = Path::new("/db");
        fs.create_dir_all(dir).unwrap();
        let tables = Arc::new(TableCache::new(
            Arc::new(fs.clone()), dir.into(), Arc::new(sstable::BlockCache::new(1 << 20)), 64));
        let options = sstable::TableOptions { block_size: 128, ..sstable::TableOptions::default() };
        let mut version = Version::default();
        let mut seq: SeqNo = 1;
        let mut number = 1;
        for ops in &flushes {
            let mem = Arc::new(MemTable::new());
            let mut batch = WriteBatch::new();
            for op in ops {
                // Keys spread over two column families: outputs are cut at the boundary.
                match op {
                    Op::Put(k, v) => batch.put(k % 2, &key(*k), &[*v; 20]),
                    Op::Delete(k) => batch.delete(k % 2, &key(*k)),
                    Op::DeleteRange(a, b) => batch.delete_range(a % 2, &key(*a), &key(*b)).unwrap(),
                }
            }
            mem.insert_batch(&batch, seq).unwrap();
            seq += batch.len() as u64;
            let mut it = mem.iter();
            it.seek_to_first();
            let meta = write_table(&fs, dir, number, &mut it, &mem.range_tombstones(), &options)
                .unwrap().unwrap();
            number += 1;
            version = version.apply(&VersionEdit { new_files: vec![(0, meta)], ..VersionEdit::default() }).unwrap();
        }
        let last = seq - 1;
        let mut snapshots: Vec<SeqNo> = snapshot_picks.iter().map(|i| 1 + i.index(last as usize) as u64).collect();
        snapshots.sort();
        snapshots.dedup();
        let reads: Vec<SeqNo> = snapshots.iter().copied().chain([last]).collect();
        let before: Vec<_> = reads.iter().map(|s| view(&tables, &version, *s)).collect();

        let copts = CompactionOptions { target_file_size: 600, ..CompactionOptions::default() };
        let task = pick_compaction(&version, &copts, &HashSet::new()).expect("L0 is over its trigger");
        let ctx = JobContext {
            fs: &fs, dir, tables: &tables, version: &version, snapshots: &snapshots,
            filter: None, table_options: &lsm::flush::CfTableOptions { default: options.clone(), per_cf: Default::default() }, target_file_size: copts.target_file_size,
        };
        let mut next = || { number += 1; number + 1000 };
        let result = run_compaction(&ctx, &task, &mut next).unwrap();
        let after_version = version.apply(&result.edit).unwrap();
        for (s, expected) in reads.iter().zip(&before) {
            prop_assert_eq!(&view(&tables, &after_version, *s), expected, "view at {} changed", s);
        }
        // Outputs: one level, sorted, and no user key in two files.
        let out: Vec<Arc<FileMeta>> = after_version.files(task.output_level).to_vec();
        for f in &out {
            prop_assert_eq!(f.smallest.first(), f.largest.first(), "a table holds one column family");
        }
        for pair in out.windows(2) {
            prop_assert!(cf_user_key(&pair[0].largest) < cf_user_key(&pair[1].smallest),
                "outputs share a user key");
        }
        prop_assert!(after_version.files(0).is_empty());
        if snapshots.is_empty() {
            let entries: u64 = out.iter().map(|f| tables.get(f.number).unwrap().properties().num_entries).sum();
            prop_assert!(entries <= before.last().unwrap().len() as u64,
                "without snapshots only visible values survive at the bottom");
        }
    }
}
