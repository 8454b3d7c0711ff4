//! `strata-bench`: Strata's storage benchmarks.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use strata_benches::run::{run, run_child_from};
use strata_benches::server::ServerArgs;
use strata_benches::settings::EngineArgs;
use strata_benches::txn::TxnArgs;

#[derive(Parser)]
#[command(version, about = "Strata's storage benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// db_bench-style workloads against Strata, RocksDB and fjall, side by side.
    Engine(Box<EngineArgs>),
    /// Transactions per second through Strata's transaction layer, in process.
    Txn(Box<TxnArgs>),
    /// Operations per second through the server: tikv-client against a node in process,
    /// beside an empty gRPC call's ceiling.
    Server(Box<ServerArgs>),
    /// Internal: one engine's run in a child process of `engine --engine all`.
    #[command(hide = true)]
    EngineChild { args_file: PathBuf },
}

fn main() -> ExitCode {
    // Every engine's process alike (each runs in a child of this binary): glibc with its
    // mmap threshold pinned, so what a workload frees goes back to the OS.
    lsm::malloc::pin_mmap_threshold();
    // The engines' events (Strata's flushes and compactions, `RUST_LOG=lsm=info`) on stderr;
    // nothing unless asked, so the report stays as it is.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Cmd::Engine(args) => run(*args),
        Cmd::EngineChild { args_file } => run_child_from(&args_file),
        Cmd::Txn(args) => strata_benches::txn::run(*args),
        Cmd::Server(args) => strata_benches::server::run(*args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strata-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
