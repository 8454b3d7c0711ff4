//! Shared by the `pd_*` scenario tests: a PD on a free local port that stops when dropped
//! or stopped, and small request helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

pub mod sched;

use server::pd::{self, PdOptions, PdServer};
use server::proto::{metapb, pdpb};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// A running PD.
pub struct Pd {
    pub addr: SocketAddr,
    pub server: Arc<PdServer>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<server::Result<()>>>,
}

impl Pd {
    /// Opens PD's state in `dir` and serves it on 127.0.0.1 (a free port).
    pub async fn start(dir: &Path) -> Pd {
        Pd::start_with(dir, PdOptions::default()).await
    }

    /// [`Pd::start`] with scheduling options (a manual clock, short timeouts).
    pub async fn start_with(dir: &Path, options: PdOptions) -> Pd {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = PdServer::open_with(dir, vec![format!("http://{addr}")], options).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(pd::serve(server.clone(), listener, async move {
            let _ = stopped.await;
        }));
        Pd {
            addr,
            server,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A gRPC client (HTTP/2 prior knowledge).
    pub async fn client(&self) -> pdpb::pd_client::PdClient<Channel> {
        pdpb::pd_client::PdClient::connect(format!("http://{}", self.addr))
            .await
            .unwrap()
    }

    /// A request header naming this PD's cluster.
    pub fn header(&self) -> Option<pdpb::RequestHeader> {
        Some(pdpb::RequestHeader {
            cluster_id: self.server.cluster_id(),
            sender_id: 0,
        })
    }

    /// Stops serving and waits until the server (and its state) is released.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for Pd {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// GET `path` over a fresh HTTP/1.1 connection; returns the status line and the JSON body.
pub async fn http_get(pd: &Pd, path: &str) -> (String, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(pd.addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        pd.addr
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.lines().next().unwrap().to_string();
    (status, serde_json::from_str(body).unwrap())
}

/// Asserts a successful response header: our cluster id, no error.
pub fn assert_ok(pd: &Pd, header: Option<&pdpb::ResponseHeader>) {
    let h = header.expect("response header");
    assert_eq!(h.cluster_id, pd.server.cluster_id());
    assert!(h.error.is_none(), "unexpected error {:?}", h.error);
}

/// The error type in a response header (panics if there is none).
pub fn error_type(header: Option<&pdpb::ResponseHeader>) -> pdpb::ErrorType {
    let e = header
        .and_then(|h| h.error.as_ref())
        .expect("an error header");
    pdpb::ErrorType::try_from(e.r#type).unwrap()
}

pub fn peer(id: u64, store_id: u64) -> metapb::Peer {
    metapb::Peer {
        id,
        store_id,
        ..Default::default()
    }
}

pub fn region(
    id: u64,
    start: &[u8],
    end: &[u8],
    version: u64,
    peers: Vec<metapb::Peer>,
) -> metapb::Region {
    metapb::Region {
        id,
        start_key: start.to_vec(),
        end_key: end.to_vec(),
        region_epoch: Some(metapb::RegionEpoch {
            conf_ver: 1,
            version,
        }),
        peers,
        ..Default::default()
    }
}

pub fn store(id: u64, address: &str) -> metapb::Store {
    metapb::Store {
        id,
        address: address.into(),
        ..Default::default()
    }
}

/// An id from `AllocID`.
pub async fn alloc_id(pd: &Pd, client: &mut pdpb::pd_client::PdClient<Channel>) -> u64 {
    let resp = client
        .alloc_id(pdpb::AllocIdRequest {
            header: pd.header(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(pd, resp.header.as_ref());
    assert_ne!(resp.id, 0);
    resp.id
}

/// What a bootstrap created.
#[derive(Debug, Clone, Copy)]
pub struct Bootstrapped {
    pub store_id: u64,
    pub region_id: u64,
    pub peer_id: u64,
}

/// Bootstraps as a node does: ids from `AllocID`, a store at `address`, one region covering
/// all keys with one peer on that store.
pub async fn bootstrap(
    pd: &Pd,
    client: &mut pdpb::pd_client::PdClient<Channel>,
    address: &str,
) -> Bootstrapped {
    let b = Bootstrapped {
        store_id: alloc_id(pd, client).await,
        region_id: alloc_id(pd, client).await,
        peer_id: alloc_id(pd, client).await,
    };
    let resp = client
        .bootstrap(pdpb::BootstrapRequest {
            header: pd.header(),
            store: Some(store(b.store_id, address)),
            region: Some(region(
                b.region_id,
                b"",
                b"",
                1,
                vec![peer(b.peer_id, b.store_id)],
            )),
        })
        .await
        .unwrap()
        .into_inner();
    assert_ok(pd, resp.header.as_ref());
    b
}
