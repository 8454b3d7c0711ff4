//! TTL expiry at read time: an expired key is absent for every read — get, batch_get, scans
//! both ways, batch_scan, get_key_ttl, compare-and-swap and checksum — at exactly
//! `expire_ts = put time + ttl`, on both engines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{b, keys};
use txn::{ApiVersion, Engine, KeyRange, KvPair, ManualClock, RawStorage};

async fn expiry<E: Engine>(s: RawStorage<E>, clock: ManualClock) {
    s.put(b(b"forever"), b(b"f"), 0).await.unwrap();
    s.put(b(b"short"), b(b"s"), 10).await.unwrap();
    s.batch_put(
        vec![KvPair::new(b"long", b"l"), KvPair::new(b"mid", b"m")],
        &[100, 20],
    )
    .await
    .unwrap();
    let all = [KeyRange::new(b"", b"")];
    let before = s.checksum(&all).await.unwrap();
    assert_eq!(before.total_kvs, 4);

    clock.advance(9);
    assert_eq!(s.get(b"short").await.unwrap().unwrap(), b"s");
    assert_eq!(s.get_key_ttl(b"short").await.unwrap(), Some(1));
    assert_eq!(s.get_key_ttl(b"forever").await.unwrap(), Some(0));

    clock.advance(1); // now = put time + 10: "short" has expired.
    assert_eq!(s.get(b"short").await.unwrap(), None);
    assert_eq!(s.get_key_ttl(b"short").await.unwrap(), None);
    assert_eq!(s.get_key_ttl(b"mid").await.unwrap(), Some(10));
    let got = s
        .batch_get(&[b(b"short"), b(b"mid"), b(b"nope")])
        .await
        .unwrap();
    assert_eq!(got, [KvPair::new(b"mid", b"m")]);
    let fwd = s.scan(b"", None, 10, false, false).await.unwrap();
    assert_eq!(keys(&fwd), [b(b"forever"), b(b"long"), b(b"mid")]);
    let rev = s.scan(b"zzz", None, 10, true, true).await.unwrap();
    assert_eq!(keys(&rev), [b(b"mid"), b(b"long"), b(b"forever")]);
    // Limits count live keys only.
    let two = s.scan(b"l", None, 2, false, false).await.unwrap();
    assert_eq!(keys(&two), [b(b"long"), b(b"mid")]);
    let bs = s
        .batch_scan(
            &[KeyRange::new(b"m", b"t"), KeyRange::new(b"a", b"g")],
            5,
            true,
            false,
        )
        .await
        .unwrap();
    assert_eq!(keys(&bs), [b(b"mid"), b(b"forever")]);

    let after = s.checksum(&all).await.unwrap();
    assert_eq!(after.total_kvs, 3);
    assert_eq!(after.total_bytes, before.total_bytes - 6);
    assert_ne!(after.crc64_xor, before.crc64_xor);

    // CAS sees the expired key as absent.
    let r = s
        .compare_and_swap(b(b"short"), Some(b(b"s")), b(b"x"), 0)
        .await
        .unwrap();
    assert!(!r.succeed && r.previous_not_exist());
    let r = s
        .compare_and_swap(b(b"short"), None, b(b"again"), 5)
        .await
        .unwrap();
    assert!(r.succeed);
    assert_eq!(s.get_key_ttl(b"short").await.unwrap(), Some(5));

    // A put without TTL over a TTL'd key makes it permanent.
    s.put(b(b"mid"), b(b"m2"), 0).await.unwrap();
    clock.advance(1000);
    assert_eq!(s.get(b"mid").await.unwrap().unwrap(), b"m2");
    assert_eq!(s.get(b"long").await.unwrap(), None);
    let left = s.scan(b"", None, 10, true, false).await.unwrap();
    assert_eq!(keys(&left), [b(b"forever"), b(b"mid")]);
}

on_both_engines!(ApiVersion::V1Ttl, expiry);

mod v2 {
    use super::*;

    async fn v2_expiry<E: Engine>(s: RawStorage<E>, clock: ManualClock) {
        s.put(b(b"r\0\0\x07k"), b(b"v"), 3).await.unwrap();
        clock.advance(3);
        assert_eq!(s.get(b"r\0\0\x07k").await.unwrap(), None);
        assert!(s
            .scan(b"r\0\0\x07", None, 10, false, false)
            .await
            .unwrap()
            .is_empty());
    }

    on_both_engines!(ApiVersion::V2, v2_expiry);
}
