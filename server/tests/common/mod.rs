//! Shared by the end-to-end tests: a node with embedded PD on free loopback ports in a
//! temporary directory, and the unchanged `tikv-client` talking to it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod bank;
pub mod grpc;
pub mod raw;
pub mod transactions;

use std::time::Duration;

use server::node::{Node, NodeConfig};
use tikv_client::{Config, RawClient, TransactionClient};
use txn::ApiVersion;

/// A running node and the directory it lives in (removed on drop).
pub struct TestNode {
    pub node: Node,
    pub dir: tempfile::TempDir,
}

impl TestNode {
    /// Starts a node with `api` in a fresh directory.
    pub async fn start(api: ApiVersion) -> TestNode {
        let dir = tempfile::tempdir().unwrap();
        let node = start_in(dir.path(), api).await;
        TestNode { node, dir }
    }

    /// PD's endpoint for clients.
    pub fn pd(&self) -> String {
        self.node.pd_addr().unwrap().to_string()
    }

    /// The client configuration matching the node's API version.
    pub fn config(&self, api: ApiVersion) -> Config {
        let c = Config::default().with_timeout(Duration::from_secs(10));
        match api {
            ApiVersion::V2 => c.with_default_keyspace(),
            _ => c,
        }
    }

    pub async fn raw(&self, api: ApiVersion) -> RawClient {
        RawClient::new_with_config(vec![self.pd()], self.config(api))
            .await
            .unwrap()
    }

    pub async fn txn(&self, api: ApiVersion) -> TransactionClient {
        TransactionClient::new_with_config(vec![self.pd()], self.config(api))
            .await
            .unwrap()
    }
}

/// Starts a node in `dir`.
pub async fn start_in(dir: &std::path::Path, api: ApiVersion) -> Node {
    let mut cfg = NodeConfig::local(dir);
    cfg.api_version = api;
    // Small engine settings keep the tests light.
    cfg.lsm.write_buffer_size = 4 << 20;
    cfg.lsm.block_cache_bytes = 8 << 20;
    Node::start(cfg).await.unwrap()
}
