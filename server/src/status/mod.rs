//! The HTTP status server, on its own port (`server.status-addr`), as TiKV's:
//!
//! - `GET /metrics`: Prometheus' text format (`text/plain; version=0.0.4`).
//! - `GET /status`: JSON — version, git hash when the build set one, start time, uptime,
//!   addresses, and the node's fields (store id, …) from [`StatusState::with_node_info`].
//! - `GET /config`: the effective configuration as JSON, with TiKV's kebab-case keys and
//!   readable units (`"64MiB"`).
//!
//! Anything else is 404 (another method on a known path, 405). Concurrency: handlers only
//! read shared state; an engine scrape takes the engine's state lock briefly.

mod state;

use std::future::Future;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

pub use state::{NodeInfo, StatusState};

use crate::Result;

/// Serves the status endpoints on `listener` until `shutdown` resolves; requests in flight
/// are finished first.
///
/// # Errors
/// `Io` if accepting connections fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: StatusState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// The routes, for embedding the status endpoints in another server.
pub fn router(state: StatusState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/config", get(config))
        .fallback(not_found)
        .with_state(state)
}

async fn metrics(State(state): State<StatusState>) -> Response {
    match state.metrics.render() {
        Ok(text) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot render metrics");
            (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
        }
    }
}

async fn status(State(state): State<StatusState>) -> Json<serde_json::Value> {
    Json(state.status())
}

async fn config(State(state): State<StatusState>) -> Json<crate::config::Config> {
    Json((*state.config).clone())
}

async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "not found\n")
}
