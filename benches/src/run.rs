//! `strata-bench engine`: runs one engine here, or each engine in a child process of its own
//! (fresh directory, fresh counters, its own peak RSS) and prints them side by side.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::driver::run_engine;
use crate::engines::EngineKind;
use crate::error::{Error, Result};
use crate::procstat::machine_description;
use crate::report::{comparison_table, EngineReport};
use crate::settings::{EngineArgs, EngineChoice, Output};
use crate::workload::parse_list;

/// The whole run, as `--output json` prints it.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunReport {
    /// The machine the run measured.
    pub machine: String,
    /// The flags of the run.
    pub args: EngineArgs,
    /// One report per engine, in run order.
    pub engines: Vec<EngineReport>,
}

/// Runs `strata-bench engine` with `args`.
///
/// # Errors
/// `Usage` for bad flags, the engines' errors, `Child` when a child run fails.
pub fn run(args: EngineArgs) -> Result<()> {
    let list = parse_list(&args.benchmarks)?;
    if list.is_empty() {
        return Err(Error::Usage("--benchmarks names no workload".into()));
    }
    if !(args.compression_ratio > 0.0 && args.compression_ratio <= 1.0) {
        return Err(Error::Usage("--compression-ratio must be in (0, 1]".into()));
    }
    if args.use_existing_db && list.iter().any(|w| w.fresh_db()) {
        return Err(Error::Usage(
            "--use-existing-db runs no fill workload".into(),
        ));
    }
    if args.num == 0 {
        return Err(Error::Usage("--num must be positive".into()));
    }
    // A child: one engine, lines to stdout, the report to the file the parent reads.
    if let Some(report_file) = &args.report_file {
        let [kind] = args.engine.engines()[..] else {
            return Err(Error::Usage("a child run takes one engine".into()));
        };
        let dir = args
            .db
            .clone()
            .ok_or_else(|| Error::Usage("a child run needs --db".into()))?;
        let report = run_engine(kind, &args, &list, &dir, &mut |line| println!("{line}"))?;
        let _ = std::fs::remove_dir_all(&dir);
        let json = serde_json::to_vec(&report).map_err(|e| Error::Usage(e.to_string()))?;
        std::fs::write(report_file, json)?;
        return Ok(());
    }

    let (base, temporary) = match &args.db {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!("strata-bench-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&base)?;
    let machine = machine_description();
    let text = args.output == Output::Text;
    let say = |line: &str| {
        if text {
            println!("{line}");
        } else {
            eprintln!("{line}");
        }
    };
    say(&format!("Machine:    {machine}"));
    say(&format!(
        "Keys:       {} bytes each; values {} bytes each ({:.0}% after compression); {} entries",
        args.key_size,
        args.value_size,
        args.compression_ratio * 100.0,
        args.num
    ));
    say(&format!(
        "Settings:   memtable {} MiB (at most {}), block {} B, cache {} MiB, bloom {} bits/key, {:?} \
         compression, {} background threads, WAL on, sync {}, seed {}",
        args.write_buffer_size >> 20,
        args.max_write_buffers,
        args.block_size,
        args.cache_size >> 20,
        args.bloom_bits,
        args.compression,
        args.background_threads,
        args.sync,
        args.seed
    ));
    say(&format!("Benchmarks: {}", args.benchmarks));
    let engines = args.engines();
    let names: Vec<String> = engines.iter().map(|k| k.to_string()).collect();
    say(&format!(
        "Engines:    {} (run in this order)",
        names.join(", ")
    ));

    let mut reports = Vec::new();
    for kind in engines.iter().copied() {
        say(&format!("== {kind}"));
        // Each engine starts on a quiet disk: what its predecessor (or the build before the
        // run) left dirty in the page cache is written back now, not during this engine's
        // first workload, which would otherwise pay for it.
        let syncing = Instant::now();
        nix::unistd::sync();
        say(&format!(
            "(page cache written back in {} ms before this engine's turn)",
            syncing.elapsed().as_millis()
        ));
        let dir = base.join(kind.to_string());
        let report = if args.engine == EngineChoice::All {
            run_child(kind, &args, &dir, text)?
        } else {
            let report = run_engine(kind, &args, &list, &dir, &mut |line| say(line))?;
            if temporary {
                let _ = std::fs::remove_dir_all(&dir);
            }
            report
        };
        if !report.engine_stats.is_empty() {
            say(&format!(
                "{kind} statistics:\n{}",
                report.engine_stats.trim_end()
            ));
        }
        say(report.summary().trim_end());
        reports.push(report);
    }
    if reports.len() > 1 {
        say("== comparison (ops/sec; ratios are Strata's ops/sec over the other's)");
        say(comparison_table(&reports).trim_end());
    }
    if temporary {
        let _ = std::fs::remove_dir_all(&base);
    }
    if !text {
        let report = RunReport {
            machine,
            args,
            engines: reports,
        };
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, &report)
            .map_err(|e| Error::Usage(e.to_string()))?;
        writeln!(stdout)?;
    }
    Ok(())
}

/// Runs one engine in a child process of this binary and reads back its report.
fn run_child(kind: EngineKind, args: &EngineArgs, dir: &Path, text: bool) -> Result<EngineReport> {
    let fail = |reason: String| Error::Child {
        engine: kind.to_string(),
        reason,
    };
    let report_file: PathBuf = dir.with_extension("report.json");
    let mut child_args = args.clone();
    child_args.engine = match kind {
        EngineKind::Strata => EngineChoice::Strata,
        EngineKind::Rocksdb => EngineChoice::Rocksdb,
        EngineKind::Fjall => EngineChoice::Fjall,
    };
    child_args.db = Some(dir.to_path_buf());
    child_args.report_file = Some(report_file.clone());
    let config_file = dir.with_extension("args.json");
    let json = serde_json::to_vec(&child_args).map_err(|e| fail(e.to_string()))?;
    std::fs::write(&config_file, json)?;
    let exe = std::env::current_exe()?;
    let stdout = if text {
        Stdio::inherit()
    } else {
        Stdio::from(std::io::stderr())
    };
    let status = Command::new(exe)
        .arg("engine-child")
        .arg(&config_file)
        .stdout(stdout)
        .status()?;
    let _ = std::fs::remove_file(&config_file);
    if !status.success() {
        return Err(fail(format!("exited with {status}")));
    }
    let bytes = std::fs::read(&report_file).map_err(|e| fail(e.to_string()))?;
    let _ = std::fs::remove_file(&report_file);
    serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))
}

/// The child's entry: reads the arguments the parent wrote and runs them.
///
/// # Errors
/// As [`run`].
pub fn run_child_from(config_file: &Path) -> Result<()> {
    let bytes = std::fs::read(config_file)?;
    let args: EngineArgs =
        serde_json::from_slice(&bytes).map_err(|e| Error::Usage(e.to_string()))?;
    run(args)
}
