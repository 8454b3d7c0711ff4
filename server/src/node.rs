//! TEMPORARY — the lead's file: the node wiring (engine, PD, KV service) replaces all of it.
//! Until then, `run` starts only the status server, so the binary and its flags work end to
//! end.

use std::future::Future;
use std::sync::Arc;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::status::{self, StatusState};
use crate::Result;

/// Runs the server with `config` until `shutdown` resolves (for now: the status server).
///
/// # Errors
/// `Config` if the configuration is invalid; `Io` if the status address cannot be bound.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    config.validate()?;
    let listener = tokio::net::TcpListener::bind(&config.server.status_addr).await?;
    tracing::info!(status_addr = %config.server.status_addr, "status server listening");
    let state = StatusState::new(Metrics::new(), Arc::new(config));
    status::serve(listener, state, shutdown).await
}
