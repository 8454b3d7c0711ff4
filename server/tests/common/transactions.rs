//! The transactional scenario both API versions run: optimistic, pessimistic, async-commit
//! and 1PC transactions; a write conflict; scans both ways.

use tikv_client::{TransactionClient, TransactionOptions};

async fn read(client: &TransactionClient, key: &[u8]) -> Option<Vec<u8>> {
    let mut t = client.begin_optimistic().await.unwrap();
    let v = t.get(key.to_vec()).await.unwrap();
    t.rollback().await.unwrap();
    v
}

pub async fn run(client: &TransactionClient) {
    // Each flavour commits and the value is visible afterwards.
    let flavours = [
        ("optimistic", TransactionOptions::new_optimistic()),
        ("pessimistic", TransactionOptions::new_pessimistic()),
        (
            "async",
            TransactionOptions::new_optimistic().use_async_commit(),
        ),
        ("1pc", TransactionOptions::new_optimistic().try_one_pc()),
        (
            "pessimistic-async",
            TransactionOptions::new_pessimistic().use_async_commit(),
        ),
    ];
    for (name, opts) in flavours {
        let mut t = client.begin_with_options(opts).await.unwrap();
        for i in 0..5 {
            let key = format!("{name}-{i}");
            if name.starts_with("pessimistic") {
                assert_eq!(t.get_for_update(key.clone()).await.unwrap(), None);
            }
            t.put(key, format!("v{i}")).await.unwrap();
        }
        let ts = t.commit().await.unwrap();
        assert!(ts.is_some(), "{name} committed without a commit ts");
        for i in 0..5 {
            let got = read(client, format!("{name}-{i}").as_bytes()).await;
            assert_eq!(got, Some(format!("v{i}").into_bytes()), "{name}");
        }
    }

    // A write conflict: the second optimistic writer of a key fails at commit.
    let mut a = client.begin_optimistic().await.unwrap();
    let mut b = client.begin_optimistic().await.unwrap();
    a.put(b"conflict".to_vec(), b"a".to_vec()).await.unwrap();
    b.put(b"conflict".to_vec(), b"b".to_vec()).await.unwrap();
    a.commit().await.unwrap();
    assert!(b.commit().await.is_err(), "the later writer must conflict");
    assert_eq!(read(client, b"conflict").await, Some(b"a".to_vec()));

    // Insert refuses an existing key.
    let mut t = client.begin_optimistic().await.unwrap();
    t.insert(b"conflict".to_vec(), b"again".to_vec())
        .await
        .unwrap();
    assert!(
        t.commit().await.is_err(),
        "insert over an existing key must fail"
    );

    // Delete, then scans both ways with a limit.
    let mut t = client.begin_optimistic().await.unwrap();
    for i in 0..20u32 {
        t.put(format!("scan{i:02}"), vec![i as u8]).await.unwrap();
    }
    t.delete(b"scan05".to_vec()).await.unwrap();
    t.commit().await.unwrap();
    let mut r = client.begin_optimistic().await.unwrap();
    let fwd: Vec<Vec<u8>> = r
        .scan("scan00".to_owned().."scan99".to_owned(), 6)
        .await
        .unwrap()
        .map(|p| p.key().clone().into())
        .collect();
    let want: Vec<Vec<u8>> = [0, 1, 2, 3, 4, 6]
        .iter()
        .map(|i| format!("scan{i:02}").into_bytes())
        .collect();
    assert_eq!(fwd, want);
    let rev: Vec<Vec<u8>> = r
        .scan_reverse("scan00".to_owned().."scan99".to_owned(), 2)
        .await
        .unwrap()
        .map(|p| p.key().clone().into())
        .collect();
    assert_eq!(rev, vec![b"scan19".to_vec(), b"scan18".to_vec()]);
    r.rollback().await.unwrap();
}
