//! The table iterator: a cursor over the index block that opens one data block at a time.
//!
//! Every movement returns `Result`; after an error the iterator is invalid until the next
//! seek. `key` and `value` borrow from the iterator and are valid until the next movement.
//! An iterator holds its table (and the block it is in) alive, so it may outlive the caller's
//! handle: the engine keeps a table's file until its last iterator is dropped.

use std::cmp::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use crate::block::BlockIter;
use crate::error::Result;
use crate::format::BlockHandle;
use crate::table::Table;

/// A cursor over the entries of one table, forward and backward.
#[derive(Debug)]
pub struct TableIter {
    table: Arc<Table>,
    index: BlockIter,
    /// The open data block, with the handle it was read from.
    data: Option<(BlockHandle, BlockIter)>,
    /// Whether blocks read from the file go into the block cache.
    fill_cache: bool,
}

impl TableIter {
    pub(crate) fn new(table: Arc<Table>, fill_cache: bool) -> Self {
        let index = table.index_iter();
        TableIter {
            table,
            index,
            data: None,
            fill_cache,
        }
    }

    /// True if positioned at an entry.
    pub fn valid(&self) -> bool {
        self.data.as_ref().is_some_and(|(_, d)| d.valid())
    }

    /// The current key (empty when not valid).
    pub fn key(&self) -> &[u8] {
        match &self.data {
            Some((_, d)) if d.valid() => d.key(),
            _ => &[],
        }
    }

    /// The current value (empty when not valid).
    pub fn value(&self) -> &[u8] {
        match &self.data {
            Some((_, d)) if d.valid() => d.value(),
            _ => &[],
        }
    }

    /// The current value as a zero-copy, reference-counted slice (empty when not valid).
    pub fn value_bytes(&self) -> Bytes {
        match &self.data {
            Some((_, d)) if d.valid() => d.value_bytes(),
            _ => Bytes::new(),
        }
    }

    /// Positions at the first entry.
    ///
    /// # Errors
    /// `Io` or `Corruption` while reading blocks.
    pub fn seek_to_first(&mut self) -> Result<()> {
        self.guard(|it| {
            it.index
                .seek_to_first()
                .map_err(|e| it.table.index_corruption(e))?;
            it.open_block(|d| d.seek_to_first())?;
            it.skip_empty_forward()
        })
    }

    /// Positions at the last entry.
    ///
    /// # Errors
    /// `Io` or `Corruption` while reading blocks.
    pub fn seek_to_last(&mut self) -> Result<()> {
        self.guard(|it| {
            it.index
                .seek_to_last()
                .map_err(|e| it.table.index_corruption(e))?;
            it.open_block(|d| d.seek_to_last())?;
            it.skip_empty_backward()
        })
    }

    /// Positions at the first entry with key >= `target`.
    ///
    /// # Errors
    /// `Io` or `Corruption` while reading blocks.
    pub fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.guard(|it| {
            let table = it.table.clone();
            it.index
                .seek(target, table.comparator())
                .map_err(|e| table.index_corruption(e))?;
            it.open_block(|d| d.seek(target, table.comparator()))?;
            it.skip_empty_forward()
        })
    }

    /// Positions at the last entry with key <= `target`.
    ///
    /// # Errors
    /// `Io` or `Corruption` while reading blocks.
    pub fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        self.seek(target)?;
        if !self.valid() {
            return self.seek_to_last();
        }
        if self.table.comparator().compare(self.key(), target) == Ordering::Greater {
            return self.prev();
        }
        Ok(())
    }

    /// Moves to the next entry. REQUIRES: `valid()`.
    ///
    /// # Errors
    /// `Io` or `Corruption` while reading blocks.
    // Not `Iterator::next`: a cursor lends its key and value until it moves, and can fail.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<()> {
        self.guard(|it| {
            if let Some((handle, d)) = it.data.as_mut() {
                let handle = *handle;
                d.next().map_err(|e| it.table.block_corruption(handle, e))?;
            }
            it.skip_empty_forward()
        })
    }

    /// Moves to the previous entry. REQUIRES: `valid()`.
    ///
    /// # Errors
    /// `Io` or `Corruption` while reading blocks.
    pub fn prev(&mut self) -> Result<()> {
        self.guard(|it| {
            if let Some((handle, d)) = it.data.as_mut() {
                let handle = *handle;
                d.prev().map_err(|e| it.table.block_corruption(handle, e))?;
            }
            it.skip_empty_backward()
        })
    }

    /// Runs a movement; on error leaves the iterator invalid.
    fn guard(&mut self, f: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        let result = f(self);
        if result.is_err() {
            self.data = None;
        }
        result
    }

    /// Opens the block the index points at (reusing the open one if it is the same) and
    /// positions it with `position`. Clears `data` if the index is exhausted.
    fn open_block(
        &mut self,
        position: impl FnOnce(&mut BlockIter) -> std::result::Result<(), crate::block::BlockCorrupt>,
    ) -> Result<()> {
        if !self.index.valid() {
            self.data = None;
            return Ok(());
        }
        let handle = self.table.decode_handle(self.index.value())?;
        let reuse = matches!(&self.data, Some((h, _)) if *h == handle);
        if !reuse {
            let block = self.table.read_data_block(handle, self.fill_cache)?;
            self.data = Some((handle, BlockIter::new(block)));
        }
        if let Some((_, d)) = self.data.as_mut() {
            position(d).map_err(|e| self.table.block_corruption(handle, e))?;
        }
        Ok(())
    }

    fn skip_empty_forward(&mut self) -> Result<()> {
        while self.data.is_some() && !self.valid() {
            self.index
                .next()
                .map_err(|e| self.table.index_corruption(e))?;
            self.open_block(|d| d.seek_to_first())?;
        }
        Ok(())
    }

    fn skip_empty_backward(&mut self) -> Result<()> {
        while self.data.is_some() && !self.valid() {
            self.index
                .prev()
                .map_err(|e| self.table.index_corruption(e))?;
            self.open_block(|d| d.seek_to_last())?;
        }
        Ok(())
    }
}
