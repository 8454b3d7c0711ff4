//! The storage engine's metrics, read from [`lsm::Db::stats`] and the current version when
//! `/metrics` is scraped (nothing to keep in step between scrapes), under the names TiKV's
//! RocksDB metrics use, with `db="kv"`:
//!
//! | metric | labels | from |
//! |---|---|---|
//! | `tikv_engine_size_bytes` (gauge) | `db`, `type` = column family | bytes of the family's tables |
//! | `tikv_engine_num_files_at_level` (gauge) | `db`, `cf`, `level` | tables per family and level |
//! | `tikv_engine_block_cache_size_bytes` (gauge) | `db`, `cf="all"` | block cache usage (one cache shared by all families, as TiKV's shared cache reports it) |
//! | `tikv_engine_memory_bytes` (gauge) | `db`, `cf="all"`, `type="mem-tables"` | memtables (shared by all families) |
//! | `tikv_engine_cache_efficiency` (counter) | `db`, `type` = `block_cache_hit`, `block_cache_miss` | block cache lookups |
//! | `tikv_engine_flow_bytes` (counter) | `db`, `type` = `bytes_written`, `wal_file_bytes`, `flush_write_bytes` | user batches, WAL appends, flushed tables |
//! | `tikv_engine_compaction_flow_bytes` (counter) | `db`, `type` = `bytes_read`, `bytes_written` | compaction I/O |
//! | `tikv_engine_stall_micro_seconds` (counter) | `db` | time writes spent stalled or slowed |
//! | `tikv_engine_event_total` (counter) | `db`, `cf="all"`, `type` = `flush`, `compaction` | background jobs done |
//!
//! Counters restart from zero with the process, as the engine's do. Concurrency: scrapes are
//! serialized by a mutex, since each one resets and refills the shared metric vectors.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounterVec, IntGaugeVec, Opts};

/// The `db` label: TiKV names its data engine `kv` (and the Raft log engine `raft`).
const DB: &str = "kv";

/// Collects engine metrics from one database at scrape time.
pub(super) struct EngineCollector {
    db: Arc<lsm::Db>,
    size: IntGaugeVec,
    files_at_level: IntGaugeVec,
    block_cache_size: IntGaugeVec,
    memory: IntGaugeVec,
    cache_efficiency: IntCounterVec,
    flow: IntCounterVec,
    compaction_flow: IntCounterVec,
    stall_micros: IntCounterVec,
    events: IntCounterVec,
    /// Held while vectors are reset and refilled, so concurrent scrapes see whole snapshots.
    scrape: Mutex<()>,
}

impl std::fmt::Debug for EngineCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineCollector").finish_non_exhaustive()
    }
}

impl EngineCollector {
    /// # Errors
    /// Never in practice: names and labels are constants (prometheus checks their syntax).
    pub(super) fn new(db: Arc<lsm::Db>) -> prometheus::Result<EngineCollector> {
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            IntGaugeVec::new(Opts::new(name, help), labels)
        };
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels)
        };
        Ok(EngineCollector {
            db,
            size: gauge(
                "tikv_engine_size_bytes",
                "Sizes of each column families",
                &["db", "type"],
            )?,
            files_at_level: gauge(
                "tikv_engine_num_files_at_level",
                "Number of files at each level",
                &["db", "cf", "level"],
            )?,
            block_cache_size: gauge(
                "tikv_engine_block_cache_size_bytes",
                "Usage of each column families' block cache",
                &["db", "cf"],
            )?,
            memory: gauge(
                "tikv_engine_memory_bytes",
                "Sizes of each column families",
                &["db", "cf", "type"],
            )?,
            cache_efficiency: counter(
                "tikv_engine_cache_efficiency",
                "Efficiency of the block cache",
                &["db", "type"],
            )?,
            flow: counter(
                "tikv_engine_flow_bytes",
                "Bytes and keys of read/written",
                &["db", "type"],
            )?,
            compaction_flow: counter(
                "tikv_engine_compaction_flow_bytes",
                "Bytes of read/written during compaction",
                &["db", "type"],
            )?,
            stall_micros: counter("tikv_engine_stall_micro_seconds", "Stall micros", &["db"])?,
            events: counter(
                "tikv_engine_event_total",
                "Number of engine events",
                &["db", "cf", "type"],
            )?,
            scrape: Mutex::new(()),
        })
    }

    fn gauges(&self) -> [&IntGaugeVec; 4] {
        [
            &self.size,
            &self.files_at_level,
            &self.block_cache_size,
            &self.memory,
        ]
    }

    fn counters(&self) -> [&IntCounterVec; 5] {
        [
            &self.cache_efficiency,
            &self.flow,
            &self.compaction_flow,
            &self.stall_micros,
            &self.events,
        ]
    }

    /// Sets every vector from the engine's current state.
    fn fill(&self) {
        let stats = self.db.stats();
        let version = self.db.current_version();

        // Families by id. The engine has no listing call, so the well-known families are
        // looked up by name; a table of any other family is labelled by its id.
        let mut names: BTreeMap<lsm::key::CfId, String> = BTreeMap::new();
        for (_, name) in lsm::version::DEFAULT_CFS {
            if let Some(id) = self.db.cf_id(name) {
                names.insert(id, name.to_owned());
            }
        }
        let mut bytes: BTreeMap<lsm::key::CfId, u64> = names.keys().map(|id| (*id, 0)).collect();
        let mut files: BTreeMap<(lsm::key::CfId, usize), i64> = BTreeMap::new();
        for (level, file) in version.all_files() {
            // Every table holds one column family: the first byte of its internal keys.
            let Some(&cf) = file.smallest.first() else {
                continue;
            };
            *bytes.entry(cf).or_default() += file.size;
            *files.entry((cf, level)).or_default() += 1;
        }
        let name_of = |cf: lsm::key::CfId| {
            names
                .get(&cf)
                .cloned()
                .unwrap_or_else(|| format!("cf-{cf}"))
        };
        for (cf, total) in &bytes {
            self.size
                .with_label_values(&[DB, &name_of(*cf)])
                .set(saturate(*total));
            // Every level of every family is reported, zeros included, as TiKV does.
            for level in 0..lsm::version::NUM_LEVELS {
                let n = files.get(&(*cf, level)).copied().unwrap_or(0);
                self.files_at_level
                    .with_label_values(&[DB, &name_of(*cf), &level.to_string()])
                    .set(n);
            }
        }

        self.block_cache_size
            .with_label_values(&[DB, "all"])
            .set(saturate(stats.block_cache.usage));
        self.memory
            .with_label_values(&[DB, "all", "mem-tables"])
            .set(saturate(stats.memtable_bytes));

        let count = |vec: &IntCounterVec, labels: &[&str], total: u64| {
            vec.with_label_values(labels).inc_by(total);
        };
        count(
            &self.cache_efficiency,
            &[DB, "block_cache_hit"],
            stats.block_cache.hits,
        );
        count(
            &self.cache_efficiency,
            &[DB, "block_cache_miss"],
            stats.block_cache.misses,
        );
        count(&self.flow, &[DB, "bytes_written"], stats.user_bytes);
        count(&self.flow, &[DB, "wal_file_bytes"], stats.wal_bytes);
        count(&self.flow, &[DB, "flush_write_bytes"], stats.flush_bytes);
        count(
            &self.compaction_flow,
            &[DB, "bytes_read"],
            stats.compaction_bytes_read,
        );
        count(
            &self.compaction_flow,
            &[DB, "bytes_written"],
            stats.compaction_bytes_written,
        );
        count(&self.stall_micros, &[DB], stats.stall_micros);
        count(&self.events, &[DB, "all", "flush"], stats.flushes);
        count(&self.events, &[DB, "all", "compaction"], stats.compactions);
    }
}

fn saturate(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Collector for EngineCollector {
    fn desc(&self) -> Vec<&Desc> {
        let gauges = self.gauges().into_iter().flat_map(|g| g.desc());
        let counters = self.counters().into_iter().flat_map(|c| c.desc());
        gauges.chain(counters).collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let _scrape = self
            .scrape
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Counters are set to the engine's totals: reset, then add the total once.
        for g in self.gauges() {
            g.reset();
        }
        for c in self.counters() {
            c.reset();
        }
        self.fill();
        let gauges = self.gauges().into_iter().flat_map(|g| g.collect());
        let counters = self.counters().into_iter().flat_map(|c| c.collect());
        gauges.chain(counters).collect()
    }
}
