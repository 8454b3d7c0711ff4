//! Per-column-family table options: every table holds one column family and is written with
//! that family's block size, compression and bloom filter settings.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use lsm::key::{CfUserKeyExtractor, InternalKeyComparator};
use lsm::{Db, Options, WriteBatch, WriteOptions};
use sstable::{Compression, ReadOptions, Table, TableOptions};

#[test]
fn each_table_holds_one_cf_written_with_its_options() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let mut options = Options::default();
    options.table.compression = Compression::ZSTD;
    options.cf_table_options.insert(
        "raft".into(),
        TableOptions {
            compression: Compression::None,
            bloom_bits_per_key: 0,
            block_size: 16 << 10,
            ..TableOptions::default()
        },
    );
    let db = Db::open(&dir, options.clone()).unwrap();
    let mut batch = WriteBatch::new();
    for i in 0..300u32 {
        batch.put(0, &i.to_be_bytes(), &[b'd'; 64]);
        batch.put(2, &i.to_be_bytes(), &[b'w'; 64]);
        batch.put(3, &i.to_be_bytes(), &[b'r'; 64]);
    }
    batch.delete_range(1, b"a", b"z").unwrap(); // tombstones only, in the lock cf
    db.write(WriteOptions::default(), batch).unwrap();
    db.flush().unwrap();
    let cfs = |v: &lsm::version::Version| -> Vec<u8> {
        let mut s: Vec<u8> = v.all_files().map(|(_, f)| f.smallest[0]).collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    assert_eq!(
        cfs(&db.current_version()),
        vec![0, 1, 2, 3],
        "one flush table per cf, tombstones included"
    );
    db.compact_range(0, None, None).unwrap();
    db.compact_range(1, None, None).unwrap();
    // At the bottom, with no snapshot, the lock cf's range tombstone hides nothing: it is gone.
    assert_eq!(cfs(&db.current_version()), vec![0, 2, 3]);

    let read = ReadOptions {
        comparator: Arc::new(InternalKeyComparator),
        filter_key: Arc::new(CfUserKeyExtractor),
        ..ReadOptions::default()
    };
    let version = db.current_version();
    let mut seen = std::collections::BTreeSet::new();
    for (_, f) in version.all_files() {
        let cf = f.smallest[0];
        assert_eq!(f.largest[0], cf, "table {} spans column families", f.number);
        seen.insert(cf);
        let t = Table::open(&lsm::filename::table(&dir, f.number), &read).unwrap();
        let p = t.properties();
        if cf == 3 {
            assert_eq!(
                (p.compression.as_str(), p.bloom_bits_per_key),
                ("none", 0),
                "raft table"
            );
        } else {
            assert_eq!(
                (p.compression.as_str(), p.bloom_bits_per_key),
                ("zstd", 10),
                "cf {cf} table"
            );
        }
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![0, 2, 3]);
    assert_eq!(
        db.get(3, &7u32.to_be_bytes(), None).unwrap().as_deref(),
        Some(&[b'r'; 64][..])
    );
    db.close().unwrap();
}
