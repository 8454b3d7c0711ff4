//! Writes a table in one pass from keys in increasing order.
//!
//! Order of the file (FORMAT.md): data blocks, filter block, index block, properties block,
//! footer. The index entry for a block is written only when the next block's first key is
//! known, so its separator can be the shortest key between the two blocks.
//!
//! Misuse (a key out of order, an oversized entry) is an error that leaves the builder usable:
//! the offending entry is simply not added. An I/O error poisons the builder: every later call
//! fails, because the file's tail is unknown.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::block_builder::BlockBuilder;
use crate::codec::BlockCompressor;
use crate::error::{Error, Result};
use crate::file::SyncWrite;
use crate::filter::{build_filter, filter_key_hash};
use crate::format::{
    trailer, BlockHandle, Footer, BLOCK_TRAILER_SIZE, BLOCK_TYPE_NONE, FORMAT_VERSION,
};
use crate::options::TableOptions;
use crate::properties::TableProperties;

/// Largest key a table accepts.
pub const MAX_KEY_SIZE: usize = 16 << 20;
/// Largest value a table accepts.
pub const MAX_VALUE_SIZE: usize = 256 << 20;
/// Largest configurable data block size; with the entry limits above, no block can exceed
/// the reader's `MAX_BLOCK_SIZE`.
const MAX_TARGET_BLOCK_SIZE: usize = 64 << 20;

/// Streams sorted entries into a table.
pub struct TableBuilder<W: SyncWrite> {
    name: String,
    out: BufWriter<W>,
    options: TableOptions,
    offset: u64,
    data_block: BlockBuilder,
    index_block: BlockBuilder,
    /// Hashes of filter keys, deduplicated when consecutive (all versions of one user key).
    filter_hashes: Vec<u64>,
    /// Handle of the last data block, waiting for the next key to choose its separator.
    pending_handle: Option<BlockHandle>,
    last_key: Vec<u8>,
    scratch: Vec<u8>,
    /// Reused output buffer for compressed blocks.
    compressed: Vec<u8>,
    compressor: Option<BlockCompressor>,
    props: TableProperties,
    poisoned: bool,
}

impl<W: SyncWrite> std::fmt::Debug for TableBuilder<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableBuilder")
            .field("name", &self.name)
            .field("offset", &self.offset)
            .field("entries", &self.props.num_entries)
            .finish_non_exhaustive()
    }
}

impl TableBuilder<File> {
    /// Creates (or truncates) the file at `path` and writes a table into it.
    ///
    /// # Errors
    /// The file cannot be created; the options are invalid.
    pub fn create(path: &Path, options: TableOptions) -> Result<Self> {
        let name = path.display().to_string();
        let file = File::create(path).map_err(|e| Error::io(&name, e))?;
        TableBuilder::new(file, name, options)
    }
}

impl<W: SyncWrite> TableBuilder<W> {
    /// A builder writing to `out`; `name` identifies the table in errors.
    ///
    /// # Errors
    /// `InvalidArgument` for a block size of 0 or above 64 MiB, or a failed zstd set-up.
    pub fn new(out: W, name: impl Into<String>, options: TableOptions) -> Result<Self> {
        let name = name.into();
        if options.block_size == 0 || options.block_size > MAX_TARGET_BLOCK_SIZE {
            return Err(Error::InvalidArgument(format!(
                "block size {} is outside 1..={MAX_TARGET_BLOCK_SIZE}",
                options.block_size
            )));
        }
        let compressor = BlockCompressor::new(options.compression)?;
        let props = TableProperties {
            format_version: FORMAT_VERSION,
            compression: options.compression.name().to_owned(),
            comparator: options.comparator.name().to_owned(),
            filter_key: if options.bloom_bits_per_key > 0 {
                options.filter_key.name().to_owned()
            } else {
                String::new()
            },
            bloom_bits_per_key: u64::from(options.bloom_bits_per_key),
            ..TableProperties::default()
        };
        Ok(TableBuilder {
            name,
            out: BufWriter::with_capacity(256 << 10, out),
            data_block: BlockBuilder::new(options.restart_interval),
            index_block: BlockBuilder::new(1),
            options,
            offset: 0,
            filter_hashes: Vec::new(),
            pending_handle: None,
            last_key: Vec::new(),
            scratch: Vec::new(),
            compressed: Vec::new(),
            compressor,
            props,
            poisoned: false,
        })
    }

    /// Adds an entry. Keys must be strictly increasing under the table's comparator.
    ///
    /// # Errors
    /// `OutOfOrder` or `InvalidArgument` (entry too large) without changing the table; `Io`
    /// if writing a finished block fails, after which the builder is unusable.
    pub fn add(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.check_usable()?;
        if key.len() > MAX_KEY_SIZE || value.len() > MAX_VALUE_SIZE {
            return Err(Error::InvalidArgument(format!(
                "entry with a {}-byte key and a {}-byte value exceeds the limits \
                 ({MAX_KEY_SIZE} and {MAX_VALUE_SIZE})",
                key.len(),
                value.len()
            )));
        }
        if self.props.num_entries > 0
            && self.options.comparator.compare(key, &self.last_key) != std::cmp::Ordering::Greater
        {
            return Err(Error::OutOfOrder {
                previous: self.last_key.clone(),
                key: key.to_vec(),
            });
        }
        if let Some(handle) = self.pending_handle.take() {
            let mut separator = std::mem::take(&mut self.scratch);
            self.options
                .comparator
                .separator(&self.last_key, key, &mut separator);
            self.add_index_entry(&separator, handle);
            self.scratch = separator;
        }
        if self.options.bloom_bits_per_key > 0 {
            let hash = filter_key_hash(self.options.filter_key.extract(key));
            if self.filter_hashes.last() != Some(&hash) {
                self.filter_hashes.push(hash);
            }
        }
        if self.props.num_entries == 0 {
            self.props.smallest_key = key.to_vec();
        }
        self.data_block.add(key, value);
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.props.num_entries += 1;
        self.props.raw_key_size += key.len() as u64;
        self.props.raw_value_size += value.len() as u64;
        if self.data_block.estimated_size() >= self.options.block_size {
            self.flush_data_block()?;
        }
        Ok(())
    }

    /// Adds a user property, stored in the properties block as `user.<name>`.
    pub fn set_property(&mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) {
        self.props.user.insert(name.into(), value.into());
    }

    /// Entries added so far.
    pub fn num_entries(&self) -> u64 {
        self.props.num_entries
    }

    /// Bytes written so far plus the open block: what the file would roughly measure now.
    pub fn estimated_size(&self) -> u64 {
        self.offset + self.data_block.estimated_size() as u64
    }

    /// Writes the remaining blocks and the footer, then fsyncs.
    ///
    /// # Errors
    /// Any I/O error, including a failed sync (which the caller must treat as fatal).
    pub fn finish(self) -> Result<TableProperties> {
        self.finish_into_inner().map(|(props, _)| props)
    }

    /// As [`finish`](Self::finish), and hands back the sink (the bytes, for an in-memory one).
    ///
    /// # Errors
    /// As [`finish`](Self::finish).
    pub fn finish_into_inner(mut self) -> Result<(TableProperties, W)> {
        self.check_usable()?;
        self.flush_data_block()?;
        if let Some(handle) = self.pending_handle.take() {
            let mut successor = std::mem::take(&mut self.scratch);
            self.options
                .comparator
                .successor(&self.last_key, &mut successor);
            self.add_index_entry(&successor, handle);
        }
        self.props.largest_key = self.last_key.clone();

        let mut filter = BlockHandle::default();
        if self.options.bloom_bits_per_key > 0 && self.props.num_entries > 0 {
            let body = build_filter(&self.filter_hashes, self.options.bloom_bits_per_key);
            filter = self.write_raw(&body, BLOCK_TYPE_NONE)?;
            self.props.filter_size = filter.size + BLOCK_TRAILER_SIZE as u64;
        }
        let index_body = self.index_block.finish().to_vec();
        let index = self.write_raw(&index_body, BLOCK_TYPE_NONE)?;
        self.props.index_size = index.size + BLOCK_TRAILER_SIZE as u64;
        self.props.creation_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let properties = self.write_raw(&self.props.encode(), BLOCK_TYPE_NONE)?;
        let footer = Footer {
            index,
            filter,
            properties,
            version: FORMAT_VERSION,
        };
        self.write_all(&footer.encode())?;
        let name = self.name.clone();
        let mut out = self
            .out
            .into_inner()
            .map_err(|e| Error::io(&name, e.into_error()))?;
        out.sync_data().map_err(|e| Error::io(&name, e))?;
        Ok((self.props, out))
    }

    fn check_usable(&self) -> Result<()> {
        if self.poisoned {
            return Err(Error::InvalidArgument(format!(
                "table builder for {} failed earlier and must be discarded",
                self.name
            )));
        }
        Ok(())
    }

    fn add_index_entry(&mut self, key: &[u8], handle: BlockHandle) {
        let mut value = Vec::with_capacity(16);
        handle.encode_to(&mut value);
        self.index_block.add(key, &value);
    }

    fn flush_data_block(&mut self) -> Result<()> {
        if self.data_block.is_empty() {
            return Ok(());
        }
        let raw = self.data_block.finish().to_vec();
        self.data_block.reset();
        let handle = self.write_data_block(&raw)?;
        self.pending_handle = Some(handle);
        self.props.num_data_blocks += 1;
        self.props.data_size += handle.size + BLOCK_TRAILER_SIZE as u64;
        Ok(())
    }

    /// Compresses a data block when that saves at least an eighth, and writes it.
    fn write_data_block(&mut self, raw: &[u8]) -> Result<BlockHandle> {
        let Some(compressor) = self.compressor.as_mut() else {
            return self.write_raw(raw, BLOCK_TYPE_NONE);
        };
        let mut body = std::mem::take(&mut self.compressed);
        let result = match compressor.compress(raw, &mut body) {
            Some(kind) => self.write_raw(&body, kind),
            // Incompressible (or the codec refused): store the block as it is.
            None => self.write_raw(raw, BLOCK_TYPE_NONE),
        };
        self.compressed = body;
        result
    }

    fn write_raw(&mut self, body: &[u8], kind: u8) -> Result<BlockHandle> {
        let handle = BlockHandle {
            offset: self.offset,
            size: body.len() as u64,
        };
        self.write_all(body)?;
        self.write_all(&trailer(body, kind))?;
        Ok(handle)
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        if let Err(e) = self.out.write_all(bytes) {
            self.poisoned = true;
            return Err(Error::io(&self.name, e));
        }
        self.offset += bytes.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Compression;
    use std::io;

    #[test]
    fn misuse_is_an_error_that_leaves_the_builder_usable() {
        let mut b = TableBuilder::new(Vec::new(), "t", TableOptions::default()).unwrap();
        b.add(b"b", b"1").unwrap();
        assert!(matches!(b.add(b"b", b"2"), Err(Error::OutOfOrder { .. })));
        assert!(matches!(b.add(b"a", b"2"), Err(Error::OutOfOrder { .. })));
        let huge_key = vec![0u8; MAX_KEY_SIZE + 1];
        assert!(matches!(
            b.add(&huge_key, b""),
            Err(Error::InvalidArgument(_))
        ));
        b.add(b"c", b"3").unwrap();
        let props = b.finish().unwrap();
        assert_eq!(props.num_entries, 2);
        assert_eq!(props.smallest_key, b"b");
        assert_eq!(props.largest_key, b"c");
    }

    #[test]
    fn bad_block_sizes_are_refused() {
        for block_size in [0, MAX_TARGET_BLOCK_SIZE + 1] {
            let options = TableOptions {
                block_size,
                ..TableOptions::default()
            };
            assert!(TableBuilder::new(Vec::new(), "t", options).is_err());
        }
    }

    #[test]
    fn incompressible_blocks_are_stored_raw_and_compressible_ones_shrink() {
        let options = TableOptions {
            compression: Compression::ZSTD,
            ..TableOptions::default()
        };
        let mut b = TableBuilder::new(Vec::new(), "t", options).unwrap();
        // A 64-bit LCG gives bytes zstd cannot shrink.
        let mut x = 0x1234_5678_u64;
        for i in 0..200u32 {
            let noise: Vec<u8> = (0..100)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (x >> 56) as u8
                })
                .collect();
            b.add(format!("n{i:04}").as_bytes(), &noise).unwrap();
        }
        for i in 0..200u32 {
            b.add(format!("z{i:04}").as_bytes(), &[b'z'; 100]).unwrap();
        }
        let props = b.finish().unwrap();
        let raw = props.raw_key_size + props.raw_value_size;
        // Noise stays its size, the runs compress to almost nothing: about half overall.
        assert!(
            props.data_size < raw * 3 / 4,
            "{} of {raw}",
            props.data_size
        );
        assert!(props.data_size > raw / 3, "{} of {raw}", props.data_size);
    }

    /// A sink whose writes or syncs fail on demand.
    #[derive(Debug, Default)]
    struct Failing {
        fail_write: bool,
        fail_sync: bool,
    }
    impl Write for Failing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.fail_write {
                return Err(io::Error::other("injected write failure"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl SyncWrite for Failing {
        fn sync_data(&mut self) -> io::Result<()> {
            if self.fail_sync {
                return Err(io::Error::other("injected fsync failure"));
            }
            Ok(())
        }
    }

    #[test]
    fn io_failures_are_reported_and_poison_the_builder() {
        let sink = Failing {
            fail_sync: true,
            ..Failing::default()
        };
        let mut b = TableBuilder::new(sink, "t", TableOptions::default()).unwrap();
        b.add(b"a", b"1").unwrap();
        assert!(matches!(b.finish(), Err(Error::Io { .. })));

        let sink = Failing {
            fail_write: true,
            ..Failing::default()
        };
        let options = TableOptions {
            block_size: 1,
            compression: Compression::None,
            ..TableOptions::default()
        };
        // BufWriter absorbs small writes; a large value forces one through.
        let mut b = TableBuilder::new(sink, "t", options).unwrap();
        let big = vec![7u8; 1 << 20];
        assert!(matches!(b.add(b"a", &big), Err(Error::Io { .. })));
        assert!(matches!(b.add(b"b", b""), Err(Error::InvalidArgument(_))));
    }
}
