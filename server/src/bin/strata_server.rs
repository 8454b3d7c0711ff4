//! `strata-server`: parses flags, loads the configuration and runs [`server::run`] (a node),
//! `server::pd::run_alone` (`pd`) or `server::playground::run` (`playground`) until SIGINT
//! or SIGTERM. Everything else is in the library.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use server::config::{Args, Command, Config, PdArgs};
use server::playground::{Plan, PlaygroundArgs};
use tokio::signal::unix::{signal, SignalKind};

fn main() -> ExitCode {
    // Before any thread starts: keeps dropped memtables' memory from staying resident.
    lsm::malloc::pin_mmap_threshold();
    let args = Args::parse();
    match &args.command {
        Some(Command::Pd(pd)) => return exit(run_pd(pd)),
        Some(Command::Playground(p)) => return exit(run_playground(p)),
        None => {}
    }
    if args.print_sample_config {
        print!("{}", Config::sample());
        return ExitCode::SUCCESS;
    }
    let config = match args.load_config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if args.config_check {
        println!("config is valid");
        return ExitCode::SUCCESS;
    }
    init_tracing();
    exit(serve(config))
}

fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("strata-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_pd(args: &PdArgs) -> anyhow::Result<()> {
    init_tracing();
    let schedule = server::pd::ScheduleConfig {
        max_replicas: args.max_replicas,
        max_store_down_time: args.max_store_down_time.0,
        ..server::pd::ScheduleConfig::default()
    };
    with_signals(|shutdown| async move {
        server::pd::run_alone(&args.addr, &args.data_dir, schedule, shutdown)
            .await
            .context("PD failed")
    })
}

fn run_playground(args: &PlaygroundArgs) -> anyhow::Result<()> {
    let plan = Plan::new(args)?;
    let exe = std::env::current_exe().context("finding this executable")?;
    with_signals(|shutdown| async move {
        server::playground::run(plan, &exe, shutdown)
            .await
            .context("playground failed")
    })
}

/// Runs `body` on a runtime, handing it a future that resolves on SIGINT or SIGTERM.
fn with_signals<F, Fut>(body: F) -> anyhow::Result<()>
where
    F: FnOnce(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        // Installed before serving, so a signal that arrives during start-up is not lost.
        let mut terminate = signal(SignalKind::terminate()).context("installing SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("installing SIGINT")?;
        let shutdown = Box::pin(async move {
            tokio::select! {
                _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
                _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
            }
        });
        body(shutdown).await
    })
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn serve(config: Config) -> anyhow::Result<()> {
    with_signals(
        |shutdown| async move { server::run(config, shutdown).await.context("server failed") },
    )
}
