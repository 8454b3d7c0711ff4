//! RocksDB under the benchmark seam, through the `rocksdb` crate, writing to the default
//! column family with the WAL on.

use std::fmt;
use std::path::Path;

use rocksdb::{
    properties, BlockBasedOptions, Cache, DBCompressionType, Options, WaitForCompactOptions,
    WriteOptions, DB,
};

use super::{Compression, Engine, EngineConfig, Visit};
use crate::error::{Error, Result};

/// Strata's defaults (and RocksDB's), set explicitly so the report header can show them.
const L0_COMPACTION_TRIGGER: i32 = 4;
const TARGET_FILE_SIZE: u64 = 64 << 20;
/// Strata's zstd level; RocksDB would otherwise use zstd's default, 3.
const ZSTD_LEVEL: i32 = 1;
/// RocksDB's default zlib window bits, passed through unchanged: the call sets every field.
const WINDOW_BITS: i32 = -14;

/// A RocksDB instance opened with the shared settings.
pub struct RocksEngine {
    /// `DB` (single-threaded column family map) is Send + Sync like the multi-threaded one;
    /// it only needs `&mut` to create or drop column families, which the benchmark never does.
    db: DB,
    /// Kept to report its usage; the options also keep it alive for the DB.
    cache: Cache,
    /// Built once because each `WriteOptions` is a C allocation, which would otherwise be
    /// charged to every write.
    write_sync: WriteOptions,
    write_nosync: WriteOptions,
    described: Vec<(String, String)>,
}

/// RocksDB's errors are C strings; the harness keeps only the message.
fn rocks(e: rocksdb::Error) -> Error {
    Error::RocksDb(e.to_string())
}

impl RocksEngine {
    pub fn open(dir: &Path, config: &EngineConfig) -> Result<Self> {
        let cache_bytes = usize::try_from(config.cache_bytes).unwrap_or(usize::MAX);
        let cache = Cache::new_lru_cache(cache_bytes);
        let mut table = BlockBasedOptions::default();
        table.set_block_size(config.block_size);
        table.set_block_cache(&cache);
        if config.bloom_bits > 0 {
            table.set_bloom_filter(f64::from(config.bloom_bits), false);
        }

        let mut options = Options::default();
        options.create_if_missing(true);
        options.set_write_buffer_size(config.write_buffer_size);
        options.set_max_write_buffer_number(config.max_write_buffers as i32);
        options.set_block_based_table_factory(&table);
        let compression = match config.compression {
            Compression::Zstd => {
                options.set_compression_options(WINDOW_BITS, ZSTD_LEVEL, 0, 0);
                DBCompressionType::Zstd
            }
            Compression::Lz4 => DBCompressionType::Lz4,
            Compression::None => DBCompressionType::None,
        };
        options.set_compression_type(compression);
        // Open grows the flush and compaction pools to fit the job limit, so no
        // `increase_parallelism`, which would also resize the process-wide Env's pools.
        let jobs = i32::try_from(config.background_threads.max(1)).unwrap_or(i32::MAX);
        options.set_max_background_jobs(jobs);
        options.set_level_zero_file_num_compaction_trigger(L0_COMPACTION_TRIGGER);
        options.set_target_file_size_base(TARGET_FILE_SIZE);

        let mut write_sync = WriteOptions::default();
        write_sync.set_sync(true);
        let write_nosync = WriteOptions::default();

        // RocksDB gives a quarter of the jobs (at least one) to flushes, and runs one
        // compaction at a time until it falls behind.
        let flushes = (jobs / 4).max(1);
        let described = vec![
            (
                "write_buffer_size".into(),
                config.write_buffer_size.to_string(),
            ),
            ("block_size".into(), config.block_size.to_string()),
            ("block_cache".into(), format!("lru {cache_bytes}")),
            (
                "bloom_bits".into(),
                format!("{} (full filter)", config.bloom_bits),
            ),
            (
                "compression".into(),
                match config.compression {
                    Compression::Lz4 => "lz4".into(),
                    Compression::Zstd => format!("zstd level {ZSTD_LEVEL}"),
                    Compression::None => "none".into(),
                },
            ),
            (
                "background_threads".into(),
                format!(
                    "max_background_jobs={jobs} (flushes {flushes}, compactions up to {})",
                    (jobs - flushes).max(1)
                ),
            ),
            (
                "l0_compaction_trigger".into(),
                L0_COMPACTION_TRIGGER.to_string(),
            ),
            ("target_file_size".into(), TARGET_FILE_SIZE.to_string()),
            ("cache_index_and_filter_blocks".into(), "false".into()),
            ("wal".into(), "on; sync writes fdatasync".into()),
        ];
        let db = DB::open(&options, dir).map_err(rocks)?;
        Ok(RocksEngine {
            db,
            cache,
            write_sync,
            write_nosync,
            described,
        })
    }

    fn write_options(&self, sync: bool) -> &WriteOptions {
        if sync {
            &self.write_sync
        } else {
            &self.write_nosync
        }
    }
}

impl fmt::Debug for RocksEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RocksEngine")
            .field("described", &self.described)
            .finish_non_exhaustive()
    }
}

impl Engine for RocksEngine {
    fn describe(&self) -> Vec<(String, String)> {
        self.described.clone()
    }

    fn put(&self, key: &[u8], value: &[u8], sync: bool) -> Result<()> {
        self.db
            .put_opt(key, value, self.write_options(sync))
            .map_err(rocks)
    }

    fn delete(&self, key: &[u8], sync: bool) -> Result<()> {
        self.db
            .delete_opt(key, self.write_options(sync))
            .map_err(rocks)
    }

    fn get(&self, key: &[u8]) -> Result<Option<usize>> {
        // Pinned, so the value is not copied out of the block cache just to be measured.
        Ok(self.db.get_pinned(key).map_err(rocks)?.map(|v| v.len()))
    }

    fn scan(&self, start: Option<&[u8]>, reverse: bool, visit: &mut Visit<'_>) -> Result<()> {
        let mut it = self.db.raw_iterator();
        match (start, reverse) {
            (Some(k), false) => it.seek(k),
            (Some(k), true) => it.seek_for_prev(k),
            (None, false) => it.seek_to_first(),
            (None, true) => it.seek_to_last(),
        }
        while let Some((key, value)) = it.item() {
            if !visit(key, value) {
                return Ok(());
            }
            if reverse {
                it.prev();
            } else {
                it.next();
            }
        }
        // An invalid iterator is either the end or an error; only `status` tells which.
        it.status().map_err(rocks)
    }

    fn flush(&self) -> Result<()> {
        self.db.flush().map_err(rocks)
    }

    fn wait_for_compactions(&self) -> Result<()> {
        // Waits for queued as well as running jobs. No flush first: the harness flushes
        // explicitly when it means to, and this call must not change what is measured.
        let mut options = WaitForCompactOptions::default();
        options.set_flush(false);
        self.db.wait_for_compact(&options).map_err(rocks)
    }

    fn stats_text(&self) -> String {
        let stats = match self.db.property_value(properties::STATS) {
            Ok(Some(text)) => text,
            Ok(None) => String::new(),
            Err(e) => format!("rocksdb.stats unavailable: {e}\n"),
        };
        format!(
            "{stats}block cache usage: {} bytes\n",
            self.cache.get_usage()
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn conforms() {
        super::super::check_conformance(super::super::EngineKind::Rocksdb);
    }
}
