//! Offline inspection for tools: dump a manifest or a WAL, check a database's files.
//!
//! These are library functions so `strata-ctl` stays a thin binary and tests can call them.

use std::io::Write;
use std::path::Path;

use crate::batch::WalBatches;
use crate::error::{Error, Result};
use crate::filename;
use crate::fs::FileSystem;
use crate::key::ParsedKey;
use crate::version::VersionEdit;

fn out_err(e: std::io::Error) -> Error {
    Error::io("<output>", e)
}

/// Prints every edit of the live manifest of the database in `dir`; returns how many.
///
/// # Errors
/// `Io` reading `CURRENT` or the manifest, `Corruption` for damage (after printing what
/// precedes it).
pub fn dump_manifest(fs: &dyn FileSystem, dir: &Path, out: &mut dyn Write) -> Result<u64> {
    let current = crate::fs::read_file(fs, &filename::current(dir))?;
    let name = String::from_utf8_lossy(&current).trim_end().to_owned();
    let path = dir.join(&name);
    let bytes = crate::fs::read_file(fs, &path)?;
    writeln!(out, "manifest {} ({} bytes)", path.display(), bytes.len()).map_err(out_err)?;
    let mut reader = wal::Reader::new(&bytes[..], name, wal::RecoveryMode::Absolute);
    let mut record = Vec::new();
    let mut n = 0;
    while let Some(offset) = reader
        .read_record(&mut record)
        .map_err(|e| Error::Corruption {
            file: path.display().to_string(),
            offset: 0,
            reason: e.to_string(),
        })?
    {
        let edit = VersionEdit::decode(&record).map_err(|(at, reason)| Error::Corruption {
            file: path.display().to_string(),
            offset: offset + at as u64,
            reason,
        })?;
        writeln!(out, "@{offset} {}", describe_edit(&edit)).map_err(out_err)?;
        n += 1;
    }
    Ok(n)
}

fn describe_edit(e: &VersionEdit) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &e.comparator {
        parts.push(format!("comparator={c}"));
    }
    if let Some(v) = e.log_number {
        parts.push(format!("log={v}"));
    }
    if let Some(v) = e.next_file_number {
        parts.push(format!("next-file={v}"));
    }
    if let Some(v) = e.last_sequence {
        parts.push(format!("last-seq={v}"));
    }
    for (id, name) in &e.added_cfs {
        parts.push(format!("+cf {id}={name}"));
    }
    for id in &e.dropped_cfs {
        parts.push(format!("-cf {id}"));
    }
    for (level, n) in &e.deleted_files {
        parts.push(format!("-L{level} #{n}"));
    }
    for (level, f) in &e.new_files {
        parts.push(format!(
            "+L{level} #{} {}B seq {}..{} entries {} deletions {} [{} .. {}]",
            f.number,
            f.size,
            f.smallest_seq,
            f.largest_seq,
            f.stats.entries,
            f.stats.deletions,
            describe_key(&f.smallest),
            describe_key(&f.largest)
        ));
    }
    parts.join(" ")
}

/// Renders an internal key as `cf:'user key'@seq:kind`.
pub fn describe_key(key: &[u8]) -> String {
    match ParsedKey::parse(key) {
        Some(k) => format!(
            "{}:'{}'@{}:{:?}",
            k.cf,
            sstable::escape(k.user_key, false),
            k.seq,
            k.kind
        ),
        None => format!("<malformed {}>", sstable::escape(key, true)),
    }
}

/// Prints every batch of the WAL at `path`; returns the number of batches. Stops at the
/// first damaged record, which is reported as the error (after printing what precedes it).
///
/// # Errors
/// `Io` reading the file; `Corruption` at the first damaged record or batch.
pub fn dump_wal(fs: &dyn FileSystem, path: &Path, hex: bool, out: &mut dyn Write) -> Result<u64> {
    let bytes = crate::fs::read_file(fs, path)?;
    let name = path.display().to_string();
    let mut batches = WalBatches::new(&bytes, name.clone());
    let mut n = 0;
    while let Some((offset, batch)) = batches.next_batch()? {
        writeln!(
            out,
            "@{offset} seq {} ops {}",
            batch.sequence(),
            batch.len()
        )
        .map_err(out_err)?;
        for op in batch.iter() {
            writeln!(
                out,
                "  {:?} cf {} '{}' '{}'",
                op.kind,
                op.cf,
                sstable::escape(op.key, hex),
                sstable::escape(op.value, hex)
            )
            .map_err(out_err)?;
        }
        n += 1;
    }
    if let Some(stop) = batches.stopped_at() {
        return Err(Error::Corruption {
            file: name,
            offset: stop.offset,
            reason: stop.reason.to_string(),
        });
    }
    Ok(n)
}
