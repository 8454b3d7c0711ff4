//! fjall under the benchmark seam: one database with one keyspace, written through fjall's
//! journal.
//!
//! fjall has no wait for background work, so [`Engine::flush`] and
//! [`Engine::wait_for_compactions`] poll the counters it exposes (some are `#[doc(hidden)]`
//! in fjall 3.1 and may move in a later release).

use std::fmt;
use std::path::Path;
use std::thread;
use std::time::Duration;

use fjall::compaction::Leveled;
use fjall::config::{
    BlockSizePolicy, BloomConstructionPolicy, CompressionPolicy, FilterPolicy, FilterPolicyEntry,
};
use fjall::{CompressionType, Database, Guard, Keyspace, KeyspaceCreateOptions, PersistMode};

use super::{Compression, Engine, EngineConfig, Visit};
use crate::error::{Error, Result};

/// Strata's defaults (and fjall's), set explicitly so the report header can show them.
const L0_COMPACTION_TRIGGER: u8 = 4;
const TARGET_FILE_SIZE: u64 = 64 << 20;

/// How often the waits look at fjall's counters.
const POLL: Duration = Duration::from_millis(10);
/// Polls in a row that must find no work and no progress before compactions count as
/// settled: a compaction is queued as a worker message we cannot see, so one idle poll may
/// fall between a flush finishing and the compaction it triggers starting.
const QUIET_POLLS: u32 = 5;

/// A fjall database and the keyspace the benchmark writes to.
pub struct FjallEngine {
    db: Database,
    keyspace: Keyspace,
    described: Vec<(String, String)>,
}

impl FjallEngine {
    pub fn open(dir: &Path, config: &EngineConfig) -> Result<Self> {
        let block_size = u32::try_from(config.block_size)
            .map_err(|_| Error::Usage(format!("block size {} too large", config.block_size)))?;
        // fjall panics on zero workers.
        let workers = config.background_threads.max(1);
        // fjall's default is uncompressed L0/L1 and a false-positive-rate filter on L0; every
        // level gets the shared setting so the engines compare like for like.
        let (compression, compression_name) = match config.compression {
            Compression::Lz4 => (CompressionType::Lz4, "lz4"),
            Compression::Zstd => (CompressionType::Lz4, "lz4 (fjall has no zstd)"),
            Compression::None => (CompressionType::None, "none"),
        };
        let filter = match config.bloom_bits {
            0 => FilterPolicy::disabled(),
            bits => FilterPolicy::all(FilterPolicyEntry::Bloom(
                BloomConstructionPolicy::BitsPerKey(bits as f32),
            )),
        };

        let db = Database::builder(dir)
            .cache_size(config.cache_bytes)
            .worker_threads(workers)
            // Strata's and RocksDB's WALs are uncompressed; fjall's lz4s values over 4 KiB.
            .journal_compression(CompressionType::None)
            .open()?;
        let keyspace = db.keyspace("bench", || {
            KeyspaceCreateOptions::default()
                .max_memtable_size(config.write_buffer_size as u64)
                .data_block_size_policy(BlockSizePolicy::all(block_size))
                .data_block_compression_policy(CompressionPolicy::all(compression))
                .filter_policy(filter)
                .compaction_strategy(std::sync::Arc::new(
                    Leveled::default()
                        .with_l0_threshold(L0_COMPACTION_TRIGGER)
                        .with_table_target_size(TARGET_FILE_SIZE),
                ))
        })?;

        let described = vec![
            (
                "write_buffer_size".into(),
                config.write_buffer_size.to_string(),
            ),
            ("block_size".into(), block_size.to_string()),
            ("block_cache".into(), db.cache_capacity().to_string()),
            ("bloom_bits".into(), config.bloom_bits.to_string()),
            ("compression".into(), compression_name.into()),
            ("index_compression".into(), "none".into()),
            ("background_threads".into(), workers.to_string()),
            (
                "l0_compaction_trigger".into(),
                L0_COMPACTION_TRIGGER.to_string(),
            ),
            ("target_file_size".into(), TARGET_FILE_SIZE.to_string()),
            (
                "wal".into(),
                "journal, uncompressed; sync writes fdatasync".into(),
            ),
        ];
        Ok(FjallEngine {
            db,
            keyspace,
            described,
        })
    }

    /// Fails once a background worker has poisoned the database, so the waits below end
    /// instead of polling forever for a flush that will never finish.
    fn check_alive(&self) -> Result<()> {
        Ok(self.db.persist(PersistMode::Buffer)?)
    }
}

impl fmt::Debug for FjallEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FjallEngine")
            .field("described", &self.described)
            .finish_non_exhaustive()
    }
}

/// Feeds `entries` to `visit` until it asks to stop.
fn visit_all(entries: impl Iterator<Item = Guard>, visit: &mut Visit<'_>) -> Result<()> {
    for entry in entries {
        let (key, value) = entry.into_inner()?;
        if !visit(&key, &value) {
            break;
        }
    }
    Ok(())
}

impl Engine for FjallEngine {
    fn describe(&self) -> Vec<(String, String)> {
        self.described.clone()
    }

    fn put(&self, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
        if sync {
            // A batch writes and fdatasyncs under one hold of the journal lock, so the write
            // is durable on return; `insert` only hands it to the OS.
            let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
            batch.insert(&self.keyspace, key, value);
            Ok(batch.commit()?)
        } else {
            Ok(self.keyspace.insert(key, value)?)
        }
    }

    fn delete(&self, key: &[u8], sync: bool) -> Result<()> {
        if sync {
            let mut batch = self.db.batch().durability(Some(PersistMode::SyncData));
            batch.remove(&self.keyspace, key);
            Ok(batch.commit()?)
        } else {
            Ok(self.keyspace.remove(key)?)
        }
    }

    fn get(&self, key: &[u8]) -> Result<Option<usize>> {
        Ok(self.keyspace.get(key)?.map(|v| v.len()))
    }

    fn scan(&self, start: Option<&[u8]>, reverse: bool, visit: &mut Visit<'_>) -> Result<()> {
        let entries = match (start, reverse) {
            (Some(k), false) => self.keyspace.range::<&[u8], _>(k..),
            (Some(k), true) => self.keyspace.range::<&[u8], _>(..=k),
            (None, _) => self.keyspace.iter(),
        };
        if reverse {
            visit_all(entries.rev(), visit)
        } else {
            visit_all(entries, visit)
        }
    }

    fn flush(&self) -> Result<()> {
        // fjall's own `rotate_memtable_and_wait` would spin forever on a failed flush.
        self.keyspace.rotate_memtable()?;
        while self.keyspace.sealed_memtable_count() > 0 {
            self.check_alive()?;
            thread::sleep(POLL);
        }
        Ok(())
    }

    fn wait_for_compactions(&self) -> Result<()> {
        let mut quiet = 0;
        let mut last_progress = None;
        while quiet < QUIET_POLLS {
            self.check_alive()?;
            thread::sleep(POLL);
            let busy = self.db.outstanding_flushes() > 0
                || self.keyspace.sealed_memtable_count() > 0
                || self.db.active_compactions() > 0;
            let progress = Some((self.db.compactions_completed(), self.keyspace.table_count()));
            quiet = if busy || progress != last_progress {
                0
            } else {
                quiet + 1
            };
            last_progress = progress;
        }
        Ok(())
    }

    fn stats_text(&self) -> String {
        let disk = match self.db.disk_space() {
            Ok(bytes) => bytes.to_string(),
            Err(e) => format!("unknown ({e})"),
        };
        format!(
            "disk_space_bytes: {disk}\njournal_count: {}\ntable_count: {}\nl0_table_count: {}\n\
             compactions_completed: {}\ntime_compacting: {:?}\ncache_bytes: {} of {}\n",
            self.db.journal_count(),
            self.keyspace.table_count(),
            self.keyspace.l0_table_count(),
            self.db.compactions_completed(),
            self.db.time_compacting(),
            self.db.cache_size(),
            self.db.cache_capacity(),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn conforms() {
        super::super::check_conformance(super::super::EngineKind::Fjall);
    }
}
