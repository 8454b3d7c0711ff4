//! `[lsm]`: the storage engine's tuning, under the names TiKV gives the same RocksDB options
//! (`write-buffer-size`, `max-bytes-for-level-base`, …). Every key maps to a field of
//! [`lsm::Options`] or its table options; [`LsmConfig::to_options`] is that mapping.

use serde::{Deserialize, Serialize};

use super::readable::ReadableSize;

/// `[lsm]`: engine options. Defaults are the engine's own defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct LsmConfig {
    /// Memtable size at which it is frozen and flushed (`write_buffer_size`).
    pub write_buffer_size: ReadableSize,
    /// Memtables in memory at most, the active one included, before writes wait for a
    /// flush (RocksDB's meaning; `max_immutable_memtables` + 1).
    pub max_write_buffer_number: usize,
    /// Bytes of decoded blocks cached, shared by all tables; 0 disables the cache.
    pub block_cache_size: ReadableSize,
    /// Uncompressed size at which a table's data block is closed.
    pub block_size: ReadableSize,
    /// Bloom filter bits per key (10 ≈ 1% false positives); 0 writes no filter.
    pub bloom_bits_per_key: u32,
    /// Compression of table blocks.
    pub compression: LsmCompression,
    /// Background threads for flushes and compactions.
    pub max_background_jobs: usize,
    /// Size at which compaction cuts its output files.
    pub target_file_size_base: ReadableSize,
    /// L0 files that trigger a compaction into the base level.
    pub level0_file_num_compaction_trigger: usize,
    /// L0 files at which each write group is delayed by a millisecond.
    pub level0_slowdown_writes_trigger: usize,
    /// L0 files at which writes wait for compaction.
    pub level0_stop_writes_trigger: usize,
    /// Target size of the base level; deeper levels grow by the multiplier.
    pub max_bytes_for_level_base: ReadableSize,
    /// Growth factor between levels.
    pub max_bytes_for_level_multiplier: u64,
    /// Estimated pending compaction at which each write group is delayed by a millisecond.
    pub soft_pending_compaction_bytes_limit: ReadableSize,
    /// Estimated pending compaction at which writes wait.
    pub hard_pending_compaction_bytes_limit: ReadableSize,
    /// Tables kept open.
    pub max_open_files: usize,
    /// Size at which the manifest is rewritten from scratch.
    pub max_manifest_file_size: ReadableSize,
    /// Return the allocator's free heap pages to the OS after each flush and compaction.
    pub release_freed_memory: bool,
}

/// Table block compression (what `sstable` implements).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LsmCompression {
    /// Blocks stored as they are.
    None,
    /// zstd at level 1; a block that does not shrink by an eighth is stored as it is.
    Zstd,
    /// lz4: larger than zstd, much cheaper to decompress on reads that miss the cache.
    Lz4,
}

impl Default for LsmConfig {
    /// The engine's defaults, read from [`lsm::Options::default`] so the two cannot drift.
    fn default() -> Self {
        let o = lsm::Options::default();
        LsmConfig {
            write_buffer_size: ReadableSize(o.write_buffer_size as u64),
            max_write_buffer_number: o.max_immutable_memtables + 1,
            block_cache_size: ReadableSize(o.block_cache_bytes),
            block_size: ReadableSize(o.table.block_size as u64),
            bloom_bits_per_key: o.table.bloom_bits_per_key,
            compression: match o.table.compression {
                sstable::Compression::None => LsmCompression::None,
                sstable::Compression::Zstd { .. } => LsmCompression::Zstd,
                sstable::Compression::Lz4 => LsmCompression::Lz4,
            },
            max_background_jobs: o.background_threads,
            target_file_size_base: ReadableSize(o.compaction.target_file_size),
            level0_file_num_compaction_trigger: o.compaction.l0_trigger,
            level0_slowdown_writes_trigger: o.l0_slowdown_trigger,
            level0_stop_writes_trigger: o.l0_stop_trigger,
            max_bytes_for_level_base: ReadableSize(o.compaction.base_level_bytes),
            max_bytes_for_level_multiplier: o.compaction.multiplier,
            soft_pending_compaction_bytes_limit: ReadableSize(o.soft_pending_compaction_bytes),
            hard_pending_compaction_bytes_limit: ReadableSize(o.hard_pending_compaction_bytes),
            max_open_files: o.max_open_files,
            max_manifest_file_size: ReadableSize(o.manifest_rewrite_bytes),
            release_freed_memory: o.release_freed_memory,
        }
    }
}

impl LsmConfig {
    /// The engine options these keys describe; everything else (file system, filters,
    /// per-family table options) keeps the engine's default for the caller to set.
    pub fn to_options(&self) -> lsm::Options {
        let defaults = lsm::Options::default();
        lsm::Options {
            write_buffer_size: self.write_buffer_size.as_usize(),
            max_immutable_memtables: self.max_write_buffer_number.saturating_sub(1),
            l0_slowdown_trigger: self.level0_slowdown_writes_trigger,
            l0_stop_trigger: self.level0_stop_writes_trigger,
            soft_pending_compaction_bytes: self.soft_pending_compaction_bytes_limit.as_bytes(),
            hard_pending_compaction_bytes: self.hard_pending_compaction_bytes_limit.as_bytes(),
            compaction: lsm::compaction::CompactionOptions {
                l0_trigger: self.level0_file_num_compaction_trigger,
                base_level_bytes: self.max_bytes_for_level_base.as_bytes(),
                multiplier: self.max_bytes_for_level_multiplier,
                target_file_size: self.target_file_size_base.as_bytes(),
            },
            table: sstable::TableOptions {
                block_size: self.block_size.as_usize(),
                compression: match self.compression {
                    LsmCompression::None => sstable::Compression::None,
                    LsmCompression::Zstd => sstable::Compression::ZSTD,
                    LsmCompression::Lz4 => sstable::Compression::Lz4,
                },
                bloom_bits_per_key: self.bloom_bits_per_key,
                ..defaults.table.clone()
            },
            block_cache_bytes: self.block_cache_size.as_bytes(),
            max_open_files: self.max_open_files,
            manifest_rewrite_bytes: self.max_manifest_file_size.as_bytes(),
            background_threads: self.max_background_jobs,
            release_freed_memory: self.release_freed_memory,
            ..defaults
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_engines_defaults() {
        let from_config = LsmConfig::default().to_options();
        let engine = lsm::Options::default();
        // Options holds trait objects, so compare the fields the config maps one by one.
        assert_eq!(from_config.write_buffer_size, engine.write_buffer_size);
        assert_eq!(
            from_config.max_immutable_memtables,
            engine.max_immutable_memtables
        );
        assert_eq!(from_config.block_cache_bytes, engine.block_cache_bytes);
        assert_eq!(from_config.table.block_size, engine.table.block_size);
        assert_eq!(from_config.table.compression, engine.table.compression);
        assert_eq!(
            from_config.compaction.l0_trigger,
            engine.compaction.l0_trigger
        );
        assert_eq!(from_config.max_open_files, engine.max_open_files);
        assert_eq!(
            from_config.release_freed_memory,
            engine.release_freed_memory
        );
        assert_eq!(
            LsmConfig::default().write_buffer_size,
            ReadableSize::mib(64)
        );
        assert_eq!(LsmConfig::default().max_write_buffer_number, 3);
    }

    #[test]
    fn every_key_reaches_its_engine_field() {
        let text = r#"
            write-buffer-size = "1MiB"
            max-write-buffer-number = 5
            block-cache-size = "2MiB"
            block-size = "16KiB"
            bloom-bits-per-key = 7
            compression = "none"
            max-background-jobs = 3
            target-file-size-base = "8MiB"
            level0-file-num-compaction-trigger = 6
            level0-slowdown-writes-trigger = 11
            level0-stop-writes-trigger = 12
            max-bytes-for-level-base = "32MiB"
            max-bytes-for-level-multiplier = 8
            soft-pending-compaction-bytes-limit = "1GiB"
            hard-pending-compaction-bytes-limit = "2GiB"
            max-open-files = 77
            max-manifest-file-size = "3MiB"
            release-freed-memory = false
        "#;
        let c: LsmConfig = toml::from_str(text).unwrap();
        let o = c.to_options();
        assert_eq!(o.write_buffer_size, 1 << 20);
        assert_eq!(o.max_immutable_memtables, 4);
        assert_eq!(o.block_cache_bytes, 2 << 20);
        assert_eq!(o.table.block_size, 16 << 10);
        assert_eq!(o.table.bloom_bits_per_key, 7);
        assert_eq!(o.table.compression, sstable::Compression::None);
        assert_eq!(o.background_threads, 3);
        assert_eq!(o.compaction.target_file_size, 8 << 20);
        assert_eq!(o.compaction.l0_trigger, 6);
        assert_eq!(o.l0_slowdown_trigger, 11);
        assert_eq!(o.l0_stop_trigger, 12);
        assert_eq!(o.compaction.base_level_bytes, 32 << 20);
        assert_eq!(o.compaction.multiplier, 8);
        assert_eq!(o.soft_pending_compaction_bytes, 1 << 30);
        assert_eq!(o.hard_pending_compaction_bytes, 2 << 30);
        assert_eq!(o.max_open_files, 77);
        assert_eq!(o.manifest_rewrite_bytes, 3 << 20);
        assert!(!o.release_freed_memory);
    }

    #[test]
    fn every_compression_name_parses() {
        for (name, want) in [
            ("none", sstable::Compression::None),
            ("zstd", sstable::Compression::ZSTD),
            ("lz4", sstable::Compression::Lz4),
        ] {
            let c: LsmConfig = toml::from_str(&format!("compression = \"{name}\"")).unwrap();
            assert_eq!(c.to_options().table.compression, want, "{name}");
        }
        assert!(toml::from_str::<LsmConfig>("compression = \"snappy\"").is_err());
    }
}
