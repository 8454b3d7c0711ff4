//! Options for writing and for reading tables.

use std::fmt;
use std::sync::Arc;

use crate::cache::BlockCache;
use crate::comparator::{Bytewise, Comparator, KeyExtractor, WholeKey};

/// How data blocks are compressed. The on-disk byte of each variant is fixed forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Blocks are stored as they are.
    None,
    /// Blocks are compressed with zstd at the given level (1 is fast, 19 is small).
    Zstd {
        /// The zstd compression level.
        level: i32,
    },
    /// Blocks are compressed with lz4: larger than zstd level 1 (tables 15% larger in the
    /// engine benchmark), much cheaper to decompress on reads that miss the cache.
    Lz4,
}

impl Compression {
    /// zstd at level 1: most of zstd's ratio at a fraction of its higher levels' cost.
    pub const ZSTD: Compression = Compression::Zstd { level: 1 };

    /// The name recorded in the table's properties.
    pub fn name(&self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Zstd { .. } => "zstd",
            Compression::Lz4 => "lz4",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Compression::None => f.write_str("none"),
            Compression::Zstd { level } => write!(f, "zstd (level {level})"),
            Compression::Lz4 => f.write_str("lz4"),
        }
    }
}

/// How a table is written.
#[derive(Debug, Clone)]
pub struct TableOptions {
    /// Uncompressed size at which a data block is closed (default 4 KiB). A single entry
    /// larger than this makes a block of its own.
    pub block_size: usize,
    /// Keys between restart points in a data block (default 16): a full key is stored at each
    /// restart, the others share a prefix with their predecessor.
    pub restart_interval: usize,
    /// Compression of data blocks (default zstd level 1). A block that does not shrink by at
    /// least an eighth is stored uncompressed, so reading it costs no decompression.
    pub compression: Compression,
    /// Bloom filter bits per key (default 10, ~1% false positives); 0 writes no filter.
    pub bloom_bits_per_key: u32,
    /// The key order; keys must be added in strictly increasing order under it.
    pub comparator: Arc<dyn Comparator>,
    /// The part of each key that goes into the bloom filter.
    pub filter_key: Arc<dyn KeyExtractor>,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            block_size: 4096,
            restart_interval: 16,
            compression: Compression::ZSTD,
            bloom_bits_per_key: 10,
            comparator: Arc::new(Bytewise),
            filter_key: Arc::new(WholeKey),
        }
    }
}

/// How a table is opened.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Must name the same order the table was written with, or opening fails.
    pub comparator: Arc<dyn Comparator>,
    /// If it differs from the extractor the table's filter was built with, the filter is not
    /// used (it could answer "absent" for keys that are present).
    pub filter_key: Arc<dyn KeyExtractor>,
    /// Shared cache of decoded data blocks; `None` reads every block from the file.
    pub cache: Option<Arc<BlockCache>>,
    /// Map the file into memory (default) rather than read it with `pread`.
    pub use_mmap: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            comparator: Arc::new(Bytewise),
            filter_key: Arc::new(WholeKey),
            cache: None,
            use_mmap: true,
        }
    }
}

impl ReadOptions {
    /// Default options reading through `cache`.
    pub fn with_cache(cache: Arc<BlockCache>) -> Self {
        ReadOptions {
            cache: Some(cache),
            ..ReadOptions::default()
        }
    }
}
