//! An open table: footer, properties, index and filter held in memory; data blocks read on
//! demand through the shared block cache.
//!
//! Opening verifies the footer, properties, index and filter blocks; each data block is
//! verified when it is read from the file. A `Table` is immutable and `Send + Sync`: share it
//! in an `Arc` between any number of readers and iterators.

use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use crate::block::{Block, BlockCorrupt, BlockIter};
use crate::cache::BlockCache;
use crate::comparator::{Comparator, KeyExtractor};
use crate::error::{Error, Result};
use crate::file::{open_file, RandomAccessFile};
use crate::filter::BloomFilter;
use crate::format::{read_block, BlockHandle, Footer};
use crate::iter::TableIter;
use crate::options::ReadOptions;
use crate::properties::TableProperties;

/// A readable table.
#[derive(Debug)]
pub struct Table {
    name: String,
    file: Box<dyn RandomAccessFile>,
    cache: Option<Arc<BlockCache>>,
    /// This table's key space in the block cache.
    cache_id: u64,
    comparator: Arc<dyn Comparator>,
    filter_key: Arc<dyn KeyExtractor>,
    footer: Footer,
    properties: TableProperties,
    /// Pinned for the table's lifetime: every read starts here.
    index: Arc<Block>,
    /// `None` when the table has no filter or it was built from other filter keys.
    filter: Option<BloomFilter>,
}

impl Table {
    /// Opens the table at `path` (memory-mapped unless `options.use_mmap` is false).
    ///
    /// # Errors
    /// `Io` if the file cannot be read; `Corruption` if the footer, properties, index or
    /// filter is damaged; `ComparatorMismatch` if the table uses another key order.
    pub fn open(path: &Path, options: &ReadOptions) -> Result<Arc<Table>> {
        let name = path.display().to_string();
        let file = open_file(path, options.use_mmap).map_err(|e| Error::io(&name, e))?;
        Table::from_file(file, name, options)
    }

    /// Opens a table from any random-access bytes; `name` identifies it in errors.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn from_file(
        file: Box<dyn RandomAccessFile>,
        name: impl Into<String>,
        options: &ReadOptions,
    ) -> Result<Arc<Table>> {
        let name = name.into();
        let footer = Footer::read(file.as_ref(), &name)?;
        let properties = read_block(file.as_ref(), &name, footer.properties)?;
        let properties = TableProperties::decode(properties)
            .map_err(|reason| Error::corruption(&name, footer.properties.offset, reason))?;
        if properties.comparator != options.comparator.name() {
            return Err(Error::ComparatorMismatch {
                file: name,
                expected: options.comparator.name().to_owned(),
                found: properties.comparator,
            });
        }
        let index = read_block(file.as_ref(), &name, footer.index)?;
        let index = Block::new_sampled(index)
            .map_err(|e| Error::corruption(&name, footer.index.offset, e.0))?;
        let mut filter = None;
        if footer.filter.size > 0 {
            let data = read_block(file.as_ref(), &name, footer.filter)?;
            let bloom = BloomFilter::new(data)
                .map_err(|reason| Error::corruption(&name, footer.filter.offset, reason))?;
            // A filter of other keys than we would probe with could deny present keys.
            if properties.filter_key == options.filter_key.name() {
                filter = Some(bloom);
            }
        }
        let cache_id = options.cache.as_ref().map_or(0, |c| c.new_table_id());
        Ok(Arc::new(Table {
            name,
            file,
            cache: options.cache.clone(),
            cache_id,
            comparator: options.comparator.clone(),
            filter_key: options.filter_key.clone(),
            footer,
            properties,
            index: Arc::new(index),
            filter,
        }))
    }

    /// The name given at open (the path for files).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The table's properties block.
    pub fn properties(&self) -> &TableProperties {
        &self.properties
    }

    /// The decoded footer.
    pub fn footer(&self) -> &Footer {
        &self.footer
    }

    /// Size of the file in bytes.
    pub fn file_size(&self) -> u64 {
        self.file.len()
    }

    /// True if the table has a usable bloom filter.
    pub fn has_filter(&self) -> bool {
        self.filter.is_some()
    }

    /// Bloom filter probes per key and filter size in bytes, if the table has a usable filter.
    pub fn filter_info(&self) -> Option<(u8, usize)> {
        self.filter.as_ref().map(|f| (f.probes(), f.size()))
    }

    /// False only if no key whose filter key equals `key`'s could be in the table.
    #[inline]
    pub fn may_contain(&self, key: &[u8]) -> bool {
        self.may_contain_filter_key(self.filter_key.extract(key))
    }

    /// False only if no key with this filter key (already extracted) is in the table.
    #[inline]
    pub fn may_contain_filter_key(&self, filter_key: &[u8]) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| f.may_contain(filter_key))
    }

    /// [`Table::may_contain_filter_key`] for a key already hashed with [`filter_key_hash`]:
    /// a lookup that consults several tables hashes its filter key once.
    #[inline]
    pub fn may_contain_filter_hash(&self, hash: u64) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| f.may_contain_hash(hash))
    }

    /// The value stored under exactly `key`.
    ///
    /// # Errors
    /// `Io` or `Corruption` while reading the block that would hold the key.
    pub fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        if !self.may_contain(key) {
            return Ok(None);
        }
        let mut index = BlockIter::new(self.index.clone());
        index
            .seek(key, self.comparator.as_ref())
            .map_err(|e| self.index_corruption(e))?;
        if !index.valid() {
            return Ok(None);
        }
        // Separators satisfy last key of block i <= separator i < first key of block i + 1,
        // so an exact match can only be in the first block whose separator is >= key.
        let handle = self.decode_handle(index.value())?;
        let mut data = BlockIter::new(self.read_data_block(handle, true)?);
        data.seek(key, self.comparator.as_ref())
            .map_err(|e| self.block_corruption(handle, e))?;
        if data.valid() && self.comparator.compare(data.key(), key) == Ordering::Equal {
            return Ok(Some(data.value_bytes()));
        }
        Ok(None)
    }

    /// The first entry whose key is >= `key`, without consulting the filter.
    ///
    /// # Errors
    /// `Io` or `Corruption` while reading blocks.
    pub fn lower_bound(self: &Arc<Self>, key: &[u8]) -> Result<Option<(Vec<u8>, Bytes)>> {
        let mut it = self.iter();
        it.seek(key)?;
        Ok(it.valid().then(|| (it.key().to_vec(), it.value_bytes())))
    }

    /// An iterator over the table, initially not positioned.
    pub fn iter(self: &Arc<Self>) -> TableIter {
        TableIter::new(self.clone(), true)
    }

    /// An iterator that uses blocks already cached but does not cache the blocks it reads:
    /// for one-pass readers (compaction, export), which would otherwise evict the blocks that
    /// point reads keep hitting.
    pub fn iter_without_caching(self: &Arc<Self>) -> TableIter {
        TableIter::new(self.clone(), false)
    }

    /// Roughly where in the file the entries at or after `key` begin: the offset of the
    /// block that would hold `key`, or the end of the data blocks.
    ///
    /// # Errors
    /// `Corruption` if the index cannot be decoded.
    pub fn approximate_offset_of(&self, key: &[u8]) -> Result<u64> {
        let mut index = BlockIter::new(self.index.clone());
        index
            .seek(key, self.comparator.as_ref())
            .map_err(|e| self.index_corruption(e))?;
        if index.valid() {
            return Ok(self.decode_handle(index.value())?.offset);
        }
        Ok(self.properties.data_size)
    }

    /// Every index entry in order: (separator key, data block handle).
    ///
    /// # Errors
    /// `Corruption` if the index cannot be decoded.
    pub fn index_entries(&self) -> Result<Vec<(Vec<u8>, BlockHandle)>> {
        let mut index = self.index_iter();
        let mut out = Vec::new();
        index
            .seek_to_first()
            .map_err(|e| self.index_corruption(e))?;
        while index.valid() {
            out.push((index.key().to_vec(), self.decode_handle(index.value())?));
            index.next().map_err(|e| self.index_corruption(e))?;
        }
        Ok(out)
    }

    /// Reads every data block from the file (bypassing the cache), checking its checksum and
    /// walking its entries; then compares the entry count with the properties. Returns the
    /// entries and blocks read and every problem found (one per damaged block).
    ///
    /// # Errors
    /// `Corruption` if the index itself cannot be decoded.
    pub fn verify(&self) -> Result<(u64, u64, Vec<Error>)> {
        let (mut entries, mut blocks, mut problems) = (0u64, 0u64, Vec::new());
        for (_, handle) in self.index_entries()? {
            blocks += 1;
            let block = match self.read_block_uncached(handle) {
                Ok(b) => b,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            let mut it = BlockIter::new(block);
            let mut walk = it.seek_to_first();
            while walk.is_ok() && it.valid() {
                entries += 1;
                walk = it.next();
            }
            if let Err(e) = walk {
                problems.push(self.block_corruption(handle, e));
            }
        }
        let expected = self.properties.num_entries;
        if problems.is_empty() && entries != expected {
            problems.push(Error::corruption(
                &self.name,
                self.footer.properties.offset,
                format!("blocks hold {entries} entries, properties record {expected}"),
            ));
        }
        Ok((entries, blocks, problems))
    }

    pub(crate) fn comparator(&self) -> &dyn Comparator {
        self.comparator.as_ref()
    }

    pub(crate) fn index_iter(&self) -> BlockIter {
        BlockIter::new(self.index.clone())
    }

    pub(crate) fn decode_handle(&self, value: &[u8]) -> Result<BlockHandle> {
        BlockHandle::decode(value).ok_or_else(|| {
            Error::corruption(
                &self.name,
                self.footer.index.offset,
                "bad block handle in index",
            )
        })
    }

    pub(crate) fn index_corruption(&self, e: BlockCorrupt) -> Error {
        Error::corruption(&self.name, self.footer.index.offset, e.0)
    }

    pub(crate) fn block_corruption(&self, handle: BlockHandle, e: BlockCorrupt) -> Error {
        Error::corruption(&self.name, handle.offset, e.0)
    }

    /// A data block from the cache, or read and verified (and cached if `fill_cache`).
    pub(crate) fn read_data_block(
        &self,
        handle: BlockHandle,
        fill_cache: bool,
    ) -> Result<Arc<Block>> {
        if let Some(cache) = &self.cache {
            if let Some(block) = cache.get(self.cache_id, handle.offset) {
                return Ok(block);
            }
        }
        let block = self.read_block_uncached(handle)?;
        if let Some(cache) = self.cache.as_ref().filter(|_| fill_cache) {
            cache.insert(self.cache_id, handle.offset, block.clone());
        }
        Ok(block)
    }

    /// Reads and verifies a data block from the file, bypassing the cache.
    pub(crate) fn read_block_uncached(&self, handle: BlockHandle) -> Result<Arc<Block>> {
        let data = read_block(self.file.as_ref(), &self.name, handle)?;
        let block = Block::new(data).map_err(|e| self.block_corruption(handle, e))?;
        Ok(Arc::new(block))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comparator::{Bytewise, WholeKey};
    use crate::options::{Compression, TableOptions};
    use crate::TableBuilder;

    fn write_table(path: &Path, n: u32, options: TableOptions) -> TableProperties {
        let mut b = TableBuilder::create(path, options).unwrap();
        for i in 0..n {
            b.add(format!("k{i:06}").as_bytes(), format!("v{i}").as_bytes())
                .unwrap();
        }
        b.set_property("seqno.max", 9u64.to_le_bytes());
        b.finish().unwrap()
    }

    #[test]
    fn file_backed_tables_read_the_same_with_mmap_and_pread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.sst");
        let props = write_table(&path, 5000, TableOptions::default());
        assert_eq!(props.num_entries, 5000);
        assert!(props.num_data_blocks > 10);
        for use_mmap in [true, false] {
            let opts = ReadOptions {
                use_mmap,
                ..ReadOptions::default()
            };
            let t = Table::open(&path, &opts).unwrap();
            assert_eq!(t.properties().user_u64("seqno.max"), Some(9));
            assert_eq!(t.get(b"k004999").unwrap().as_deref(), Some(&b"v4999"[..]));
            assert_eq!(t.get(b"k005000").unwrap(), None);
            let (k, v) = t.lower_bound(b"k000123x").unwrap().unwrap();
            assert_eq!((k.as_slice(), &v[..]), (&b"k000124"[..], &b"v124"[..]));
            assert_eq!(t.lower_bound(b"l").unwrap(), None);
            let mid = t.approximate_offset_of(b"k002500").unwrap();
            assert!(mid > 0 && mid < t.properties().data_size);
        }
    }

    #[test]
    fn lookups_hit_the_cache_after_the_first_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.sst");
        write_table(&path, 1000, TableOptions::default());
        let cache = Arc::new(BlockCache::new(1 << 20));
        let t = Table::open(&path, &ReadOptions::with_cache(cache.clone())).unwrap();
        t.get(b"k000500").unwrap();
        let misses = cache.stats().misses;
        for _ in 0..10 {
            assert!(t.get(b"k000500").unwrap().is_some());
        }
        let stats = cache.stats();
        assert_eq!(stats.misses, misses);
        assert!(stats.hits >= 10);
    }

    #[test]
    fn a_scan_without_caching_leaves_the_cache_as_it_was_but_uses_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.sst");
        write_table(&path, 1000, TableOptions::default());
        let cache = Arc::new(BlockCache::new(1 << 20));
        let t = Arc::new(Table::open(&path, &ReadOptions::with_cache(cache.clone())).unwrap());
        t.get(b"k000500").unwrap();
        let before = cache.stats();
        let mut it = t.iter_without_caching();
        it.seek_to_first().unwrap();
        let mut n = 0;
        while it.valid() {
            n += 1;
            it.next().unwrap();
        }
        assert_eq!(n, 1000);
        let after = cache.stats();
        assert_eq!(after.usage, before.usage, "the scan cached blocks");
        assert_eq!(
            after.hits,
            before.hits + 1,
            "the block cached before was not reused"
        );
        // The ordinary iterator caches what it reads.
        let mut it = t.iter();
        it.seek_to_first().unwrap();
        assert!(cache.stats().usage > after.usage);
    }

    #[derive(Debug)]
    struct Reverse;
    impl Comparator for Reverse {
        fn name(&self) -> &str {
            "test.reverse"
        }
        fn compare(&self, a: &[u8], b: &[u8]) -> Ordering {
            b.cmp(a)
        }
        fn separator(&self, start: &[u8], _limit: &[u8], out: &mut Vec<u8>) {
            out.clear();
            out.extend_from_slice(start);
        }
        fn successor(&self, key: &[u8], out: &mut Vec<u8>) {
            out.clear();
            out.extend_from_slice(key);
        }
    }

    #[test]
    fn a_custom_comparator_orders_the_table_and_must_match_on_open() {
        let options = TableOptions {
            comparator: Arc::new(Reverse),
            block_size: 64,
            ..TableOptions::default()
        };
        let mut b = TableBuilder::new(Vec::new(), "rev", options).unwrap();
        for k in [b"c", b"b", b"a"] {
            b.add(k, k).unwrap();
        }
        assert!(matches!(
            b.add(b"b", b""),
            Err(crate::Error::OutOfOrder { .. })
        ));
        let (_, bytes) = b.finish_into_inner().unwrap();
        let bytes = Bytes::from(bytes);
        let err = Table::from_file(Box::new(bytes.clone()), "rev", &ReadOptions::default());
        assert!(matches!(err, Err(crate::Error::ComparatorMismatch { .. })));
        let opts = ReadOptions {
            comparator: Arc::new(Reverse),
            ..ReadOptions::default()
        };
        let t = Table::from_file(Box::new(bytes), "rev", &opts).unwrap();
        let mut it = t.iter();
        it.seek(b"bb").unwrap();
        assert_eq!(it.key(), b"b");
        assert_eq!(t.get(b"a").unwrap().as_deref(), Some(&b"a"[..]));
    }

    /// Filters on the first byte only, as an engine filters on the user-key part.
    #[derive(Debug)]
    struct FirstByte;
    impl KeyExtractor for FirstByte {
        fn name(&self) -> &str {
            "test.first-byte"
        }
        fn extract<'a>(&self, key: &'a [u8]) -> &'a [u8] {
            &key[..key.len().min(1)]
        }
    }

    #[test]
    fn filter_uses_the_extracted_key_and_is_ignored_when_extractors_differ() {
        let options = TableOptions {
            filter_key: Arc::new(FirstByte),
            ..TableOptions::default()
        };
        let mut b = TableBuilder::new(Vec::new(), "f", options).unwrap();
        for k in [&b"a1"[..], b"a2", b"c9"] {
            b.add(k, b"v").unwrap();
        }
        let (_, bytes) = b.finish_into_inner().unwrap();
        let bytes = Bytes::from(bytes);
        let opts = ReadOptions {
            filter_key: Arc::new(FirstByte),
            ..ReadOptions::default()
        };
        let t = Table::from_file(Box::new(bytes.clone()), "f", &opts).unwrap();
        assert!(t.has_filter());
        assert!(t.may_contain(b"a-anything"));
        assert!(t.may_contain_filter_key(b"c"));
        assert!(!t.may_contain_filter_key(b"b") || !t.may_contain_filter_key(b"d"));
        // A hashed probe answers as the key's: what multi-table lookups rely on.
        for fk in (0..=255u8).map(|b| [b]) {
            assert_eq!(
                t.may_contain_filter_hash(crate::filter_key_hash(&fk)),
                t.may_contain_filter_key(&fk)
            );
        }
        let plain = Table::from_file(Box::new(bytes), "f", &ReadOptions::default()).unwrap();
        assert!(
            !plain.has_filter(),
            "a filter of other keys must not be trusted"
        );
        assert!(plain.get(b"a2").unwrap().is_some());
        assert!(plain.may_contain_filter_hash(crate::filter_key_hash(b"zz")));
        let _ = WholeKey;
    }

    #[test]
    fn empty_table_and_no_filter() {
        let options = TableOptions {
            bloom_bits_per_key: 0,
            compression: Compression::None,
            ..TableOptions::default()
        };
        let (props, bytes) = TableBuilder::new(Vec::new(), "e", options)
            .unwrap()
            .finish_into_inner()
            .unwrap();
        assert_eq!(props.num_entries, 0);
        let t =
            Table::from_file(Box::new(Bytes::from(bytes)), "e", &ReadOptions::default()).unwrap();
        assert!(!t.has_filter());
        let mut it = t.iter();
        it.seek_to_first().unwrap();
        assert!(!it.valid());
        it.seek_for_prev(b"z").unwrap();
        assert!(!it.valid());
        assert_eq!(t.get(b"x").unwrap(), None);
        assert!(t.index_entries().unwrap().is_empty());
        let _ = Bytewise;
    }
}
