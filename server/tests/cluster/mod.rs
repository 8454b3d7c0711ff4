//! A multi-process cluster for the `cluster_*` scenarios: `strata-server pd` and N
//! `strata-server --pd …` node processes on free loopback ports in a temporary directory.
//!
//! Contract: every process is SIGKILLed when the [`Cluster`] drops, also while a test
//! panics (the logs' tails are then printed, so a failure can be diagnosed from CI output).
//! Ports are picked free at start (below the ephemeral range, see [`ports`]) and kept for
//! the cluster's life, so a killed node
//! restarts on the same addresses and data directory. Nothing here talks to anything but
//! 127.0.0.1.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod offline;
pub mod ports;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tikv_client::{Config, RawClient, TransactionClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use ports::free_addr;

/// Settings every node gets unless a test passes its own: Raft ticks short enough that an
/// election after a kill takes about a second, region heartbeats often enough that PD
/// (and through it the client) learns new leaders quickly.
pub const FAST_RAFT: &str = "[raftstore]\nraft-base-tick-interval = \"50ms\"\n\
     raft-election-timeout-ticks = 10\nraft-heartbeat-ticks = 2\n\
     pd-heartbeat-tick-interval = \"1s\"\n\
     [lsm]\nwrite-buffer-size = \"4MiB\"\nblock-cache-size = \"8MiB\"\n";

/// How long the cluster may take to reach a state a test waits for (start-up, replicas,
/// leaders): generous, because the machine is shared; never a measured property.
const WAIT: Duration = Duration::from_secs(90);

/// One node process and where it lives.
pub struct NodeProc {
    pub kv: SocketAddr,
    pub status: SocketAddr,
    pub data_dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl NodeProc {
    /// The node's engine directory (read offline once the process is dead).
    pub fn db_dir(&self) -> PathBuf {
        self.data_dir.join("db")
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

/// PD and its nodes; see the module comment.
pub struct Cluster {
    dir: tempfile::TempDir,
    exe: PathBuf,
    config: PathBuf,
    pub pd_addr: SocketAddr,
    pd: Option<Child>,
    pd_log: PathBuf,
    pub nodes: Vec<NodeProc>,
}

fn spawn(exe: &Path, args: &[String], log: &Path) -> Child {
    let out = File::options().create(true).append(true).open(log).unwrap();
    Command::new(exe)
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap()
}

impl Cluster {
    /// Starts PD and `n` nodes, each node with `node_config` (TOML) as its `--config`
    /// file, and waits until every process answers on its port.
    pub async fn start(n: usize, node_config: &str) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("node.toml");
        std::fs::write(&config, node_config).unwrap();
        let pd_addr = free_addr();
        let nodes = (0..n)
            .map(|i| NodeProc {
                kv: free_addr(),
                status: free_addr(),
                data_dir: dir.path().join(format!("node-{}", i + 1)),
                log: dir.path().join(format!("node-{}.log", i + 1)),
                child: None,
            })
            .collect();
        let mut c = Cluster {
            exe: PathBuf::from(env!("CARGO_BIN_EXE_strata-server")),
            config,
            pd_addr,
            pd: None,
            pd_log: dir.path().join("pd.log"),
            nodes,
            dir,
        };
        let pd_args = vec![
            "pd".to_string(),
            "--addr".into(),
            pd_addr.to_string(),
            "--data-dir".into(),
            c.dir.path().join("pd").to_string_lossy().into_owned(),
        ];
        c.pd = Some(spawn(&c.exe, &pd_args, &c.pd_log));
        wait_listening(pd_addr).await;
        // All at once, as a playground does: they race to bootstrap the cluster, and
        // the losers must join as ordinary stores.
        for i in 0..n {
            c.spawn_node(i);
        }
        for i in 0..n {
            c.wait_node(i).await;
        }
        c
    }

    /// PD's endpoint for clients.
    pub fn pd(&self) -> String {
        self.pd_addr.to_string()
    }

    /// Starts node `i` (again) on its ports and data directory; returns once it listens.
    pub async fn start_node(&mut self, i: usize) {
        self.spawn_node(i);
        self.wait_node(i).await;
    }

    fn spawn_node(&mut self, i: usize) {
        assert!(self.nodes[i].child.is_none(), "node {i} is running");
        let n = &self.nodes[i];
        let args = vec![
            "--config".to_string(),
            self.config.to_string_lossy().into_owned(),
            "--pd".into(),
            self.pd_addr.to_string(),
            "--addr".into(),
            n.kv.to_string(),
            "--status-addr".into(),
            n.status.to_string(),
            "--data-dir".into(),
            n.data_dir.to_string_lossy().into_owned(),
        ];
        let child = spawn(&self.exe, &args, &n.log);
        self.nodes[i].child = Some(child);
    }

    /// Waits until node `i` listens on both its ports; fails at once if it exited.
    async fn wait_node(&mut self, i: usize) {
        let deadline = Instant::now() + WAIT;
        for addr in [self.nodes[i].kv, self.nodes[i].status] {
            while tokio::net::TcpStream::connect(addr).await.is_err() {
                self.assert_alive();
                assert!(
                    Instant::now() < deadline,
                    "node {i} does not listen on {addr}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// Fails the test at once if a node the test did not kill has exited (its log's tail
    /// is printed as the cluster drops), instead of waiting out a deadline.
    pub fn assert_alive(&mut self) {
        for (i, n) in self.nodes.iter_mut().enumerate() {
            let exited = n.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            assert!(exited.is_none(), "node {i} exited by itself: {exited:?}");
        }
    }

    /// SIGKILLs node `i` (no shutdown path runs) and reaps it.
    pub fn kill_node(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGKILLs every process.
    pub fn kill_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill_node(i);
        }
        if let Some(mut pd) = self.pd.take() {
            let _ = pd.kill();
            let _ = pd.wait();
        }
    }

    /// `GET path` on PD's HTTP API.
    pub async fn pd_http(&self, path: &str) -> Value {
        http_get(self.pd_addr, path).await
    }

    /// PD's regions (`/pd/api/v1/regions`).
    pub async fn regions(&self) -> Vec<Value> {
        let v = self.pd_http("/pd/api/v1/regions").await;
        v["regions"].as_array().cloned().unwrap_or_default()
    }

    /// Store id → index of the node with that address.
    pub async fn node_of_store(&self, store_id: u64) -> Option<usize> {
        let stores = self.pd_http("/pd/api/v1/stores").await;
        let addr = stores["stores"]
            .as_array()?
            .iter()
            .find(|s| s["store"]["id"].as_u64() == Some(store_id))?["store"]["address"]
            .as_str()?
            .to_owned();
        self.nodes.iter().position(|n| n.kv.to_string() == addr)
    }

    /// Waits until PD knows at least `min_regions` regions, each with `replicas` peers, all
    /// voters (new replicas join as learners: a learner is no replica yet), and a reported
    /// leader on a running node.
    pub async fn wait_replicated(&mut self, replicas: usize, min_regions: usize) {
        let deadline = Instant::now() + WAIT;
        loop {
            self.assert_alive();
            let regions = self.regions().await;
            let mut ok = regions.len() >= min_regions;
            for r in &regions {
                let peers = r["peers"].as_array().map_or(0, Vec::len);
                let voters = voters(r);
                let leader = r["leader"]["store_id"].as_u64();
                let leader_up = match leader {
                    Some(s) => self
                        .node_of_store(s)
                        .await
                        .is_some_and(|i| self.nodes[i].is_running()),
                    None => false,
                };
                ok &= peers == replicas && voters == replicas && leader_up;
            }
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "regions not replicated {replicas}-way within {WAIT:?}: {regions:#?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Asserts PD's view: every region has exactly `replicas` peers, all voters.
    pub async fn assert_voters_only(&self, replicas: usize) {
        for r in self.regions().await {
            let peers = r["peers"].as_array().cloned().unwrap_or_default();
            assert_eq!(peers.len(), replicas, "region {r}");
            assert_eq!(voters(&r), replicas, "a learner left in region {r}");
            assert!(peers.iter().all(|p| p["is_learner"] == false), "region {r}");
        }
    }

    /// Index of the node PD reports as leading the most regions.
    pub async fn busiest_leader(&self) -> usize {
        let mut counts = vec![0usize; self.nodes.len()];
        for r in self.regions().await {
            if let Some(s) = r["leader"]["store_id"].as_u64() {
                if let Some(i) = self.node_of_store(s).await {
                    counts[i] += 1;
                }
            }
        }
        (0..counts.len()).max_by_key(|i| counts[*i]).unwrap()
    }

    /// Client configuration: a short request timeout, so a request stuck on a dead node
    /// ends (as an unknown outcome) and the worker moves on.
    pub fn client_config(&self) -> Config {
        Config::default().with_timeout(self.client_timeout())
    }

    /// The request timeout of the clients made here.
    pub fn client_timeout(&self) -> Duration {
        Duration::from_secs(3)
    }

    pub async fn raw(&self) -> RawClient {
        retry_connect(|| RawClient::new_with_config(vec![self.pd()], self.client_config())).await
    }

    pub async fn txn(&self) -> TransactionClient {
        retry_connect(|| TransactionClient::new_with_config(vec![self.pd()], self.client_config()))
            .await
    }

    /// The last `bytes` of every process's log.
    pub fn log_tails(&self, bytes: u64) -> String {
        let mut out = String::new();
        let logs = std::iter::once(("pd".to_string(), self.pd_log.clone())).chain(
            self.nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (format!("node {i}"), n.log.clone())),
        );
        for (name, path) in logs {
            let Ok(mut f) = File::open(&path) else {
                continue;
            };
            let len = f.metadata().map_or(0, |m| m.len());
            let _ = f.seek(SeekFrom::Start(len.saturating_sub(bytes)));
            let mut s = String::new();
            let _ = f.read_to_string(&mut s);
            out.push_str(&format!("===== {name} ({}) =====\n{s}\n", path.display()));
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.kill_all();
        if std::thread::panicking() {
            eprintln!("{}", self.log_tails(6_000));
        }
    }
}

async fn retry_connect<C, F, Fut>(mut connect: F) -> C
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = tikv_client::Result<C>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        match connect().await {
            Ok(c) => return c,
            Err(e) => assert!(Instant::now() < deadline, "cannot connect: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until something accepts connections at `addr`.
/// Peers of a region (PD's JSON) with the Voter role.
fn voters(region: &Value) -> usize {
    region["peers"].as_array().map_or(0, |peers| {
        peers.iter().filter(|p| p["role_name"] == "Voter").count()
    })
}

pub async fn wait_listening(addr: SocketAddr) {
    let deadline = Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A plain HTTP/1.1 GET returning the JSON body.
pub async fn http_get(addr: SocketAddr, path: &str) -> Value {
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    serde_json::from_str(body).unwrap()
}
