//! What a node persists about itself, in the `meta` column family of its engine: its
//! identity (cluster id, store id) and its regions. Layout in `server/FORMAT.md`.
//!
//! Writes are synced: a region the node told PD about must survive a crash.

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
/// Prefix of region records: `region/` ‖ region id (u64 BE) → `metapb.Region` (protobuf).
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

    /// Every region recorded.
    ///
    /// # Errors
    /// Engine errors; `Corruption` for a record that does not decode.
    pub fn regions(&self) -> Result<Vec<Region>> {
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

    /// Records `regions` (one synced batch: a split's regions appear together).
    ///
    /// # Errors
    /// Engine errors.
    pub fn put_regions(&self, regions: &[Region]) -> Result<()> {
        let mut batch = WriteBatch::default();
        for r in regions {
            let mut key = REGION_PREFIX.to_vec();
            key.extend_from_slice(&r.id.to_be_bytes());
            batch.put(self.cf, &key, &crate::kv::region_to_pb(r).encode_to_vec());
        }
        self.db.write(WriteOptions { sync: true }, batch)?;
        Ok(())
    }
}

/// A region from its protobuf form; the leader is unknown (0) until the node sets it.
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
            .map(|p| Peer {
                id: p.id,
                store_id: p.store_id,
            })
            .collect(),
        leader: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_and_regions_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let region = Region {
            id: 2,
            start_key: vec![],
            end_key: b"m".to_vec(),
            epoch: Epoch {
                conf_ver: 1,
                version: 3,
            },
            peers: vec![Peer { id: 3, store_id: 1 }],
            leader: 0,
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
            meta.put_regions(std::slice::from_ref(&region)).unwrap();
        }
        let db = Arc::new(Db::open(dir.path(), lsm::Options::default()).unwrap());
        let meta = NodeMeta::open(db).unwrap();
        assert_eq!(meta.ident().unwrap().unwrap().cluster_id, 7);
        assert_eq!(meta.regions().unwrap(), vec![region]);
    }
}
