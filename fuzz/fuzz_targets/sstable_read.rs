//! Feeds arbitrary bytes to `sstable::Table` as an in-memory table file.
//!
//! Beyond "never panics" (and never hangs: every walk is bounded), checks that damage is
//! reported as damage: reading an in-memory table can only fail with `Corruption`,
//! `UnsupportedVersion` or `ComparatorMismatch`, never with `Io` (there is no I/O to fail) or
//! a writer's error.
//!
//! If the table opens, the target walks it forward and backward, seeks to and looks up keys
//! it saw and keys cut from the input, and runs `sstable::dump` (`verify`, `check`, `raw`,
//! `properties`) on a copy in a temp file. Valid tables are rare in random input; a few real
//! tables in the corpus (any table written by `TableBuilder`) make the fuzzer far more useful,
//! and libFuzzer's comparison tracing lets it repair the crc32 of a block it mutated.

#![no_main]

use std::sync::Arc;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sstable::{DumpCommand, DumpOptions, Error, OutputFormat, ReadOptions, Table};

/// Most iterator movements per walk.
const MAX_STEPS: usize = 10_000;
/// Keys kept from the walks to probe with afterwards.
const MAX_SEEN: usize = 8;

fuzz_target!(|data: &[u8]| {
    let file = Box::new(Bytes::copy_from_slice(data));
    let table = match Table::from_file(file, "fuzz", &ReadOptions::default()) {
        Ok(table) => table,
        Err(e) => return expect_damage(&e),
    };
    assert_eq!(table.file_size(), data.len() as u64);
    let _ = table.filter_info();
    let props = table.properties();
    let _ = props.user_u64("fuzz");
    match table.index_entries() {
        Ok(entries) => assert!(entries.len() <= data.len(), "more index entries than bytes"),
        Err(e) => expect_damage(&e),
    }

    let mut seen = Vec::new();
    walk(&table, true, &mut seen);
    walk(&table, false, &mut seen);

    let mut probes = seen;
    probes.push(props.smallest_key.clone());
    probes.push(props.largest_key.clone());
    probes.push(Vec::new());
    probes.push(data.get(..16.min(data.len())).unwrap_or_default().to_vec());
    probes.push(
        data.get(data.len().saturating_sub(16)..)
            .unwrap_or_default()
            .to_vec(),
    );
    probes.push(vec![0xff; 17]);
    for key in &probes {
        probe(&table, key);
    }

    dump_all(data);
});

/// Walks the table from one end, stepping at most `MAX_STEPS` times; keeps a few keys.
fn walk(table: &Arc<Table>, forward: bool, seen: &mut Vec<Vec<u8>>) {
    let mut it = table.iter();
    let start = if forward {
        it.seek_to_first()
    } else {
        it.seek_to_last()
    };
    if let Err(e) = start {
        return expect_damage(&e);
    }
    for step in 0..MAX_STEPS {
        if !it.valid() {
            return;
        }
        let _ = (it.key(), it.value(), it.value_bytes());
        if step % 97 == 0 && seen.len() < MAX_SEEN {
            seen.push(it.key().to_vec());
        }
        let moved = if forward { it.next() } else { it.prev() };
        if let Err(e) = moved {
            assert!(!it.valid(), "an iterator stays valid after an error");
            return expect_damage(&e);
        }
    }
}

/// Every way of looking up `key`.
fn probe(table: &Arc<Table>, key: &[u8]) {
    let _ = table.may_contain(key);
    if let Err(e) = table.get(key) {
        expect_damage(&e);
    }
    if let Err(e) = table.approximate_offset_of(key) {
        expect_damage(&e);
    }
    if let Err(e) = table.lower_bound(key) {
        expect_damage(&e);
    }
    let mut it = table.iter();
    match it.seek(key) {
        Ok(()) => {
            for _ in 0..4 {
                if !it.valid() {
                    break;
                }
                if let Err(e) = it.prev() {
                    expect_damage(&e);
                    break;
                }
            }
        }
        Err(e) => expect_damage(&e),
    }
    if let Err(e) = it.seek_for_prev(key) {
        expect_damage(&e);
    }
}

/// Runs the `sst-dump` commands on a copy of the input. Only reached by inputs that open, so
/// the file write is rare.
fn dump_all(data: &[u8]) {
    let path = std::env::temp_dir().join(format!("strata-fuzz-sstable-{}.sst", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let commands = [
        (DumpCommand::Verify, OutputFormat::Text),
        (DumpCommand::Check, OutputFormat::Text),
        (DumpCommand::Raw, OutputFormat::Text),
        (DumpCommand::Scan, OutputFormat::Json),
        (DumpCommand::Properties, OutputFormat::Json),
    ];
    for (command, output) in commands {
        let options = DumpOptions {
            command,
            output,
            limit: Some(MAX_STEPS as u64),
            hex: command == DumpCommand::Scan,
            ..DumpOptions::default()
        };
        match sstable::dump(&path, &options, &mut std::io::sink()) {
            Ok(report) => {
                for e in &report.problems {
                    expect_damage(e);
                }
            }
            Err(e) => expect_damage(&e),
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// Reading bytes already in memory can only find them damaged.
fn expect_damage(e: &Error) {
    assert!(
        matches!(
            e,
            Error::Corruption { .. }
                | Error::UnsupportedVersion { .. }
                | Error::ComparatorMismatch { .. }
        ),
        "reading an in-memory table failed with a non-corruption error: {e:?}"
    );
}
