//! Stores with their Raft threads running (not stepped by the test), joined by the channel
//! network: for scenarios about the threads and the async engine (`RaftKv`).

use std::sync::Arc;
use std::time::Duration;

use replication::transport::ChannelNetwork;
use replication::{Engines, KeySpace, RaftKv, Region, SnapManager, Store, StoreConfig, StoreMsg};

/// The running stores: `kvs[i]` is store `i + 1`'s engine; `dirs` hold their data.
pub struct Threaded {
    pub kvs: Vec<RaftKv>,
    pub dirs: Vec<tempfile::TempDir>,
    pub net: ChannelNetwork,
}

/// Starts stores `1..=n` with `region` bootstrapped on each, configured by `config`;
/// `prepare` sees each store before its thread starts (e.g. to set a split observer).
pub fn start(
    n: u64,
    region: &Region,
    seed: u64,
    config: impl Fn(u64) -> StoreConfig,
    mut prepare: impl FnMut(&mut Store),
) -> Threaded {
    let net = ChannelNetwork::new(seed);
    let mut kvs = Vec::new();
    let mut dirs = Vec::new();
    for id in 1..=n {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(lsm::Db::open(dir.path().join("db"), lsm::Options::default()).unwrap());
        let engines = Engines::new(db, KeySpace::default()).unwrap();
        Store::bootstrap_region(&engines, region).unwrap();
        let snaps = SnapManager::new(dir.path().join("snap"));
        let mut store = Store::open(
            config(id),
            engines,
            snaps.clone(),
            Arc::new(net.clone()),
            replication::tracing_logger(),
        )
        .unwrap();
        prepare(&mut store);
        let meta = store.meta();
        let lsm_kv = store.engines().kv.clone();
        let (handle, _thread) = replication::spawn(store, Duration::from_millis(10)).unwrap();
        let h = handle.clone();
        net.register(
            id,
            snaps,
            Arc::new(move |m| {
                let _ = h.send(StoreMsg::Raft(Box::new(m)));
            }),
        );
        kvs.push(RaftKv::new(handle, meta, lsm_kv, Duration::from_secs(10)));
        dirs.push(dir);
    }
    Threaded { kvs, dirs, net }
}

/// The index in `kvs` of the store leading `region` (waits up to 10 s).
pub async fn wait_leader(kvs: &[RaftKv], region: u64) -> usize {
    for _ in 0..1000 {
        if let Some(i) = kvs
            .iter()
            .position(|kv| kv.meta().get(region).is_some_and(|r| r.is_leader()))
        {
            return i;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no leader for region {region}");
}
