//! The embedded placement driver (PD): what TiKV clients and nodes ask of PD, for a cluster
//! whose only PD member is this one — cluster identity and membership, timestamps (TSO),
//! ids, stores, the region map, splits and the GC safe point — persisted in its own
//! `lsm::Db` (layout in `server/FORMAT.md`).
//!
//! Served on one listener: gRPC (`pdpb.PD`, `keyspacepb.Keyspace`, HTTP/2 without TLS) and
//! PD's HTTP API (`/pd/api/v1/...`, HTTP/1.1).
//!
//! Scheduling (replica repair, down stores, excess replicas, leader balance) answers region
//! heartbeats with operators: see `schedule` for the rules, defaults and departures from PD,
//! and `heartbeat` for what the node is sent.
//!
//! Concurrency: [`PdServer`] is shared (`Arc`); the cluster state, the operator table, the id
//! allocator and the TSO each sit under their own mutex, held across their (synchronous,
//! synced) writes and never while awaiting. At most two are held at once, and only in one
//! order: operators, then ids (a new operator's peer ids are allocated under the table).
//!
//! Modules: `service` (the gRPC PD service), `heartbeat` (region heartbeats → operators),
//! `keyspace` (the keyspace service), `http` (the HTTP API), `respond` (response headers,
//! the cluster id check, serving streams), `cluster` (bootstrap, stores, regions, safe
//! point), `schedule` (the pure scheduling rules and the operator table), `region_tree` (key
//! range → region), `tso` (timestamps), `id_alloc` (ids), `clock` (the time seam),
//! `storage` (persistence).

mod clock;
mod cluster;
mod heartbeat;
mod http;
mod id_alloc;
mod keyspace;
mod region_tree;
mod respond;
mod schedule;
mod service;
mod storage;
mod tso;

pub use clock::{Clock, ManualClock, SystemClock};
pub use schedule::{ScheduleConfig, StoreState};

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tonic::codec::CompressionEncoding;

use crate::proto::{keyspacepb, pdpb};
use crate::{Error, Result};
use cluster::Cluster;
use id_alloc::IdAllocator;
use schedule::Operators;
use storage::{Batch, Storage};
use tso::{TsoAllocator, TsoError};

/// The name PD members are given (PD's default `name`).
const MEMBER_NAME: &str = "pd";

/// How a PD runs: scheduling settings and the clock they measure time with.
#[derive(Debug, Clone)]
pub struct PdOptions {
    /// Replica and leader scheduling.
    pub schedule: ScheduleConfig,
    /// Store liveness and operator timeouts are measured with it (tests move it).
    pub clock: Arc<dyn Clock>,
}

impl Default for PdOptions {
    fn default() -> Self {
        PdOptions {
            schedule: ScheduleConfig::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

/// The placement driver's state; shared by its services.
#[derive(Debug)]
pub struct PdServer {
    /// Chosen at first open, constant afterwards; every response carries it.
    cluster_id: u64,
    /// This member as `GetMembers` describes it (it is also the leader).
    member: pdpb::Member,
    storage: Arc<Storage>,
    cluster: Mutex<Cluster>,
    ids: Mutex<IdAllocator>,
    tso: Mutex<TsoAllocator>,
    schedule: ScheduleConfig,
    clock: Arc<dyn Clock>,
    /// When this PD started (by `clock`): a store not heard from since counts as silent
    /// from here, not from its last heartbeat before a restart (which is not persisted).
    started: SystemTime,
    operators: Mutex<Operators>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock happens only between a durable write and the memory
    // update; the state is still the last consistent one or the new one, both valid.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn random_u64() -> u64 {
    // `RandomState` is seeded from the OS's randomness: enough for identifiers.
    let mut h = RandomState::new().build_hasher();
    h.write_u64(now_ms().unsigned_abs());
    h.finish()
}

/// Wall-clock milliseconds since the Unix epoch (0 if the clock is before it).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl PdServer {
    /// Opens (or creates) PD's persisted state in `dir`. `client_urls`: the URLs PD
    /// advertises in `GetMembers` (e.g. `http://127.0.0.1:2379`).
    ///
    /// # Errors
    /// `Corruption` if the persisted state is damaged; `Lsm`/`Io` if it cannot be opened.
    pub fn open(dir: &Path, client_urls: Vec<String>) -> Result<Arc<PdServer>> {
        Self::open_with(dir, client_urls, PdOptions::default())
    }

    /// [`PdServer::open`] with scheduling settings and a clock.
    ///
    /// # Errors
    /// As [`PdServer::open`].
    pub fn open_with(
        dir: &Path,
        client_urls: Vec<String>,
        options: PdOptions,
    ) -> Result<Arc<PdServer>> {
        let (storage, mut loaded) = Storage::open(dir, || {
            // As PD: creation time in the high half, randomness in the low half.
            let secs = u64::try_from(now_ms() / 1000).unwrap_or_default();
            let cluster_id = (secs << 32) | (random_u64() & 0xffff_ffff);
            (cluster_id.max(1), random_u64().max(1))
        })?;
        let storage = Arc::new(storage);
        let member = pdpb::Member {
            name: MEMBER_NAME.into(),
            member_id: loaded.member_id,
            // There is no separate peer port: members never talk to each other.
            peer_urls: client_urls.clone(),
            client_urls,
            ..Default::default()
        };
        let cluster = Cluster::load(storage.clone(), &mut loaded)?;
        Ok(Arc::new(PdServer {
            cluster_id: loaded.cluster_id,
            member,
            ids: Mutex::new(IdAllocator::recover(loaded.alloc_bound)),
            tso: Mutex::new(TsoAllocator::recover(loaded.tso_bound)),
            cluster: Mutex::new(cluster),
            storage,
            schedule: options.schedule,
            started: options.clock.now(),
            clock: options.clock,
            operators: Mutex::new(Operators::default()),
        }))
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> u64 {
        self.cluster_id
    }

    /// This member's id.
    pub fn member_id(&self) -> u64 {
        self.member.member_id
    }

    /// True once a node has bootstrapped the cluster.
    pub fn is_bootstrapped(&self) -> bool {
        lock(&self.cluster).is_bootstrapped()
    }

    /// The GC safe point (0 before any update or bootstrap).
    pub fn gc_safe_point(&self) -> u64 {
        lock(&self.cluster).gc_safe_point().unwrap_or_default()
    }

    fn cluster(&self) -> MutexGuard<'_, Cluster> {
        lock(&self.cluster)
    }

    fn operators(&self) -> MutexGuard<'_, Operators> {
        lock(&self.operators)
    }

    fn alloc_id(&self) -> Result<u64> {
        lock(&self.ids).alloc(|bound| {
            let mut b = Batch::default();
            b.put_alloc_bound(bound);
            self.storage.write(b)
        })
    }

    fn timestamp(&self, count: u32) -> Result<(i64, i64), TsoError> {
        lock(&self.tso).allocate(count, now_ms(), |bound| {
            let mut b = Batch::default();
            b.put_tso_bound(bound);
            self.storage.write(b)
        })
    }

    fn header(&self) -> Option<pdpb::ResponseHeader> {
        Some(pdpb::ResponseHeader {
            cluster_id: self.cluster_id,
            error: None,
        })
    }

    fn error_header(&self, e: cluster::PdError) -> Option<pdpb::ResponseHeader> {
        Some(pdpb::ResponseHeader {
            cluster_id: self.cluster_id,
            error: Some(pdpb::Error {
                r#type: e.kind as i32,
                message: e.message,
            }),
        })
    }
}

/// Runs a placement driver alone (`strata-server pd`): state in `data_dir`, serving on
/// `addr` until `shutdown`.
///
/// # Errors
/// `Config` for an address that does not parse; binding, opening the state, or serving
/// failed.
pub async fn run_alone(
    addr: &str,
    data_dir: &std::path::Path,
    schedule: ScheduleConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr: std::net::SocketAddr = addr
        .parse()
        .map_err(|e| Error::Config(format!("pd --addr {addr:?}: {e}")))?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let options = PdOptions {
        schedule,
        ..PdOptions::default()
    };
    let pd = PdServer::open_with(data_dir, vec![url.clone()], options)?;
    tracing::info!(%url, data_dir = %data_dir.display(), "PD serving");
    serve(pd, listener, shutdown).await
}

/// Serves `pdpb.PD`, `keyspacepb.Keyspace` (gRPC over h2c) and PD's HTTP API (HTTP/1.1) on
/// `listener` until `shutdown` resolves; open streams (TSO, region heartbeats) are then ended
/// so the graceful shutdown completes.
///
/// # Errors
/// `Io` if serving fails.
pub async fn serve(
    pd: Arc<PdServer>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(false);
    let gzip = CompressionEncoding::Gzip;
    let pd_service =
        pdpb::pd_server::PdServer::new(service::PdService::new(pd.clone(), closing_rx))
            .accept_compressed(gzip)
            .send_compressed(gzip);
    let keyspace_service = keyspacepb::keyspace_server::KeyspaceServer::new(
        keyspace::KeyspaceService::new(pd.clone()),
    )
    .accept_compressed(gzip)
    .send_compressed(gzip);
    let router = tonic::service::Routes::new(pd_service)
        .add_service(keyspace_service)
        .prepare()
        .into_axum_router()
        .merge(http::router(pd));
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = closing_tx.send(true);
        })
        .await
        .map_err(Error::Io)
}
