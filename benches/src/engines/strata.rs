//! Strata's LSM engine under the benchmark seam.

use std::path::Path;

use bytes::Bytes;
use lsm::iter::IterOptions;
use lsm::key::CfId;
use lsm::{Db, Options, WriteOptions};

use super::{Compression, Engine, EngineConfig, Visit};
use crate::error::Result;

/// The benchmark writes to the default column family.
const CF: CfId = 0;

/// Strata's `Db`, opened with the shared settings.
#[derive(Debug)]
pub struct StrataEngine {
    db: Db,
    described: Vec<(String, String)>,
}

impl StrataEngine {
    pub fn open(dir: &Path, config: &EngineConfig) -> Result<Self> {
        let mut options = Options {
            write_buffer_size: config.write_buffer_size,
            max_immutable_memtables: config.max_write_buffers - 1,
            block_cache_bytes: config.cache_bytes,
            background_threads: config.background_threads,
            release_freed_memory: config.release_freed_memory,
            ..Options::default()
        };
        options.table.block_size = config.block_size;
        options.table.bloom_bits_per_key = config.bloom_bits;
        options.table.compression = match config.compression {
            Compression::Lz4 => sstable::Compression::Lz4,
            Compression::Zstd => sstable::Compression::Zstd { level: 1 },
            Compression::None => sstable::Compression::None,
        };
        let described = vec![
            (
                "write_buffer_size".into(),
                options.write_buffer_size.to_string(),
            ),
            (
                "max_immutable_memtables".into(),
                options.max_immutable_memtables.to_string(),
            ),
            ("block_size".into(), options.table.block_size.to_string()),
            ("block_cache".into(), options.block_cache_bytes.to_string()),
            (
                "bloom_bits".into(),
                options.table.bloom_bits_per_key.to_string(),
            ),
            (
                "compression".into(),
                format!("{:?}", options.table.compression),
            ),
            (
                "background_threads".into(),
                options.background_threads.to_string(),
            ),
            (
                "l0_compaction_trigger".into(),
                options.compaction.l0_trigger.to_string(),
            ),
            (
                "target_file_size".into(),
                options.compaction.target_file_size.to_string(),
            ),
            (
                "release_freed_memory".into(),
                options.release_freed_memory.to_string(),
            ),
        ];
        Ok(StrataEngine {
            db: Db::open(dir, options)?,
            described,
        })
    }
}

impl Engine for StrataEngine {
    fn describe(&self) -> Vec<(String, String)> {
        self.described.clone()
    }

    fn put(&self, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
        Ok(self.db.put(CF, key, value, WriteOptions { sync })?)
    }

    fn delete(&self, key: &[u8], sync: bool) -> Result<()> {
        Ok(self.db.delete(CF, key, WriteOptions { sync })?)
    }

    fn get(&self, key: &[u8]) -> Result<Option<usize>> {
        Ok(self.db.get(CF, key, None)?.as_ref().map(Bytes::len))
    }

    fn scan(&self, start: Option<&[u8]>, reverse: bool, visit: &mut Visit<'_>) -> Result<()> {
        let mut it = self.db.iter(CF, IterOptions::default(), None)?;
        match (start, reverse) {
            (Some(k), false) => it.seek(k)?,
            (Some(k), true) => it.seek_for_prev(k)?,
            (None, false) => it.seek_to_first()?,
            (None, true) => it.seek_to_last()?,
        }
        while it.valid() {
            if !visit(it.key(), it.value()) {
                break;
            }
            if reverse {
                it.prev()?;
            } else {
                it.next()?;
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        Ok(self.db.flush()?)
    }

    fn wait_for_compactions(&self) -> Result<()> {
        Ok(self.db.wait_for_compactions()?)
    }

    fn stats_text(&self) -> String {
        self.db.stats().to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn conforms() {
        super::super::check_conformance(super::super::EngineKind::Strata);
    }
}
