//! Data block compression: the codecs behind block types 1 (zstd) and 2 (lz4).
//!
//! Both compressed layouts are `varint32 uncompressed_len` followed by the codec's output (one
//! zstd frame; one raw lz4 block, no frame header). The length lets a reader allocate once and
//! refuse a block that claims more than [`MAX_BLOCK_SIZE`] before decoding anything.
//!
//! Which codec to pick: in the 5M-key engine benchmark (BENCHMARKS.md) tables were 15% larger
//! with lz4 than with zstd level 1 (space amp 0.99 against 0.86), while zstd added ~7 µs to
//! each random read that missed the block cache (16.6 against 9.3 µs uncompressed; lz4 runs
//! read faster than zstd ones). lz4 suits read-heavy data whose working set exceeds the
//! cache; zstd suits data read rarely.

use bytes::Bytes;

use crate::coding::{get_varint32, put_varint32};
use crate::format::{BLOCK_TYPE_LZ4, BLOCK_TYPE_ZSTD, MAX_BLOCK_SIZE};
use crate::options::Compression;
use crate::{Error, Result};

/// Compresses data blocks for one table builder; holds the zstd context between blocks.
pub(crate) enum BlockCompressor {
    Zstd(Box<zstd::bulk::Compressor<'static>>),
    Lz4,
}

impl BlockCompressor {
    /// The compressor for `compression`, or `None` when blocks are stored as they are.
    ///
    /// # Errors
    /// `InvalidArgument` if zstd refuses the level.
    pub(crate) fn new(compression: Compression) -> Result<Option<Self>> {
        Ok(match compression {
            Compression::None => None,
            Compression::Zstd { level } => Some(BlockCompressor::Zstd(Box::new(
                zstd::bulk::Compressor::new(level)
                    .map_err(|e| Error::InvalidArgument(format!("zstd level {level}: {e}")))?,
            ))),
            Compression::Lz4 => Some(BlockCompressor::Lz4),
        })
    }

    /// Compresses `raw` into `out` (cleared first) and returns the block type, or `None`
    /// when the result would not save at least an eighth of `raw` (the block is then worth
    /// more stored as it is: reading it costs no decompression).
    pub(crate) fn compress(&mut self, raw: &[u8], out: &mut Vec<u8>) -> Option<u8> {
        out.clear();
        put_varint32(out, u32::try_from(raw.len()).ok()?);
        let header = out.len();
        let (kind, n) = match self {
            BlockCompressor::Zstd(compressor) => {
                out.resize(header + zstd::zstd_safe::compress_bound(raw.len()), 0);
                let n = compressor
                    .compress_to_buffer(raw, &mut out[header..])
                    .ok()?;
                (BLOCK_TYPE_ZSTD, n)
            }
            BlockCompressor::Lz4 => {
                out.resize(
                    header + lz4_flex::block::get_maximum_output_size(raw.len()),
                    0,
                );
                let n = lz4_flex::block::compress_into(raw, &mut out[header..]).ok()?;
                (BLOCK_TYPE_LZ4, n)
            }
        };
        if header + n >= raw.len() - raw.len() / 8 {
            return None;
        }
        out.truncate(header + n);
        Some(kind)
    }
}

/// Decodes the body of a compressed block of type `kind`. Errors are descriptions of damage:
/// the caller has already verified the checksum, so a body that does not decode is corrupt.
pub(crate) fn decompress(kind: u8, body: &[u8]) -> std::result::Result<Bytes, String> {
    let (len, n) = get_varint32(body).ok_or("bad uncompressed length")?;
    let len = len as usize;
    if len > MAX_BLOCK_SIZE {
        return Err(format!("uncompressed length {len} exceeds the block limit"));
    }
    let payload = &body[n..];
    let out = match kind {
        BLOCK_TYPE_ZSTD => zstd_decompress(payload, len)?,
        BLOCK_TYPE_LZ4 => {
            let mut out = vec![0u8; len];
            let n = lz4_flex::block::decompress_into(payload, &mut out)
                .map_err(|e| format!("lz4: {e}"))?;
            out.truncate(n);
            out
        }
        other => return Err(format!("unknown block compression type {other}")),
    };
    if out.len() != len {
        return Err(format!(
            "block decompressed to {} bytes, expected {len}",
            out.len()
        ));
    }
    Ok(Bytes::from(out))
}

fn zstd_decompress(frame: &[u8], len: usize) -> std::result::Result<Vec<u8>, String> {
    ZSTD_DECOMPRESSOR.with(|d| match d.borrow_mut().as_mut() {
        Some(d) => d.decompress(frame, len).map_err(|e| format!("zstd: {e}")),
        None => Err("zstd decompressor unavailable".into()),
    })
}

thread_local! {
    // A zstd decompression context is costly to create; reuse one per thread.
    static ZSTD_DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        std::cell::RefCell::new(zstd::bulk::Decompressor::new().ok());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each codec and the block type it writes.
    const CODECS: [(Compression, u8); 2] = [
        (Compression::ZSTD, BLOCK_TYPE_ZSTD),
        (Compression::Lz4, BLOCK_TYPE_LZ4),
    ];

    /// Pseudo-random bytes, every `zero_every`th run of 16 zeroed (0: none).
    fn bytes(len: usize, seed: u64, zero_every: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if zero_every > 0 && (i / 16) % zero_every == 0 {
                    0
                } else {
                    (x >> 32) as u8
                }
            })
            .collect()
    }

    /// Half random bytes, half zeros: compressible to about half, like the benchmark values.
    fn block(len: usize, seed: u64) -> Vec<u8> {
        bytes(len, seed, 2)
    }

    /// `raw` through a fresh compressor for `compression`: the block type it chose (`None`:
    /// store as is) and the body it wrote.
    fn compress(compression: Compression, raw: &[u8]) -> (Option<u8>, Vec<u8>) {
        let mut c = BlockCompressor::new(compression).unwrap().unwrap();
        let mut out = Vec::new();
        (c.compress(raw, &mut out), out)
    }

    #[test]
    fn every_codec_round_trips_and_names_its_block_type() {
        for (compression, kind) in CODECS {
            let raw = block(4096, 7);
            let (written, out) = compress(compression, &raw);
            assert_eq!(written, Some(kind), "{compression}");
            assert!(out.len() < raw.len() * 7 / 8);
            assert_eq!(decompress(kind, &out).unwrap(), raw, "{compression}");
        }
        assert!(BlockCompressor::new(Compression::None).unwrap().is_none());
    }

    #[test]
    fn incompressible_blocks_are_left_alone() {
        let raw = bytes(4096, 11, 0);
        for (compression, _) in CODECS {
            assert_eq!(compress(compression, &raw).0, None, "{compression}");
        }
    }

    #[test]
    fn damaged_bodies_are_errors_not_panics() {
        for (compression, kind) in CODECS {
            let raw = block(2048, 3);
            let (written, good) = compress(compression, &raw);
            assert_eq!(written, Some(kind), "{compression}");
            // Truncations, flipped bytes, and a length that lies.
            for cut in [0, 1, 2, good.len() / 2, good.len() - 1] {
                assert!(
                    decompress(kind, &good[..cut]).is_err(),
                    "{compression} cut {cut}"
                );
            }
            for i in 2..good.len() {
                let mut bad = good.clone();
                bad[i] ^= 0x5a;
                // A flipped literal may still decode, to other bytes; it must not panic.
                if let Ok(out) = decompress(kind, &bad) {
                    assert_eq!(out.len(), raw.len());
                }
            }
            let mut lying = Vec::new();
            put_varint32(&mut lying, raw.len() as u32 + 1);
            lying.extend_from_slice(&good[2..]);
            assert!(decompress(kind, &lying).is_err(), "{compression}");
        }
    }

    #[test]
    fn oversized_and_unknown_blocks_are_refused() {
        let mut body = Vec::new();
        put_varint32(&mut body, (MAX_BLOCK_SIZE + 1) as u32);
        assert!(decompress(BLOCK_TYPE_LZ4, &body)
            .unwrap_err()
            .contains("exceeds"));
        let mut body = Vec::new();
        put_varint32(&mut body, 10);
        assert!(decompress(9, &body).unwrap_err().contains("unknown"));
    }
}
