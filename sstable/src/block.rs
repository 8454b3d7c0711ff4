//! A decoded block and the cursor that walks it.
//!
//! Blocks come from disk, so nothing in them is trusted: [`Block::new`] checks the restart
//! array, and every entry is bounds-checked as it is decoded. A malformed entry makes the
//! cursor invalid and returns a [`BlockCorrupt`] reason, which the table layer turns into a
//! corruption error naming the file and the block's offset.
//!
//! A `Block` is immutable and shared (`Arc`) between the cache and any number of cursors.

use std::cmp::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use crate::coding::{get_fixed32, get_varint32};
use crate::comparator::Comparator;
use crate::restart_sample::RestartSample;

/// Why a block could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockCorrupt(pub(crate) &'static str);

pub(crate) type BlockResult<T> = std::result::Result<T, BlockCorrupt>;

/// An uncompressed, checksum-verified block.
#[derive(Debug)]
pub(crate) struct Block {
    data: Bytes,
    /// Offset of the restart array; entries occupy `data[..restarts]`.
    restarts: usize,
    num_restarts: usize,
    /// A sampled first level over the restart array, for large blocks that stay in memory
    /// and are searched often (index blocks); see `restart_sample`.
    sample: Option<RestartSample>,
}

impl Block {
    /// Validates the restart array of `data`.
    pub(crate) fn new(data: Bytes) -> BlockResult<Block> {
        let len = data.len();
        let n = get_fixed32(&data, len.wrapping_sub(4)).ok_or(BlockCorrupt("block too short"))?;
        let n = n as usize;
        let array = n
            .checked_mul(4)
            .and_then(|a| a.checked_add(4))
            .filter(|a| *a <= len)
            .ok_or(BlockCorrupt("restart count larger than the block"))?;
        if n == 0 {
            return Err(BlockCorrupt("block has no restart points"));
        }
        let restarts = len - array;
        let mut prev = 0;
        for i in 0..n {
            let r = get_fixed32(&data, restarts + 4 * i)
                .ok_or(BlockCorrupt("short restart array"))? as usize;
            // Restarts are strictly increasing offsets of entries (the first is 0, which is
            // also the restarts offset of an empty block).
            let in_order = if i == 0 { r == 0 } else { r > prev };
            if !in_order || r > restarts || (r == restarts && restarts != 0) {
                return Err(BlockCorrupt("restart point out of range"));
            }
            prev = r;
        }
        Ok(Block {
            data,
            restarts,
            num_restarts: n,
            sample: None,
        })
    }

    /// As [`Block::new`], with a sampled first level over the restart array if the block
    /// has enough restarts for one to pay (which also decodes the sampled entries).
    pub(crate) fn new_sampled(data: Bytes) -> BlockResult<Block> {
        let mut block = Block::new(data)?;
        block.sample = RestartSample::build(&block)?;
        Ok(block)
    }

    /// Bytes of memory this block holds (for cache accounting).
    pub(crate) fn size(&self) -> usize {
        self.data.len() + self.sample_size()
    }

    /// Bytes of memory the restart sample holds (0 without one).
    pub(crate) fn sample_size(&self) -> usize {
        self.sample.as_ref().map_or(0, RestartSample::size)
    }

    pub(crate) fn num_restarts(&self) -> usize {
        self.num_restarts
    }

    /// The key of restart point `i < num_restarts` (restart entries share no prefix).
    pub(crate) fn restart_key(&self, i: usize) -> BlockResult<&[u8]> {
        let entry = self.decode_entry(self.restart_point(i))?;
        if entry.shared != 0 {
            return Err(BlockCorrupt("restart entry shares a prefix"));
        }
        // `decode_entry` checked that the key lies inside the entries.
        Ok(&self.data[entry.key_start..entry.key_start + entry.unshared])
    }

    fn restart_point(&self, i: usize) -> usize {
        // Validated in `new`: every index below num_restarts is readable.
        get_fixed32(&self.data, self.restarts + 4 * i).unwrap_or(0) as usize
    }
}

/// The decoded header of the entry at some offset.
struct Entry {
    shared: usize,
    unshared: usize,
    value_len: usize,
    /// Offset of the key delta.
    key_start: usize,
}

impl Block {
    fn decode_entry(&self, offset: usize) -> BlockResult<Entry> {
        let limit = self.restarts;
        let src = self
            .data
            .get(offset..limit)
            .ok_or(BlockCorrupt("entry offset out of range"))?;
        let bad = BlockCorrupt("bad entry header");
        let (shared, a) = get_varint32(src).ok_or(bad)?;
        let (unshared, b) = get_varint32(&src[a..]).ok_or(bad)?;
        let (value_len, c) = get_varint32(&src[a + b..]).ok_or(bad)?;
        let header = a + b + c;
        let body = unshared as u64 + value_len as u64;
        if header as u64 + body > src.len() as u64 {
            return Err(BlockCorrupt("entry runs past the end of the block"));
        }
        Ok(Entry {
            shared: shared as usize,
            unshared: unshared as usize,
            value_len: value_len as usize,
            key_start: offset + header,
        })
    }
}

/// A cursor over one block. Invalid until positioned.
#[derive(Debug)]
pub(crate) struct BlockIter {
    block: Arc<Block>,
    /// Offset of the current entry; `block.restarts` when not valid.
    current: usize,
    /// Offset just past the current entry.
    next: usize,
    /// Index of the restart interval holding `current`.
    restart_index: usize,
    key: Vec<u8>,
    value_start: usize,
    value_len: usize,
}

impl BlockIter {
    pub(crate) fn new(block: Arc<Block>) -> Self {
        let end = block.restarts;
        BlockIter {
            block,
            current: end,
            next: end,
            restart_index: 0,
            key: Vec::new(),
            value_start: 0,
            value_len: 0,
        }
    }

    pub(crate) fn valid(&self) -> bool {
        self.current < self.block.restarts
    }

    /// REQUIRES: `valid()`.
    pub(crate) fn key(&self) -> &[u8] {
        &self.key
    }

    /// REQUIRES: `valid()`.
    pub(crate) fn value(&self) -> &[u8] {
        &self.block.data[self.value_start..self.value_start + self.value_len]
    }

    /// The current value as a zero-copy slice of the block. REQUIRES: `valid()`.
    pub(crate) fn value_bytes(&self) -> Bytes {
        self.block
            .data
            .slice(self.value_start..self.value_start + self.value_len)
    }

    fn invalidate(&mut self) {
        self.current = self.block.restarts;
        self.next = self.block.restarts;
        self.restart_index = self.block.num_restarts;
    }

    fn seek_to_restart(&mut self, index: usize) {
        self.key.clear();
        self.restart_index = index;
        self.next = self.block.restart_point(index);
    }

    /// Decodes the entry at `self.next`; returns false at the end of the block.
    fn parse_next(&mut self) -> BlockResult<bool> {
        self.current = self.next;
        if self.current >= self.block.restarts {
            self.invalidate();
            return Ok(false);
        }
        let entry = match self.block.decode_entry(self.current) {
            Ok(e) if e.shared <= self.key.len() => e,
            Ok(_) => {
                self.invalidate();
                return Err(BlockCorrupt(
                    "entry shares more bytes than the previous key",
                ));
            }
            Err(e) => {
                self.invalidate();
                return Err(e);
            }
        };
        self.key.truncate(entry.shared);
        let delta_end = entry.key_start + entry.unshared;
        self.key
            .extend_from_slice(&self.block.data[entry.key_start..delta_end]);
        self.value_start = delta_end;
        self.value_len = entry.value_len;
        self.next = delta_end + entry.value_len;
        while self.restart_index + 1 < self.block.num_restarts
            && self.block.restart_point(self.restart_index + 1) <= self.current
        {
            self.restart_index += 1;
        }
        Ok(true)
    }

    pub(crate) fn seek_to_first(&mut self) -> BlockResult<()> {
        self.seek_to_restart(0);
        self.parse_next().map(drop)
    }

    pub(crate) fn seek_to_last(&mut self) -> BlockResult<()> {
        self.seek_to_restart(self.block.num_restarts - 1);
        while self.parse_next()? && self.next < self.block.restarts {}
        Ok(())
    }

    /// REQUIRES: `valid()`.
    pub(crate) fn next(&mut self) -> BlockResult<()> {
        self.parse_next().map(drop)
    }

    /// Moves to the previous entry: back to the restart point before the current entry, then
    /// forward until just before it. REQUIRES: `valid()`.
    pub(crate) fn prev(&mut self) -> BlockResult<()> {
        let original = self.current;
        while self.block.restart_point(self.restart_index) >= original {
            if self.restart_index == 0 {
                self.invalidate();
                return Ok(());
            }
            self.restart_index -= 1;
        }
        self.seek_to_restart(self.restart_index);
        loop {
            if !self.parse_next()? {
                return Err(BlockCorrupt("entry chain does not reach the current entry"));
            }
            if self.next >= original {
                return Ok(());
            }
        }
    }

    /// Positions at the first entry with key >= `target` (invalid if there is none).
    pub(crate) fn seek(&mut self, target: &[u8], cmp: &dyn Comparator) -> BlockResult<()> {
        // Binary search for the last restart point whose key is < target, within the stride
        // the sample leaves when there is one.
        let (mut left, mut right) = match &self.block.sample {
            Some(sample) => sample.narrow(target, cmp, self.block.num_restarts),
            None => (0, self.block.num_restarts - 1),
        };
        while left < right {
            let mid = left + (right - left).div_ceil(2);
            let order = self
                .block
                .restart_key(mid)
                .map(|key| cmp.compare(key, target));
            match order {
                Ok(Ordering::Less) => left = mid,
                Ok(_) => right = mid - 1,
                Err(e) => {
                    self.invalidate();
                    return Err(e);
                }
            }
        }
        self.seek_to_restart(left);
        while self.parse_next()? {
            if cmp.compare(&self.key, target) != Ordering::Less {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_builder::BlockBuilder;
    use crate::comparator::Bytewise;
    use proptest::prelude::*;

    fn build(entries: &[(Vec<u8>, Vec<u8>)], interval: usize) -> Arc<Block> {
        let mut b = BlockBuilder::new(interval);
        for (k, v) in entries {
            b.add(k, v);
        }
        Arc::new(Block::new(Bytes::copy_from_slice(b.finish())).unwrap())
    }

    fn sorted_entries() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
        proptest::collection::btree_map(
            proptest::collection::vec(0u8..4, 0..6),
            proptest::collection::vec(any::<u8>(), 0..5),
            0..40,
        )
        .prop_map(|m| m.into_iter().collect())
    }

    proptest! {
        #[test]
        fn walks_both_ways_and_seeks(entries in sorted_entries(), interval in 1usize..5,
                                     target in proptest::collection::vec(0u8..4, 0..6)) {
            let block = build(&entries, interval);
            let mut it = BlockIter::new(block);
            it.seek_to_first().unwrap();
            let mut forward = Vec::new();
            while it.valid() {
                forward.push((it.key().to_vec(), it.value().to_vec()));
                it.next().unwrap();
            }
            prop_assert_eq!(&forward, &entries);
            it.seek_to_last().unwrap();
            let mut backward = Vec::new();
            while it.valid() {
                backward.push((it.key().to_vec(), it.value().to_vec()));
                it.prev().unwrap();
            }
            backward.reverse();
            prop_assert_eq!(&backward, &entries);
            it.seek(&target, &Bytewise).unwrap();
            let expected = entries.iter().find(|(k, _)| *k >= target);
            prop_assert_eq!(it.valid().then(|| it.key().to_vec()), expected.map(|e| e.0.clone()));
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64),
                                       target in proptest::collection::vec(any::<u8>(), 0..4)) {
            if let Ok(block) = Block::new(Bytes::from(data)) {
                let mut it = BlockIter::new(Arc::new(block));
                let mut steps = 0;
                if it.seek_to_first().is_ok() {
                    while it.valid() && steps < 100 && it.next().is_ok() { steps += 1; }
                }
                if it.seek_to_last().is_ok() {
                    while it.valid() && steps < 200 && it.prev().is_ok() { steps += 1; }
                }
                let _ = it.seek(&target, &Bytewise);
            }
        }
    }

    #[test]
    fn empty_block_is_valid_and_empty() {
        let block = build(&[], 16);
        let mut it = BlockIter::new(block);
        it.seek_to_first().unwrap();
        assert!(!it.valid());
        it.seek_to_last().unwrap();
        assert!(!it.valid());
        it.seek(b"x", &Bytewise).unwrap();
        assert!(!it.valid());
    }

    #[test]
    fn bad_restart_arrays_are_rejected() {
        assert!(Block::new(Bytes::from_static(&[1, 0, 0])).is_err());
        assert!(
            Block::new(Bytes::from_static(&[0, 0, 0, 0])).is_err(),
            "zero restarts"
        );
        assert!(Block::new(Bytes::from_static(&[9, 0, 0, 0, 1, 0, 0, 0])).is_err());
        assert!(Block::new(Bytes::from_static(&[0xff, 0xff, 0xff, 0xff])).is_err());
    }
}
