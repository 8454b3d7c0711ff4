//! A Strata node: storage, the KV service, and (by default) an embedded placement driver.
//!
//! Start-up: open the engine → start the embedded PD if configured → connect to PD → load
//! or obtain the store identity → bootstrap the cluster's first region if nobody has →
//! register the store → serve KV → heartbeat. Shutdown stops accepting requests, lets
//! in-flight ones finish, then closes the engine: every acknowledged write was already
//! durable (writes sync before they are acknowledged unless `sync` is off).
//!
//! The node is one region replica per region today; replication (issue 7) puts each region
//! behind a Raft group without changing this module's shape.

mod meta;
mod pd_client;
mod run;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mvcc::{LsmEngine, TimeStamp};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tonic::codec::CompressionEncoding;
use txn::{
    ApiVersion, ConcurrencyManager, GcCompactionFilterFactory, LocalEngine, RawStorage,
    RawTtlFilter, SystemClock, TxnStorage,
};

use crate::error::{Error, Result};
use crate::kv::{region_to_pb, KvService, Limits};
use crate::metrics::Metrics;
use crate::proto::{metapb, pdpb, tikvpb::tikv_server::TikvServer};
use crate::region::{Region, RegionTable};
use meta::NodeMeta;
pub use meta::{StoreIdent, META_CF};
use pd_client::Pd;
pub use run::run;

/// Where the node finds its placement driver.
#[derive(Debug, Clone)]
pub enum PdSetting {
    /// Run PD in this process, serving on this listener's address.
    Embedded {
        /// PD's address (port 0: any free port).
        addr: SocketAddr,
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
            pd: PdSetting::Embedded { addr: any },
            api_version: ApiVersion::V1,
            sync: true,
            limits: Limits::default(),
            max_message_size: 64 << 20,
            compress_responses: true,
            lsm: lsm::Options::default(),
        }
    }
}

/// A running node.
#[derive(Debug)]
pub struct Node {
    kv_addr: SocketAddr,
    pd_addr: Option<SocketAddr>,
    ident: StoreIdent,
    regions: Arc<RegionTable>,
    meta: NodeMeta,
    pd: Pd,
    heartbeats: mpsc::Sender<pdpb::RegionHeartbeatRequest>,
    metrics: Arc<Metrics>,
    db: Arc<lsm::Db>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<Result<()>>>,
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
            PdSetting::Embedded { addr } => {
                let listener = TcpListener::bind(addr).await?;
                let bound = listener.local_addr()?;
                let url = format!("http://{bound}");
                let pd = crate::pd::PdServer::open(&cfg.data_dir.join("pd"), vec![url.clone()])?;
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
        let lsm_engine = LsmEngine::new(db.clone())?;
        ttl.bind(&lsm_engine);
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
        let (ident, regions) = join_cluster(&pd, &meta, &advertise, &cfg.status_addr).await?;
        let regions = Arc::new(RegionTable::new(ident.store_id, regions));
        let heartbeats = pd.region_heartbeats().await?;
        for r in regions.all() {
            send_heartbeat(&pd, &heartbeats, &r).await;
        }

        let engine = LocalEngine::new(lsm_engine);
        // Timestamps come from PD: start above nothing, max_ts rises with every read.
        let cm = ConcurrencyManager::new(TimeStamp::zero());
        let txn = TxnStorage::new(engine.clone(), cm).with_sync(cfg.sync);
        let raw = RawStorage::new(engine, cfg.api_version).with_sync(cfg.sync);
        let kv = KvService::new(txn, raw, regions.clone(), cfg.limits, metrics.clone());
        let mut service = TikvServer::new(kv)
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(cfg.max_message_size)
            .max_encoding_message_size(usize::MAX);
        if cfg.compress_responses {
            service = service.send_compressed(CompressionEncoding::Gzip);
        }
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let shutdown = wait_for(stopped.clone());
        tasks.push(tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, shutdown)
                .await
                .map_err(Error::from)
        }));
        tasks.push(tokio::spawn(background(
            pd.clone(),
            ident,
            regions.clone(),
            safe_point,
            wait_for(stopped),
        )));
        tracing::info!(%kv_addr, ?pd_addr, store_id = ident.store_id, cluster_id = ident.cluster_id, "node started");
        Ok(Node {
            kv_addr,
            pd_addr,
            ident,
            regions,
            meta,
            pd,
            heartbeats,
            metrics,
            db,
            stop,
            tasks,
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

    /// The regions served here.
    pub fn regions(&self) -> Vec<Arc<Region>> {
        self.regions.all()
    }

    /// Splits the region holding `split_key` (region key space) at it: the original region
    /// keeps `[split_key, end)`, a new region with PD's ids takes `[start, split_key)`, both
    /// one epoch version on. The new state is durable before PD hears of it.
    ///
    /// # Errors
    /// `Config` if no region holds the key or it is a region's start; PD or engine errors.
    pub async fn split_region(&self, split_key: &[u8]) -> Result<(Region, Region)> {
        let region = self
            .regions
            .all()
            .into_iter()
            .find(|r| r.contains(split_key))
            .ok_or_else(|| Error::Config(format!("no region holds {split_key:02x?}")))?;
        if region.start_key == split_key {
            return Err(Error::Config("split key is the region's start".into()));
        }
        let ids = self.pd.ask_split(region_to_pb(&region)).await?;
        let mut right = (*region).clone();
        right.start_key = split_key.to_vec();
        right.epoch.version += 1;
        let mut left = (*region).clone();
        left.id = ids.new_region_id;
        left.end_key = split_key.to_vec();
        left.epoch.version += 1;
        left.peers = region
            .peers
            .iter()
            .zip(ids.new_peer_ids.iter())
            .map(|(p, id)| crate::region::Peer {
                id: *id,
                store_id: p.store_id,
            })
            .collect();
        left.leader = left.peer_on(self.ident.store_id).map_or(0, |p| p.id);
        self.meta.put_regions(&[left.clone(), right.clone()])?;
        self.regions.upsert([left.clone(), right.clone()]);
        self.pd
            .report_split(vec![region_to_pb(&left), region_to_pb(&right)])
            .await?;
        for r in [&left, &right] {
            send_heartbeat(&self.pd, &self.heartbeats, r).await;
        }
        Ok((left, right))
    }

    /// Stops serving, waits for in-flight requests, and closes the engine.
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
        first
    }
}

/// Resolves once `stopped` turns true (or its sender is gone).
async fn wait_for(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

/// Identity and regions: from the node's own records, else from PD (allocating the store
/// id, bootstrapping the cluster's first region when nobody has).
async fn join_cluster(
    pd: &Pd,
    meta: &NodeMeta,
    advertise: &str,
    status_addr: &str,
) -> Result<(StoreIdent, Vec<Region>)> {
    let ident = match meta.ident()? {
        Some(id) if id.cluster_id != pd.cluster_id() => {
            return Err(Error::Config(format!(
                "this data directory belongs to cluster {}, PD serves cluster {}",
                id.cluster_id,
                pd.cluster_id()
            )))
        }
        Some(id) => id,
        None => {
            let id = StoreIdent {
                cluster_id: pd.cluster_id(),
                store_id: pd.alloc_id().await?,
            };
            meta.set_ident(id)?;
            id
        }
    };
    let store = metapb::Store {
        id: ident.store_id,
        address: advertise.to_string(),
        status_address: status_addr.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        state: metapb::StoreState::Up as i32,
        start_timestamp: unix_secs(),
        ..Default::default()
    };
    let mut regions = meta.regions()?;
    if regions.is_empty() && !pd.is_bootstrapped().await? {
        let region = Region {
            id: pd.alloc_id().await?,
            start_key: Vec::new(),
            end_key: Vec::new(),
            epoch: crate::region::Epoch {
                conf_ver: 1,
                version: 1,
            },
            peers: vec![crate::region::Peer {
                id: pd.alloc_id().await?,
                store_id: ident.store_id,
            }],
            leader: 0,
        };
        // Recorded before PD hears of it, so a crash in between cannot lose the region.
        meta.put_regions(std::slice::from_ref(&region))?;
        pd.bootstrap(store.clone(), region_to_pb(&region)).await?;
        regions.push(region);
    }
    pd.put_store(store).await?;
    // One replica per region: this node leads every region it holds.
    for r in &mut regions {
        r.leader = r.peer_on(ident.store_id).map_or(0, |p| p.id);
    }
    Ok((ident, regions))
}

async fn send_heartbeat(
    pd: &Pd,
    heartbeats: &mpsc::Sender<pdpb::RegionHeartbeatRequest>,
    region: &Region,
) {
    let Some(leader) = region.leader_peer() else {
        return;
    };
    let hb = pd.region_heartbeat(region_to_pb(region), crate::kv::peer_pb(leader));
    if heartbeats.send(hb).await.is_err() {
        tracing::warn!(region_id = region.id, "region heartbeat stream closed");
    }
}

/// Store heartbeats and the GC safe point, every few seconds until shutdown.
async fn background(
    pd: Pd,
    ident: StoreIdent,
    regions: Arc<RegionTable>,
    safe_point: Arc<AtomicU64>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let start = unix_secs();
    loop {
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            _ = tick.tick() => {}
        }
        let stats = pdpb::StoreStats {
            store_id: ident.store_id,
            region_count: u32::try_from(regions.all().len()).unwrap_or(u32::MAX),
            start_time: u32::try_from(start).unwrap_or(0),
            ..Default::default()
        };
        if let Err(e) = pd.store_heartbeat(stats).await {
            tracing::warn!(error = %e, "store heartbeat failed");
        }
        match pd.gc_safe_point().await {
            Ok(sp) => {
                safe_point.fetch_max(sp, Ordering::SeqCst);
            }
            Err(e) => tracing::warn!(error = %e, "reading the GC safe point failed"),
        }
    }
}

fn unix_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}
