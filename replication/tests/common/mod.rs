//! A deterministic in-process cluster: stores driven step by step on one thread, connected
//! by the channel network (partitions, isolation, seeded loss). Nothing depends on wall
//! time: a "tick" is a call, so a failing schedule replays exactly.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod threaded;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use mvcc::{Cf, Modify, Snapshot as _};
use parking_lot::Mutex;
use replication::transport::{ChannelNetwork, Filter, RaftMessage, Transport};
use replication::{
    ConfChangeType, Engines, Epoch, KeySpace, Peer, Region, Request, SnapManager, Store,
    StoreConfig, StoreMsg,
};

pub struct Node {
    pub store: Option<Store>,
    /// The running store's snapshot manager (to wait for its generation worker).
    pub snaps: Option<SnapManager>,
    pub engines: Option<Engines>,
    pub inbox: Arc<Mutex<VecDeque<RaftMessage>>>,
    pub dir: tempfile::TempDir,
}

/// Puts a store's transport in front of the network (store id, the network's transport).
pub type WrapTransport = Arc<dyn Fn(u64, Arc<dyn Transport>) -> Arc<dyn Transport>>;

pub struct Cluster {
    pub nodes: BTreeMap<u64, Node>,
    pub net: ChannelNetwork,
    pub cfg: fn(u64) -> StoreConfig,
    pub wrap: Option<WrapTransport>,
}

pub fn config(store_id: u64) -> StoreConfig {
    StoreConfig::new(store_id)
}

fn open_engines(dir: &std::path::Path) -> Engines {
    let db = Arc::new(lsm::Db::open(dir.join("db"), lsm::Options::default()).unwrap());
    Engines::new(db, KeySpace::default()).unwrap()
}

/// Region 1 over everything, with one peer (id 100 + store) on each of `stores`.
pub fn first_region(stores: &[u64]) -> Region {
    Region {
        id: 1,
        start_key: Vec::new(),
        end_key: Vec::new(),
        epoch: Epoch {
            conf_ver: 1,
            version: 1,
        },
        peers: stores.iter().map(|&s| Peer::new(100 + s, s)).collect(),
    }
}

impl Cluster {
    /// `n` stores (ids 1..=n); region 1 bootstrapped on the first `replicas` of them.
    pub fn new(n: u64, replicas: u64, seed: u64) -> Cluster {
        Cluster::with_config(n, replicas, seed, config)
    }

    pub fn with_config(n: u64, replicas: u64, seed: u64, cfg: fn(u64) -> StoreConfig) -> Cluster {
        Cluster::build(n, replicas, seed, cfg, None)
    }

    /// As [`Cluster::new`], every store's transport wrapped by `wrap`.
    pub fn with_transport(n: u64, replicas: u64, seed: u64, wrap: WrapTransport) -> Cluster {
        Cluster::build(n, replicas, seed, config, Some(wrap))
    }

    fn build(
        n: u64,
        replicas: u64,
        seed: u64,
        cfg: fn(u64) -> StoreConfig,
        wrap: Option<WrapTransport>,
    ) -> Cluster {
        let mut c = Cluster {
            nodes: BTreeMap::new(),
            net: ChannelNetwork::new(seed),
            cfg,
            wrap,
        };
        let voters: Vec<u64> = (1..=replicas).collect();
        for id in 1..=n {
            let dir = tempfile::tempdir().unwrap();
            let engines = open_engines(dir.path());
            if id <= replicas {
                Store::bootstrap_region(&engines, &first_region(&voters)).unwrap();
            }
            c.nodes.insert(
                id,
                Node {
                    store: None,
                    snaps: None,
                    engines: Some(engines),
                    inbox: Arc::default(),
                    dir,
                },
            );
            c.start(id);
        }
        c
    }

    /// (Re)opens store `id` from its directory.
    pub fn start(&mut self, id: u64) {
        let node = self.nodes.get_mut(&id).unwrap();
        let engines = node
            .engines
            .take()
            .unwrap_or_else(|| open_engines(node.dir.path()));
        let snaps = SnapManager::new(node.dir.path().join("snap"));
        node.snaps = Some(snaps.clone());
        let inbox = node.inbox.clone();
        inbox.lock().clear();
        self.net.register(
            id,
            snaps.clone(),
            Arc::new(move |m| inbox.lock().push_back(m)),
        );
        let mut transport: Arc<dyn Transport> = Arc::new(self.net.clone());
        if let Some(wrap) = &self.wrap {
            transport = wrap(id, transport);
        }
        let store = Store::open(
            (self.cfg)(id),
            engines,
            snaps,
            transport,
            slog::Logger::root(slog::Discard, slog::o!()),
        )
        .unwrap();
        node.store = Some(store);
    }

    /// Stops store `id` (its database closes; messages to it are lost meanwhile).
    pub fn stop(&mut self, id: u64) {
        let node = self.nodes.get_mut(&id).unwrap();
        if let Some(mut s) = node.store.take() {
            s.stop();
        }
        node.inbox.lock().clear();
        self.net.add_filter(Filter::Isolate(id));
    }

    /// Restarts a stopped store.
    pub fn restart(&mut self, id: u64) {
        self.net.clear_filters();
        self.start(id);
    }

    pub fn store(&mut self, id: u64) -> &mut Store {
        self.nodes
            .get_mut(&id)
            .unwrap()
            .store
            .as_mut()
            .expect("store running")
    }

    /// Delivers every queued message and runs a Ready round on every running store.
    pub fn step(&mut self) {
        for node in self.nodes.values_mut() {
            let Some(store) = node.store.as_mut() else {
                continue;
            };
            // Snapshots are generated on a worker; waiting for it keeps runs deterministic.
            if let Some(snaps) = &node.snaps {
                snaps.wait_generations();
            }
            let msgs: Vec<_> = node.inbox.lock().drain(..).collect();
            for m in msgs {
                store.handle(StoreMsg::Raft(Box::new(m)));
            }
            store.on_ready().unwrap();
        }
    }

    pub fn tick(&mut self) {
        for node in self.nodes.values_mut() {
            if let Some(s) = node.store.as_mut() {
                s.tick();
            }
        }
    }

    /// `rounds` of tick + a few delivery steps.
    pub fn run(&mut self, rounds: usize) {
        for _ in 0..rounds {
            self.tick();
            for _ in 0..3 {
                self.step();
            }
        }
    }

    /// The store leading `region`, once one store claims it and the others agree.
    pub fn leader(&mut self, region: u64) -> Option<u64> {
        let mut leader = None;
        for (id, node) in &self.nodes {
            let Some(s) = node.store.as_ref() else {
                continue;
            };
            if s.meta().get(region).is_some_and(|i| i.is_leader()) {
                leader = Some(*id);
            }
        }
        leader
    }

    /// Runs until `region` has a leader (at most `rounds`).
    pub fn wait_leader(&mut self, region: u64) -> u64 {
        for _ in 0..300 {
            if let Some(l) = self.leader(region) {
                return l;
            }
            self.run(1);
        }
        panic!("no leader for region {region}");
    }

    /// Sends a request answered by callback, runs until answered (at most 200 rounds).
    pub fn call<T: 'static + Send>(
        &mut self,
        store: u64,
        make: impl FnOnce(replication::Callback<T>) -> StoreMsg,
    ) -> Option<replication::Result<T>> {
        let slot: Arc<Mutex<Option<replication::Result<T>>>> = Arc::default();
        let s = slot.clone();
        let msg = make(Box::new(move |r| *s.lock() = Some(r)));
        self.store(store).handle(msg);
        for _ in 0..200 {
            if slot.lock().is_some() {
                break;
            }
            self.step();
            if slot.lock().is_some() {
                break;
            }
            self.tick();
        }
        let out = slot.lock().take();
        out
    }

    pub fn epoch(&mut self, store: u64, region: u64) -> Epoch {
        self.store(store).meta().get(region).unwrap().region.epoch
    }

    /// A raw put of `key` through `store`'s peer of `region`.
    pub fn put(
        &mut self,
        store: u64,
        region: u64,
        key: &[u8],
        value: &[u8],
    ) -> replication::Result<()> {
        let epoch = self.epoch(store, region);
        let m = vec![Modify::Put {
            cf: Cf::Raw,
            key: key.to_vec(),
            value: value.to_vec(),
        }];
        self.call(store, |cb| StoreMsg::Propose {
            region_id: region,
            epoch,
            request: Request::Write(m),
            cb,
        })
        .unwrap_or(Err(replication::Error::Stopped))
    }

    /// A linearizable read of `key` through `store`.
    pub fn get(
        &mut self,
        store: u64,
        region: u64,
        key: &[u8],
    ) -> replication::Result<Option<Vec<u8>>> {
        let epoch = self.epoch(store, region);
        let snap = self
            .call(store, |cb| StoreMsg::Read {
                region_id: region,
                epoch,
                cb,
            })
            .unwrap_or(Err(replication::Error::Stopped))?;
        Ok(snap.get_cf(Cf::Raw, key).unwrap().map(|b| b.to_vec()))
    }

    /// `key` as stored on `store`, without Raft (what that replica has applied).
    pub fn local(&mut self, store: u64, key: &[u8]) -> Option<Vec<u8>> {
        let engines = local_engines(self.nodes.get(&store).unwrap());
        engines
            .kv
            .snapshot()
            .get_cf(Cf::Raw, key)
            .unwrap()
            .map(|b| b.to_vec())
    }

    pub fn change_peer(
        &mut self,
        leader: u64,
        region: u64,
        change: ConfChangeType,
        peer: Peer,
    ) -> replication::Result<()> {
        let epoch = self.epoch(leader, region);
        self.call(leader, |cb| StoreMsg::ChangePeer {
            region_id: region,
            epoch,
            change,
            peer,
            cb,
        })
        .unwrap_or(Err(replication::Error::Stopped))
    }
}

fn local_engines(node: &Node) -> Engines {
    node.store
        .as_ref()
        .map(|s| s.engines().clone())
        .expect("running store")
}
