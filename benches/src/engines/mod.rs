//! The seam between the workloads and the engines they compare: one narrow trait, one
//! adapter per engine, and the settings every engine is opened with.
//!
//! Each adapter maps the shared [`EngineConfig`] onto its engine's own options as closely as
//! that engine allows, and [`Engine::describe`] says what it actually set, so the report
//! header shows where settings could not be made equal.

use std::fmt;
use std::path::Path;

use crate::error::Result;

mod fjall;
#[cfg(feature = "rocksdb")]
mod rocksdb;
mod strata;

/// Block compression asked of every engine.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// lz4, the one codec all three engines have (the default, so the comparison is like
    /// for like).
    Lz4,
    /// zstd at its fastest level (fjall, which has no zstd, uses lz4).
    Zstd,
    /// No compression.
    None,
}

/// Settings every engine is opened with.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EngineConfig {
    /// Memtable size before it is switched and flushed.
    pub write_buffer_size: usize,
    /// Memtables held at most, the active one included (RocksDB's `max_write_buffer_number`):
    /// writes wait when this many are full.
    pub max_write_buffers: usize,
    /// Uncompressed data block size.
    pub block_size: usize,
    /// Block cache capacity in bytes.
    pub cache_bytes: u64,
    /// Bloom filter bits per key (0: no filter).
    pub bloom_bits: u32,
    /// Block compression.
    pub compression: Compression,
    /// Threads for flushes and compactions.
    pub background_threads: usize,
    /// Strata only (the others have no such setting): return freed heap memory to the OS
    /// after each flush and compaction.
    pub release_freed_memory: bool,
}

/// Which engine to run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// Strata's LSM engine (`lsm/`).
    Strata,
    /// RocksDB through the `rocksdb` crate (needs the `rocksdb` cargo feature).
    Rocksdb,
    /// fjall.
    Fjall,
}

impl EngineKind {
    /// The engines this build can run, in report order.
    pub fn available() -> Vec<EngineKind> {
        let mut all = vec![EngineKind::Strata];
        if cfg!(feature = "rocksdb") {
            all.push(EngineKind::Rocksdb);
        }
        all.push(EngineKind::Fjall);
        all
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EngineKind::Strata => "strata",
            EngineKind::Rocksdb => "rocksdb",
            EngineKind::Fjall => "fjall",
        })
    }
}

/// What a scan visitor returns: go on to the next entry or stop.
pub type Visit<'a> = dyn FnMut(&[u8], &[u8]) -> bool + 'a;

/// A key-value engine under benchmark. Every method may be called from many threads at once.
pub trait Engine: Send + Sync {
    /// The settings as this engine applied them, one `name=value` per entry.
    fn describe(&self) -> Vec<(String, String)>;

    /// Writes `key = value`; with `sync`, returns once the write is durable.
    fn put(&self, key: &[u8], value: &[u8], sync: bool) -> Result<()>;

    /// Deletes `key`; with `sync`, returns once the delete is durable.
    fn delete(&self, key: &[u8], sync: bool) -> Result<()>;

    /// The length of `key`'s value, or `None` if it has none.
    fn get(&self, key: &[u8]) -> Result<Option<usize>>;

    /// Calls `visit(key, value)` on the entries from `start` on (forward: the first key
    /// `>= start`; reverse: the last key `<= start`; `None`: from the first / last key)
    /// until `visit` returns `false` or the entries end.
    fn scan(&self, start: Option<&[u8]>, reverse: bool, visit: &mut Visit<'_>) -> Result<()>;

    /// Writes the memtable out and waits for it.
    fn flush(&self) -> Result<()>;

    /// Waits until background flushes and compactions have settled.
    fn wait_for_compactions(&self) -> Result<()>;

    /// The engine's own statistics, for the end of the report (may be empty).
    fn stats_text(&self) -> String;
}

/// Opens `kind` on a fresh directory `dir` with `config`.
///
/// # Errors
/// The engine's error when it cannot open; `Usage` for an engine not built in.
pub fn open(kind: EngineKind, dir: &Path, config: &EngineConfig) -> Result<Box<dyn Engine>> {
    match kind {
        EngineKind::Strata => Ok(Box::new(strata::StrataEngine::open(dir, config)?)),
        EngineKind::Fjall => Ok(Box::new(fjall::FjallEngine::open(dir, config)?)),
        #[cfg(feature = "rocksdb")]
        EngineKind::Rocksdb => Ok(Box::new(rocksdb::RocksEngine::open(dir, config)?)),
        #[cfg(not(feature = "rocksdb"))]
        EngineKind::Rocksdb => Err(crate::error::Error::Usage(
            "this build has no RocksDB: build with `--features rocksdb`".into(),
        )),
    }
}

/// The behaviour every adapter must show, checked by each adapter's tests on its own engine.
#[cfg(test)]
pub(crate) fn check_conformance(kind: EngineKind) {
    let dir = tempfile::tempdir().unwrap();
    let config = EngineConfig {
        write_buffer_size: 1 << 20,
        max_write_buffers: 2,
        block_size: 4096,
        cache_bytes: 1 << 20,
        bloom_bits: 10,
        compression: Compression::Lz4,
        background_threads: 2,
        release_freed_memory: true,
    };
    let engine = open(kind, dir.path(), &config).unwrap();
    assert!(!engine.describe().is_empty());
    for i in (0..200u32).rev() {
        let key = format!("key{i:05}");
        engine
            .put(key.as_bytes(), &vec![b'v'; i as usize], i % 50 == 0)
            .unwrap();
    }
    engine.delete(b"key00007", false).unwrap();
    assert_eq!(engine.get(b"key00009").unwrap(), Some(9));
    assert_eq!(engine.get(b"key00007").unwrap(), None);
    assert_eq!(engine.get(b"key9").unwrap(), None);

    let collect = |start: Option<&[u8]>, reverse: bool, n: usize| {
        let mut keys = Vec::new();
        engine
            .scan(start, reverse, &mut |k, v| {
                let i: usize = std::str::from_utf8(&k[3..]).unwrap().parse().unwrap();
                assert_eq!(v.len(), i);
                keys.push(i);
                keys.len() < n
            })
            .unwrap();
        keys
    };
    assert_eq!(collect(Some(b"key00005x"), false, 3), vec![6, 8, 9]);
    assert_eq!(collect(Some(b"key00008x"), true, 3), vec![8, 6, 5]);
    assert_eq!(collect(None, false, 2), vec![0, 1]);
    assert_eq!(collect(None, true, 2), vec![199, 198]);
    assert_eq!(collect(None, false, usize::MAX).len(), 199);

    engine.flush().unwrap();
    engine.wait_for_compactions().unwrap();
    assert_eq!(engine.get(b"key00199").unwrap(), Some(199));
    assert_eq!(collect(None, true, usize::MAX).len(), 199);
}
