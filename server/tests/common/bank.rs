//! The bank scenario: concurrent transfers between accounts, optimistic and pessimistic,
//! retrying on conflicts; the total never changes and no balance goes negative.

use std::sync::Arc;

use tikv_client::{TransactionClient, TransactionOptions};

const ACCOUNTS: u32 = 6;
const INITIAL: i64 = 1000;

fn account(i: u32) -> Vec<u8> {
    format!("acct{i}").into_bytes()
}

fn balance(v: Option<Vec<u8>>) -> i64 {
    i64::from_be_bytes(v.unwrap().try_into().unwrap())
}

async fn transfer(
    client: &TransactionClient,
    from: u32,
    to: u32,
    amount: i64,
    pessimistic: bool,
) -> bool {
    let opts = if pessimistic {
        TransactionOptions::new_pessimistic()
    } else {
        TransactionOptions::new_optimistic()
    };
    let Ok(mut t) = client.begin_with_options(opts).await else {
        return false;
    };
    let read = if pessimistic {
        t.batch_get_for_update(vec![account(from), account(to)])
            .await
            .map(|pairs| {
                let mut m: std::collections::HashMap<Vec<u8>, Vec<u8>> = pairs
                    .into_iter()
                    .map(|p| (p.key().clone().into(), p.value().clone()))
                    .collect();
                (m.remove(&account(from)), m.remove(&account(to)))
            })
    } else {
        match (t.get(account(from)).await, t.get(account(to)).await) {
            (Ok(a), Ok(b)) => Ok((a, b)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    };
    let Ok((a, b)) = read else {
        let _ = t.rollback().await;
        return false;
    };
    let (a, b) = (balance(a), balance(b));
    if a < amount {
        let _ = t.rollback().await;
        return false;
    }
    t.put(account(from), (a - amount).to_be_bytes().to_vec())
        .await
        .unwrap();
    t.put(account(to), (b + amount).to_be_bytes().to_vec())
        .await
        .unwrap();
    match t.commit().await {
        Ok(_) => true,
        Err(_) => {
            let _ = t.rollback().await;
            false
        }
    }
}

/// Runs the transfers through `client` and audits the balances.
pub async fn run(client: Arc<TransactionClient>) {
    let mut init = client.begin_optimistic().await.unwrap();
    for i in 0..ACCOUNTS {
        init.put(account(i), INITIAL.to_be_bytes().to_vec())
            .await
            .unwrap();
    }
    init.commit().await.unwrap();

    let mut workers = Vec::new();
    for w in 0..4u32 {
        let client = client.clone();
        workers.push(tokio::spawn(async move {
            let mut committed = 0;
            for n in 0..40u32 {
                let from = (w + n) % ACCOUNTS;
                let to = (w * 7 + n * 3 + 1) % ACCOUNTS;
                if from == to {
                    continue;
                }
                if transfer(&client, from, to, i64::from(n % 50 + 1), w % 2 == 1).await {
                    committed += 1;
                }
            }
            committed
        }));
    }
    let mut committed = 0;
    for w in workers {
        committed += w.await.unwrap();
    }
    assert!(committed > 20, "only {committed} transfers committed");

    let mut audit = client.begin_optimistic().await.unwrap();
    let mut total = 0;
    for i in 0..ACCOUNTS {
        let b = balance(audit.get(account(i)).await.unwrap());
        assert!(b >= 0, "account {i} is negative: {b}");
        total += b;
    }
    audit.rollback().await.unwrap();
    assert_eq!(total, i64::from(ACCOUNTS) * INITIAL);
}
