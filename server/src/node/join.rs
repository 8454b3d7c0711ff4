//! Joining a cluster: the store's identity (kept, or allocated by PD), the regions it
//! starts with (moved from a pre-replication data directory, or the cluster's first region
//! when this node bootstraps the cluster), and its registration with PD.
//!
//! Crash safety: every local record is durable before PD hears of it, and each step can
//! run again after a crash part-way — the identity is only allocated when none is stored,
//! a region already in the Raft store is not bootstrapped twice, and a bootstrapped region
//! PD never heard of (a crash between the two) is offered to PD on the next start.

use replication::{Engines, Epoch, Peer, Region, Store};

use super::meta::{NodeMeta, StoreIdent};
use super::pd_client::Pd;
use crate::error::{Error, Result};
use crate::kv::region_to_pb;
use crate::proto::metapb;

/// The identity: from the node's own record, else allocated by PD (and recorded).
///
/// # Errors
/// `Config` if the data directory belongs to another cluster; PD or engine errors.
pub async fn ident(pd: &Pd, meta: &NodeMeta) -> Result<StoreIdent> {
    match meta.ident()? {
        Some(id) if id.cluster_id != pd.cluster_id() => Err(Error::Config(format!(
            "this data directory belongs to cluster {}, PD serves cluster {}",
            id.cluster_id,
            pd.cluster_id()
        ))),
        Some(id) => Ok(id),
        None => {
            let id = StoreIdent {
                cluster_id: pd.cluster_id(),
                store_id: pd.alloc_id().await?,
            };
            meta.set_ident(id)?;
            Ok(id)
        }
    }
}

/// Moves regions a node from before replication recorded in its `meta` family into the
/// Raft store, each as a one-replica group whose log starts empty (its data is already in
/// the KV families). Returns how many moved.
///
/// # Errors
/// Engine errors.
pub fn move_legacy_regions(meta: &NodeMeta, engines: &Engines) -> Result<usize> {
    let legacy = meta.legacy_regions()?;
    for region in &legacy {
        match Store::bootstrap_region(engines, region) {
            // Moved by a start that crashed before removing the legacy record.
            Ok(()) | Err(replication::Error::InvalidArgument(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    meta.remove_legacy_regions(&legacy)?;
    Ok(legacy.len())
}

/// Bootstraps the cluster if PD says nobody has: the first region (the whole key space,
/// one replica here) is created in the Raft store, then PD is bootstrapped with it.
/// `existing` are the regions this store already holds: if PD is not bootstrapped but this
/// store holds exactly one region, it is the one a crashed start created — PD gets it.
/// Returns whether this node bootstrapped the cluster. A node that loses the race to
/// another starting at the same time removes the region this call prepared (it never held
/// data and PD never heard of it, as TiKV's `clear_prepare_bootstrap`) and joins as any
/// other store: PD adds peers to it later. A region it already held is never removed.
///
/// # Errors
/// PD or replication errors; `Config` if PD is not bootstrapped but this store holds
/// several regions (it belongs to another cluster's history), or if another node wins the
/// bootstrap while this store holds a region of its own.
pub async fn bootstrap_cluster(
    pd: &Pd,
    engines: &Engines,
    store: &metapb::Store,
    existing: &[Region],
) -> Result<bool> {
    if pd.is_bootstrapped().await? {
        return Ok(false);
    }
    let region = match existing {
        [] => {
            let region = Region {
                id: pd.alloc_id().await?,
                start_key: Vec::new(),
                end_key: Vec::new(),
                epoch: Epoch {
                    conf_ver: 1,
                    version: 1,
                },
                peers: vec![Peer::new(pd.alloc_id().await?, store.id)],
            };
            // Durable here before PD hears of it, so a crash in between cannot lose it.
            Store::bootstrap_region(engines, &region)?;
            region
        }
        [one] => one.clone(),
        many => {
            return Err(Error::Config(format!(
                "PD is not bootstrapped but this store holds {} regions: wrong PD?",
                many.len()
            )))
        }
    };
    if pd.bootstrap(store.clone(), region_to_pb(&region)).await? {
        return Ok(true);
    }
    if !existing.is_empty() {
        // Not prepared by this call: it may hold data (a PD that lost its state, a data
        // directory from elsewhere). Never delete it on a guess.
        return Err(Error::Config(format!(
            "another node bootstrapped the cluster while this store holds region {} that PD \
             never heard of: wrong PD or data directory?",
            region.id
        )));
    }
    tracing::info!(
        region_id = region.id,
        "another node bootstrapped the cluster first; removing the prepared region"
    );
    Store::clear_bootstrapped_region(engines, region.id)?;
    Ok(false)
}

/// What this store tells PD about itself.
pub fn store_record(store_id: u64, advertise: &str, status_addr: &str) -> metapb::Store {
    metapb::Store {
        id: store_id,
        address: advertise.to_string(),
        status_address: status_addr.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        state: metapb::StoreState::Up as i32,
        start_timestamp: super::unix_secs(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use replication::KeySpace;

    use super::*;

    #[test]
    fn legacy_regions_move_into_the_raft_store_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(lsm::Db::open(dir.path(), lsm::Options::default()).unwrap());
        let engines = Engines::new(db.clone(), KeySpace::default()).unwrap();
        let meta = NodeMeta::open(db).unwrap();
        let region = Region {
            id: 2,
            start_key: Vec::new(),
            end_key: b"m".to_vec(),
            epoch: Epoch {
                conf_ver: 1,
                version: 4,
            },
            peers: vec![Peer::new(3, 1)],
        };
        meta.put_legacy_regions(std::slice::from_ref(&region))
            .unwrap();
        assert_eq!(move_legacy_regions(&meta, &engines).unwrap(), 1);
        assert!(meta.legacy_regions().unwrap().is_empty());
        // The Raft store opens it as it was: range, epoch, peers.
        let store = Store::open(
            replication::StoreConfig::new(1),
            engines.clone(),
            replication::SnapManager::new(dir.path().join("snap")),
            Arc::new(replication::transport::ChannelNetwork::new(1)),
            replication::tracing_logger(),
        )
        .unwrap();
        assert_eq!(store.meta().get(2).unwrap().region, region);
        drop(store);
        // Now a record of the Raft store: bootstrapping it again is refused.
        assert!(Store::bootstrap_region(&engines, &region).is_err());
        // A start that crashed after the move but before the removal moves nothing twice.
        meta.put_legacy_regions(std::slice::from_ref(&region))
            .unwrap();
        assert_eq!(move_legacy_regions(&meta, &engines).unwrap(), 1);
        assert_eq!(move_legacy_regions(&meta, &engines).unwrap(), 0);
    }
}
