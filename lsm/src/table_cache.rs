//! `TableCache`: open tables by file number, bounding how many are open at once.
//!
//! Opening a table reads its footer, properties, index and filter, so it is worth keeping open
//! tables around; but every open table holds a file (or mapping) and its index in memory, so
//! their number is bounded. Lookups for one file racing on a miss open it once.
//! All tables share the engine's block cache.
//!
//! Thread-safety: all methods take `&self`.

use std::path::PathBuf;
use std::sync::Arc;

use sstable::{BlockCache, ReadOptions, Table};

use crate::error::{Error, Result};
use crate::filename;
use crate::fs::FileSystem;
use crate::key::{CfUserKeyExtractor, InternalKeyComparator};
use crate::memtable::RangeTombstone;
use crate::range_del;

/// An open table and its range tombstones, decoded once at open.
#[derive(Debug)]
pub struct OpenTable {
    /// The table.
    pub table: Arc<Table>,
    /// Its range tombstones (from the `range-dels` property).
    pub tombstones: Vec<RangeTombstone>,
}

/// Open tables of one database directory.
pub struct TableCache {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    read: ReadOptions,
    tables: quick_cache::sync::Cache<u64, Arc<OpenTable>>,
}

impl std::fmt::Debug for TableCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableCache")
            .field("dir", &self.dir)
            .field("open", &self.tables.len())
            .finish_non_exhaustive()
    }
}

impl TableCache {
    /// A cache keeping at most `max_open` tables of `dir` open, reading through `blocks`.
    pub fn new(
        fs: Arc<dyn FileSystem>,
        dir: PathBuf,
        blocks: Arc<BlockCache>,
        max_open: usize,
    ) -> Self {
        let read = ReadOptions {
            comparator: Arc::new(InternalKeyComparator),
            filter_key: Arc::new(CfUserKeyExtractor),
            cache: Some(blocks),
            use_mmap: true,
        };
        TableCache {
            fs,
            dir,
            read,
            tables: quick_cache::sync::Cache::new(max_open.max(1)),
        }
    }

    /// The open table `number`, opening it if needed.
    ///
    /// # Errors
    /// `Io` if the file cannot be opened; `Corruption` if its footer, properties, index or
    /// filter is damaged or it was written with another key order.
    pub fn get(&self, number: u64) -> Result<Arc<Table>> {
        Ok(self.open(number)?.table.clone())
    }

    /// The open table `number` with its decoded range tombstones.
    ///
    /// # Errors
    /// As [`get`](Self::get), and `Corruption` if the tombstone property is damaged.
    pub fn open(&self, number: u64) -> Result<Arc<OpenTable>> {
        self.tables.get_or_insert_with(&number, || {
            let path = filename::table(&self.dir, number);
            let file = self
                .fs
                .open_random(&path)
                .map_err(|e| Error::io(&path, e))?;
            let table = Table::from_file(file, path.display().to_string(), &self.read)?;
            let tombstones = match table.properties().user.get(range_del::RANGE_DELS_PROPERTY) {
                None => Vec::new(),
                Some(raw) => range_del::decode(raw).map_err(|reason| Error::Corruption {
                    file: path.display().to_string(),
                    offset: table.footer().properties.offset,
                    reason,
                })?,
            };
            Ok(Arc::new(OpenTable { table, tombstones }))
        })
    }

    /// Forgets table `number` (before its file is deleted). Iterators that hold it keep it.
    pub fn evict(&self, number: u64) {
        self.tables.remove(&number);
    }

    /// Number of tables open now.
    pub fn open_count(&self) -> usize {
        self.tables.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::MemFs;
    use crate::key::{internal_key, ValueKind};
    use std::path::Path;

    pub(crate) fn write_table(fs: &MemFs, dir: &Path, number: u64, keys: &[&str]) {
        let options = sstable::TableOptions {
            comparator: Arc::new(InternalKeyComparator),
            filter_key: Arc::new(CfUserKeyExtractor),
            ..sstable::TableOptions::default()
        };
        let out = fs.create(&filename::table(dir, number)).unwrap();
        let mut b = sstable::TableBuilder::new(out, "t", options).unwrap();
        for k in keys {
            b.add(
                &internal_key(0, k.as_bytes(), number, ValueKind::Put),
                k.as_bytes(),
            )
            .unwrap();
        }
        b.finish().unwrap();
    }

    #[test]
    fn opens_once_bounds_the_open_count_and_reports_missing_files() {
        let fs = MemFs::new();
        let dir = Path::new("/db");
        fs.create_dir_all(dir).unwrap();
        for n in 1..=5 {
            write_table(&fs, dir, n, &["a", "b"]);
        }
        let cache = TableCache::new(
            Arc::new(fs.clone()),
            dir.to_path_buf(),
            Arc::new(BlockCache::new(1 << 20)),
            2,
        );
        let t1 = cache.get(1).unwrap();
        assert!(Arc::ptr_eq(&t1, &cache.get(1).unwrap()), "opened twice");
        for n in 1..=5 {
            let t = cache.get(n).unwrap();
            assert_eq!(t.properties().num_entries, 2);
        }
        assert!(cache.open_count() <= 2);
        cache.evict(5);
        assert!(matches!(cache.get(9), Err(Error::Io { .. })));
        fs.create(&filename::table(dir, 9)).unwrap();
        assert!(
            cache.get(9).unwrap_err().is_corruption(),
            "an empty file is no table"
        );
    }
}
