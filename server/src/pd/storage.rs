//! PD's persisted state over one `lsm::Db` (column family 0), in the layout of
//! `server/FORMAT.md` ("Placement driver state"). Every write is one synced batch, so a
//! change is durable, and all-or-nothing, when the call returns.
//!
//! Nothing read back is trusted: a value of the wrong length, an undecodable message or a
//! key that disagrees with its value is `Error::Corruption`, never a panic.

use std::path::{Path, PathBuf};

use lsm::iter::IterOptions;
use lsm::{Db, WriteBatch, WriteOptions};
use prost::Message;

use crate::proto::metapb;
use crate::{Error, Result};

/// The column family everything lives in.
const CF: lsm::key::CfId = 0;
/// The layout version written at creation; DO NOT CHANGE the meaning of version 1.
const FORMAT_VERSION: u32 = 1;

const KEY_FORMAT: &[u8] = b"meta/format";
const KEY_CLUSTER_ID: &[u8] = b"meta/cluster_id";
const KEY_MEMBER_ID: &[u8] = b"meta/member_id";
const KEY_CLUSTER: &[u8] = b"meta/cluster";
const KEY_ALLOC_ID: &[u8] = b"meta/alloc_id";
const KEY_TSO: &[u8] = b"meta/tso";
const KEY_GC_SAFE_POINT: &[u8] = b"meta/gc_safe_point";
const PREFIX_STORE: &[u8] = b"store/";
const PREFIX_REGION: &[u8] = b"region/";

/// Everything PD keeps, as read at open.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub cluster_id: u64,
    pub member_id: u64,
    /// Present once the cluster is bootstrapped.
    pub cluster: Option<metapb::Cluster>,
    pub stores: Vec<metapb::Store>,
    pub regions: Vec<metapb::Region>,
    pub alloc_bound: u64,
    pub tso_bound: Option<i64>,
    pub gc_safe_point: u64,
}

/// A group of changes written atomically by [`Storage::write`].
#[derive(Debug, Default)]
pub(crate) struct Batch(WriteBatch);

impl Batch {
    pub fn put_cluster(&mut self, c: &metapb::Cluster) {
        self.0.put(CF, KEY_CLUSTER, &c.encode_to_vec());
    }
    pub fn put_store(&mut self, s: &metapb::Store) {
        self.0
            .put(CF, &id_key(PREFIX_STORE, s.id), &s.encode_to_vec());
    }
    pub fn put_region(&mut self, r: &metapb::Region) {
        self.0
            .put(CF, &id_key(PREFIX_REGION, r.id), &r.encode_to_vec());
    }
    pub fn delete_region(&mut self, id: u64) {
        self.0.delete(CF, &id_key(PREFIX_REGION, id));
    }
    pub fn put_alloc_bound(&mut self, bound: u64) {
        self.0.put(CF, KEY_ALLOC_ID, &bound.to_be_bytes());
    }
    pub fn put_tso_bound(&mut self, bound_ms: i64) {
        self.0.put(CF, KEY_TSO, &bound_ms.to_be_bytes());
    }
    pub fn put_gc_safe_point(&mut self, sp: u64) {
        self.0.put(CF, KEY_GC_SAFE_POINT, &sp.to_be_bytes());
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn id_key(prefix: &[u8], id: u64) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The open database.
#[derive(Debug)]
pub(crate) struct Storage {
    db: Db,
    dir: PathBuf,
}

impl Storage {
    /// Opens (or creates) the state in `dir`. A new state gets the ids `new_ids()` returns
    /// (cluster id, member id), written before anything else.
    ///
    /// # Errors
    /// `Corruption` if the state is damaged or of an unknown format version; `Lsm`/`Io` if
    /// the engine cannot open or write.
    pub fn open(dir: &Path, new_ids: impl FnOnce() -> (u64, u64)) -> Result<(Storage, Loaded)> {
        let options = lsm::Options {
            write_buffer_size: 4 << 20,
            block_cache_bytes: 8 << 20,
            background_threads: 1,
            ..lsm::Options::default()
        };
        let db = Db::open(dir, options).map_err(|e| lsm_error(dir, e))?;
        let storage = Storage {
            db,
            dir: dir.to_path_buf(),
        };
        if storage.get(KEY_CLUSTER_ID)?.is_none() {
            if storage.get(KEY_FORMAT)?.is_some() {
                return Err(storage.corruption("format version present without a cluster id"));
            }
            let (cluster_id, member_id) = new_ids();
            let mut b = WriteBatch::new();
            b.put(CF, KEY_FORMAT, &FORMAT_VERSION.to_be_bytes());
            b.put(CF, KEY_CLUSTER_ID, &cluster_id.to_be_bytes());
            b.put(CF, KEY_MEMBER_ID, &member_id.to_be_bytes());
            storage.write(Batch(b))?;
        }
        let loaded = storage.load()?;
        Ok((storage, loaded))
    }

    /// Writes `batch` durably (one synced, atomic write).
    ///
    /// # Errors
    /// The engine's write error.
    pub fn write(&self, batch: Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.db
            .write(WriteOptions { sync: true }, batch.0)
            .map_err(|e| lsm_error(&self.dir, e))
    }

    fn load(&self) -> Result<Loaded> {
        match self.get(KEY_FORMAT)? {
            Some(v) => {
                let version = u32::from_be_bytes(self.fixed(KEY_FORMAT, &v)?);
                if version != FORMAT_VERSION {
                    return Err(self.corruption(&format!("unknown format version {version}")));
                }
            }
            None => return Err(self.corruption("missing format version")),
        }
        let u64_of = |key: &[u8]| -> Result<Option<u64>> {
            self.get(key)?
                .map(|v| self.fixed(key, &v).map(u64::from_be_bytes))
                .transpose()
        };
        let mut loaded = Loaded {
            cluster_id: u64_of(KEY_CLUSTER_ID)?.unwrap_or_default(),
            member_id: u64_of(KEY_MEMBER_ID)?
                .ok_or_else(|| self.corruption("missing member id"))?,
            alloc_bound: u64_of(KEY_ALLOC_ID)?.unwrap_or_default(),
            tso_bound: self
                .get(KEY_TSO)?
                .map(|v| self.fixed(KEY_TSO, &v).map(i64::from_be_bytes))
                .transpose()?,
            gc_safe_point: u64_of(KEY_GC_SAFE_POINT)?.unwrap_or_default(),
            ..Loaded::default()
        };
        if let Some(v) = self.get(KEY_CLUSTER)? {
            loaded.cluster = Some(self.decode(KEY_CLUSTER, &v)?);
        }
        for (id, v) in self.scan_ids(PREFIX_STORE)? {
            let s: metapb::Store = self.decode(PREFIX_STORE, &v)?;
            if s.id != id {
                return Err(self.corruption(&format!("store key {id} holds store {}", s.id)));
            }
            loaded.stores.push(s);
        }
        for (id, v) in self.scan_ids(PREFIX_REGION)? {
            let r: metapb::Region = self.decode(PREFIX_REGION, &v)?;
            if r.id != id {
                return Err(self.corruption(&format!("region key {id} holds region {}", r.id)));
            }
            loaded.regions.push(r);
        }
        Ok(loaded)
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.db
            .get(CF, key, None)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| lsm_error(&self.dir, e))
    }

    /// `(id, value)` of every key `prefix + 8-byte id`.
    fn scan_ids(&self, prefix: &[u8]) -> Result<Vec<(u64, Vec<u8>)>> {
        let mut upper = prefix.to_vec();
        if let Some(last) = upper.last_mut() {
            *last += 1; // Prefixes end in '/', so this cannot overflow.
        }
        let options = IterOptions {
            lower_bound: Some(prefix.to_vec()),
            upper_bound: Some(upper),
        };
        let mut it = self
            .db
            .iter(CF, options, None)
            .map_err(|e| lsm_error(&self.dir, e))?;
        it.seek_to_first().map_err(|e| lsm_error(&self.dir, e))?;
        let mut out = Vec::new();
        while it.valid() {
            let id_bytes = it.key().get(prefix.len()..).unwrap_or_default();
            let id = <[u8; 8]>::try_from(id_bytes)
                .map_err(|_| self.corruption(&format!("bad key {:?}", it.key())))?;
            out.push((u64::from_be_bytes(id), it.value().to_vec()));
            it.next().map_err(|e| lsm_error(&self.dir, e))?;
        }
        Ok(out)
    }

    fn fixed<const N: usize>(&self, key: &[u8], v: &[u8]) -> Result<[u8; N]> {
        <[u8; N]>::try_from(v).map_err(|_| {
            self.corruption(&format!(
                "{} holds {} bytes, expected {N}",
                String::from_utf8_lossy(key),
                v.len()
            ))
        })
    }

    fn decode<M: Message + Default>(&self, key: &[u8], v: &[u8]) -> Result<M> {
        M::decode(v).map_err(|e| {
            self.corruption(&format!(
                "{}: undecodable: {e}",
                String::from_utf8_lossy(key)
            ))
        })
    }

    pub fn corruption(&self, reason: &str) -> Error {
        Error::Corruption {
            file: self.dir.clone(),
            reason: format!("placement driver state: {reason}"),
        }
    }
}

/// Engine errors, with the engine's corruption reported as the crate's `Corruption`.
fn lsm_error(dir: &Path, e: lsm::Error) -> Error {
    if e.is_corruption() {
        Error::Corruption {
            file: dir.to_path_buf(),
            reason: e.to_string(),
        }
    } else {
        Error::Lsm(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(id: u64) -> metapb::Region {
        metapb::Region {
            id,
            start_key: vec![id as u8],
            ..Default::default()
        }
    }

    #[test]
    fn state_round_trips_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (s, l) = Storage::open(dir.path(), || (7, 9)).unwrap();
            assert_eq!(
                (l.cluster_id, l.member_id, l.cluster.is_none()),
                (7, 9, true)
            );
            let mut b = Batch::default();
            b.put_cluster(&metapb::Cluster {
                id: 7,
                max_peer_count: 3,
            });
            b.put_store(&metapb::Store {
                id: 1,
                address: "a:1".into(),
                ..Default::default()
            });
            b.put_region(&region(2));
            b.put_region(&region(3));
            b.put_alloc_bound(1000);
            b.put_tso_bound(123_456);
            b.put_gc_safe_point(42);
            s.write(b).unwrap();
            let mut b = Batch::default();
            b.delete_region(2);
            s.write(b).unwrap();
        }
        let (_s, l) = Storage::open(dir.path(), || panic!("ids exist")).unwrap();
        assert_eq!(l.cluster_id, 7);
        assert_eq!(l.cluster.map(|c| c.max_peer_count), Some(3));
        assert_eq!(l.stores.len(), 1);
        assert_eq!(l.regions, vec![region(3)]);
        assert_eq!(
            (l.alloc_bound, l.tso_bound, l.gc_safe_point),
            (1000, Some(123_456), 42)
        );
    }

    #[test]
    fn damaged_values_are_corruption() {
        let cases: [(&[u8], &[u8]); 4] = [
            (KEY_CLUSTER_ID, b"abc"),
            (KEY_TSO, b"123456789"),
            (b"region/\0\0\0\0\0\0\0\x01", b"\xff\xff\xff"),
            (b"store/\x01", b""),
        ];
        for (key, value) in cases {
            let dir = tempfile::tempdir().unwrap();
            drop(Storage::open(dir.path(), || (1, 2)).unwrap());
            {
                let db = Db::open(dir.path(), lsm::Options::default()).unwrap();
                db.put(CF, key, value, WriteOptions { sync: true }).unwrap();
            }
            let err = Storage::open(dir.path(), || (1, 2)).unwrap_err();
            assert!(matches!(err, Error::Corruption { .. }), "{key:?}: {err}");
        }
    }

    #[test]
    fn a_region_under_another_id_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        drop(Storage::open(dir.path(), || (1, 2)).unwrap());
        {
            let db = Db::open(dir.path(), lsm::Options::default()).unwrap();
            let key = id_key(PREFIX_REGION, 5);
            db.put(
                CF,
                &key,
                &region(6).encode_to_vec(),
                WriteOptions { sync: true },
            )
            .unwrap();
        }
        assert!(matches!(
            Storage::open(dir.path(), || (1, 2)),
            Err(Error::Corruption { .. })
        ));
    }
}
