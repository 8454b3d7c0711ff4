//! [`StatusState`]: what the status server answers from — the metrics registry, the effective
//! configuration, and a callback through which the node adds what only it knows (store id,
//! region count, …) to `/status`.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::config::Config;
use crate::metrics::Metrics;

/// Fields the node adds to `/status`: called on every request, so it reports the present.
/// It should return a JSON object; its fields are merged into the answer.
pub type NodeInfo = Arc<dyn Fn() -> Value + Send + Sync>;

/// The status server's shared state; cheap to clone (everything is behind `Arc`).
#[derive(Clone)]
pub struct StatusState {
    /// Rendered by `/metrics`.
    pub(super) metrics: Arc<Metrics>,
    /// Shown by `/config`; the configuration the process runs with, after flags.
    pub(super) config: Arc<Config>,
    node_info: Option<NodeInfo>,
    /// Wall-clock start, for operators; uptime comes from the monotonic clock instead, so a
    /// clock step cannot make it negative.
    started_at: SystemTime,
    started: Instant,
}

impl std::fmt::Debug for StatusState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusState")
            .field("config", &self.config)
            .field("node_info", &self.node_info.is_some())
            .field("started_at", &self.started_at)
            .finish_non_exhaustive()
    }
}

impl StatusState {
    /// State for a process that started now.
    pub fn new(metrics: Arc<Metrics>, config: Arc<Config>) -> StatusState {
        StatusState {
            metrics,
            config,
            node_info: None,
            started_at: SystemTime::now(),
            started: Instant::now(),
        }
    }

    /// Adds the node's fields (e.g. `store_id`) to every `/status` answer.
    pub fn with_node_info(mut self, info: impl Fn() -> Value + Send + Sync + 'static) -> Self {
        self.node_info = Some(Arc::new(info));
        self
    }

    /// The `/status` document: build, start time, uptime, addresses, then the node's fields
    /// (which win on a name clash).
    pub fn status(&self) -> Value {
        let server = &self.config.server;
        let mut doc = json!({
            "version": env!("CARGO_PKG_VERSION"),
            // Set by a release build's environment; absent from a plain `cargo build`.
            "git_hash": option_env!("STRATA_GIT_HASH"),
            "start_time": self
                .started_at
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            "uptime_seconds": self.started.elapsed().as_secs_f64(),
            "addr": server.addr,
            "advertise_addr": server.advertise_addr(),
            "status_addr": server.status_addr,
        });
        if let (Some(info), Some(fields)) = (&self.node_info, doc.as_object_mut()) {
            match info() {
                Value::Object(extra) => fields.extend(extra),
                Value::Null => {}
                other => {
                    fields.insert("node".into(), other);
                }
            }
        }
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_has_build_addresses_and_the_nodes_fields() {
        let mut config = Config::default();
        config.server.advertise_addr = "kv-0:20160".into();
        let state = StatusState::new(Metrics::new(), Arc::new(config));
        let plain = state.status();
        assert_eq!(plain["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(plain["addr"], "127.0.0.1:20160");
        assert_eq!(plain["advertise_addr"], "kv-0:20160");
        assert!(plain["start_time"].as_u64().unwrap() > 0);
        assert!(plain.get("store_id").is_none());

        let state = state.with_node_info(|| json!({ "store_id": 7, "addr": "node's" }));
        let doc = state.status();
        assert_eq!(doc["store_id"], 7);
        assert_eq!(doc["addr"], "node's", "the node's fields win");
        assert_eq!(doc["status_addr"], "127.0.0.1:20180");
    }
}
