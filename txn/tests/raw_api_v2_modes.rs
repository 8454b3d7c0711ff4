//! API V2 key modes: every raw call refuses a transactional (`x…`) key, a key of another mode
//! and a key shorter than the keyspace prefix with `InvalidKeyMode` naming the version and
//! the key, and writes nothing; scans, batch scans, checksums and range deletes stay inside
//! one keyspace; and raw data never meets transactional data of the same key bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{b, keys};
use mvcc::{Cf, Modify, Snapshot};
use txn::{ApiVersion, Engine, Error, KeyRange, KvPair, ManualClock, RawStorage};

fn ks(id: u8, k: &[u8]) -> Vec<u8> {
    [&b"r\0\0"[..], &[id], k].concat()
}

fn assert_mode_error<T: std::fmt::Debug>(r: txn::Result<T>, key: &[u8]) {
    match r {
        Err(Error::InvalidKeyMode {
            api_version,
            key: k,
            reason,
        }) => {
            assert_eq!(api_version, ApiVersion::V2);
            assert_eq!(k, key, "{reason}");
        }
        other => panic!("expected InvalidKeyMode for {key:02x?}, got {other:?}"),
    }
}

async fn modes<E: Engine>(s: RawStorage<E>, _clock: ManualClock) {
    for bad in [&b"x\0\0\x01k"[..], b"r\0\0", b"r", b"t_1", b"k"] {
        assert_mode_error(s.get(bad).await, bad);
        assert_mode_error(s.batch_get(&[ks(1, b"ok"), b(bad)]).await, bad);
        assert_mode_error(s.get_key_ttl(bad).await, bad);
        assert_mode_error(s.put(b(bad), b(b"v"), 0).await, bad);
        assert_mode_error(
            s.batch_put(
                vec![KvPair::new(ks(1, b"ok"), b"v"), KvPair::new(bad, b"v")],
                &[],
            )
            .await,
            bad,
        );
        assert_mode_error(s.delete(b(bad)).await, bad);
        assert_mode_error(s.batch_delete(vec![b(bad)]).await, bad);
        assert_mode_error(s.delete_range(b(bad), ks(9, b"")).await, bad);
        assert_mode_error(s.scan(bad, None, 10, false, false).await, bad);
        assert_mode_error(s.scan(b"s", Some(bad), 10, false, true).await, bad);
        assert_mode_error(
            s.batch_scan(&[KeyRange::new(bad, b"")], 1, false, false)
                .await,
            bad,
        );
        assert_mode_error(s.checksum(&[KeyRange::new(bad, b"")]).await, bad);
        assert_mode_error(s.compare_and_swap(b(bad), None, b(b"v"), 0).await, bad);
    }
    // Nothing of the refused batches was written.
    assert_eq!(s.get(&ks(1, b"ok")).await.unwrap(), None);
    // A range end in another mode is refused too.
    assert_mode_error(
        s.scan(&ks(1, b"a"), Some(b"x"), 10, false, false).await,
        b"x",
    );
    assert!(matches!(s.get(b"").await, Err(Error::InvalidArgument(_))));

    // Three keyspaces; every range read stays in its own.
    let data = [
        ks(1, b"a"),
        ks(1, b"b"),
        ks(2, b"a"),
        ks(2, b"b"),
        ks(3, b"a"),
    ];
    s.batch_put(
        data.iter().map(|k| KvPair::new(k.clone(), b"v")).collect(),
        &[],
    )
    .await
    .unwrap();
    let fwd = s.scan(&ks(2, b""), None, 100, true, false).await.unwrap();
    assert_eq!(keys(&fwd), [ks(2, b"a"), ks(2, b"b")]);
    let fwd = s
        .scan(&ks(1, b"b"), Some(b"s"), 100, true, false)
        .await
        .unwrap();
    assert_eq!(keys(&fwd), [ks(1, b"b")]);
    let rev = s
        .scan(b"s", Some(&ks(3, b"")), 100, true, true)
        .await
        .unwrap();
    assert_eq!(keys(&rev), [ks(3, b"a")]);
    let rev = s.scan(&ks(2, b"z"), None, 100, true, true).await.unwrap();
    assert_eq!(keys(&rev), [ks(2, b"b"), ks(2, b"a")]);
    let bs = s
        .batch_scan(
            &[
                KeyRange::new(ks(1, b""), b""),
                KeyRange::new(ks(3, b""), b""),
            ],
            100,
            true,
            false,
        )
        .await
        .unwrap();
    assert_eq!(keys(&bs), [ks(1, b"a"), ks(1, b"b"), ks(3, b"a")]);
    let sum = s
        .checksum(&[KeyRange::new(ks(2, b""), b"s")])
        .await
        .unwrap();
    assert_eq!(sum.total_kvs, 2);
    // A range delete may not cross into the next keyspace, and removes only its own.
    assert_mode_error(s.delete_range(ks(1, b""), ks(2, b"b")).await, &ks(2, b"b"));
    s.delete_range(ks(1, b""), ks(2, b"")).await.unwrap();
    let left = s
        .scan(&ks(1, b""), Some(b"s"), 100, true, false)
        .await
        .unwrap();
    assert!(left.is_empty());
    assert_eq!(s.get(&ks(2, b"a")).await.unwrap().unwrap(), b"v");
}

on_both_engines!(ApiVersion::V2, modes);

/// Raw and transactional data of the same key bytes live in different column families.
async fn no_collision<E: Engine>(s: RawStorage<E>, _clock: ManualClock) {
    let key = b(b"shared-key");
    s.engine()
        .write(
            vec![Modify::Put {
                cf: Cf::Default,
                key: key.clone(),
                value: b(b"transactional"),
            }],
            false,
        )
        .await
        .unwrap();
    assert_eq!(s.get(&key).await.unwrap(), None);
    s.put(key.clone(), b(b"raw"), 0).await.unwrap();
    s.delete_range(b(b"a"), b(b"z")).await.unwrap();
    let snap = s.engine().snapshot().await.unwrap();
    assert_eq!(
        snap.get_cf(Cf::Default, &key).unwrap().unwrap(),
        &b"transactional"[..]
    );
    assert_eq!(snap.get_cf(Cf::Raw, &key).unwrap(), None);
    // V1 takes any key, including ones that look like V2 transactional keys.
    s.put(b(b"x\0\0\x01k"), b(b"v"), 0).await.unwrap();
    assert_eq!(s.get(b"x\0\0\x01k").await.unwrap().unwrap(), b"v");
    // An empty start deletes from the first key; a reverse scan from "" sees nothing.
    assert_eq!(s.scan(b"", None, 10, true, true).await.unwrap(), []);
    s.delete_range(vec![], b(b"y")).await.unwrap();
    assert_eq!(s.get(b"x\0\0\x01k").await.unwrap(), None);
}

mod v1 {
    use super::*;

    on_both_engines!(ApiVersion::V1, no_collision);
}
