//! [`run`]: the whole server for a configuration — the node (storage, KV service, embedded
//! PD) and its status server — until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use super::{Node, NodeConfig, PdSetting};
use crate::config::{Config, GrpcCompression};
use crate::error::{Error, Result};
use crate::kv::Limits;
use crate::status::{self, StatusState};

fn parse_addr(key: &str, value: &str) -> Result<SocketAddr> {
    let bare = value
        .strip_prefix("http://")
        .unwrap_or(value)
        .trim_end_matches('/');
    bare.parse()
        .map_err(|e| Error::Config(format!("{key}: {value:?} is not an address: {e}")))
}

/// The node's settings from the configuration.
///
/// # Errors
/// `Config` for an address that does not parse or an invalid API version.
pub fn node_config(config: &Config) -> Result<NodeConfig> {
    let pd = if config.pd.embedded {
        let first = config
            .pd
            .endpoints
            .first()
            .ok_or_else(|| Error::Config("pd.endpoints: empty".into()))?;
        PdSetting::Embedded {
            addr: parse_addr("pd.endpoints", first)?,
            schedule: config.pd.schedule(),
        }
    } else {
        PdSetting::Remote {
            endpoints: config.pd.endpoints.clone(),
        }
    };
    let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    Ok(NodeConfig {
        addr: parse_addr("server.addr", &config.server.addr)?,
        advertise_addr: config.server.advertise_addr().to_string(),
        status_addr: config.server.status_addr.clone(),
        data_dir: config.storage.data_dir.clone(),
        pd,
        api_version: config.storage.api_version()?,
        sync: config.raftstore.sync_log,
        limits: Limits {
            max_key_size: size(config.server.max_key_size.0),
            max_batch_keys: config.server.max_batch_keys,
            max_scan_limit: u32::try_from(config.server.max_scan_limit).unwrap_or(u32::MAX),
        },
        max_message_size: size(config.server.max_grpc_message_size.0),
        compress_responses: config.server.grpc_compression == GrpcCompression::Gzip,
        lsm: config.lsm.to_options(),
        raft: config.raftstore.store_config(&config.coprocessor),
        raft_base_tick: config.raftstore.raft_base_tick_interval.0,
        raft_request_timeout: super::RAFT_REQUEST_TIMEOUT,
        region_heartbeat_interval: config.raftstore.pd_heartbeat_tick_interval.0,
    })
}

/// Runs the server with `config` until `shutdown` resolves, then stops it gracefully:
/// in-flight requests finish; everything acknowledged was already durable.
///
/// # Errors
/// An invalid configuration; binding, storage or PD failures at start-up; the first error a
/// serving task ended with.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    config.validate()?;
    let node_cfg = node_config(&config)?;
    let status_listener = tokio::net::TcpListener::bind(&config.server.status_addr).await?;
    let node = Node::start(node_cfg).await?;
    node.metrics()
        .register_engine(node.db().clone())
        .map_err(|e| Error::Config(format!("engine metrics: {e}")))?;
    let (kv_addr, pd_addr, ident) = (node.kv_addr(), node.pd_addr(), node.ident());
    let state =
        StatusState::new(node.metrics().clone(), Arc::new(config)).with_node_info(move || {
            serde_json::json!({
                "store_id": ident.store_id,
                "cluster_id": ident.cluster_id,
                "addr": kv_addr.to_string(),
                "pd_addr": pd_addr.map(|a| a.to_string()),
            })
        });
    tracing::info!(status_addr = %status_listener.local_addr()?, "status server listening");
    let (stop_status, status_stopped) = tokio::sync::oneshot::channel::<()>();
    let status_task = tokio::spawn(status::serve(status_listener, state, async move {
        let _ = status_stopped.await;
    }));
    shutdown.await;
    tracing::info!("shutting down");
    let _ = stop_status.send(());
    let node_result = node.shutdown().await;
    let status_result = status_task
        .await
        .map_err(|e| Error::Config(format!("status server task failed: {e}")))?;
    node_result.and(status_result)
}
