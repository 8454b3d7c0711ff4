//! The store's storage: one LSM database holding the KV column families (through the MVCC
//! engine) and the `raft` column family (logs and peer states), so a round of Raft writes
//! and the data applied with it share one write-ahead log.

use std::sync::Arc;

use lsm::key::CfId;
use lsm::Db;
use mvcc::LsmEngine;

use crate::error::Result;
use crate::keyspace::KeySpace;

/// The column family of Raft logs and peer states (layout: `state.rs`, FORMAT.md).
pub const RAFT_CF: &str = "raft";

/// Handles to the store's database and its column families.
#[derive(Debug, Clone)]
pub struct Engines {
    /// The database.
    pub db: Arc<Db>,
    /// The KV column families (MVCC and raw data).
    pub kv: LsmEngine,
    /// The `raft` column family.
    pub raft_cf: CfId,
    /// How region keys map onto the KV families.
    pub keyspace: KeySpace,
}

impl Engines {
    /// Opens (creating if needed) the KV families and then the raft family, in that fixed
    /// order, so every store numbers its families alike (snapshot files carry family ids).
    ///
    /// # Errors
    /// Engine errors creating the families.
    pub fn new(db: Arc<Db>, keyspace: KeySpace) -> Result<Engines> {
        let kv = LsmEngine::new(db.clone())?;
        let raft_cf = db.create_cf(RAFT_CF)?;
        Ok(Engines {
            db,
            kv,
            raft_cf,
            keyspace,
        })
    }
}
