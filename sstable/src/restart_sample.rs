//! A sampled first level over the restart array of a large block.
//!
//! A table's index block has a restart at every entry and, for a 64 MiB table of 4 KiB blocks,
//! about sixteen thousand of them. A seek's binary search over that array touches ~14
//! entries spread over half a megabyte: each probe is a cache miss on the restart array and
//! another on the entry it points to, and a point read or seek pays that in every table it
//! consults. The sample copies the key of every [`STRIDE`]th restart into one small,
//! contiguous buffer (~2 KiB per thousand restarts), which stays in cache across seeks;
//! searching it first leaves at most `STRIDE` restarts (four probes) to search in the block.
//!
//! The sample lives in memory only: it is built when a table is opened, from the block the
//! table already holds, and changes nothing on disk.

use std::cmp::Ordering;

use crate::block::{Block, BlockResult};
use crate::comparator::Comparator;

/// Restarts between sampled keys.
pub(crate) const STRIDE: usize = 16;

/// Blocks with fewer restarts are searched directly: their whole restart array is a few
/// cache lines (data blocks have a handful).
pub(crate) const MIN_RESTARTS: usize = 4 * STRIDE;

/// The keys of restarts `0, STRIDE, 2 * STRIDE, …` of one block, in block order.
#[derive(Debug)]
pub(crate) struct RestartSample {
    keys: Vec<u8>,
    /// `(start, end)` of each sampled key in `keys`.
    spans: Vec<(u32, u32)>,
}

impl RestartSample {
    /// Samples `block`, or `None` if it is too small to be worth it.
    ///
    /// # Errors
    /// `BlockCorrupt` if a sampled restart entry cannot be decoded.
    pub(crate) fn build(block: &Block) -> BlockResult<Option<RestartSample>> {
        let n = block.num_restarts();
        if n < MIN_RESTARTS {
            return Ok(None);
        }
        let mut keys = Vec::new();
        let mut spans = Vec::with_capacity(n.div_ceil(STRIDE));
        for i in (0..n).step_by(STRIDE) {
            let key = block.restart_key(i)?;
            // A block holds less than 4 GiB (its offsets are 32-bit), so these fit.
            let start = keys.len() as u32;
            keys.extend_from_slice(key);
            spans.push((start, keys.len() as u32));
        }
        keys.shrink_to_fit();
        Ok(Some(RestartSample { keys, spans }))
    }

    /// The inclusive range of restart indices holding the last restart whose key is
    /// `< target` (or restart 0 if none is), for a block of `num_restarts` restarts.
    ///
    /// Sampled key `s` is restart `s * STRIDE`'s key. If it is `< target` the answer is at
    /// least `s * STRIDE`; if sample `s + 1`'s key is `>= target` the answer is below
    /// `(s + 1) * STRIDE`.
    pub(crate) fn narrow(
        &self,
        target: &[u8],
        cmp: &dyn Comparator,
        num_restarts: usize,
    ) -> (usize, usize) {
        let below = self.spans.partition_point(|&(start, end)| {
            cmp.compare(&self.keys[start as usize..end as usize], target) == Ordering::Less
        });
        let s = below.saturating_sub(1);
        let last = num_restarts.saturating_sub(1);
        ((s * STRIDE).min(last), ((s + 1) * STRIDE - 1).min(last))
    }

    /// Bytes of memory the sample holds.
    pub(crate) fn size(&self) -> usize {
        self.keys.capacity() + self.spans.capacity() * std::mem::size_of::<(u32, u32)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::BlockIter;
    use crate::block_builder::BlockBuilder;
    use crate::comparator::Bytewise;
    use bytes::Bytes;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn index_block(keys: &[Vec<u8>]) -> Bytes {
        let mut b = BlockBuilder::new(1);
        for (i, k) in keys.iter().enumerate() {
            b.add(k, &(i as u32).to_le_bytes());
        }
        Bytes::copy_from_slice(b.finish())
    }

    fn keys(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("key{:06}", i * 2).into_bytes())
            .collect()
    }

    #[test]
    fn small_blocks_are_not_sampled() {
        let block = Block::new(index_block(&keys(MIN_RESTARTS - 1))).unwrap();
        assert!(RestartSample::build(&block).unwrap().is_none());
        let block = Block::new_sampled(index_block(&keys(MIN_RESTARTS - 1))).unwrap();
        assert_eq!(block.sample_size(), 0);
    }

    #[test]
    fn samples_every_stride_th_restart() {
        let ks = keys(1000);
        let block = Block::new(index_block(&ks)).unwrap();
        let sample = RestartSample::build(&block).unwrap().unwrap();
        assert_eq!(sample.spans.len(), 1000usize.div_ceil(STRIDE));
        for (s, &(start, end)) in sample.spans.iter().enumerate() {
            assert_eq!(
                &sample.keys[start as usize..end as usize],
                &ks[s * STRIDE][..]
            );
        }
        assert!(sample.size() >= sample.keys.len());
    }

    #[test]
    fn narrow_brackets_the_last_smaller_restart() {
        let ks = keys(1000);
        let block = Block::new(index_block(&ks)).unwrap();
        let sample = RestartSample::build(&block).unwrap().unwrap();
        // Before every key: restart 0's stride.
        assert_eq!(sample.narrow(b"a", &Bytewise, 1000), (0, STRIDE - 1));
        // Between key 40 ("key000080") and key 41: the answer is restart 40.
        let (lo, hi) = sample.narrow(b"key000081", &Bytewise, 1000);
        assert!(lo <= 40 && 40 <= hi, "{lo}..={hi}");
        // Past every key: the last, partial stride.
        let (lo, hi) = sample.narrow(b"z", &Bytewise, 1000);
        assert_eq!((lo, hi), (992, 999));
    }

    #[test]
    fn a_corrupt_sampled_entry_is_reported() {
        let mut data = index_block(&keys(MIN_RESTARTS)).to_vec();
        // Restart 0 (sampled) made to claim a shared prefix.
        data[0] = 1;
        let block = Block::new(Bytes::from(data)).unwrap();
        assert!(RestartSample::build(&block).is_err());
    }

    proptest! {
        #[test]
        fn sampled_seeks_match_plain_seeks(
            set in proptest::collection::btree_set(
                proptest::collection::vec(0u8..8, 1..5), 0..400),
            targets in proptest::collection::vec(
                proptest::collection::vec(0u8..8, 0..6), 1..20),
        ) {
            let ks: Vec<Vec<u8>> = set.into_iter().collect();
            prop_assume!(!ks.is_empty());
            let data = index_block(&ks);
            let plain = Arc::new(Block::new(data.clone()).unwrap());
            let sampled = Arc::new(Block::new_sampled(data).unwrap());
            for target in &targets {
                let mut a = BlockIter::new(plain.clone());
                let mut b = BlockIter::new(sampled.clone());
                a.seek(target, &Bytewise).unwrap();
                b.seek(target, &Bytewise).unwrap();
                prop_assert_eq!(a.valid(), b.valid());
                if a.valid() {
                    prop_assert_eq!(a.key(), b.key());
                    prop_assert_eq!(a.value(), b.value());
                }
                let expected = ks.iter().find(|k| k.as_slice() >= target.as_slice());
                let found = b.valid().then(|| b.key().to_vec());
                prop_assert_eq!(found.as_ref(), expected);
            }
        }
    }
}
