//! Corruption sweep: flip every byte of a small table in turn. Opening and reading the damaged
//! table must either return exactly the original data or a typed error — never wrong data,
//! never a panic, never an unbounded allocation (block lengths are bounded by the file size
//! and the decompressed-size limit, and checked before any allocation).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use bytes::Bytes;
use sstable::{
    dump, Compression, DumpCommand, DumpOptions, Error, ReadOptions, Table, TableBuilder,
    TableOptions,
};

fn fixture(compression: Compression) -> (BTreeMap<Vec<u8>, Vec<u8>>, Vec<u8>) {
    let model: BTreeMap<Vec<u8>, Vec<u8>> = (0..60u32)
        .map(|i| {
            let key = format!("key{:05}", i * 7).into_bytes();
            let value = format!("value-{i}-{}", "x".repeat((i % 5) as usize * 20)).into_bytes();
            (key, value)
        })
        .collect();
    let options = TableOptions {
        block_size: 256,
        restart_interval: 4,
        compression,
        ..TableOptions::default()
    };
    let mut b = TableBuilder::new(Vec::new(), "fixture", options).unwrap();
    for (k, v) in &model {
        b.add(k, v).unwrap();
    }
    let (_, bytes) = b.finish_into_inner().unwrap();
    (model, bytes)
}

/// Reads everything the table will give; `Err` on the first error.
fn read_all(bytes: Vec<u8>, model: &BTreeMap<Vec<u8>, Vec<u8>>) -> Result<(), Error> {
    let table = Table::from_file(
        Box::new(Bytes::from(bytes)),
        "damaged",
        &ReadOptions::default(),
    )?;
    let mut it = table.iter();
    it.seek_to_first()?;
    let mut forward = Vec::new();
    while it.valid() {
        forward.push((it.key().to_vec(), it.value().to_vec()));
        it.next()?;
    }
    let expected: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(
        forward, expected,
        "forward scan returned wrong data without an error"
    );
    it.seek_to_last()?;
    let mut n = 0;
    while it.valid() {
        n += 1;
        it.prev()?;
    }
    assert_eq!(n, model.len(), "reverse scan lost entries without an error");
    for (k, v) in model {
        // A damaged filter may only make a lookup fail or miss; a miss is wrong data.
        let got = table.get(k)?;
        assert_eq!(
            got.as_deref(),
            Some(v.as_slice()),
            "get returned wrong data"
        );
        it.seek(k)?;
        assert_eq!(it.key(), k.as_slice());
    }
    assert_eq!(table.get(b"absent")?, None);
    Ok(())
}

fn sweep(compression: Compression) {
    let (model, bytes) = fixture(compression);
    read_all(bytes.clone(), &model).expect("the undamaged fixture reads back");
    let mut detected = 0;
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80] {
            let mut damaged = bytes.clone();
            damaged[i] ^= flip;
            match read_all(damaged.clone(), &model) {
                Ok(()) => {}
                Err(e) => {
                    assert!(e.is_corruption(), "byte {i}: damage reported as {e:?}");
                    detected += 1;
                }
            }
            // `verify` must notice any damage the readers noticed, and never panic.
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.sst");
            std::fs::write(&path, &damaged).unwrap();
            let options = DumpOptions {
                command: DumpCommand::Verify,
                ..DumpOptions::default()
            };
            let _ = dump(&path, &options, &mut std::io::sink());
        }
    }
    // Every byte of a table is covered by a block checksum, the footer checksum or the
    // magic number, so every flip must be detected, not merely harmless.
    assert_eq!(detected, bytes.len() * 2, "some flips went unnoticed");
}

#[test]
fn every_flipped_byte_is_detected_or_harmless_uncompressed() {
    sweep(Compression::None);
}

#[test]
fn every_flipped_byte_is_detected_or_harmless_zstd() {
    sweep(Compression::ZSTD);
}

#[test]
fn every_flipped_byte_is_detected_or_harmless_lz4() {
    // The sweep only means something if blocks were stored lz4-compressed.
    let (_, plain) = fixture(Compression::None);
    let (_, lz4) = fixture(Compression::Lz4);
    assert!(
        lz4.len() + 100 < plain.len(),
        "the lz4 fixture stored (almost) no block compressed"
    );
    sweep(Compression::Lz4);
}

#[test]
fn truncation_at_every_length_is_an_error() {
    let (model, bytes) = fixture(Compression::ZSTD);
    for len in 0..bytes.len() {
        let err = read_all(bytes[..len].to_vec(), &model).unwrap_err();
        assert!(err.is_corruption(), "truncated to {len}: {err:?}");
    }
}
