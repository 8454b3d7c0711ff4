//! `strata-bench server`: operations per second through the whole server — the unchanged
//! TiKV client (`tikv-client` 0.4) against a Strata node with its embedded PD — and, as the
//! yardstick, the same number of callers making empty gRPC calls over the same loopback.
//!
//! A run, in one process: start a node (embedded PD, loopback, the server's defaults unless
//! flags say otherwise) on a fresh directory on a *server* tokio runtime, and the empty
//! service ([`ceiling`]) beside it; preload the key space (raw and transactional) and run
//! each workload in turn with `--clients` tasks on a separate *client* runtime. Both runtimes
//! share the machine's cores, so every figure includes the client's own CPU, as a client on
//! the same host would.
//!
//! - `settings`: the flags ([`ServerArgs`]).
//! - [`workload`]: workload names, the keys and values a client draws.
//! - [`ceiling`]: the empty service and its callers.
//! - [`bench`]: clients, deadlines, histograms.
//! - [`report`]: the result lines, the table, the ceiling ratio.

pub mod bench;
pub mod ceiling;
pub mod report;
mod settings;
pub mod workload;

use std::path::PathBuf;
use std::time::Duration;

use server::node::{Node, NodeConfig};
use tokio::runtime::Runtime;

pub use report::ServerResult;
pub use settings::ServerArgs;
pub use workload::ServerWorkload;

use crate::error::{Error, Result};
use crate::procstat::machine_description;
use bench::LoadConfig;
use ceiling::EmptyServer;

/// Runs `strata-bench server` with `args`.
///
/// # Errors
/// `Usage` for bad flags; the node failing to start; a request failing.
pub fn run(args: ServerArgs) -> Result<()> {
    let list = workload::parse_workloads(&args.workloads)?;
    check_args(&args, &list)?;
    let server_threads = ServerArgs::threads(args.server_threads);
    let client_threads = ServerArgs::threads(args.client_threads);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("Machine:    {}", machine_description());
    println!(
        "Load avg:   {} (1, 5, 15 min, before the run)",
        load.join(" ")
    );
    match &args.pd {
        Some(pd) => println!(
            "Process:    the cluster behind PD {pd} (its own processes); empty service on a \
             server runtime of {server_threads} threads, {} clients on a separate client \
             runtime of {client_threads} threads",
            args.clients
        ),
        None => println!(
            "Process:    one; node + embedded PD + empty service on a server runtime of \
             {server_threads} threads, {} clients on a separate client runtime of \
             {client_threads} threads",
            args.clients
        ),
    }
    println!(
        "Settings:   {} keys of {} bytes preloaded (raw and txn), values {} bytes, {} s per \
         workload, sync {}, gzip responses {}, seed {}",
        args.keys,
        args.key_size,
        args.value_size,
        args.duration,
        match args.pd {
            Some(_) => "as the cluster is configured".to_string(),
            None => args.sync.to_string(),
        },
        args.compress_responses,
        args.seed
    );
    println!("Workloads:  {}", args.workloads);

    let (base, temporary) = match &args.db {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!("strata-bench-server-{}", std::process::id())),
            true,
        ),
    };
    let dir = base.join("node");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let server_rt = runtime(server_threads, "strata-server")?;
    let client_rt = runtime(client_threads, "bench-client")?;
    let outcome = run_in(&args, &list, dir.clone(), &server_rt, &client_rt);
    drop(client_rt);
    drop(server_rt);
    let _ = std::fs::remove_dir_all(&dir);
    if temporary {
        let _ = std::fs::remove_dir_all(&base);
    }
    let results = outcome?;
    println!();
    print!("{}", report::table(&results));
    Ok(())
}

fn runtime(threads: usize, name: &str) -> Result<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .build()?)
}

/// Starts the node (and the empty service when asked for), runs the preload and the
/// workloads, and stops the servers whatever happened.
fn run_in(
    args: &ServerArgs,
    list: &[ServerWorkload],
    dir: PathBuf,
    server_rt: &Runtime,
    client_rt: &Runtime,
) -> Result<Vec<ServerResult>> {
    let node = match &args.pd {
        Some(_) => None,
        None => {
            let mut cfg = NodeConfig::local(dir);
            cfg.sync = args.sync;
            cfg.compress_responses = args.compress_responses;
            Some(server_rt.block_on(Node::start(cfg))?)
        }
    };
    let empty = if list.contains(&ServerWorkload::EmptyCall) {
        match server_rt.block_on(EmptyServer::start(args.compress_responses)) {
            Ok(e) => Some(e),
            Err(e) => {
                if let Some(node) = node {
                    let _ = server_rt.block_on(node.shutdown());
                }
                return Err(e);
            }
        }
    } else {
        None
    };
    let pd = match (&args.pd, &node) {
        (Some(pd), _) => pd.clone(),
        (None, Some(node)) => node
            .pd_addr()
            .ok_or_else(|| Error::Usage("the node runs no embedded PD".into()))?
            .to_string(),
        (None, None) => return Err(Error::Usage("no PD to measure".into())),
    };
    let load = LoadConfig {
        pd,
        empty: empty.as_ref().map(EmptyServer::addr),
        clients: args.clients,
        duration: Duration::from_secs(args.duration),
        keys: args.keys,
        key_size: args.key_size,
        value_size: args.value_size,
        seed: args.seed,
    };
    let outcome = client_rt.block_on(async {
        let (requests, seconds) = bench::preload(&load).await?;
        println!(
            "{:<12} : {} keys, raw and transactional, in {requests} requests, {seconds:.3} seconds",
            "preload", load.keys
        );
        let mut results = Vec::with_capacity(list.len());
        for &w in list {
            let result = bench::run_workload(&load, w).await?;
            println!("{}", result.line());
            results.push(result);
        }
        Ok::<_, Error>(results)
    });
    let stopped = server_rt.block_on(async {
        if let Some(empty) = empty {
            empty.stop().await?;
        }
        match node {
            Some(node) => node.shutdown().await.map_err(Error::from),
            None => Ok(()),
        }
    });
    let results = outcome?;
    stopped?;
    Ok(results)
}

fn check_args(args: &ServerArgs, list: &[ServerWorkload]) -> Result<()> {
    let usage = |m: &str| Err(Error::Usage(m.into()));
    if list.is_empty() {
        return usage("--workloads names no workload");
    }
    if args.clients == 0 || args.keys == 0 || args.duration == 0 {
        return usage("--clients, --keys and --duration must be positive");
    }
    // make_key keeps the low `key_size` bytes of the key number: they must tell keys apart.
    if args.key_size == 0 || (args.key_size < 8 && args.keys > 1u64 << (8 * args.key_size)) {
        return usage("--key-size too small for --keys distinct keys");
    }
    if let Some(w) = list.iter().find(|w| w.keys() as u64 > args.keys) {
        return Err(Error::Usage(format!(
            "{w} needs {} distinct keys; --keys is {}",
            w.keys(),
            args.keys
        )));
    }
    Ok(())
}
