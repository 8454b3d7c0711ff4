//! The server's configuration: a TOML file with TiKV's kebab-case keys and readable units
//! (`"64MiB"`, `"10s"`), overridden by command-line flags.
//!
//! - `readable`: [`ReadableSize`] and [`ReadableDuration`].
//! - `sections`: `[server]`, `[storage]`, `[pd]`, `[raftstore]`; `lsm`: `[lsm]`.
//! - `validate`: [`Config::validate`], the checks serde cannot express.
//! - `sample`: [`Config::sample`], the commented file with every key at its default.
//! - `flags`: [`Args`], the command line.
//!
//! Loading never guesses: an unknown section or key is refused and the error names it
//! (`unknown key `server.adress``), as is a value of the wrong type. A missing key takes its
//! default. `/config` shows the effective configuration as this module serializes it.

mod flags;
mod lsm;
mod readable;
mod sample;
mod sections;
mod validate;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use flags::{Args, Command, PdArgs};
pub use lsm::{LsmCompression, LsmConfig};
pub use readable::{ReadableDuration, ReadableSize};
pub use sections::{
    CoprocessorConfig, GrpcCompression, PdConfig, RaftstoreConfig, ServerConfig, StorageConfig,
};

use crate::{Error, Result};

/// The whole configuration, one field per TOML section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// `[server]`: addresses and request limits.
    pub server: ServerConfig,
    /// `[storage]`: data directory and API version.
    pub storage: StorageConfig,
    /// `[pd]`: the placement driver, embedded or external.
    pub pd: PdConfig,
    /// `[raftstore]`: the Raft groups (ticks, log GC, durability).
    pub raftstore: RaftstoreConfig,
    /// `[coprocessor]`: when regions split (TiKV keeps these keys here).
    pub coprocessor: CoprocessorConfig,
    /// `[lsm]`: storage engine tuning.
    pub lsm: LsmConfig,
}

impl Config {
    /// Parses a TOML document; keys it leaves out take their defaults. Does not validate.
    ///
    /// # Errors
    /// `Config` for TOML syntax errors, unknown sections or keys (named `section.key`) and
    /// values of the wrong type or form (named likewise).
    pub fn from_toml_str(text: &str) -> Result<Config> {
        let deserializer = toml::Deserializer::parse(text)
            .map_err(|e| Error::Config(format!("not valid TOML: {}", e.message())))?;
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let message = inner.message();
            // serde names an unknown field without its section; the path (which ends at the
            // field) supplies it.
            if let Some(field) = unknown_field(message) {
                let key = if path == "." || path.is_empty() {
                    field
                } else {
                    &path
                };
                return Error::Config(format!("unknown key `{key}`"));
            }
            Error::Config(format!("{path}: {message}"))
        })
    }

    /// Reads and parses the file at `path`. Does not validate.
    ///
    /// # Errors
    /// `Config` naming the file if it cannot be read or parsed.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        Config::from_toml_str(&text).map_err(|e| match e {
            Error::Config(msg) => Error::Config(format!("{}: {msg}", path.display())),
            other => other,
        })
    }
}

/// The field name in serde's "unknown field `x`, expected one of …" message.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split_once('`').map(|(field, _)| field)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        match Config::from_toml_str(text) {
            Err(Error::Config(msg)) => msg,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn an_empty_file_is_the_default() {
        assert_eq!(Config::from_toml_str("").unwrap(), Config::default());
    }

    #[test]
    fn keys_take_readable_units() {
        let c = Config::from_toml_str(
            "[server]\nmax-grpc-message-size = \"16MB\"\nmax-key-size = 4096\n\
             [lsm]\nwrite-buffer-size = \"512KiB\"\nblock-cache-size = \"1GB\"\n",
        )
        .unwrap();
        assert_eq!(c.server.max_grpc_message_size, ReadableSize::mib(16));
        assert_eq!(c.server.max_key_size, ReadableSize::kib(4));
        assert_eq!(c.lsm.write_buffer_size, ReadableSize::kib(512));
        assert_eq!(c.lsm.block_cache_size, ReadableSize::gib(1));
        // Untouched keys keep their defaults.
        assert_eq!(c.server.addr, ServerConfig::default().addr);
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_section() {
        assert_eq!(
            error_of("[server]\nadress = \"1.2.3.4:5\"\n"),
            "unknown key `server.adress`"
        );
        assert_eq!(
            error_of("[lsm]\nwrite_buffer_size = \"1MiB\"\n"),
            "unknown key `lsm.write_buffer_size`",
            "snake_case spellings are not kebab-case keys"
        );
        assert_eq!(error_of("[rocksdb]\nx = 1\n"), "unknown key `rocksdb`");
        assert_eq!(error_of("top = 1\n"), "unknown key `top`");
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let msg = error_of("[lsm]\nblock-size = \"4QB\"\n");
        assert!(msg.starts_with("lsm.block-size: "), "{msg}");
        assert!(msg.contains("QB"), "{msg}");
        let msg = error_of("[server]\nmax-batch-keys = \"many\"\n");
        assert!(msg.starts_with("server.max-batch-keys: "), "{msg}");
        let msg = error_of("[server]\ngrpc-compression = \"lz4\"\n");
        assert!(msg.starts_with("server.grpc-compression: "), "{msg}");
        let msg = error_of("[server\n");
        assert!(msg.starts_with("not valid TOML"), "{msg}");
    }

    #[test]
    fn a_file_error_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("strata.toml");
        std::fs::write(&path, "[pd]\nembeded = false\n").unwrap();
        let Err(Error::Config(msg)) = Config::from_file(&path) else {
            panic!("accepted an unknown key");
        };
        assert!(msg.contains("strata.toml"), "{msg}");
        assert!(msg.contains("unknown key `pd.embeded`"), "{msg}");
        assert!(Config::from_file(dir.path().join("missing.toml")).is_err());
    }

    #[test]
    fn config_serializes_with_kebab_keys_and_readable_units() {
        let json = serde_json::to_value(Config::default()).unwrap();
        assert_eq!(json["server"]["max-grpc-message-size"], "64MiB");
        assert_eq!(json["lsm"]["block-size"], "4KiB");
        assert_eq!(json["server"]["grpc-compression"], "gzip");
        assert_eq!(json["pd"]["endpoints"][0], "127.0.0.1:2379");
        // And the TOML form reads back to the same configuration.
        let text = toml::to_string(&Config::default()).unwrap();
        assert_eq!(Config::from_toml_str(&text).unwrap(), Config::default());
    }
}
