//! A node that prepared the cluster's first region and then lost the bootstrap race to
//! another node removes it (`Store::clear_bootstrapped_region`): the store then opens with
//! no region, and the region id can be created again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use replication::transport::ChannelNetwork;
use replication::{Engines, KeySpace, SnapManager, Store, StoreConfig};

fn open(dir: &std::path::Path, engines: &Engines) -> Store {
    Store::open(
        StoreConfig::new(1),
        engines.clone(),
        SnapManager::new(dir.join("snap")),
        Arc::new(ChannelNetwork::new(1)),
        replication::tracing_logger(),
    )
    .unwrap()
}

#[test]
fn a_prepared_region_is_removed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(lsm::Db::open(dir.path().join("db"), lsm::Options::default()).unwrap());
    let engines = Engines::new(db, KeySpace::default()).unwrap();
    let region = common::first_region(&[1]);
    Store::bootstrap_region(&engines, &region).unwrap();
    assert_eq!(open(dir.path(), &engines).meta().all().len(), 1);

    Store::clear_bootstrapped_region(&engines, region.id).unwrap();
    assert!(open(dir.path(), &engines).meta().all().is_empty());
    // Nothing of it is left: the same region can be prepared again.
    Store::bootstrap_region(&engines, &region).unwrap();
}
