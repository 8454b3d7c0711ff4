//! Running a [`Plan`]: start PD, wait until it answers, start the nodes, wait for each,
//! print the endpoints, then watch until shutdown. A process that exits on its own is
//! reported and the rest keep running (as `tiup playground` does), so a test or an operator
//! can kill one node and see the cluster carry on.

use std::fs::OpenOptions;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

use super::plan::{Plan, ProcessSpec};
use crate::error::{Error, Result};

/// How long a process may take to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long processes get to stop after SIGTERM before they are killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

struct Running {
    spec: ProcessSpec,
    child: Child,
    exited: bool,
}

/// Runs `plan` with the executable `exe` (this binary) until `shutdown`, then stops it.
///
/// # Errors
/// A process that cannot be started or does not answer within a minute (everything
/// started is stopped first).
pub async fn run(plan: Plan, exe: &Path, shutdown: impl Future<Output = ()>) -> Result<()> {
    let mut running: Vec<Running> = Vec::new();
    let started = start_all(&plan, exe, &mut running).await;
    if let Err(e) = started {
        stop_all(&mut running).await;
        return Err(e);
    }
    print_endpoints(&plan, &running);
    tokio::pin!(shutdown);
    let mut poll = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            _ = poll.tick() => {}
        }
        for r in running.iter_mut().filter(|r| !r.exited) {
            if let Ok(Some(status)) = r.child.try_wait() {
                r.exited = true;
                println!("{} exited ({status}); the others keep running", r.spec.name);
            }
        }
    }
    println!("stopping the playground");
    stop_all(&mut running).await;
    Ok(())
}

async fn start_all(plan: &Plan, exe: &Path, running: &mut Vec<Running>) -> Result<()> {
    for spec in std::iter::once(&plan.pd).chain(&plan.nodes) {
        std::fs::create_dir_all(&spec.data_dir)?;
        let log_path = spec.data_dir.with_extension("log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        let child = Command::new(exe)
            .args(&spec.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Error::Config(format!("starting {}: {e}", spec.name)))?;
        running.push(Running {
            spec: spec.clone(),
            child,
            exited: false,
        });
        let Some(r) = running.last_mut() else {
            continue;
        };
        wait_answering(r, &log_path).await?;
    }
    Ok(())
}

/// Waits until the process accepts connections on its address.
async fn wait_answering(r: &mut Running, log: &Path) -> Result<()> {
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = r.child.try_wait() {
            r.exited = true;
            return Err(Error::Config(format!(
                "{} exited during start-up ({status}); see {}",
                r.spec.name,
                log.display()
            )));
        }
        if answers(r.spec.addr).await {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Config(format!(
                "{} did not answer on {} within {START_TIMEOUT:?}; see {}",
                r.spec.name,
                r.spec.addr,
                log.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn answers(addr: SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_ok()
}

fn print_endpoints(plan: &Plan, running: &[Running]) {
    let pid = |name: &str| {
        running
            .iter()
            .find(|r| r.spec.name == name)
            .and_then(|r| r.child.id())
            .unwrap_or(0)
    };
    println!("Strata playground: PD and {} nodes", plan.nodes.len());
    println!(
        "PD:      http://{}   (point TiKV clients here)   pid {}",
        plan.pd.addr,
        pid("pd")
    );
    for n in &plan.nodes {
        println!(
            "{}:  kv {}   status http://{}   data {}   pid {}",
            n.name,
            n.addr,
            n.status_addr.map_or_else(String::new, |a| a.to_string()),
            n.data_dir.display(),
            pid(&n.name)
        );
    }
    println!("Logs next to each data directory (<name>.log). Ctrl-C stops the cluster.");
}

/// SIGTERM to every running process (nodes first, PD last, so nodes leave cleanly), then
/// waits; whatever is still running after the timeout is killed.
async fn stop_all(running: &mut [Running]) {
    for r in running.iter_mut().rev().filter(|r| !r.exited) {
        if let Some(pid) = r.child.id().and_then(|p| i32::try_from(p).ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        match tokio::time::timeout(STOP_TIMEOUT, r.child.wait()).await {
            Ok(_) => {}
            Err(_) => {
                println!(
                    "{} did not stop within {STOP_TIMEOUT:?}; killing it",
                    r.spec.name
                );
                let _ = r.child.kill().await;
            }
        }
        r.exited = true;
    }
}
