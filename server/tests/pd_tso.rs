//! Scenario: timestamps over one TSO stream — one response per request, in order, count
//! echoed, strictly increasing batches with logical < 2^18 — and still increasing after a
//! restart, even when the timestamps handed out ran ahead of the wall clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pd_common;

use pd_common::{assert_ok, Pd};
use server::proto::pdpb;
use tonic::codegen::tokio_stream;

const MAX_LOGICAL: i64 = 1 << 18;

fn request(pd: &Pd, count: u32) -> pdpb::TsoRequest {
    pdpb::TsoRequest {
        header: pd.header(),
        count,
        dc_location: String::new(),
    }
}

/// Sends `counts` on one stream; checks the answers; returns the last timestamp.
async fn run(pd: &Pd, counts: &[u32], mut last: (i64, i64)) -> (i64, i64) {
    let mut client = pd.client().await;
    let requests: Vec<_> = counts.iter().map(|c| request(pd, *c)).collect();
    let mut stream = client
        .tso(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    for &count in counts {
        let resp = stream
            .message()
            .await
            .unwrap()
            .expect("one response per request");
        assert_ok(pd, resp.header.as_ref());
        assert_eq!(resp.count, count, "responses come in request order");
        let ts = resp.timestamp.unwrap();
        assert!(ts.logical < MAX_LOGICAL);
        // The batch is logical - count + 1 ..= logical: above everything before it.
        let first = (ts.physical, ts.logical - i64::from(count) + 1);
        assert!(first.1 >= 0, "{ts:?} count {count}");
        assert!(first > last, "batch {first:?} not above {last:?}");
        last = (ts.physical, ts.logical);
    }
    assert!(
        stream.message().await.unwrap().is_none(),
        "no extra responses"
    );
    last
}

#[tokio::test]
async fn ordered_increasing_and_monotonic_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let pd = Pd::start(dir.path()).await;
    let max = u32::try_from(MAX_LOGICAL - 1).unwrap();
    let last = run(&pd, &[1, 5, 1, 100, 3, max, 7, 1, 64, max, 2], (0, 0)).await;

    // Every full-millisecond batch moves the physical time on by one: run well ahead of the
    // wall clock (3 s), so a restart that forgot the saved window would go back in time.
    let ahead = vec![max; 3_000];
    let last = run(&pd, &ahead, last).await;

    // count 0 is refused with an error status.
    let mut client = pd.client().await;
    let mut stream = client
        .tso(tokio_stream::iter(vec![request(&pd, 0)]))
        .await
        .unwrap()
        .into_inner();
    assert!(stream.message().await.is_err());

    pd.stop().await;
    let pd = Pd::start(dir.path()).await;
    run(&pd, &[1, 2, 3], last).await;
    pd.stop().await;
}
