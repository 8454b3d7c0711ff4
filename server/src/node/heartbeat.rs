//! What the node tells PD on its own: a store heartbeat every few seconds, a region
//! heartbeat for each region it leads (at once when the region, its leadership, term or
//! follower health changed, else every `region_interval`), and reading the GC safe point
//! back. PD's answers on the region heartbeat stream are scheduling steps, carried out by
//! `operator.rs`.
//!
//! Heartbeats are best-effort: a failure is logged and the next round tries again (PD
//! rebuilds what it knows of leaders from them); a broken stream is reopened.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::meta::StoreIdent;
use super::operator::{self, Executor};
use super::pd_client::Pd;
use crate::error::Result;
use crate::proto::pdpb;
use crate::region::{RegionInfo, RegionTable};

/// How often regions are looked at for changes (a change is reported within this).
const REGION_POLL: Duration = Duration::from_millis(200);
/// How often the store heartbeat and the safe point go.
const STORE_INTERVAL: Duration = Duration::from_secs(5);

/// What the heartbeat task needs.
#[derive(Debug)]
pub struct Heartbeats {
    /// PD.
    pub pd: Pd,
    /// This store.
    pub ident: StoreIdent,
    /// The regions, as the Raft thread publishes them.
    pub regions: RegionTable,
    /// Where the GC safe point read from PD goes (the compaction filter reads it).
    pub safe_point: Arc<AtomicU64>,
    /// A leader's regions are reported at least this often.
    pub region_interval: Duration,
    /// Carries out PD's steps.
    pub executor: Executor,
}

type Stream = (
    mpsc::Sender<pdpb::RegionHeartbeatRequest>,
    mpsc::Receiver<pdpb::RegionHeartbeatResponse>,
);

/// Runs the heartbeats until `shutdown`.
///
/// # Errors
/// None today: failures are logged and retried (the signature leaves room for fatal ones).
pub async fn run(hb: Heartbeats, shutdown: impl std::future::Future<Output = ()>) -> Result<()> {
    tokio::pin!(shutdown);
    let start = super::unix_secs();
    let mut stream: Option<Stream> = None;
    let mut sent: HashMap<u64, (RegionInfo, Instant)> = HashMap::new();
    let mut poll = tokio::time::interval(REGION_POLL);
    let mut next_store = Instant::now();
    loop {
        let response = async {
            match stream.as_mut() {
                Some((_, rx)) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            r = response => {
                match r {
                    Some(resp) => on_response(&hb, &resp),
                    None => {
                        tracing::warn!("PD region heartbeat stream ended; reopening");
                        stream = None;
                        sent.clear();
                    }
                }
                continue;
            }
            _ = poll.tick() => {}
        }
        let now = Instant::now();
        let regions = hb.regions.all();
        for info in &regions {
            if !info.is_leader() {
                sent.remove(&info.region.id);
                continue;
            }
            if !due(sent.get(&info.region.id), info, now, hb.region_interval) {
                continue;
            }
            if stream.is_none() {
                match hb.pd.region_heartbeats().await {
                    Ok(s) => stream = Some(s),
                    Err(e) => {
                        tracing::warn!(error = %e, "opening the region heartbeat stream failed");
                        break;
                    }
                }
            }
            let Some((tx, _)) = &stream else { break };
            let req = hb.pd.region_heartbeat(info, now.into_std());
            if tx.send(req).await.is_err() {
                tracing::warn!("region heartbeat stream closed; reopening");
                stream = None;
                sent.clear();
                break;
            }
            sent.insert(info.region.id, (info.clone(), now));
        }
        sent.retain(|id, _| regions.iter().any(|i| i.region.id == *id));
        if now >= next_store {
            next_store = now + STORE_INTERVAL;
            store_round(&hb, start, regions.len()).await;
        }
    }
}

/// A PD answer: the step it carries, if this store has something to do for it.
fn on_response(hb: &Heartbeats, resp: &pdpb::RegionHeartbeatResponse) {
    if let Some(e) = resp.header.as_ref().and_then(|h| h.error.as_ref()) {
        tracing::warn!(region_id = resp.region_id, error = ?e, "PD refused a region heartbeat");
        return;
    }
    let info = hb.regions.get(resp.region_id);
    if let Some(action) = operator::decide(resp, info.as_ref()) {
        hb.executor.run(action);
    }
}

/// True if a leader's region must be reported now: never reported, changed since (range,
/// epoch, peers, leader, term, pending or down followers), or last reported `interval`
/// ago.
fn due(
    last: Option<&(RegionInfo, Instant)>,
    info: &RegionInfo,
    now: Instant,
    interval: Duration,
) -> bool {
    match last {
        None => true,
        Some((prev, at)) => prev != info || now.duration_since(*at) >= interval,
    }
}

async fn store_round(hb: &Heartbeats, start: i64, region_count: usize) {
    let stats = pdpb::StoreStats {
        store_id: hb.ident.store_id,
        region_count: u32::try_from(region_count).unwrap_or(u32::MAX),
        start_time: u32::try_from(start).unwrap_or(0),
        ..Default::default()
    };
    if let Err(e) = hb.pd.store_heartbeat(stats).await {
        tracing::warn!(error = %e, "store heartbeat failed");
    }
    match hb.pd.gc_safe_point().await {
        Ok(sp) => {
            hb.safe_point.fetch_max(sp, Ordering::SeqCst);
        }
        Err(e) => tracing::warn!(error = %e, "reading the GC safe point failed"),
    }
}

#[cfg(test)]
mod tests {
    use replication::{Epoch, Peer, Region};

    use super::*;

    #[test]
    fn a_region_is_reported_when_new_changed_or_due() {
        let me = Peer::new(3, 1);
        let info = RegionInfo {
            region: Region {
                id: 2,
                epoch: Epoch {
                    conf_ver: 1,
                    version: 1,
                },
                peers: vec![me],
                ..Default::default()
            },
            leader: Some(me),
            peer: me,
            ..Default::default()
        };
        let t0 = Instant::now();
        let every = Duration::from_secs(10);
        assert!(due(None, &info, t0, every));
        let last = (info.clone(), t0);
        assert!(!due(Some(&last), &info, t0 + Duration::from_secs(1), every));
        assert!(due(Some(&last), &info, t0 + every, every));
        let mut split = info.clone();
        split.region.epoch.version = 2;
        assert!(due(Some(&last), &split, t0 + Duration::from_secs(1), every));
        let mut catching_up = info.clone();
        catching_up.pending_peers.push(Peer::new(4, 2));
        assert!(due(
            Some(&last),
            &catching_up,
            t0 + Duration::from_secs(1),
            every
        ));
    }
}
