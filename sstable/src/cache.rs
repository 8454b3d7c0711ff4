//! The block cache: decoded data blocks shared by every table of an engine.
//!
//! Capacity is in bytes of block contents; eviction is quick_cache's (scan-resistant, sharded,
//! so concurrent readers rarely contend). Each opened table takes a fresh id from the cache, so
//! keys never collide even when a file number is reused or a table is reopened.
//!
//! Thread-safety: all methods take `&self` and may be called from any thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::block::Block;

#[derive(Clone, Debug)]
struct BlockWeight;

impl quick_cache::Weighter<(u64, u64), Arc<Block>> for BlockWeight {
    fn weight(&self, _key: &(u64, u64), block: &Arc<Block>) -> u64 {
        // Contents plus a rough allowance for the Arc, the Block and the cache's entry.
        block.size() as u64 + 64
    }
}

/// A byte-bounded cache of decoded blocks.
#[derive(Debug)]
pub struct BlockCache {
    /// `None` when the capacity is zero: every lookup misses and nothing is kept.
    inner: Option<quick_cache::sync::Cache<(u64, u64), Arc<Block>, BlockWeight>>,
    capacity: u64,
    next_id: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Counters of a [`BlockCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to read the file.
    pub misses: u64,
    /// Bytes currently held.
    pub usage: u64,
    /// The configured capacity in bytes.
    pub capacity: u64,
}

impl BlockCache {
    /// A cache holding up to `capacity` bytes of blocks.
    pub fn new(capacity: u64) -> BlockCache {
        let inner = (capacity > 0).then(|| {
            // quick_cache sizes its tables from an item estimate; blocks are ~4 KiB.
            let items = (capacity / 4096).clamp(16, 1 << 24) as usize;
            quick_cache::sync::Cache::with_weighter(items, capacity, BlockWeight)
        });
        BlockCache {
            inner,
            capacity,
            next_id: AtomicU64::new(1),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// A fresh id for a newly opened table.
    pub(crate) fn new_table_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn get(&self, table: u64, offset: u64) -> Option<Arc<Block>> {
        let found = self.inner.as_ref().and_then(|c| c.get(&(table, offset)));
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub(crate) fn insert(&self, table: u64, offset: u64, block: Arc<Block>) {
        if let Some(c) = &self.inner {
            c.insert((table, offset), block);
        }
    }

    /// Current counters.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            usage: self.inner.as_ref().map_or(0, |c| c.weight()),
            capacity: self.capacity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn block(len: usize) -> Arc<Block> {
        let mut b = crate::block_builder::BlockBuilder::new(16);
        b.add(b"k", &vec![7u8; len]);
        Arc::new(Block::new(Bytes::copy_from_slice(b.finish())).unwrap())
    }

    #[test]
    fn capacity_bounds_usage_and_counts_hits() {
        let cache = BlockCache::new(64 * 1024);
        for i in 0..100 {
            cache.insert(1, i, block(4000));
        }
        let stats = cache.stats();
        assert!(stats.usage <= 64 * 1024, "usage {}", stats.usage);
        assert!(cache.get(1, 99).is_some() || cache.get(1, 98).is_some());
        assert!(cache.get(2, 0).is_none());
        let stats = cache.stats();
        assert!(stats.hits >= 1 && stats.misses >= 1);
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let cache = BlockCache::new(0);
        cache.insert(1, 0, block(10));
        assert!(cache.get(1, 0).is_none());
        assert_eq!(cache.stats().usage, 0);
    }
}
