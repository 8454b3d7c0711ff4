//! Writes seed inputs for the fuzz targets: small valid tables and logs of every shape.
//!
//! A fuzzer starting from nothing never gets past a table's magic number and footer checksum;
//! starting from valid files it explores the index, filter, blocks and fragments.
//! Usage: `cargo run --bin make_seeds` (from `fuzz/`), writing into `corpus/<target>/`.

use std::path::Path;

use sstable::{Compression, TableBuilder, TableOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let tables = root.join("sstable_read");
    std::fs::create_dir_all(&tables)?;
    // name, entries, block size, compression, bloom bits, restart interval
    let shapes: &[(&str, usize, usize, Compression, u32, usize)] = &[
        ("empty", 0, 4096, Compression::None, 10, 16),
        ("one", 1, 4096, Compression::None, 10, 16),
        ("small_none", 20, 128, Compression::None, 10, 4),
        ("small_zstd", 20, 256, Compression::ZSTD, 10, 4),
        ("small_lz4", 20, 256, Compression::Lz4, 10, 4),
        ("no_filter", 30, 100, Compression::None, 0, 2),
        ("zstd_multi", 60, 512, Compression::ZSTD, 6, 16),
        ("restart1", 12, 64, Compression::None, 10, 1),
    ];
    for &(name, n, block_size, compression, bloom_bits_per_key, restart_interval) in shapes {
        let options = TableOptions {
            block_size,
            compression,
            bloom_bits_per_key,
            restart_interval,
            ..TableOptions::default()
        };
        let mut b = TableBuilder::new(Vec::new(), name, options)?;
        for i in 0..n {
            let value = format!("value-{i}-{}", "x".repeat(i % 17));
            b.add(format!("key{:05}", i * 3).as_bytes(), value.as_bytes())?;
        }
        let (_, bytes) = b.finish_into_inner()?;
        std::fs::write(tables.join(name), bytes)?;
    }

    let logs = root.join("wal_reader");
    std::fs::create_dir_all(&logs)?;
    let shapes: &[(&str, &[usize])] = &[
        ("empty", &[]),
        ("small", &[0, 1, 10, 100]),
        // Records spanning blocks: FIRST, MIDDLE and LAST fragments, and block padding.
        ("spanning", &[32 * 1024 - 7 - 3, 40_000, 5, 70_000]),
    ];
    for &(name, sizes) in shapes {
        let mut w = wal::Writer::new(Vec::new());
        for (i, &size) in sizes.iter().enumerate() {
            w.add_record(&vec![i as u8; size])?;
        }
        std::fs::write(logs.join(name), w.into_inner()?)?;
    }
    println!("seeds written under {}", root.display());
    Ok(())
}
