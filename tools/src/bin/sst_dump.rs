//! `sst-dump`: inspect and verify Strata table files, in the manner of RocksDB's `sst_dump`.
//!
//! Every command is `sstable::dump`; this binary parses flags, expands directories into the
//! tables they hold, shows progress on a terminal, and turns damage into a non-zero exit.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use sstable::{dump, parse_key, DumpCommand, DumpOptions, OutputFormat, ReadOptions};

#[derive(Parser, Debug)]
#[command(
    name = "sst-dump",
    version,
    about = "Inspect and verify Strata SST files"
)]
struct Args {
    /// Table files, or directories whose `*.sst` files are all processed.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// What to do with each table.
    #[arg(long, value_enum, default_value_t = Command::Scan)]
    command: Command,
    /// First key to print (scan); hex with --hex.
    #[arg(long)]
    from: Option<String>,
    /// Stop before this key (scan); hex with --hex.
    #[arg(long)]
    to: Option<String>,
    /// Print at most N entries per table (scan).
    #[arg(long)]
    limit: Option<u64>,
    /// Keys and values in hex, both in output and in --from/--to.
    #[arg(long)]
    hex: bool,
    /// Also print each table's properties.
    #[arg(long)]
    show_properties: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Read with pread instead of mapping the file.
    #[arg(long)]
    no_mmap: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Command {
    Scan,
    Check,
    Verify,
    Raw,
    Properties,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Output {
    Text,
    Json,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("sst-dump: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Returns whether every table was sound.
fn run(args: Args) -> Result<bool> {
    let files = expand(&args.paths)?;
    let options = DumpOptions {
        command: match args.command {
            Command::Scan => DumpCommand::Scan,
            Command::Check => DumpCommand::Check,
            Command::Verify => DumpCommand::Verify,
            Command::Raw => DumpCommand::Raw,
            Command::Properties => DumpCommand::Properties,
        },
        from: args.from.map(|k| parse_key(&k, args.hex)).transpose()?,
        to: args.to.map(|k| parse_key(&k, args.hex)).transpose()?,
        limit: args.limit,
        hex: args.hex,
        show_properties: args.show_properties,
        output: match args.output {
            Output::Text => OutputFormat::Text,
            Output::Json => OutputFormat::Json,
        },
        read: ReadOptions {
            use_mmap: !args.no_mmap,
            ..ReadOptions::default()
        },
        // Tables written by the engine order internal keys with its comparator.
        comparators: vec![std::sync::Arc::new(lsm::key::InternalKeyComparator)],
    };
    let progress = (files.len() > 1 && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(files.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} tables {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut all_ok = true;
    for file in &files {
        if files.len() > 1 && matches!(options.output, OutputFormat::Text) {
            writeln!(out, "==> {} <==", file.display())?;
        }
        match dump(file, &options, &mut out) {
            Ok(report) if report.problems.is_empty() => {}
            Ok(report) => {
                all_ok = false;
                for p in report.problems {
                    report_problem(&progress, &format!("{p}"));
                }
            }
            Err(e) => {
                all_ok = false;
                report_problem(&progress, &format!("{}: {e}", file.display()));
            }
        }
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    }
    out.flush()?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    Ok(all_ok)
}

fn report_problem(progress: &Option<indicatif::ProgressBar>, line: &str) {
    match progress {
        Some(bar) => bar.println(format!("sst-dump: {line}")),
        None => eprintln!("sst-dump: {line}"),
    }
}

/// Files as given, directories replaced by their `*.sst` files in name order.
fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            files.extend(tables_in(path)?);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn tables_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut tables = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "sst") {
            tables.push(path);
        }
    }
    tables.sort();
    Ok(tables)
}
