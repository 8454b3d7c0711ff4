//! A Strata node: storage, the KV service, and (by default) an embedded placement driver.
//!
//! Start-up: start the embedded PD if configured → open the engine → connect to PD → load
//! or obtain the store identity → move regions of a pre-replication directory into the
//! Raft store → bootstrap the cluster's first region if nobody has → register the store →
//! start the Raft thread → serve KV → heartbeat. Shutdown stops accepting requests, lets
//! in-flight ones finish, then stops the Raft thread: every acknowledged write was applied
//! from a log that was durable on a quorum first.
//!
//! Every region is a Raft group, a single node's too (one replica): one code path.
//!
//! Files: `join.rs` (identity, bootstrap), `meta.rs` (what the node records about itself),
//! `pd_client.rs`, `heartbeat.rs` (store and region heartbeats), `operator.rs` (PD's
//! scheduling steps carried out), `split.rs`, `run.rs`
//! (the whole server for a configuration).

mod heartbeat;
mod join;
mod meta;
mod operator;
mod pd_client;
mod run;
mod split;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use mvcc::TimeStamp;
use replication::transport::Transport;
use replication::{
    Engines, KeySpace, RaftKv, Region, SnapManager, Store, StoreConfig, StoreHandle,
};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tonic::codec::CompressionEncoding;
use txn::{
    ApiVersion, ConcurrencyManager, GcCompactionFilterFactory, LocalEngine, RawStorage,
    RawTtlFilter, SystemClock, TxnStorage,
};

use crate::error::{Error, Result};
use crate::kv::{KvService, Limits};
use crate::metrics::Metrics;
use crate::proto::tikvpb::tikv_server::TikvServer;
use crate::raftnet::{self, CachedAddrs, GrpcTransport, TransportConfig};
use crate::region::RegionTable;
use meta::NodeMeta;
pub use meta::{StoreIdent, META_CF};
use pd_client::Pd;
pub use run::run;

/// How long a request waits for its region's Raft group by default: beyond an election's
/// worth of ticks, short of a client's patience.
pub const RAFT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the node finds its placement driver.
#[derive(Debug, Clone)]
pub enum PdSetting {
    /// Run PD in this process, serving on this listener's address.
    Embedded {
        /// PD's address (port 0: any free port).
        addr: SocketAddr,
        /// Its scheduling settings.
        schedule: crate::pd::ScheduleConfig,
    },
    /// Join the cluster of these PD endpoints.
    Remote {
        /// `host:port` or URLs.
        endpoints: Vec<String>,
    },
}

/// Everything a node needs to start (built from the TOML config and flags).
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Where the KV service listens (port 0: any free port).
    pub addr: SocketAddr,
    /// The address clients are told (empty: the bound address).
    pub advertise_addr: String,
    /// The status server's address, reported to PD.
    pub status_addr: String,
    /// Where data lives (`db/` engine, `pd/` embedded PD's state).
    pub data_dir: PathBuf,
    /// The placement driver.
    pub pd: PdSetting,
    /// Key modes and TTLs.
    pub api_version: ApiVersion,
    /// Fsync every write before acknowledging it.
    pub sync: bool,
    /// Request limits.
    pub limits: Limits,
    /// Largest gRPC message accepted (bytes).
    pub max_message_size: usize,
    /// Compress responses with gzip for clients that accept it (requests in gzip are always
    /// accepted).
    pub compress_responses: bool,
    /// Engine options (filters are added by the node).
    pub lsm: lsm::Options,
    /// Raft settings (`store_id` is filled in once PD assigned it).
    pub raft: StoreConfig,
    /// One Raft tick: elections take `election_tick` of them.
    pub raft_base_tick: Duration,
    /// How long a request waits for its Raft group (an election, a quorum) before the
    /// client is told to retry.
    pub raft_request_timeout: Duration,
    /// How often each leader reports its regions to PD (also at once on a change).
    pub region_heartbeat_interval: Duration,
}

impl NodeConfig {
    /// Defaults on loopback with free ports under `data_dir` (tests).
    pub fn local(data_dir: impl Into<PathBuf>) -> NodeConfig {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        NodeConfig {
            addr: any,
            advertise_addr: String::new(),
            status_addr: String::new(),
            data_dir: data_dir.into(),
            pd: PdSetting::Embedded {
                addr: any,
                schedule: crate::pd::ScheduleConfig::default(),
            },
            api_version: ApiVersion::V1,
            sync: true,
            limits: Limits::default(),
            max_message_size: 64 << 20,
            compress_responses: true,
            lsm: lsm::Options::default(),
            raft: StoreConfig::new(0),
            raft_base_tick: Duration::from_millis(100),
            raft_request_timeout: RAFT_REQUEST_TIMEOUT,
            region_heartbeat_interval: Duration::from_secs(10),
        }
    }
}

/// A running node.
#[derive(Debug)]
pub struct Node {
    kv_addr: SocketAddr,
    pd_addr: Option<SocketAddr>,
    ident: StoreIdent,
    regions: RegionTable,
    raft: RaftKv,
    pd: Pd,
    metrics: Arc<Metrics>,
    db: Arc<lsm::Db>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<Result<()>>>,
    raft_thread: std::thread::JoinHandle<()>,
}

impl Node {
    /// Starts a node (module docs).
    ///
    /// # Errors
    /// Binding, opening storage, reaching PD or bootstrapping failed.
    pub async fn start(cfg: NodeConfig) -> Result<Node> {
        let metrics = Metrics::new();
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();

        // PD first: the node needs it to learn who it is.
        let (pd_addr, endpoints) = match &cfg.pd {
            PdSetting::Embedded { addr, schedule } => {
                let listener = TcpListener::bind(addr).await?;
                let bound = listener.local_addr()?;
                let url = format!("http://{bound}");
                let options = crate::pd::PdOptions {
                    schedule: schedule.clone(),
                    ..crate::pd::PdOptions::default()
                };
                let pd = crate::pd::PdServer::open_with(
                    &cfg.data_dir.join("pd"),
                    vec![url.clone()],
                    options,
                )?;
                let shutdown = wait_for(stopped.clone());
                tasks.push(tokio::spawn(crate::pd::serve(pd, listener, shutdown)));
                (Some(bound), vec![url])
            }
            PdSetting::Remote { endpoints } => (None, endpoints.clone()),
        };

        // Storage, with MVCC GC and raw TTL expiry inside compactions.
        let safe_point = Arc::new(AtomicU64::new(0));
        let gc = Arc::new(GcCompactionFilterFactory::new(safe_point.clone()));
        let ttl = Arc::new(RawTtlFilter::new(Arc::new(SystemClock)));
        let options = lsm::Options {
            compaction_filter: Some(ttl.clone()),
            compaction_filter_factory: Some(gc.clone()),
            ..cfg.lsm.clone()
        };
        let db = Arc::new(lsm::Db::open(cfg.data_dir.join("db"), options)?);
        let keyspace = KeySpace {
            raw_keys_encoded: cfg.api_version == ApiVersion::V2,
        };
        let engines = Engines::new(db.clone(), keyspace)?;
        ttl.bind(&engines.kv);
        gc.attach(&db);
        let meta = NodeMeta::open(db.clone())?;

        let listener = TcpListener::bind(cfg.addr).await?;
        let kv_addr = listener.local_addr()?;
        let advertise = if cfg.advertise_addr.is_empty() {
            kv_addr.to_string()
        } else {
            cfg.advertise_addr.clone()
        };

        let pd = Pd::connect(&endpoints, Duration::from_secs(30)).await?;
        let ident = join::ident(&pd, &meta).await?;
        let moved = join::move_legacy_regions(&meta, &engines)?;
        if moved > 0 {
            tracing::info!(
                regions = moved,
                "moved pre-replication regions into the Raft store"
            );
        }
        let record = join::store_record(ident.store_id, &advertise, &cfg.status_addr);
        let snaps = SnapManager::new(cfg.data_dir.join("snap"));
        let raft_cfg = StoreConfig {
            store_id: ident.store_id,
            ..cfg.raft.clone()
        };
        // The store's inbox exists before the store, so its transport can report back to it
        // (snapshot outcomes, unreachable peers) through a handle that does not keep it alive.
        let (handle, inbox) = replication::inbox();
        let transport: Arc<dyn Transport> = Arc::new(GrpcTransport::new(
            ident.store_id,
            Arc::new(CachedAddrs::new(pd.clone())),
            snaps.clone(),
            raftnet::report_to(handle.downgrade()),
            tokio::runtime::Handle::current(),
            TransportConfig::default(),
        )?);
        let open = |engines: &Engines| {
            Store::open(
                raft_cfg.clone(),
                engines.clone(),
                snaps.clone(),
                transport.clone(),
                replication::tracing_logger(),
            )
        };
        let mut store = open(&engines)?;
        let existing: Vec<Region> = store.meta().all().into_iter().map(|i| i.region).collect();
        if join::bootstrap_cluster(&pd, &engines, &record, &existing).await? && existing.is_empty()
        {
            store = open(&engines)?;
        }
        pd.put_store(record).await?;
        let (split_tx, split_rx) = mpsc::unbounded_channel();
        store.set_split_observer(Box::new(move |s| {
            let _ = split_tx.send(s);
        }))?;
        let store_meta = store.meta();
        let raft_thread = replication::spawn_with(store, inbox, cfg.raft_base_tick)?;
        let raft = RaftKv::new(
            handle.clone(),
            store_meta.clone(),
            engines.kv.clone(),
            cfg.raft_request_timeout,
        );
        let regions = RegionTable::new(ident.store_id, store_meta);
        wait_for_sole_leaders(&regions, cfg.raft_request_timeout).await;

        let local = LocalEngine::new(engines.kv.clone());
        // Timestamps come from PD: start above nothing, max_ts rises with every read.
        let cm = ConcurrencyManager::new(TimeStamp::zero());
        let txn = TxnStorage::new(local.clone(), cm).with_sync(cfg.sync);
        let raw = RawStorage::new(local, cfg.api_version).with_sync(cfg.sync);
        let kv = KvService::new(
            txn,
            raw,
            raft.clone(),
            regions.clone(),
            cfg.limits,
            metrics.clone(),
        );
        let mut service = TikvServer::new(kv)
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(cfg.max_message_size)
            .max_encoding_message_size(usize::MAX);
        if cfg.compress_responses {
            service = service.send_compressed(CompressionEncoding::Gzip);
        }
        let raft_service = raftnet::service(handle, snaps, stopped.clone())?;
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let shutdown = wait_for(stopped.clone());
        tasks.push(tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .add_service(raft_service)
                .serve_with_incoming_shutdown(incoming, shutdown)
                .await
                .map_err(Error::from)
        }));
        tasks.push(tokio::spawn(split::run_suggestions(
            pd.clone(),
            raft.clone(),
            regions.clone(),
            split_rx,
            wait_for(stopped.clone()),
        )));
        tasks.push(tokio::spawn(heartbeat::run(
            heartbeat::Heartbeats {
                pd: pd.clone(),
                ident,
                regions: regions.clone(),
                safe_point,
                region_interval: cfg.region_heartbeat_interval,
                executor: operator::Executor::new(raft.clone()),
            },
            wait_for(stopped),
        )));
        tracing::info!(%kv_addr, ?pd_addr, store_id = ident.store_id, cluster_id = ident.cluster_id, "node started");
        Ok(Node {
            kv_addr,
            pd_addr,
            ident,
            regions,
            raft,
            pd,
            metrics,
            db,
            stop,
            tasks,
            raft_thread,
        })
    }

    /// The KV service's address.
    pub fn kv_addr(&self) -> SocketAddr {
        self.kv_addr
    }

    /// The embedded PD's address, if this node runs one.
    pub fn pd_addr(&self) -> Option<SocketAddr> {
        self.pd_addr
    }

    /// The node's identity.
    pub fn ident(&self) -> StoreIdent {
        self.ident
    }

    /// The node's metrics (the status server renders them).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The engine (for the status server's engine metrics).
    pub fn db(&self) -> &Arc<lsm::Db> {
        &self.db
    }

    /// The regions this store holds, by start key.
    pub fn regions(&self) -> Vec<Region> {
        self.regions.all().into_iter().map(|i| i.region).collect()
    }

    /// Stops serving, waits for in-flight requests, then stops the Raft thread.
    ///
    /// # Errors
    /// The first error a serving task ended with.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.stop.send(true);
        let mut first = Ok(());
        for t in self.tasks {
            let r = t
                .await
                .map_err(|e| Error::Pd(format!("a node task failed: {e}")))
                .and_then(|r| r);
            if first.is_ok() {
                first = r;
            }
        }
        stop_raft(self.raft.handle(), self.raft_thread).await;
        first
    }
}

/// Stops the Raft thread and waits for it (off the async threads: joining blocks).
async fn stop_raft(handle: &StoreHandle, thread: std::thread::JoinHandle<()>) {
    handle.stop();
    if tokio::task::spawn_blocking(move || thread.join())
        .await
        .is_err()
    {
        tracing::error!("the Raft thread panicked");
    }
}

/// Waits (at most `limit`) until every region whose only replica is here has elected it:
/// a single node serves as soon as `start` returns. Regions with other replicas elect on
/// their own time; clients retry on NotLeader.
async fn wait_for_sole_leaders(regions: &RegionTable, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let waiting = regions
            .all()
            .iter()
            .filter(|i| i.region.peers == [i.peer] && !i.is_leader())
            .count();
        if waiting == 0 || tokio::time::Instant::now() >= deadline {
            if waiting > 0 {
                tracing::warn!(
                    regions = waiting,
                    "some one-replica regions have no leader yet"
                );
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Resolves once `stopped` turns true (or its sender is gone).
async fn wait_for(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

pub(crate) fn unix_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}
