//! `strata-ctl`: offline administration of a Strata data directory, in the manner of RocksDB's
//! `ldb` and `tikv-ctl`. Every command is a library call on `lsm`; this binary parses flags and
//! prints.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use lsm::fs::StdFs;
use lsm::iter::IterOptions;
use lsm::{Db, Options, WriteOptions};
use sstable::{escape, parse_key};

#[derive(Parser, Debug)]
#[command(
    name = "strata-ctl",
    version,
    about = "Inspect and repair-free administration of a Strata data directory"
)]
struct Args {
    /// The database directory.
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    /// Column family (default, lock, write, raft or a created one).
    #[arg(long, global = true, default_value = "default")]
    cf: String,
    /// Keys and values in hex (input and output).
    #[arg(long, global = true)]
    hex: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Print the value of KEY (exit code 1 if absent).
    Get { key: String },
    /// Write KEY = VALUE (returns once durable).
    Put { key: String, value: String },
    /// Delete KEY (returns once durable).
    Delete { key: String },
    /// Print entries, one per line.
    Scan {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        limit: Option<u64>,
    },
    /// Compact a key range (the whole column family by default) down the tree.
    Compact {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
    /// Print per-level shape and counters.
    Stats,
    /// Print the live manifest's version edits.
    Manifest,
    /// Open the database and verify every table's checksums; exit non-zero on damage.
    Check,
    /// Print the batches of a WAL file.
    WalDump { file: PathBuf },
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("strata-ctl: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn db_dir(args: &Args) -> Result<&Path> {
    args.db
        .as_deref()
        .ok_or_else(|| anyhow!("--db DIR is required for this command"))
}

fn open(dir: &Path) -> Result<Db> {
    let options = Options {
        create_if_missing: false,
        ..Options::default()
    };
    Db::open(dir, options).with_context(|| format!("opening {}", dir.display()))
}

fn cf_of(db: &Db, name: &str) -> Result<u8> {
    db.cf_id(name)
        .ok_or_else(|| anyhow!("no column family named {name:?}"))
}

fn run(args: Args) -> Result<ExitCode> {
    let key = |k: &str| parse_key(k, args.hex).map_err(|e| anyhow!("{e}"));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match &args.command {
        Cmd::WalDump { file } => {
            lsm::inspect::dump_wal(&StdFs::new(), file, args.hex, &mut out)?;
        }
        Cmd::Manifest => {
            lsm::inspect::dump_manifest(&StdFs::new(), db_dir(&args)?, &mut out)?;
        }
        Cmd::Get { key: k } => {
            let db = open(db_dir(&args)?)?;
            match db.get(cf_of(&db, &args.cf)?, &key(k)?, None)? {
                Some(v) => writeln!(out, "{}", escape(&v, args.hex))?,
                None => {
                    out.flush()?;
                    eprintln!("strata-ctl: key not found");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        Cmd::Put { key: k, value } => {
            let db = open(db_dir(&args)?)?;
            let v = key(value)?;
            db.put(
                cf_of(&db, &args.cf)?,
                &key(k)?,
                &v,
                WriteOptions { sync: true },
            )?;
            db.close()?;
        }
        Cmd::Delete { key: k } => {
            let db = open(db_dir(&args)?)?;
            db.delete(cf_of(&db, &args.cf)?, &key(k)?, WriteOptions { sync: true })?;
            db.close()?;
        }
        Cmd::Scan { from, to, limit } => {
            let db = open(db_dir(&args)?)?;
            let options = IterOptions {
                lower_bound: from.as_deref().map(key).transpose()?,
                upper_bound: to.as_deref().map(key).transpose()?,
            };
            let mut it = db.iter(cf_of(&db, &args.cf)?, options, None)?;
            it.seek_to_first()?;
            let mut n = 0;
            while it.valid() && limit.is_none_or(|l| n < l) {
                writeln!(
                    out,
                    "'{}' => '{}'",
                    escape(it.key(), args.hex),
                    escape(it.value(), args.hex)
                )?;
                n += 1;
                it.next()?;
            }
        }
        Cmd::Compact { from, to } => {
            let db = open(db_dir(&args)?)?;
            let (from, to) = (
                from.as_deref().map(key).transpose()?,
                to.as_deref().map(key).transpose()?,
            );
            let bar = std::io::stderr().is_terminal().then(|| {
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "compacting {bar:30} level {pos}/{len} {elapsed}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                bar
            });
            let mut progress = |done: usize, steps: usize| {
                if let Some(b) = &bar {
                    b.set_length(steps as u64);
                    b.set_position(done as u64);
                }
            };
            db.compact_range_with_progress(
                cf_of(&db, &args.cf)?,
                from.as_deref(),
                to.as_deref(),
                &mut progress,
            )?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            writeln!(out, "{}", db.stats())?;
            db.close()?;
        }
        Cmd::Stats => {
            let db = open(db_dir(&args)?)?;
            writeln!(out, "{}", db.stats())?;
        }
        Cmd::Check => {
            let db = open(db_dir(&args)?)?;
            let (checked, problems) = db.verify();
            if !problems.is_empty() {
                out.flush()?;
                for p in &problems {
                    eprintln!("strata-ctl: {p}");
                }
                bail!("{} problem(s) in {checked} table(s)", problems.len());
            }
            writeln!(out, "OK: manifest and {checked} table(s) verified")?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
