//! [`Config::validate`]: the checks serde cannot express. Every error names the key
//! (`section.key`) so an operator knows which line to fix.

use std::net::SocketAddr;

use super::readable::ReadableSize;
use super::Config;
use crate::{Error, Result};

impl Config {
    /// Checks values and combinations: addresses parse, ports do not collide, sizes and
    /// counts are non-zero, triggers are ordered, the API version is valid.
    ///
    /// # Errors
    /// `Config` naming the first offending key and why.
    pub fn validate(&self) -> Result<()> {
        let s = &self.server;
        let addr = socket_addr("server.addr", &s.addr)?;
        let status_addr = socket_addr("server.status-addr", &s.status_addr)?;
        if !s.advertise_addr.is_empty() {
            host_port("server.advertise-addr", &s.advertise_addr)?;
        }
        if addr == status_addr {
            return Err(bad("server.status-addr", "must differ from server.addr"));
        }
        non_zero("server.max-grpc-message-size", s.max_grpc_message_size)?;
        non_zero("server.max-key-size", s.max_key_size)?;
        if s.max_key_size.as_usize() > sstable::MAX_KEY_SIZE {
            return Err(bad(
                "server.max-key-size",
                format!(
                    "{} is above the engine's limit of {}",
                    s.max_key_size,
                    ReadableSize(sstable::MAX_KEY_SIZE as u64)
                ),
            ));
        }
        positive("server.max-batch-keys", s.max_batch_keys)?;
        positive("server.max-scan-limit", s.max_scan_limit)?;

        if self.storage.data_dir.as_os_str().is_empty() {
            return Err(bad("storage.data-dir", "must not be empty"));
        }
        self.storage.api_version()?;

        let pd = &self.pd;
        let Some(first) = pd.endpoints.first() else {
            return Err(bad("pd.endpoints", "needs at least one address"));
        };
        for endpoint in &pd.endpoints {
            host_port("pd.endpoints", endpoint)?;
        }
        if pd.max_replicas == 0 {
            return Err(bad("pd.max-replicas", "must be at least 1"));
        }
        if pd.max_store_down_time.0.is_zero() {
            return Err(bad("pd.max-store-down-time", "must not be 0"));
        }
        if pd.embedded {
            // This process binds it, so it must be a local socket address on its own port.
            let pd_addr = socket_addr("pd.endpoints", strip_scheme(first))?;
            if pd_addr == addr || pd_addr == status_addr {
                return Err(bad(
                    "pd.endpoints",
                    format!("embedded PD's {pd_addr} collides with server.addr or status-addr"),
                ));
            }
        }

        self.validate_raftstore()?;
        self.validate_lsm()
    }

    fn validate_raftstore(&self) -> Result<()> {
        let r = &self.raftstore;
        if r.raft_base_tick_interval.0.is_zero() {
            return Err(bad("raftstore.raft-base-tick-interval", "must not be 0"));
        }
        positive("raftstore.raft-heartbeat-ticks", r.raft_heartbeat_ticks)?;
        if r.raft_election_timeout_ticks <= r.raft_heartbeat_ticks {
            return Err(bad(
                "raftstore.raft-election-timeout-ticks",
                "must be above raft-heartbeat-ticks (followers would campaign between heartbeats)",
            ));
        }
        positive("raftstore.raft-max-inflight-msgs", r.raft_max_inflight_msgs)?;
        non_zero("raftstore.raft-max-size-per-msg", r.raft_max_size_per_msg)?;
        if r.raft_log_gc_count_limit < r.raft_log_gc_threshold {
            return Err(bad(
                "raftstore.raft-log-gc-count-limit",
                "must be at least raft-log-gc-threshold",
            ));
        }
        if r.max_peer_down_duration.0.is_zero() {
            return Err(bad("raftstore.max-peer-down-duration", "must not be 0"));
        }
        if r.split_region_check_tick_interval.0 < r.raft_base_tick_interval.0 {
            return Err(bad(
                "raftstore.split-region-check-tick-interval",
                "must be at least raft-base-tick-interval",
            ));
        }
        let c = &self.coprocessor;
        non_zero("coprocessor.region-split-size", c.region_split_size)?;
        if c.region_max_size.0 < c.region_split_size.0 {
            return Err(bad(
                "coprocessor.region-max-size",
                "must be at least region-split-size",
            ));
        }
        if c.region_split_keys == 0 || c.region_max_keys < c.region_split_keys {
            return Err(bad(
                "coprocessor.region-max-keys",
                "region-split-keys must be positive and region-max-keys at least it",
            ));
        }
        positive("coprocessor.batch-split-limit", c.batch_split_limit)?;
        if r.pd_heartbeat_tick_interval.0.is_zero() {
            return Err(bad("raftstore.pd-heartbeat-tick-interval", "must not be 0"));
        }
        Ok(())
    }

    fn validate_lsm(&self) -> Result<()> {
        let l = &self.lsm;
        non_zero("lsm.write-buffer-size", l.write_buffer_size)?;
        non_zero("lsm.block-size", l.block_size)?;
        non_zero("lsm.target-file-size-base", l.target_file_size_base)?;
        non_zero("lsm.max-bytes-for-level-base", l.max_bytes_for_level_base)?;
        non_zero("lsm.max-manifest-file-size", l.max_manifest_file_size)?;
        if l.max_write_buffer_number < 2 {
            return Err(bad(
                "lsm.max-write-buffer-number",
                "must be at least 2 (one memtable filling while one flushes)",
            ));
        }
        positive("lsm.max-background-jobs", l.max_background_jobs)?;
        positive("lsm.max-open-files", l.max_open_files)?;
        positive(
            "lsm.level0-file-num-compaction-trigger",
            l.level0_file_num_compaction_trigger,
        )?;
        if l.level0_slowdown_writes_trigger < l.level0_file_num_compaction_trigger {
            return Err(bad(
                "lsm.level0-slowdown-writes-trigger",
                "must be at least level0-file-num-compaction-trigger",
            ));
        }
        if l.level0_stop_writes_trigger < l.level0_slowdown_writes_trigger {
            return Err(bad(
                "lsm.level0-stop-writes-trigger",
                "must be at least level0-slowdown-writes-trigger",
            ));
        }
        if l.max_bytes_for_level_multiplier < 2 {
            return Err(bad(
                "lsm.max-bytes-for-level-multiplier",
                "must be at least 2",
            ));
        }
        if l.hard_pending_compaction_bytes_limit < l.soft_pending_compaction_bytes_limit {
            return Err(bad(
                "lsm.hard-pending-compaction-bytes-limit",
                "must be at least soft-pending-compaction-bytes-limit",
            ));
        }
        Ok(())
    }
}

fn bad(key: &str, why: impl std::fmt::Display) -> Error {
    Error::Config(format!("{key}: {why}"))
}

fn socket_addr(key: &str, value: &str) -> Result<SocketAddr> {
    value
        .parse()
        .map_err(|_| bad(key, format!("`{value}` is not an IP address with a port")))
}

/// `host:port` (or `http://host:port`, as PD endpoints are often written): a name is allowed
/// where only others resolve it.
fn host_port(key: &str, value: &str) -> Result<()> {
    let ok = strip_scheme(value)
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if ok {
        Ok(())
    } else {
        Err(bad(key, format!("`{value}` is not a host:port address")))
    }
}

fn strip_scheme(endpoint: &str) -> &str {
    endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .unwrap_or(endpoint)
}

fn non_zero(key: &str, size: ReadableSize) -> Result<()> {
    if size.as_bytes() == 0 {
        Err(bad(key, "must not be zero"))
    } else {
        Ok(())
    }
}

fn positive(key: &str, n: usize) -> Result<()> {
    if n == 0 {
        Err(bad(key, "must not be zero"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A change to the default configuration.
    type Edit = fn(&mut Config);

    /// The message of the error `edit` makes `validate` return.
    fn error_of(edit: Edit) -> String {
        let mut c = Config::default();
        edit(&mut c);
        match c.validate() {
            Err(Error::Config(msg)) => msg,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn errors_name_the_key() {
        let cases: Vec<(&str, Edit)> = vec![
            ("server.addr", |c| c.server.addr = "localhost".into()),
            ("server.status-addr", |c| {
                c.server.status_addr = "x:1".into()
            }),
            ("server.status-addr", |c| {
                c.server.status_addr = c.server.addr.clone()
            }),
            ("server.advertise-addr", |c| {
                c.server.advertise_addr = "nohost".into()
            }),
            ("server.max-key-size", |c| {
                c.server.max_key_size = ReadableSize(0)
            }),
            ("server.max-key-size", |c| {
                c.server.max_key_size = ReadableSize::gib(1)
            }),
            ("server.max-batch-keys", |c| c.server.max_batch_keys = 0),
            ("server.max-scan-limit", |c| c.server.max_scan_limit = 0),
            ("server.max-grpc-message-size", |c| {
                c.server.max_grpc_message_size = ReadableSize(0)
            }),
            ("storage.data-dir", |c| c.storage.data_dir = "".into()),
            ("storage.api-version", |c| c.storage.api_version = 3),
            ("storage.enable-ttl", |c| c.storage.api_version = 2),
            ("pd.endpoints", |c| c.pd.endpoints.clear()),
            ("pd.endpoints", |c| c.pd.endpoints = vec!["pd".into()]),
            ("pd.endpoints", |c| {
                c.pd.endpoints = vec!["127.0.0.1:20160".into()]
            }),
            ("lsm.write-buffer-size", |c| {
                c.lsm.write_buffer_size = ReadableSize(0)
            }),
            ("lsm.block-size", |c| c.lsm.block_size = ReadableSize(0)),
            ("lsm.target-file-size-base", |c| {
                c.lsm.target_file_size_base = ReadableSize(0)
            }),
            ("lsm.max-write-buffer-number", |c| {
                c.lsm.max_write_buffer_number = 1
            }),
            ("lsm.max-background-jobs", |c| c.lsm.max_background_jobs = 0),
            ("lsm.max-open-files", |c| c.lsm.max_open_files = 0),
            ("lsm.level0-file-num-compaction-trigger", |c| {
                c.lsm.level0_file_num_compaction_trigger = 0
            }),
            ("lsm.level0-slowdown-writes-trigger", |c| {
                c.lsm.level0_slowdown_writes_trigger = 3
            }),
            ("lsm.level0-stop-writes-trigger", |c| {
                c.lsm.level0_stop_writes_trigger = 5
            }),
            ("lsm.max-bytes-for-level-multiplier", |c| {
                c.lsm.max_bytes_for_level_multiplier = 1
            }),
            ("lsm.hard-pending-compaction-bytes-limit", |c| {
                c.lsm.hard_pending_compaction_bytes_limit = ReadableSize(1)
            }),
        ];
        for (key, edit) in cases {
            let msg = error_of(edit);
            assert!(
                msg.starts_with(&format!("{key}:")),
                "{msg:?} does not name {key}"
            );
        }
    }

    #[test]
    fn external_pd_may_be_a_host_name() {
        let mut c = Config::default();
        c.pd.embedded = false;
        c.pd.endpoints = vec!["pd-0.pd:2379".into(), "http://pd-1.pd:2379".into()];
        c.validate().unwrap();
        // Embedded, the first endpoint is bound here, so it must be an IP address.
        c.pd.embedded = true;
        assert!(c.validate().is_err());
    }

    #[test]
    fn api_version_two_with_ttl_is_valid() {
        let mut c = Config::default();
        c.storage.api_version = 2;
        c.storage.enable_ttl = true;
        c.validate().unwrap();
        assert_eq!(c.storage.api_version().unwrap(), txn::ApiVersion::V2);
    }
}
