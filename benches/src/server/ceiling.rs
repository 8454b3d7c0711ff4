//! The transport's ceiling: the node's own gRPC service definition (`tikvpb.Tikv`, from
//! `server::proto`) with every method answering an empty response at once, served by tonic
//! the way the node serves (same compression settings, same loopback), and called through
//! channels set up as tikv-client sets up its channel to a store.
//!
//! tikv-client keeps one channel per store address per client (`PdRpcClient`'s
//! `kv_client_cache`), made by `Channel::from_shared(addr).tcp_keepalive(10 s)
//! .keep_alive_timeout(3 s)`, with a `TikvClient` that accepts gzip, and sets a timeout on
//! every request. Each caller here does the same with its own channel, as each benchmark
//! client owns its own tikv-client client. One difference remains: tikv-client 0.4 speaks
//! through tonic 0.10 (hyper 0.14), these callers through tonic 0.14 (hyper 1), the node's
//! version.

use std::net::SocketAddr;
use std::time::Duration;

use server::proto::kvrpcpb;
use server::proto::metapb;
use server::proto::tikvpb::tikv_client::TikvClient;
use server::proto::tikvpb::tikv_server::{Tikv, TikvServer};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::codec::CompressionEncoding;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};

use crate::error::{Error, Result};

/// The service that does nothing.
#[derive(Debug, Clone, Copy)]
struct Empty;

macro_rules! empty_service {
    ($($method:ident($req:ident) -> $resp:ident;)*) => {
        #[tonic::async_trait]
        impl Tikv for Empty {
            $(
                async fn $method(
                    &self,
                    _request: Request<kvrpcpb::$req>,
                ) -> Result<Response<kvrpcpb::$resp>, Status> {
                    Ok(Response::new(kvrpcpb::$resp::default()))
                }
            )*
        }
    };
}

server::with_tikv_methods!(empty_service);

/// The empty service, serving on a loopback port until dropped or stopped.
#[derive(Debug)]
pub struct EmptyServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::result::Result<(), tonic::transport::Error>>,
}

impl EmptyServer {
    /// Starts serving on a free loopback port, on the current tokio runtime. Compression as
    /// the node's: gzip requests accepted, responses gzipped when `compress_responses`.
    ///
    /// # Errors
    /// Binding failed.
    pub async fn start(compress_responses: bool) -> Result<EmptyServer> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let mut service = TikvServer::new(Empty).accept_compressed(CompressionEncoding::Gzip);
        if compress_responses {
            service = service.send_compressed(CompressionEncoding::Gzip);
        }
        let (stop, stopped) = oneshot::channel::<()>();
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let task = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                }),
        );
        Ok(EmptyServer {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and waits for the server task.
    ///
    /// # Errors
    /// The server failed.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(served) => served.map_err(|e| Error::Rpc(format!("empty service: {e}"))),
            Err(e) => Err(Error::Rpc(format!("empty service task: {e}"))),
        }
    }
}

/// One caller of the empty service: its own channel, and a request shaped like
/// tikv-client's raw get of a `key_size`-byte key.
#[derive(Debug)]
pub struct EmptyCaller {
    client: TikvClient<Channel>,
    request: kvrpcpb::RawGetRequest,
    timeout: Duration,
}

impl EmptyCaller {
    /// Connects a new channel to `addr`.
    ///
    /// # Errors
    /// The connection failed.
    pub async fn connect(addr: SocketAddr, key: Vec<u8>, timeout: Duration) -> Result<Self> {
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| Error::Rpc(e.to_string()))?
            .tcp_keepalive(Some(Duration::from_secs(10)))
            .keep_alive_timeout(Duration::from_secs(3))
            .connect()
            .await
            .map_err(|e| Error::Rpc(format!("connecting to the empty service: {e}")))?;
        let client = TikvClient::new(channel).accept_compressed(CompressionEncoding::Gzip);
        let request = kvrpcpb::RawGetRequest {
            context: Some(kvrpcpb::Context {
                region_id: 2,
                region_epoch: Some(metapb::RegionEpoch {
                    conf_ver: 1,
                    version: 1,
                }),
                peer: Some(metapb::Peer {
                    id: 3,
                    store_id: 1,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            key,
            ..Default::default()
        };
        Ok(EmptyCaller {
            client,
            request,
            timeout,
        })
    }

    /// One call.
    ///
    /// # Errors
    /// The call failed.
    pub async fn call(&mut self) -> Result<()> {
        let mut request = Request::new(self.request.clone());
        request.set_timeout(self.timeout);
        self.client
            .raw_get(request)
            .await
            .map(drop)
            .map_err(|e| Error::Rpc(format!("empty call: {e}")))
    }
}
