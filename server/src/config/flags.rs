//! The command line of `strata-server`. Flags override the file: the configuration is the
//! defaults, then `--config FILE`, then each flag given. The binary only parses and calls
//! [`Args::load_config`], so everything here is testable without a process.

use std::path::PathBuf;

use clap::Parser;

use super::Config;
use crate::Result;

/// `strata-server`'s flags. Without a subcommand it runs a node; `pd` runs a placement
/// driver alone, `playground` a local cluster of processes.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "strata-server",
    version,
    about = "Strata: a TiKV-compatible key-value server",
    long_about = "Strata: a TiKV-compatible key-value server. With no arguments it runs a \
                  one-node cluster with defaults: PD on 127.0.0.1:2379, KV on 127.0.0.1:20160, \
                  status on 127.0.0.1:20180, data in ./strata-data."
)]
pub struct Args {
    /// TOML configuration file (keys as TiKV's; see --print-sample-config).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// gRPC listen address (server.addr).
    #[arg(long, value_name = "IP:PORT")]
    pub addr: Option<String>,

    /// Address advertised to clients and PD (server.advertise-addr).
    #[arg(long, value_name = "HOST:PORT")]
    pub advertise_addr: Option<String>,

    /// HTTP status server address: /metrics, /status, /config (server.status-addr).
    #[arg(long, value_name = "IP:PORT")]
    pub status_addr: Option<String>,

    /// Data directory (storage.data-dir).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Use an external PD at these addresses instead of the embedded one (pd.endpoints,
    /// pd.embedded = false).
    #[arg(long, value_name = "ADDR[,ADDR]", value_delimiter = ',')]
    pub pd: Option<Vec<String>>,

    /// Print a commented configuration file with every key at its default, and exit.
    #[arg(long)]
    pub print_sample_config: bool,

    /// Check the configuration (file and flags), print "config is valid" and exit 0, or
    /// print the error and exit 1.
    #[arg(long)]
    pub config_check: bool,

    /// What to run instead of a node.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `strata-server`'s subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Run a placement driver alone; nodes join it with `strata-server --pd ADDR`.
    Pd(PdArgs),
    /// Start a PD and several nodes as local processes (like `tiup playground`) and print
    /// their endpoints; Ctrl-C stops them all.
    Playground(crate::playground::PlaygroundArgs),
}

/// `strata-server pd`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct PdArgs {
    /// Where PD serves gRPC and its HTTP API.
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:2379")]
    pub addr: String,
    /// Where PD keeps its state.
    #[arg(long, value_name = "DIR", default_value = "strata-pd")]
    pub data_dir: PathBuf,
    /// Replicas of every region (PD's max-replicas).
    #[arg(long, default_value_t = 3)]
    pub max_replicas: u32,
    /// Replicas on a store silent this long move elsewhere (e.g. "30m").
    #[arg(long, value_name = "DURATION", default_value = "30m")]
    pub max_store_down_time: super::ReadableDuration,
}

impl Args {
    /// Overrides `config` with the flags given.
    pub fn apply(&self, config: &mut Config) {
        if let Some(addr) = &self.addr {
            config.server.addr.clone_from(addr);
        }
        if let Some(addr) = &self.advertise_addr {
            config.server.advertise_addr.clone_from(addr);
        }
        if let Some(addr) = &self.status_addr {
            config.server.status_addr.clone_from(addr);
        }
        if let Some(dir) = &self.data_dir {
            config.storage.data_dir.clone_from(dir);
        }
        if let Some(endpoints) = &self.pd {
            config.pd.endpoints = endpoints
                .iter()
                .map(|e| e.trim().to_owned())
                .filter(|e| !e.is_empty())
                .collect();
            config.pd.embedded = false;
        }
    }

    /// The effective configuration: defaults, the `--config` file, the flags; validated.
    ///
    /// # Errors
    /// `Config` if the file cannot be read or parsed, or the result is invalid.
    pub fn load_config(&self) -> Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        self.apply(&mut config);
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("strata-server").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn no_arguments_mean_the_defaults() {
        assert_eq!(parse(&[]).load_config().unwrap(), Config::default());
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[server]\naddr = \"127.0.0.1:1000\"\nstatus-addr = \"127.0.0.1:1001\"\n\
             [storage]\ndata-dir = \"/from/file\"\n[lsm]\nblock-size = \"8KiB\"\n",
        )
        .unwrap();
        let config_flag = path.to_str().unwrap();

        let from_file = parse(&["--config", config_flag]).load_config().unwrap();
        assert_eq!(from_file.server.addr, "127.0.0.1:1000");
        assert_eq!(from_file.storage.data_dir, PathBuf::from("/from/file"));

        let c = parse(&[
            "--config",
            config_flag,
            "--addr",
            "127.0.0.1:2000",
            "--advertise-addr",
            "kv-0.example:2000",
            "--data-dir",
            "/from/flag",
            "--pd",
            "10.0.0.1:2379,10.0.0.2:2379",
        ])
        .load_config()
        .unwrap();
        assert_eq!(c.server.addr, "127.0.0.1:2000");
        assert_eq!(c.server.advertise_addr(), "kv-0.example:2000");
        assert_eq!(c.server.status_addr, "127.0.0.1:1001", "file value kept");
        assert_eq!(c.storage.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(c.pd.endpoints, vec!["10.0.0.1:2379", "10.0.0.2:2379"]);
        assert!(!c.pd.embedded, "--pd means an external PD");
        assert_eq!(c.lsm.block_size.as_bytes(), 8 << 10, "file value kept");
    }

    #[test]
    fn the_result_is_validated() {
        let Err(Error::Config(msg)) = parse(&["--status-addr", "nowhere"]).load_config() else {
            panic!("an invalid --status-addr was accepted");
        };
        assert!(msg.starts_with("server.status-addr:"), "{msg}");
    }

    #[test]
    fn mode_flags_parse() {
        assert!(parse(&["--print-sample-config"]).print_sample_config);
        assert!(parse(&["--config-check"]).config_check);
        assert!(Args::try_parse_from(["strata-server", "--bogus"]).is_err());
    }
}
