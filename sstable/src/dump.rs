//! `dump`: everything the `sst-dump` tool does, as a library function.
//!
//! Commands: `scan` prints entries, `check` reads every entry and compares the count with the
//! properties, `verify` reads every block from the file (bypassing any cache) and checks its
//! checksum and structure, `raw` prints the footer, index, filter and every block's entries,
//! `properties` prints the properties block. Damage found while verifying or checking is
//! collected in the report rather than ending the dump, so one run names every bad block.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::block::BlockIter;
use crate::comparator::Comparator;
use crate::error::{Error, Result};
use crate::options::ReadOptions;
use crate::properties::TableProperties;
use crate::table::Table;

/// What `dump` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DumpCommand {
    /// Print entries in `[from, to)`, up to `limit`.
    #[default]
    Scan,
    /// Read every entry; compare the count with the properties block.
    Check,
    /// Read every block from the file and verify its checksum and structure.
    Verify,
    /// Print the table's structure: footer, index, filter, and each block's entries.
    Raw,
    /// Print the properties block.
    Properties,
}

/// How `dump` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// One human-readable line per item.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Options of [`dump`].
#[derive(Debug, Clone, Default)]
pub struct DumpOptions {
    /// The command to run.
    pub command: DumpCommand,
    /// `scan` starts at the first key >= this.
    pub from: Option<Vec<u8>>,
    /// `scan` stops before the first key >= this.
    pub to: Option<Vec<u8>>,
    /// `scan` prints at most this many entries.
    pub limit: Option<u64>,
    /// Print keys and values as hex instead of escaped text.
    pub hex: bool,
    /// Also print the properties after the command's own output.
    pub show_properties: bool,
    /// Text or JSON lines.
    pub output: OutputFormat,
    /// How to open the table (cache, mmap, comparator, filter key).
    pub read: ReadOptions,
    /// Further comparators the table may be written with; the one it names is used.
    pub comparators: Vec<Arc<dyn Comparator>>,
}

/// What a dump found.
#[derive(Debug, Default)]
pub struct DumpReport {
    /// Entries read (printed, for `scan`).
    pub entries: u64,
    /// Blocks read (for `verify` and `raw`).
    pub blocks: u64,
    /// Damage found; empty when the table is sound (as far as the command looked).
    pub problems: Vec<Error>,
}

/// Runs `options.command` on the table at `path`, printing to `out`.
///
/// # Errors
/// The table cannot be opened (missing file, damaged footer, properties or index, unknown
/// comparator), an entry cannot be read during `scan` or `check`, or `out` fails.
pub fn dump(path: &Path, options: &DumpOptions, out: &mut dyn Write) -> Result<DumpReport> {
    let table = open_for_dump(path, options)?;
    let w = |out: &mut dyn Write, line: String| {
        writeln!(out, "{line}").map_err(|e| Error::io("<output>", e))
    };
    let mut report = DumpReport::default();
    match options.command {
        DumpCommand::Scan => scan(&table, options, out, &mut report)?,
        DumpCommand::Check => {
            check(&table, &mut report)?;
            w(out, summary(&table, options, "check", &report))?;
        }
        DumpCommand::Verify => {
            verify(&table, &mut report)?;
            w(out, summary(&table, options, "verify", &report))?;
        }
        DumpCommand::Raw => raw(&table, options, out, &mut report)?,
        DumpCommand::Properties => {}
    }
    if options.command == DumpCommand::Properties || options.show_properties {
        print_properties(table.properties(), options, out)?;
    }
    Ok(report)
}

fn open_for_dump(path: &Path, options: &DumpOptions) -> Result<Arc<Table>> {
    match Table::open(path, &options.read) {
        Err(Error::ComparatorMismatch { found, .. }) => {
            let Some(cmp) = options.comparators.iter().find(|c| c.name() == found) else {
                return Err(Error::ComparatorMismatch {
                    file: path.display().to_string(),
                    expected: options.read.comparator.name().to_owned(),
                    found,
                });
            };
            let read = ReadOptions {
                comparator: cmp.clone(),
                ..options.read.clone()
            };
            Table::open(path, &read)
        }
        other => other,
    }
}

fn scan(
    table: &Arc<Table>,
    options: &DumpOptions,
    out: &mut dyn Write,
    report: &mut DumpReport,
) -> Result<()> {
    let mut it = table.iter();
    match &options.from {
        Some(from) => it.seek(from)?,
        None => it.seek_to_first()?,
    }
    let cmp = table.comparator();
    while it.valid() {
        if options.limit.is_some_and(|l| report.entries >= l) {
            break;
        }
        if let Some(to) = &options.to {
            if cmp.compare(it.key(), to) != std::cmp::Ordering::Less {
                break;
            }
        }
        let line = entry_line(it.key(), it.value(), options);
        writeln!(out, "{line}").map_err(|e| Error::io("<output>", e))?;
        report.entries += 1;
        it.next()?;
    }
    Ok(())
}

fn entry_line(key: &[u8], value: &[u8], options: &DumpOptions) -> String {
    let (k, v) = (escape(key, options.hex), escape(value, options.hex));
    match options.output {
        OutputFormat::Text => format!("'{k}' => '{v}'"),
        OutputFormat::Json => serde_json::json!({ "key": k, "value": v }).to_string(),
    }
}

fn check(table: &Arc<Table>, report: &mut DumpReport) -> Result<()> {
    let mut it = table.iter();
    it.seek_to_first()?;
    let mut previous: Option<Vec<u8>> = None;
    while it.valid() {
        if let Some(p) = &previous {
            if table.comparator().compare(p, it.key()) != std::cmp::Ordering::Less {
                report.problems.push(Error::corruption(
                    table.name(),
                    0,
                    format!(
                        "entry {} is not in order after the previous key",
                        report.entries
                    ),
                ));
            }
        }
        previous = Some(it.key().to_vec());
        report.entries += 1;
        it.next()?;
    }
    let expected = table.properties().num_entries;
    if report.entries != expected {
        report.problems.push(Error::corruption(
            table.name(),
            table.footer().properties.offset,
            format!(
                "read {} entries but the properties block records {expected}",
                report.entries
            ),
        ));
    }
    Ok(())
}

/// Reads every data block from the file and walks its entries; records each damaged block.
fn verify(table: &Arc<Table>, report: &mut DumpReport) -> Result<()> {
    let (entries, blocks, problems) = table.verify()?;
    report.entries += entries;
    report.blocks += blocks;
    report.problems.extend(problems);
    Ok(())
}

fn summary(table: &Table, options: &DumpOptions, what: &str, report: &DumpReport) -> String {
    let ok = report.problems.is_empty();
    match options.output {
        OutputFormat::Text if ok => format!(
            "{}: {what} OK ({} entries, {} blocks)",
            table.name(),
            report.entries,
            report.blocks
        ),
        OutputFormat::Text => {
            let mut s = format!("{}: {what} FAILED", table.name());
            for p in &report.problems {
                s.push_str(&format!("\n  {p}"));
            }
            s
        }
        OutputFormat::Json => serde_json::json!({
            "file": table.name(),
            "command": what,
            "ok": ok,
            "entries": report.entries,
            "blocks": report.blocks,
            "problems": report.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        })
        .to_string(),
    }
}

fn raw(
    table: &Arc<Table>,
    options: &DumpOptions,
    out: &mut dyn Write,
    report: &mut DumpReport,
) -> Result<()> {
    let mut lines = Vec::new();
    let f = table.footer();
    lines.push(format!(
        "file: {} ({} bytes)",
        table.name(),
        table.file_size()
    ));
    lines.push(format!(
        "footer: version {} index {}+{} filter {}+{} properties {}+{}",
        f.version,
        f.index.offset,
        f.index.size,
        f.filter.offset,
        f.filter.size,
        f.properties.offset,
        f.properties.size
    ));
    match table.filter_info() {
        Some((probes, size)) => lines.push(format!("filter: {size} bytes, {probes} probes")),
        None => lines.push("filter: none usable".to_owned()),
    }
    for line in lines.drain(..) {
        writeln!(out, "{line}").map_err(|e| Error::io("<output>", e))?;
    }
    for (i, (separator, handle)) in table.index_entries()?.into_iter().enumerate() {
        report.blocks += 1;
        writeln!(
            out,
            "block {i}: offset {} size {} separator '{}'",
            handle.offset,
            handle.size,
            escape(&separator, options.hex)
        )
        .map_err(|e| Error::io("<output>", e))?;
        let mut it = BlockIter::new(table.read_block_uncached(handle)?);
        it.seek_to_first()
            .map_err(|e| table.block_corruption(handle, e))?;
        while it.valid() {
            let line = entry_line(it.key(), it.value(), options);
            writeln!(out, "  {line}").map_err(|e| Error::io("<output>", e))?;
            report.entries += 1;
            it.next().map_err(|e| table.block_corruption(handle, e))?;
        }
    }
    Ok(())
}

fn print_properties(p: &TableProperties, options: &DumpOptions, out: &mut dyn Write) -> Result<()> {
    let io = |e| Error::io("<output>", e);
    if options.output == OutputFormat::Json {
        let json = serde_json::to_string(p).map_err(|e| Error::io("<output>", e.into()))?;
        return writeln!(out, "{json}").map_err(io);
    }
    let hex = options.hex;
    let rows: Vec<(&str, String)> = vec![
        ("format version", p.format_version.to_string()),
        ("entries", p.num_entries.to_string()),
        ("data blocks", p.num_data_blocks.to_string()),
        ("raw key size", p.raw_key_size.to_string()),
        ("raw value size", p.raw_value_size.to_string()),
        ("data size", p.data_size.to_string()),
        ("index size", p.index_size.to_string()),
        ("filter size", p.filter_size.to_string()),
        (
            "smallest key",
            format!("'{}'", escape(&p.smallest_key, hex)),
        ),
        ("largest key", format!("'{}'", escape(&p.largest_key, hex))),
        ("compression", p.compression.clone()),
        ("comparator", p.comparator.clone()),
        ("filter key", p.filter_key.clone()),
        ("bloom bits per key", p.bloom_bits_per_key.to_string()),
        ("creation time", p.creation_time.to_string()),
    ];
    for (name, value) in rows {
        writeln!(out, "{name:>20}: {value}").map_err(io)?;
    }
    for (name, value) in &p.user {
        writeln!(
            out,
            "{:>20}: '{}'",
            format!("user.{name}"),
            escape(value, hex)
        )
        .map_err(io)?;
    }
    Ok(())
}

/// Renders bytes for printing: `0x`-prefixed hex, or text with `\xNN` for non-printables.
pub fn escape(bytes: &[u8], hex: bool) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * if hex { 2 } else { 1 } + 2);
    if hex {
        s.push_str("0x");
        for b in bytes {
            let _ = write!(s, "{b:02X}");
        }
    } else {
        for &b in bytes {
            match b {
                b'\\' => s.push_str("\\\\"),
                b'\'' => s.push_str("\\'"),
                0x20..=0x7e => s.push(b as char),
                _ => {
                    let _ = write!(s, "\\x{b:02x}");
                }
            }
        }
    }
    s
}

/// Parses a key given on a command line: `0x`-prefixed hex when `hex`, else the bytes as typed.
///
/// # Errors
/// `InvalidArgument` for malformed hex.
pub fn parse_key(text: &str, hex: bool) -> Result<Vec<u8>> {
    if !hex {
        return Ok(text.as_bytes().to_vec());
    }
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if digits.len() % 2 != 0 {
        return Err(Error::InvalidArgument(format!(
            "odd number of hex digits in {text:?}"
        )));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16)
                .map_err(|_| Error::InvalidArgument(format!("bad hex in {text:?}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_and_parse_roundtrip() {
        let bytes = b"a\x00'\\\xffz";
        assert_eq!(escape(bytes, false), "a\\x00\\'\\\\\\xffz");
        let hex = escape(bytes, true);
        assert_eq!(hex, "0x6100275CFF7A");
        assert_eq!(parse_key(&hex, true).unwrap(), bytes);
        assert!(parse_key("0x123", true).is_err());
        assert!(parse_key("0xzz", true).is_err());
        assert_eq!(parse_key("plain", false).unwrap(), b"plain");
    }
}
