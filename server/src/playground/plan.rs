//! The layout of a playground cluster (pure): which process listens where and keeps its
//! data where, and the command line each is started with.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What `strata-server playground` was asked for.
#[derive(Debug, Clone, clap::Args)]
pub struct PlaygroundArgs {
    /// How many KV nodes (each its own process).
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Where every process keeps its data (`pd/`, `node-1/`, …); kept after exit.
    #[arg(long, value_name = "DIR", default_value = "strata-playground")]
    pub data_dir: PathBuf,
    /// The address every process listens on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// PD's port (0: any free port).
    #[arg(long, default_value_t = 2379)]
    pub pd_port: u16,
    /// The first node's KV port; node i listens on kv-port + i - 1 (0: any free ports).
    #[arg(long, default_value_t = 20160)]
    pub kv_port: u16,
    /// The first node's status port; node i on status-port + i - 1 (0: any free ports).
    #[arg(long, default_value_t = 20180)]
    pub status_port: u16,
    /// A configuration file every node is started with (its addresses are overridden).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// One process of the playground.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// `pd`, `node-1`, …
    pub name: String,
    /// Its arguments (after the executable).
    pub args: Vec<String>,
    /// The address that answers once it is up.
    pub addr: SocketAddr,
    /// For nodes: the status address.
    pub status_addr: Option<SocketAddr>,
    /// Its data directory.
    pub data_dir: PathBuf,
}

/// The whole cluster: PD first, then the nodes in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// PD's process.
    pub pd: ProcessSpec,
    /// The nodes' processes.
    pub nodes: Vec<ProcessSpec>,
}

impl Plan {
    /// The layout for `args`; port 0 picks free ports now (another program could take one
    /// before the process binds it: fine for a playground).
    ///
    /// # Errors
    /// `Config` for no nodes, an unparsable host, or ports beyond 65535.
    pub fn new(args: &PlaygroundArgs) -> Result<Plan> {
        if args.nodes == 0 {
            return Err(Error::Config(
                "playground: --nodes must be at least 1".into(),
            ));
        }
        let host: std::net::IpAddr = args
            .host
            .parse()
            .map_err(|e| Error::Config(format!("playground: --host {:?}: {e}", args.host)))?;
        // Listeners held until the plan is made, so port 0 never picks one port twice.
        let mut held = Vec::new();
        let mut port = |base: u16, i: usize| -> Result<u16> {
            if base == 0 {
                let l = TcpListener::bind(SocketAddr::new(host, 0))?;
                let p = l.local_addr()?.port();
                held.push(l);
                return Ok(p);
            }
            u16::try_from(usize::from(base) + i)
                .map_err(|_| Error::Config(format!("playground: port {base} + {i} is too high")))
        };
        let pd_addr = SocketAddr::new(host, port(args.pd_port, 0)?);
        let pd_dir = args.data_dir.join("pd");
        let pd = ProcessSpec {
            name: "pd".into(),
            args: vec![
                "pd".into(),
                "--addr".into(),
                pd_addr.to_string(),
                "--data-dir".into(),
                path_arg(&pd_dir),
            ],
            addr: pd_addr,
            status_addr: None,
            data_dir: pd_dir,
        };
        let mut nodes = Vec::with_capacity(args.nodes);
        for i in 0..args.nodes {
            let kv = SocketAddr::new(host, port(args.kv_port, i)?);
            let status = SocketAddr::new(host, port(args.status_port, i)?);
            let name = format!("node-{}", i + 1);
            let dir = args.data_dir.join(&name);
            let mut a = Vec::new();
            if let Some(c) = &args.config {
                a.extend(["--config".into(), path_arg(c)]);
            }
            a.extend([
                "--pd".into(),
                pd_addr.to_string(),
                "--addr".into(),
                kv.to_string(),
                "--status-addr".into(),
                status.to_string(),
                "--data-dir".into(),
                path_arg(&dir),
            ]);
            nodes.push(ProcessSpec {
                name,
                args: a,
                addr: kv,
                status_addr: Some(status),
                data_dir: dir,
            });
        }
        Ok(Plan { pd, nodes })
    }
}

fn path_arg(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        p: PlaygroundArgs,
    }

    fn args(extra: &[&str]) -> PlaygroundArgs {
        Wrap::try_parse_from(std::iter::once("x").chain(extra.iter().copied()))
            .unwrap()
            .p
    }

    #[test]
    fn defaults_follow_tikv_ports_one_per_node() {
        let plan = Plan::new(&args(&[])).unwrap();
        assert_eq!(plan.pd.addr.to_string(), "127.0.0.1:2379");
        assert_eq!(plan.pd.args[0], "pd");
        let kv: Vec<String> = plan.nodes.iter().map(|n| n.addr.to_string()).collect();
        assert_eq!(
            kv,
            ["127.0.0.1:20160", "127.0.0.1:20161", "127.0.0.1:20162"]
        );
        let n2 = &plan.nodes[1];
        assert_eq!(n2.status_addr.unwrap().to_string(), "127.0.0.1:20181");
        assert!(n2
            .args
            .windows(2)
            .any(|w| w[0] == "--pd" && w[1] == "127.0.0.1:2379"));
        assert!(n2.data_dir.ends_with("node-2"));
    }

    #[test]
    fn port_zero_picks_distinct_free_ports_and_bad_input_is_refused() {
        let plan = Plan::new(&args(&[
            "--nodes",
            "2",
            "--pd-port",
            "0",
            "--kv-port",
            "0",
            "--status-port",
            "0",
        ]))
        .unwrap();
        let mut ports: Vec<u16> = plan
            .nodes
            .iter()
            .flat_map(|n| [n.addr.port(), n.status_addr.unwrap().port()])
            .chain([plan.pd.addr.port()])
            .collect();
        assert!(ports.iter().all(|p| *p != 0));
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 5);
        assert!(Plan::new(&args(&["--nodes", "0"])).is_err());
        assert!(Plan::new(&args(&["--host", "nowhere"])).is_err());
        assert!(Plan::new(&args(&["--kv-port", "65535", "--nodes", "2"])).is_err());
    }
}
