//! [`Config::sample`]: a commented configuration file with every key at its default, for
//! `strata-server --print-sample-config`. Tests check that it parses back to
//! `Config::default()` and names every key, so it cannot drift from the code.

use super::Config;

const SAMPLE: &str = r#"# Strata server configuration. Every key is shown at its default: keep only the ones you
# change. Keys are TiKV's; unknown keys are refused.
#
# Sizes: "64MiB", "512KiB", "1GiB" or a plain number of bytes. As in TiKV, "KB", "MB" and "GB"
# mean KiB, MiB and GiB.

[server]
# Where the gRPC (TiKV protocol) service listens (--addr).
addr = "127.0.0.1:20160"
# The address clients and PD are told to use; empty means `addr` (--advertise-addr).
advertise-addr = ""
# Where the HTTP status server serves /metrics, /status and /config (--status-addr).
status-addr = "127.0.0.1:20180"
# Larger gRPC requests are refused before they are decoded.
max-grpc-message-size = "64MiB"
# Largest key a request may carry.
max-key-size = "8KiB"
# Most keys, pairs or mutations in one request.
max-batch-keys = 10240
# Most entries one scan may ask for; a larger limit is refused with a clear error.
max-scan-limit = 10240
# "none" or "gzip": compress responses for clients that accept gzip. gzip requests are
# always accepted.
grpc-compression = "gzip"

[storage]
# Where the engine, PD's state and the store's identity live (--data-dir).
data-dir = "./strata-data"
# 1 or 2, as TiKV: clients must use the same version, and it cannot change once data exists.
api-version = 1
# Raw values carry a TTL field so raw_put TTLs work. Must be true with api-version = 2.
enable-ttl = false

[pd]
# Placement driver addresses (--pd ADDR[,ADDR] sets them and turns `embedded` off).
endpoints = ["127.0.0.1:2379"]
# Run PD inside this process, listening on endpoints[0].
embedded = true
# Replicas of every region the embedded PD keeps (peers are added as stores join).
max-replicas = 3
# The embedded PD moves replicas off a store silent this long.
max-store-down-time = "30m"

[raftstore]
# fsync every round of Raft writes before acknowledging. Off, a power loss may lose
# acknowledged writes.
sync-log = true
# One Raft tick (TiKV's default is 1s; a shorter tick notices a lost leader sooner).
raft-base-tick-interval = "100ms"
# Ticks without a leader before a follower campaigns (randomised up to twice this).
raft-election-timeout-ticks = 10
# Ticks between a leader's heartbeats.
raft-heartbeat-ticks = 2
# Compact a region's log once this many applied entries are kept and followers have them.
raft-log-gc-threshold = 50
# Keep at most this many applied entries for a lagging follower (it then gets a snapshot).
raft-log-gc-count-limit = 10000
# Largest batch of entries in one append message.
raft-max-size-per-msg = "1MiB"
# Append messages in flight per follower.
raft-max-inflight-msgs = 256
# How often a leader reports an unchanged region to PD (changes are reported at once).
pd-heartbeat-tick-interval = "10s"
# A leader reports followers silent this long as down.
max-peer-down-duration = "10m"
# How often a leader's regions that took writes are sized for splitting.
split-region-check-tick-interval = "10s"

[coprocessor]
# A region this large is split into pieces of region-split-size.
region-max-size = "144MiB"
region-split-size = "96MiB"
# A region with this many entries (every version in every column family) is split into
# pieces of region-split-keys.
region-max-keys = 1440000
region-split-keys = 960000
# Most cuts made at once; a bigger region is cut further at its next check.
batch-split-limit = 10

[lsm]
# Memtable size at which it is flushed to a table.
write-buffer-size = "64MiB"
# Memtables in memory at most (the active one included) before writes wait for a flush.
max-write-buffer-number = 3
# Decoded blocks cached, shared by all tables; 0 disables the cache.
block-cache-size = "256MiB"
# Uncompressed size of a table's data block.
block-size = "4KiB"
# Bloom filter bits per key (10: about 1% false positives); 0 writes no filter.
bloom-bits-per-key = 10
# "zstd", "lz4" or "none". lz4 tables are larger (15% in our benchmark) and much cheaper to
# decompress: the better choice when reads often miss the block cache.
compression = "zstd"
# Background threads for flushes and compactions.
max-background-jobs = 2
# Size of compaction output files.
target-file-size-base = "64MiB"
# L0 files that start a compaction; that delay each write by 1 ms; that stop writes.
level0-file-num-compaction-trigger = 4
level0-slowdown-writes-trigger = 20
level0-stop-writes-trigger = 36
# Target size of the first level below L0; each deeper level is this many times larger.
max-bytes-for-level-base = "256MiB"
max-bytes-for-level-multiplier = 10
# Estimated compaction debt at which writes are delayed, then stopped.
soft-pending-compaction-bytes-limit = "64GiB"
hard-pending-compaction-bytes-limit = "256GiB"
# Tables kept open.
max-open-files = 1000
# The manifest is rewritten once larger than this.
max-manifest-file-size = "64MiB"
# After each flush and compaction, hand the allocator's free heap pages back to the OS
# (glibc's malloc_trim: ~13 ms of a background thread each time at 5M keys in the
# benchmark). Off, freed memory stays resident until the allocator reuses it.
release-freed-memory = true
"#;

impl Config {
    /// A commented configuration file with every key at its default.
    pub fn sample() -> String {
        SAMPLE.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every `section.key` of a TOML document.
    fn keys(doc: &toml::Table) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (section, value) in doc {
            match value.as_table() {
                Some(table) => out.extend(table.keys().map(|k| format!("{section}.{k}"))),
                None => {
                    out.insert(section.clone());
                }
            }
        }
        out
    }

    #[test]
    fn the_sample_parses_back_to_the_default() {
        assert_eq!(Config::from_toml_str(SAMPLE).unwrap(), Config::default());
        Config::from_toml_str(SAMPLE).unwrap().validate().unwrap();
    }

    #[test]
    fn the_sample_shows_every_key() {
        let sample: toml::Table = toml::from_str(SAMPLE).unwrap();
        let all: toml::Table = toml::Table::try_from(Config::default()).unwrap();
        assert_eq!(keys(&sample), keys(&all));
    }
}
