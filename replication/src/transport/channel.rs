//! An in-process network of stores for tests: messages go straight to the receiving
//! store's sink (a queue a deterministic test drains, or a running store's inbox), through
//! fault filters — partitions, isolated stores, and seeded random loss, so a failing
//! schedule can be replayed from its seed.

use std::collections::HashMap;
use std::fs;
use std::sync::Arc;

use parking_lot::Mutex;
use raft::eraftpb::MessageType;

use super::{RaftMessage, Transport};
use crate::error::{Error, Result};
use crate::snapshot::{SnapKey, SnapManager, SnapshotData};

/// Where a store receives messages.
pub type Sink = Arc<dyn Fn(RaftMessage) + Send + Sync>;

/// A fault the network injects.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Messages between stores in different groups are lost (stores in no group reach
    /// everyone... except the groups' members, which reach only their own group).
    Partition(Vec<Vec<u64>>),
    /// Every message to or from this store is lost.
    Isolate(u64),
    /// Each message is lost with this probability (from the network's seed).
    Loss(f64),
}

struct Endpoint {
    snaps: SnapManager,
    sink: Sink,
}

struct Net {
    stores: HashMap<u64, Endpoint>,
    filters: Vec<Filter>,
    /// splitmix64 state: reproducible loss.
    rng: u64,
    sent: u64,
    lost: u64,
}

/// The in-process network. Cheap to clone; every store holds one as its transport.
#[derive(Clone)]
pub struct ChannelNetwork {
    net: Arc<Mutex<Net>>,
}

impl std::fmt::Debug for ChannelNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let net = self.net.lock();
        f.debug_struct("ChannelNetwork")
            .field("stores", &net.stores.len())
            .field("filters", &net.filters)
            .field("sent", &net.sent)
            .field("lost", &net.lost)
            .finish()
    }
}

impl ChannelNetwork {
    /// An empty network whose random loss follows `seed`.
    pub fn new(seed: u64) -> ChannelNetwork {
        ChannelNetwork {
            net: Arc::new(Mutex::new(Net {
                stores: HashMap::new(),
                filters: Vec::new(),
                rng: seed,
                sent: 0,
                lost: 0,
            })),
        }
    }

    /// Connects store `store_id`: messages for it go to `sink`; snapshot files for it go to
    /// `snaps`' receive directory (and files it sends are read from its generate one).
    pub fn register(&self, store_id: u64, snaps: SnapManager, sink: Sink) {
        self.net
            .lock()
            .stores
            .insert(store_id, Endpoint { snaps, sink });
    }

    /// Adds a fault.
    pub fn add_filter(&self, f: Filter) {
        self.net.lock().filters.push(f);
    }

    /// Removes every fault (heals the network).
    pub fn clear_filters(&self) {
        self.net.lock().filters.clear();
    }

    /// Messages sent and lost so far.
    pub fn counts(&self) -> (u64, u64) {
        let net = self.net.lock();
        (net.sent, net.lost)
    }
}

impl Net {
    fn next_f64(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn lost(&mut self, from: u64, to: u64) -> bool {
        let mut lost = false;
        for f in self.filters.clone() {
            lost |= match f {
                Filter::Isolate(s) => s == from || s == to,
                Filter::Partition(groups) => {
                    let group = |s: u64| groups.iter().position(|g| g.contains(&s));
                    group(from) != group(to)
                }
                Filter::Loss(p) => self.next_f64() < p,
            };
        }
        lost
    }
}

impl Transport for ChannelNetwork {
    fn send(&self, msg: RaftMessage) -> Result<()> {
        let (sink, files) = {
            let mut net = self.net.lock();
            net.sent += 1;
            if net.lost(msg.from.store_id, msg.to.store_id) {
                net.lost += 1;
                return Ok(());
            }
            let to = net
                .stores
                .get(&msg.to.store_id)
                .ok_or_else(|| Error::InvalidArgument(format!("no store {}", msg.to.store_id)))?;
            let sink = to.sink.clone();
            let to_snaps = to.snaps.clone();
            let files = if msg.message.get_msg_type() == MessageType::MsgSnapshot {
                let from = net
                    .stores
                    .get(&msg.from.store_id)
                    .map(|e| e.snaps.clone())
                    .ok_or_else(|| {
                        Error::InvalidArgument(format!("no store {}", msg.from.store_id))
                    })?;
                Some((from, to_snaps))
            } else {
                None
            };
            (sink, files)
        };
        if let Some((from, to)) = files {
            copy_snapshot(&msg, &from, &to)?;
        }
        sink(msg);
        Ok(())
    }
}

/// Copies a snapshot message's files from the sender's directory to the receiver's.
fn copy_snapshot(msg: &RaftMessage, from: &SnapManager, to: &SnapManager) -> Result<()> {
    let snap = msg.message.get_snapshot();
    let data = SnapshotData::decode(&snap.data)?;
    let key = SnapKey::of(msg.region_id, snap);
    let dst = to.recv_dir(key);
    fs::create_dir_all(&dst)?;
    for f in &data.files {
        fs::copy(from.gen_dir(key).join(&f.name), dst.join(&f.name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_and_isolation_decide_by_store() {
        let mut net = Net {
            stores: HashMap::new(),
            filters: vec![Filter::Partition(vec![vec![1], vec![2, 3]])],
            rng: 1,
            sent: 0,
            lost: 0,
        };
        assert!(net.lost(1, 2));
        assert!(!net.lost(2, 3));
        net.filters = vec![Filter::Isolate(3)];
        assert!(net.lost(3, 1) && net.lost(2, 3) && !net.lost(1, 2));
        net.filters = vec![Filter::Loss(0.5)];
        let lost = (0..1000).filter(|_| net.lost(1, 2)).count();
        assert!((350..650).contains(&lost), "{lost}");
    }
}
