//! The fixed structures of a table file: block handles, block trailers and the footer, and the
//! one function that reads a block from disk (verify checksum, then decompress).
//!
//! See FORMAT.md for the byte layout. Every value written here is part of the on-disk format:
//! DO NOT CHANGE the magic number, the trailer bytes or the compression type values.

use bytes::Bytes;

use crate::coding::{get_fixed32, get_fixed64, get_varint64, put_varint64};
use crate::error::{Error, Result};
use crate::file::RandomAccessFile;

/// Identifies a table file: the ASCII bytes "STRATSST" read as a little-endian u64.
pub const TABLE_MAGIC: u64 = u64::from_le_bytes(*b"STRATSST");
/// The format version this code writes.
pub const FORMAT_VERSION: u32 = 1;
/// Size of the footer at the end of every table.
pub const FOOTER_SIZE: usize = 64;
/// Every block is followed by a compression-type byte and a crc32 of the block and that byte.
pub const BLOCK_TRAILER_SIZE: usize = 5;
/// No block decompresses to more than this; a larger claim is treated as corruption so that
/// a damaged length can never drive a huge allocation.
pub const MAX_BLOCK_SIZE: usize = 512 << 20;

/// On-disk compression type byte. DO NOT CHANGE.
pub(crate) const BLOCK_TYPE_NONE: u8 = 0;
/// On-disk compression type byte. DO NOT CHANGE.
pub(crate) const BLOCK_TYPE_ZSTD: u8 = 1;
/// On-disk compression type byte. DO NOT CHANGE.
pub(crate) const BLOCK_TYPE_LZ4: u8 = 2;

/// Where a block lives: its offset in the file and its size without the trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockHandle {
    /// Offset of the block's first byte.
    pub offset: u64,
    /// Size of the stored block, excluding the 5-byte trailer.
    pub size: u64,
}

impl BlockHandle {
    /// Appends the varint encoding used in index entries.
    pub(crate) fn encode_to(&self, dst: &mut Vec<u8>) {
        put_varint64(dst, self.offset);
        put_varint64(dst, self.size);
    }

    /// Decodes an index entry's value; `None` if it is not exactly two varints.
    pub(crate) fn decode(src: &[u8]) -> Option<BlockHandle> {
        let (offset, n) = get_varint64(src)?;
        let (size, m) = get_varint64(src.get(n..)?)?;
        (n + m == src.len()).then_some(BlockHandle { offset, size })
    }
}

/// The last 64 bytes of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// The index block: one entry per data block.
    pub index: BlockHandle,
    /// The bloom filter block; size 0 when the table has no filter.
    pub filter: BlockHandle,
    /// The properties block.
    pub properties: BlockHandle,
    /// The table format version.
    pub version: u32,
}

impl Footer {
    pub(crate) fn encode(&self) -> [u8; FOOTER_SIZE] {
        let mut out = [0u8; FOOTER_SIZE];
        let fields = [
            self.index.offset,
            self.index.size,
            self.filter.offset,
            self.filter.size,
            self.properties.offset,
            self.properties.size,
        ];
        for (i, v) in fields.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        out[48..52].copy_from_slice(&self.version.to_le_bytes());
        let crc = crc32fast::hash(&out[..52]);
        out[52..56].copy_from_slice(&crc.to_le_bytes());
        out[56..64].copy_from_slice(&TABLE_MAGIC.to_le_bytes());
        out
    }

    /// Decodes and checks the footer at the end of `file`.
    pub(crate) fn read(file: &dyn RandomAccessFile, name: &str) -> Result<Footer> {
        let len = file.len();
        if len < FOOTER_SIZE as u64 {
            return Err(Error::corruption(
                name,
                0,
                format!("file is {len} bytes, shorter than a footer ({FOOTER_SIZE})"),
            ));
        }
        let offset = len - FOOTER_SIZE as u64;
        let buf = file
            .read_at(offset, FOOTER_SIZE)
            .map_err(|e| Error::io(name, e))?;
        let corrupt = |reason: &str| Error::corruption(name, offset, reason);
        let field = |i: usize| get_fixed64(&buf, i * 8).ok_or_else(|| corrupt("short footer"));
        if field(7)? != TABLE_MAGIC {
            return Err(corrupt("bad magic number: not a Strata table"));
        }
        let stored_crc = get_fixed32(&buf, 52).ok_or_else(|| corrupt("short footer"))?;
        if crc32fast::hash(buf.get(..52).ok_or_else(|| corrupt("short footer"))?) != stored_crc {
            return Err(corrupt("footer checksum mismatch"));
        }
        let version = get_fixed32(&buf, 48).ok_or_else(|| corrupt("short footer"))?;
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                file: name.to_owned(),
                version,
            });
        }
        let handle = |i: usize| -> Result<BlockHandle> {
            Ok(BlockHandle {
                offset: field(i)?,
                size: field(i + 1)?,
            })
        };
        Ok(Footer {
            index: handle(0)?,
            filter: handle(2)?,
            properties: handle(4)?,
            version,
        })
    }
}

/// Checks a block's trailer and returns its uncompressed contents.
///
/// The checksum is verified on every read from the file (the block cache keeps only blocks
/// that passed). Handles are untrusted: one that points outside the file is corruption.
pub(crate) fn read_block(
    file: &dyn RandomAccessFile,
    name: &str,
    handle: BlockHandle,
) -> Result<Bytes> {
    let corrupt = |reason: String| Error::corruption(name, handle.offset, reason);
    let stored_len = handle
        .size
        .checked_add(BLOCK_TRAILER_SIZE as u64)
        .filter(|n| {
            handle
                .offset
                .checked_add(*n)
                .is_some_and(|end| end <= file.len())
        })
        .ok_or_else(|| {
            corrupt(format!(
                "block handle (offset {}, size {}) runs past the end of the {}-byte file",
                handle.offset,
                handle.size,
                file.len()
            ))
        })?;
    let size = usize::try_from(handle.size).map_err(|_| corrupt("block too large".into()))?;
    let raw = file
        .read_at(handle.offset, stored_len as usize)
        .map_err(|e| Error::io(name, e))?;
    if raw.len() as u64 != stored_len {
        return Err(corrupt(format!("short read of {} bytes", raw.len())));
    }
    let (body, trailer) = raw.split_at(size);
    let (kind, stored_crc) = match (trailer.first(), get_fixed32(trailer, 1)) {
        (Some(&kind), Some(crc)) => (kind, crc),
        _ => return Err(corrupt("short trailer".into())),
    };
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(body);
    hasher.update(&[kind]);
    let actual = hasher.finalize();
    if actual != stored_crc {
        return Err(corrupt(format!(
            "block checksum mismatch (stored {stored_crc:#010x}, computed {actual:#010x})"
        )));
    }
    match kind {
        BLOCK_TYPE_NONE => Ok(raw.slice(..size)),
        other => crate::codec::decompress(other, body).map_err(corrupt),
    }
}

/// Appends a block's trailer (type byte and crc32 over `body` and the type byte).
pub(crate) fn trailer(body: &[u8], kind: u8) -> [u8; BLOCK_TRAILER_SIZE] {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(body);
    hasher.update(&[kind]);
    let crc = hasher.finalize();
    let mut out = [kind, 0, 0, 0, 0];
    out[1..].copy_from_slice(&crc.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_roundtrip_and_damage() {
        let footer = Footer {
            index: BlockHandle {
                offset: 100,
                size: 20,
            },
            filter: BlockHandle { offset: 7, size: 0 },
            properties: BlockHandle {
                offset: 50,
                size: 45,
            },
            version: FORMAT_VERSION,
        };
        let mut file = vec![0u8; 128];
        file.extend_from_slice(&footer.encode());
        let bytes = Bytes::from(file);
        assert_eq!(Footer::read(&bytes, "t").unwrap(), footer);
        for i in 128..bytes.len() {
            let mut damaged = bytes.to_vec();
            damaged[i] ^= 0x40;
            let err = Footer::read(&Bytes::from(damaged), "t").unwrap_err();
            assert!(err.is_corruption(), "byte {i}: {err}");
        }
    }

    #[test]
    fn block_handle_decoding_requires_exact_length() {
        let mut buf = Vec::new();
        BlockHandle {
            offset: 1 << 40,
            size: 4096,
        }
        .encode_to(&mut buf);
        assert!(BlockHandle::decode(&buf).is_some());
        buf.push(0);
        assert!(BlockHandle::decode(&buf).is_none());
    }

    #[test]
    fn read_block_rejects_handles_outside_the_file() {
        let file = Bytes::from(vec![0u8; 100]);
        for (offset, size) in [(90, 10), (u64::MAX - 2, 1), (0, u64::MAX)] {
            let err = read_block(&file, "t", BlockHandle { offset, size }).unwrap_err();
            assert!(err.is_corruption());
        }
    }
}
