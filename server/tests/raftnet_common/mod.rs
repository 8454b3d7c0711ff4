//! Shared by the `raftnet_*` scenarios: Raft stores on loopback, each with its own directory,
//! engine, snapshot directory and Raft thread, connected only by `GrpcTransport` and each
//! serving the `RaftNet` service on a free port.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mvcc::Snapshot as _;
use replication::{
    Engines, Epoch, KeySpace, Peer, RaftKv, Region, SnapManager, Store, StoreConfig, StoreHandle,
};
use server::raftnet::{self, GrpcTransport, StaticAddrs, TransportConfig};
use tokio::sync::watch;

/// The Raft thread's tick.
pub const TICK: Duration = Duration::from_millis(10);

/// One running store.
pub struct TestStore {
    pub id: u64,
    pub addr: SocketAddr,
    pub kv: Option<RaftKv>,
    pub snaps: SnapManager,
    handle: Option<StoreHandle>,
    thread: Option<std::thread::JoinHandle<()>>,
    stop: watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<()>>,
    pub dir: tempfile::TempDir,
}

/// Region 1 over everything with one peer (id 100 + store) on each of `stores`.
pub fn region(stores: &[u64]) -> Region {
    Region {
        id: 1,
        start_key: Vec::new(),
        end_key: Vec::new(),
        epoch: Epoch {
            conf_ver: 1,
            version: 1,
        },
        peers: stores.iter().map(|&s| Peer::new(100 + s, s)).collect(),
    }
}

impl TestStore {
    /// Starts store `id` (bootstrapping `bootstrap` first, if given), registers its address
    /// in `addrs`, and serves its `RaftNet` service.
    pub async fn start(
        id: u64,
        bootstrap: Option<&Region>,
        addrs: &StaticAddrs,
        cfg: StoreConfig,
        transport: TransportConfig,
    ) -> TestStore {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(lsm::Db::open(dir.path().join("db"), lsm::Options::default()).unwrap());
        let engines = Engines::new(db, KeySpace::default()).unwrap();
        if let Some(r) = bootstrap {
            Store::bootstrap_region(&engines, r).unwrap();
        }
        let snaps = SnapManager::new(dir.path().join("snap"));
        let (handle, inbox) = replication::inbox();
        let t = GrpcTransport::new(
            id,
            Arc::new(addrs.clone()),
            snaps.clone(),
            raftnet::report_to(handle.downgrade()),
            tokio::runtime::Handle::current(),
            transport,
        )
        .unwrap();
        let store = Store::open(
            cfg,
            engines,
            snaps.clone(),
            Arc::new(t),
            replication::tracing_logger(),
        )
        .unwrap();
        let kv = RaftKv::new(
            handle.clone(),
            store.meta(),
            store.engines().kv.clone(),
            Duration::from_secs(10),
        );
        let thread = replication::spawn_with(store, inbox, TICK).unwrap();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        addrs.set(id, addr.to_string());
        let (stop, stopped) = watch::channel(false);
        let service = raftnet::service(handle.clone(), snaps.clone(), stopped.clone()).unwrap();
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let server = tokio::spawn(async move {
            let mut stopped = stopped;
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
                .unwrap();
        });
        TestStore {
            id,
            addr,
            kv: Some(kv),
            snaps,
            handle: Some(handle),
            thread: Some(thread),
            stop,
            server: Some(server),
            dir,
        }
    }

    pub fn kv(&self) -> &RaftKv {
        self.kv.as_ref().expect("store running")
    }

    /// True if this store's peer of region 1 leads it.
    pub fn leads(&self) -> bool {
        self.kv
            .as_ref()
            .and_then(|kv| kv.meta().get(1))
            .is_some_and(|i| i.is_leader())
    }

    /// True if this replica has applied a raw write of `key` (read without Raft; raw
    /// values are stored encoded, so only presence is compared).
    pub fn has(&self, key: &[u8]) -> bool {
        self.kv()
            .local_snapshot()
            .get_cf(mvcc::Cf::Raw, key)
            .unwrap()
            .is_some()
    }

    /// Stops the store: its server (streams end, then the listener closes) and its Raft
    /// thread (every strong handle dropped; it stops within a tick and drops its transport).
    pub async fn stop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(server) = self.server.take() {
            // A hang guard: the server drains its streams, which must end on `stop`.
            tokio::time::timeout(Duration::from_secs(30), server)
                .await
                .expect("the server stops once its streams end")
                .unwrap();
        }
        self.kv = None;
        self.handle = None;
        // Its own transport holds only a weak handle: the thread ends (a hang guard).
        let thread = self.thread.take().expect("running");
        eventually("the Raft thread to end", || thread.is_finished()).await;
        thread.join().unwrap();
    }
}

/// Polls `done` (a hang guard, not a speed bound).
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..3000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The index of the store leading region 1 among the running `stores`.
pub async fn leader(stores: &[TestStore]) -> usize {
    let mut found = None;
    eventually("a leader", || {
        found = stores.iter().position(TestStore::leads);
        found.is_some()
    })
    .await;
    found.unwrap()
}
