//! Reclaiming expired raw values on the real LSM engine: after the clock passes their
//! expiry, a compaction with the raw TTL filter drops them physically — they are gone from
//! the raw column family and from every table's key range — while live values, values of
//! other column families and values a snapshot still reads survive.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::b;
use lsm::key::{CfId, ParsedKey};
use mvcc::{Cf, Modify, Snapshot};
use txn::{ApiVersion, Engine, KvPair};

/// Smallest user key of the raw family over all tables, and the number of its tables.
fn raw_tables(db: &lsm::Db, raw: CfId) -> (Option<Vec<u8>>, usize) {
    let version = db.current_version();
    let mut smallest: Option<Vec<u8>> = None;
    let mut tables = 0;
    for (_, f) in version.all_files() {
        let k = ParsedKey::parse(&f.smallest).unwrap();
        if k.cf == raw {
            tables += 1;
            if smallest.as_deref().is_none_or(|s| k.user_key < s) {
                smallest = Some(k.user_key.to_vec());
            }
        }
    }
    (smallest, tables)
}

#[tokio::test]
async fn expired_values_are_dropped_by_compaction() {
    let l = common::local(ApiVersion::V1Ttl);
    let s = &l.storage;
    let raw = l.storage.engine().inner().cf_id(Cf::Raw);
    let expiring: Vec<KvPair> = (0..50u8)
        .map(|i| KvPair::new([b'a', i], vec![i; 100]))
        .collect();
    s.batch_put(expiring, &[60]).await.unwrap();
    s.put(b(b"m-forever"), b(b"keep"), 0).await.unwrap();
    s.put(b(b"z-later"), b(b"keep"), 3600).await.unwrap();
    // The same key bytes in a transactional family, with a value that decodes as expired.
    let txn_key = [b'a', 0];
    s.engine()
        .write(
            vec![Modify::Put {
                cf: Cf::Default,
                key: txn_key.to_vec(),
                value: [&b"x"[..], &0u64.to_be_bytes(), &[1]].concat(),
            }],
            false,
        )
        .await
        .unwrap();
    l.db().flush().unwrap();
    l.db().compact_range(raw, None, None).unwrap();
    assert_eq!(
        raw_tables(l.db(), raw).0.unwrap(),
        [b'a', 0],
        "nothing expired yet"
    );

    l.clock.advance(60);
    // Invisible at once, but still stored until a compaction runs.
    assert_eq!(s.get(&[b'a', 7]).await.unwrap(), None);
    let snap = s.engine().snapshot().await.unwrap();
    assert!(snap.get_cf(Cf::Raw, &[b'a', 7]).unwrap().is_some());
    drop(snap);

    l.db().compact_range(raw, None, None).unwrap();
    l.db().compact_range(0, None, None).unwrap();
    let snap = s.engine().snapshot().await.unwrap();
    for i in 0..50u8 {
        assert_eq!(snap.get_cf(Cf::Raw, &[b'a', i]).unwrap(), None, "key a{i}");
    }
    // Physically gone: no table of the raw family starts at or before them any more.
    let (smallest, tables) = raw_tables(l.db(), raw);
    assert!(tables > 0);
    assert_eq!(smallest.unwrap(), b"m-forever");
    assert_eq!(s.get(b"m-forever").await.unwrap().unwrap(), b"keep");
    assert_eq!(s.get_key_ttl(b"z-later").await.unwrap(), Some(3540));
    // Other families are not the filter's business.
    assert!(snap.get_cf(Cf::Default, &txn_key).unwrap().is_some());
}

#[tokio::test]
async fn a_snapshot_keeps_what_it_can_read() {
    let l = common::local(ApiVersion::V1Ttl);
    let raw = l.storage.engine().inner().cf_id(Cf::Raw);
    l.storage.put(b(b"k"), b(b"v"), 10).await.unwrap();
    let pinned = l.storage.engine().snapshot().await.unwrap();
    l.db().flush().unwrap();
    l.clock.advance(10);
    l.db().compact_range(raw, None, None).unwrap();
    assert!(
        pinned.get_cf(Cf::Raw, b"k").unwrap().is_some(),
        "snapshot protects it"
    );
    drop(pinned);
    l.db().compact_range(raw, None, None).unwrap();
    let snap = l.storage.engine().snapshot().await.unwrap();
    assert_eq!(snap.get_cf(Cf::Raw, b"k").unwrap(), None);
}

#[tokio::test]
async fn an_unbound_filter_keeps_everything() {
    // Control: the same flow with the filter never bound to the raw family reclaims nothing,
    // so the tests above do measure the filter.
    let dir = tempfile::tempdir().unwrap();
    let clock = txn::ManualClock::new(common::T0);
    let filter = Arc::new(txn::RawTtlFilter::new(Arc::new(clock.clone())));
    let options = lsm::Options {
        compaction_filter: Some(filter),
        ..lsm::Options::default()
    };
    let db = Arc::new(lsm::Db::open(dir.path(), options).unwrap());
    let engine = mvcc::LsmEngine::new(db.clone()).unwrap();
    let raw = engine.cf_id(Cf::Raw);
    let s = txn::RawStorage::new(txn::LocalEngine::new(engine), ApiVersion::V1Ttl)
        .with_clock(Arc::new(clock.clone()));
    s.put(b(b"k"), b(b"v"), 10).await.unwrap();
    db.flush().unwrap();
    clock.advance(10);
    db.compact_range(raw, None, None).unwrap();
    assert_eq!(s.get(b"k").await.unwrap(), None, "hidden all the same");
    let snap = s.engine().snapshot().await.unwrap();
    assert!(snap.get_cf(Cf::Raw, b"k").unwrap().is_some());
    assert_eq!(raw_tables(&db, raw).0.unwrap(), b"k");
}
