//! What a node persists about itself, in the `meta` column family of its engine: its
//! identity (cluster id, store id). Layout in `server/FORMAT.md`.
//!
//! Regions live with their Raft state (replication's `raft` column family). Data
//! directories from before replication kept them here (`region/` records): the node moves
//! them into the Raft store once ([`NodeMeta::legacy_regions`], then
//! [`NodeMeta::remove_legacy_regions`]). Writes are synced.

use std::sync::Arc;

use lsm::iter::IterOptions;
use lsm::key::CfId;
use lsm::{Db, WriteBatch, WriteOptions};
use prost::Message;

use crate::error::{Error, Result};
use crate::proto::metapb;
use crate::region::{Epoch, Peer, Region};

/// The column family of node metadata.
pub const META_CF: &str = "meta";
/// Key of the store identity: `cluster_id (u64 BE) ‖ store_id (u64 BE)`.
const IDENT_KEY: &[u8] = b"ident";
/// Prefix of legacy region records: `region/` ‖ region id (u64 BE) → `metapb.Region`.
const REGION_PREFIX: &[u8] = b"region/";

/// The node's identity in its cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreIdent {
    /// The cluster (PD's cluster id).
    pub cluster_id: u64,
    /// This store's id, allocated by PD.
    pub store_id: u64,
}

/// Node metadata over the engine.
#[derive(Debug, Clone)]
pub struct NodeMeta {
    db: Arc<Db>,
    cf: CfId,
}

fn corrupt(what: &str, reason: impl std::fmt::Display) -> Error {
    Error::Corruption {
        file: std::path::PathBuf::from(format!("<meta cf: {what}>")),
        reason: reason.to_string(),
    }
}

impl NodeMeta {
    /// Opens (creating the column family if missing).
    ///
    /// # Errors
    /// Engine errors.
    pub fn open(db: Arc<Db>) -> Result<NodeMeta> {
        let cf = db.create_cf(META_CF)?;
        Ok(NodeMeta { db, cf })
    }

    /// The identity, if the store was registered before.
    ///
    /// # Errors
    /// Engine errors; `Corruption` for a record of the wrong size.
    pub fn ident(&self) -> Result<Option<StoreIdent>> {
        let Some(v) = self.db.get(self.cf, IDENT_KEY, None)? else {
            return Ok(None);
        };
        let (c, s) = v
            .split_first_chunk::<8>()
            .and_then(|(c, rest)| Some((*c, *rest.first_chunk::<8>()?)))
            .filter(|_| v.len() == 16)
            .ok_or_else(|| corrupt("ident", format!("{} bytes, expected 16", v.len())))?;
        Ok(Some(StoreIdent {
            cluster_id: u64::from_be_bytes(c),
            store_id: u64::from_be_bytes(s),
        }))
    }

    /// Records the identity (synced).
    ///
    /// # Errors
    /// Engine errors.
    pub fn set_ident(&self, ident: StoreIdent) -> Result<()> {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(&ident.cluster_id.to_be_bytes());
        v.extend_from_slice(&ident.store_id.to_be_bytes());
        self.db
            .put(self.cf, IDENT_KEY, &v, WriteOptions { sync: true })?;
        Ok(())
    }

    /// Regions recorded by a node from before replication (none in a newer directory).
    ///
    /// # Errors
    /// Engine errors; `Corruption` for a record that does not decode.
    pub fn legacy_regions(&self) -> Result<Vec<Region>> {
        let mut upper = REGION_PREFIX.to_vec();
        if let Some(last) = upper.last_mut() {
            *last += 1;
        }
        let options = IterOptions {
            lower_bound: Some(REGION_PREFIX.to_vec()),
            upper_bound: Some(upper),
        };
        let mut it = self.db.iter(self.cf, options, None)?;
        it.seek_to_first()?;
        let mut out = Vec::new();
        while it.valid() {
            let pb = metapb::Region::decode(it.value())
                .map_err(|e| corrupt("region", format!("{e} (key {:02x?})", it.key())))?;
            out.push(region_from_pb(&pb));
            it.next()?;
        }
        Ok(out)
    }

    /// Deletes the legacy records of `regions` (synced), once the Raft store holds them.
    ///
    /// # Errors
    /// Engine errors.
    pub fn remove_legacy_regions(&self, regions: &[Region]) -> Result<()> {
        let mut batch = WriteBatch::default();
        for r in regions {
            batch.delete(self.cf, &legacy_key(r.id));
        }
        self.db.write(WriteOptions { sync: true }, batch)?;
        Ok(())
    }

    /// Writes legacy records, as a node from before replication did (tests of the move).
    #[cfg(test)]
    pub fn put_legacy_regions(&self, regions: &[Region]) -> Result<()> {
        let mut batch = WriteBatch::default();
        for r in regions {
            batch.put(
                self.cf,
                &legacy_key(r.id),
                &crate::kv::region_to_pb(r).encode_to_vec(),
            );
        }
        self.db.write(WriteOptions { sync: true }, batch)?;
        Ok(())
    }
}

fn legacy_key(id: u64) -> Vec<u8> {
    let mut key = REGION_PREFIX.to_vec();
    key.extend_from_slice(&id.to_be_bytes());
    key
}

/// A region from its protobuf form.
pub fn region_from_pb(pb: &metapb::Region) -> Region {
    Region {
        id: pb.id,
        start_key: pb.start_key.clone(),
        end_key: pb.end_key.clone(),
        epoch: pb
            .region_epoch
            .as_ref()
            .map(|e| Epoch {
                conf_ver: e.conf_ver,
                version: e.version,
            })
            .unwrap_or_default(),
        peers: pb
            .peers
            .iter()
            .map(|p| Peer::new(p.id, p.store_id))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_and_legacy_regions_survive_a_reopen_until_removed() {
        let dir = tempfile::tempdir().unwrap();
        let region = Region {
            id: 2,
            start_key: vec![],
            end_key: b"m".to_vec(),
            epoch: Epoch {
                conf_ver: 1,
                version: 3,
            },
            peers: vec![Peer::new(3, 1)],
        };
        {
            let db = Arc::new(Db::open(dir.path(), lsm::Options::default()).unwrap());
            let meta = NodeMeta::open(db).unwrap();
            assert_eq!(meta.ident().unwrap(), None);
            meta.set_ident(StoreIdent {
                cluster_id: 7,
                store_id: 1,
            })
            .unwrap();
            meta.put_legacy_regions(std::slice::from_ref(&region))
                .unwrap();
        }
        let db = Arc::new(Db::open(dir.path(), lsm::Options::default()).unwrap());
        let meta = NodeMeta::open(db).unwrap();
        assert_eq!(meta.ident().unwrap().unwrap().cluster_id, 7);
        assert_eq!(meta.legacy_regions().unwrap(), vec![region.clone()]);
        meta.remove_legacy_regions(&[region]).unwrap();
        assert_eq!(meta.legacy_regions().unwrap(), vec![]);
    }
}
