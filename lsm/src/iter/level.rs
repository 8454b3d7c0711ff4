//! `LevelIterator`: one cursor over all files of a level >= 1.
//!
//! The files of such a level are sorted and disjoint, so the level reads as one sorted run:
//! a seek finds the one file that can hold the target by binary search on the files' key
//! ranges, and movement crosses into the neighbouring file at either end. Tables are opened
//! through the table cache only when the cursor enters them.

use std::cmp::Ordering;
use std::sync::Arc;

use super::{cmp_internal, InternalIterator};
use crate::error::Result;
use crate::table_cache::TableCache;
use crate::version::FileMeta;

/// A cursor over a sorted run of disjoint tables.
pub struct LevelIterator {
    tables: Arc<TableCache>,
    files: Vec<Arc<FileMeta>>,
    /// Index of the open file and its cursor; `None` when not valid.
    current: Option<(usize, sstable::TableIter)>,
    /// Whether blocks read go into the block cache (not for one-pass readers).
    fill_cache: bool,
}

impl std::fmt::Debug for LevelIterator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LevelIterator")
            .field("files", &self.files.len())
            .field("current", &self.current.as_ref().map(|c| c.0))
            .finish()
    }
}

impl LevelIterator {
    /// A cursor over `files` (sorted by key, disjoint), opened through `tables`.
    pub fn new(tables: Arc<TableCache>, files: Vec<Arc<FileMeta>>) -> Self {
        LevelIterator {
            tables,
            files,
            current: None,
            fill_cache: true,
        }
    }

    /// As [`new`](Self::new), for one pass over the files (compaction): blocks it reads are
    /// not cached.
    pub fn without_caching(tables: Arc<TableCache>, files: Vec<Arc<FileMeta>>) -> Self {
        LevelIterator {
            fill_cache: false,
            ..LevelIterator::new(tables, files)
        }
    }

    fn open(&mut self, index: usize) -> Result<&mut sstable::TableIter> {
        let reuse = matches!(&self.current, Some((i, _)) if *i == index);
        if !reuse {
            let table = self.tables.get(self.files[index].number)?;
            let it = if self.fill_cache {
                table.iter()
            } else {
                table.iter_without_caching()
            };
            self.current = Some((index, it));
        }
        match &mut self.current {
            Some((_, it)) => Ok(it),
            None => unreachable_cursor(),
        }
    }

    fn cursor_valid(&self) -> bool {
        self.current.as_ref().is_some_and(|(_, it)| it.valid())
    }

    /// After a forward move: if the open file is exhausted, continue in the next files.
    fn skip_forward(&mut self) -> Result<()> {
        while let Some((index, _)) = &self.current {
            if self.cursor_valid() {
                return Ok(());
            }
            let next = index + 1;
            if next >= self.files.len() {
                self.current = None;
                return Ok(());
            }
            self.open(next)?.seek_to_first()?;
        }
        Ok(())
    }

    /// After a backward move: if the open file is exhausted, continue in the previous files.
    fn skip_backward(&mut self) -> Result<()> {
        while let Some((index, _)) = &self.current {
            if self.cursor_valid() {
                return Ok(());
            }
            let Some(prev) = index.checked_sub(1) else {
                self.current = None;
                return Ok(());
            };
            self.open(prev)?.seek_to_last()?;
        }
        Ok(())
    }

    fn guard(&mut self, f: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        let r = f(self);
        if r.is_err() {
            self.current = None;
        }
        r
    }
}

/// `open` just stored `Some`; this documents the impossible branch without panicking.
fn unreachable_cursor<'a>() -> Result<&'a mut sstable::TableIter> {
    Err(crate::Error::InvalidArgument(
        "level iterator lost its open file".into(),
    ))
}

impl InternalIterator for LevelIterator {
    fn valid(&self) -> bool {
        self.cursor_valid()
    }

    fn key(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], |(_, it)| it.key())
    }

    fn value(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], |(_, it)| it.value())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.guard(|s| {
            // The first file whose largest key is >= target.
            let i = s
                .files
                .partition_point(|f| cmp_internal(&f.largest, target) == Ordering::Less);
            if i >= s.files.len() {
                s.current = None;
                return Ok(());
            }
            s.open(i)?.seek(target)?;
            s.skip_forward()
        })
    }

    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        self.guard(|s| {
            // The last file whose smallest key is <= target.
            let after = s
                .files
                .partition_point(|f| cmp_internal(&f.smallest, target) != Ordering::Greater);
            let Some(i) = after.checked_sub(1) else {
                s.current = None;
                return Ok(());
            };
            s.open(i)?.seek_for_prev(target)?;
            s.skip_backward()
        })
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.guard(|s| {
            if s.files.is_empty() {
                s.current = None;
                return Ok(());
            }
            s.open(0)?.seek_to_first()?;
            s.skip_forward()
        })
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.guard(|s| {
            let Some(last) = s.files.len().checked_sub(1) else {
                s.current = None;
                return Ok(());
            };
            s.open(last)?.seek_to_last()?;
            s.skip_backward()
        })
    }

    fn next(&mut self) -> Result<()> {
        self.guard(|s| {
            if let Some((_, it)) = &mut s.current {
                it.next()?;
            }
            s.skip_forward()
        })
    }

    fn prev(&mut self) -> Result<()> {
        self.guard(|s| {
            if let Some((_, it)) = &mut s.current {
                it.prev()?;
            }
            s.skip_backward()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{FileSystem, MemFs};
    use crate::iter::VecIterator;
    use crate::key::{internal_key, ValueKind};
    use crate::{filename, key};
    use proptest::prelude::*;
    use std::path::Path;

    type Entries = Vec<(Vec<u8>, Vec<u8>)>;

    /// Writes `files` (each a sorted list of user keys) as tables 1.. and returns their metas
    /// and every entry written.
    fn level(fs: &MemFs, files: &[Vec<u8>]) -> (Vec<Arc<FileMeta>>, Entries) {
        let dir = Path::new("/db");
        fs.create_dir_all(dir).unwrap();
        let mut metas = Vec::new();
        let mut all = Vec::new();
        for (i, keys) in files.iter().enumerate() {
            let number = i as u64 + 1;
            let options = sstable::TableOptions {
                comparator: Arc::new(key::InternalKeyComparator),
                filter_key: Arc::new(key::CfUserKeyExtractor),
                block_size: 64,
                ..sstable::TableOptions::default()
            };
            let out = fs.create(&filename::table(dir, number)).unwrap();
            let mut b = sstable::TableBuilder::new(out, "t", options).unwrap();
            let ikeys: Vec<Vec<u8>> = keys
                .iter()
                .map(|k| internal_key(0, &[*k], 7, ValueKind::Put))
                .collect();
            for k in &ikeys {
                b.add(k, &[number as u8]).unwrap();
                all.push((k.clone(), vec![number as u8]));
            }
            b.finish().unwrap();
            metas.push(Arc::new(FileMeta {
                number,
                size: 1,
                smallest: ikeys[0].clone(),
                largest: ikeys[ikeys.len() - 1].clone(),
                smallest_seq: 7,
                largest_seq: 7,
                stats: Default::default(),
            }));
        }
        (metas, all)
    }

    proptest! {
        #[test]
        fn a_level_reads_as_one_sorted_run(
            keys in proptest::collection::btree_set(any::<u8>(), 1..60),
            cuts in proptest::collection::vec(1usize..8, 1..6),
            moves in proptest::collection::vec((0u8..6, any::<u8>()), 1..40),
        ) {
            // Split the sorted keys into consecutive non-empty files.
            let keys: Vec<u8> = keys.into_iter().collect();
            let mut files = Vec::new();
            let mut start = 0;
            for c in cuts {
                if start >= keys.len() { break; }
                let end = (start + c).min(keys.len());
                files.push(keys[start..end].to_vec());
                start = end;
            }
            if start < keys.len() { files.push(keys[start..].to_vec()); }
            let fs = MemFs::new();
            let (metas, all) = level(&fs, &files);
            let cache = Arc::new(TableCache::new(
                Arc::new(fs.clone()), "/db".into(), Arc::new(sstable::BlockCache::new(1 << 20)), 3));
            let mut it = LevelIterator::new(cache, metas);
            let mut model = VecIterator::new(all);
            for (m, k) in moves {
                let target = internal_key(0, &[k], 7, ValueKind::Put);
                match m {
                    0 => { it.seek(&target).unwrap(); model.seek(&target).unwrap(); }
                    1 => { it.seek_for_prev(&target).unwrap(); model.seek_for_prev(&target).unwrap(); }
                    2 => { it.seek_to_first().unwrap(); model.seek_to_first().unwrap(); }
                    3 => { it.seek_to_last().unwrap(); model.seek_to_last().unwrap(); }
                    4 => if model.valid() { it.next().unwrap(); model.next().unwrap(); },
                    _ => if model.valid() { it.prev().unwrap(); model.prev().unwrap(); },
                }
                prop_assert_eq!(it.valid(), model.valid());
                if model.valid() {
                    prop_assert_eq!(it.key(), model.key());
                    prop_assert_eq!(it.value(), model.value());
                }
            }
        }
    }
}
